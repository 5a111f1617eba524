package infracheck_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// azdEnable is the one-time setting a fresh azd needs for azure.yaml's
// language: custom: azd gates that language as an alpha feature and
// refuses it otherwise ("service is using language 'custom' (alpha) but it
// is not enabled", Azure/azure-dev cli/azd/cmd/container.go).
const azdEnable = "azd config set alpha.language.custom on"

// azdPathProblems checks docs/deploy.md's "With azd" commands as a user on a
// fresh azd install runs them, top to bottom.
func azdPathProblems(readme, azureYAML string) []string {
	_, section, ok := strings.Cut(readme, "\n### With azd\n")
	if !ok {
		return []string{`docs/deploy.md has no "### With azd" section`}
	}
	section, _, _ = strings.Cut(section, "\n### ")
	_, block, ok := strings.Cut(section, "```sh\n")
	if !ok {
		return []string{`"With azd" has no sh block`}
	}
	block, _, _ = strings.Cut(block, "```")
	var cmds []string
	for _, line := range strings.Split(block, "\n") {
		line, _, _ = strings.Cut(line, "#")
		cmds = append(cmds, strings.Join(strings.Fields(line), " "))
	}
	first := func(prefix string) int {
		return slices.IndexFunc(cmds, func(c string) bool { return strings.HasPrefix(c, prefix) })
	}
	var problems []string
	up := first("azd up")
	if up < 0 {
		problems = append(problems, `"With azd" never runs azd up`)
	}
	if strings.Contains(azureYAML, "language: custom") {
		switch enable := first(azdEnable); {
		case enable < 0:
			problems = append(problems, `"With azd" never runs `+azdEnable+`, so a fresh azd refuses azure.yaml's language: custom`)
		case up >= 0 && enable > up:
			problems = append(problems, `"With azd" runs `+azdEnable+` after azd up`)
		}
	}
	return problems
}

func repoFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestTheDeployPagesAzdPathWorksOnAFreshAzdInstall(t *testing.T) {
	t.Parallel()
	readme, yaml := repoFile(t, "docs/deploy.md"), repoFile(t, "azure.yaml")
	for _, p := range azdPathProblems(readme, yaml) {
		t.Error(p)
	}
}

func TestTheAzdPathCheckFailsWithoutTheAlphaSetting(t *testing.T) {
	t.Parallel()
	readme, yaml := repoFile(t, "docs/deploy.md"), repoFile(t, "azure.yaml")
	line := azdEnable + "                  # once per machine: azd gates custom handlers behind this\n"
	if !strings.Contains(readme, line) {
		t.Fatalf("docs/deploy.md has no line %q", line)
	}
	tests := []struct{ name, readme, want string }{
		{"the setting left out", strings.Replace(readme, line, "", 1), "never runs " + azdEnable},
		{"the setting after azd up", strings.Replace(strings.Replace(readme, line, "", 1), "azd up\n```", "azd up\n"+line+"```", 1), "after azd up"},
		{"the setting commented out", strings.Replace(readme, line, "# "+line, 1), "never runs " + azdEnable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			problems := azdPathProblems(tt.readme, yaml)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want %q", problems, tt.want)
			}
		})
	}
}
