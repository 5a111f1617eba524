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

// azdPaths are the pages that show the azd path, each under its heading:
// the README's brief one and the deploy page's whole one.
var azdPaths = []struct{ page, heading string }{
	{"README.md", "## Deploy to Azure (`azd up`)"},
	{"docs/deploy.md", "### With azd"},
}

// azdPathProblems checks the azd commands under heading as a user on a
// fresh azd install runs them, top to bottom.
func azdPathProblems(page, heading, azureYAML string) []string {
	_, section, ok := strings.Cut(page, "\n"+heading+"\n")
	if !ok {
		return []string{`no "` + heading + `" section`}
	}
	section, _, _ = strings.Cut(section, "\n### ")
	section, _, _ = strings.Cut(section, "\n## ")
	_, block, ok := strings.Cut(section, "```sh\n")
	if !ok {
		return []string{`the azd path has no sh block`}
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
		problems = append(problems, `the azd path never runs azd up`)
	}
	if strings.Contains(azureYAML, "language: custom") {
		switch enable := first(azdEnable); {
		case enable < 0:
			problems = append(problems, `the azd path never runs `+azdEnable+`, so a fresh azd refuses azure.yaml's language: custom`)
		case up >= 0 && enable > up:
			problems = append(problems, `the azd path runs `+azdEnable+` after azd up`)
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

func TestTheDocsAzdPathsWorkOnAFreshAzdInstall(t *testing.T) {
	t.Parallel()
	yaml := repoFile(t, "azure.yaml")
	for _, path := range azdPaths {
		for _, p := range azdPathProblems(repoFile(t, path.page), path.heading, yaml) {
			t.Error(path.page + ": " + p)
		}
	}
}

func TestTheAzdPathCheckFailsWithoutTheAlphaSetting(t *testing.T) {
	t.Parallel()
	readme, yaml := repoFile(t, "docs/deploy.md"), repoFile(t, "azure.yaml")
	line := azdEnable + "                  # once per machine: azd gates custom handlers behind this\n"
	if !strings.Contains(readme, line) {
		t.Fatalf("docs/deploy.md has no line %q", line)
	}
	if p := azdPathProblems(readme, "### No such heading", yaml); len(p) == 0 {
		t.Error("a page without the heading passed")
	}
	tests := []struct{ name, readme, want string }{
		{"the setting left out", strings.Replace(readme, line, "", 1), "never runs " + azdEnable},
		{"the setting after azd up", strings.Replace(strings.Replace(readme, line, "", 1), "azd up\n```", "azd up\n"+line+"```", 1), "after azd up"},
		{"the setting commented out", strings.Replace(readme, line, "# "+line, 1), "never runs " + azdEnable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			problems := azdPathProblems(tt.readme, "### With azd", yaml)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want %q", problems, tt.want)
			}
		})
	}
}
