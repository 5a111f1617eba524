// Package docs checks the documentation: README.md and the pages beside
// this file. It holds no code that ships; it lives here, beside the pages,
// so that the checks are where a writer looks and internal/ keeps only what
// the commands use.
package docs

//go:generate go test -run ^TestTheSettingsPageIsGeneratedFromTheSettingsList$ -update .

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/acrsink/acrsink/internal/config"
)

var update = flag.Bool("update", false, "rewrite settings.md from config.Settings")

// where says who sets a setting, in the page's words.
var where = map[string]string{
	config.Azure: "infra/, as an app setting",
	config.Local: "you (infra/ leaves it unset)",
	config.Host:  "the Functions host",
}

// settingsPage renders config.Settings, the one description of each
// setting, as docs/settings.md.
func settingsPage() []byte {
	var b bytes.Buffer
	b.WriteString(`# Settings

<!-- Generated from config.Settings (internal/config/config.go) by "go generate ./docs". Do not edit. -->

The environment variables acrsink reads: the handler, the Go runtime, or
the Functions host (app settings in Azure, ` + "`local.settings.json` `Values`" + `
under ` + "`func start`" + `). ` + "`local.settings.sample.json`" + ` has every one a local run
sets; ` + "`local.settings.json`" + ` is ignored by git.

| setting | set by | default | meaning |
|---|---|---|---|
`)
	for _, s := range config.Settings {
		def := ""
		if s.Default != "" {
			def = "`" + s.Default + "`"
		}
		doc := s.Doc
		if s.Secret {
			doc += " A secret: never logged."
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", s.Name, where[s.Where], def, strings.ReplaceAll(doc, "|", `\|`))
	}
	return b.Bytes()
}

func TestTheSettingsPageIsGeneratedFromTheSettingsList(t *testing.T) {
	want := settingsPage()
	if *update {
		if err := os.WriteFile("settings.md", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile("settings.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		i := 0
		for i < len(gl) && i < len(wl) && gl[i] == wl[i] {
			i++
		}
		line := func(ls []string) string {
			if i < len(ls) {
				return ls[i]
			}
			return "(end of file)"
		}
		t.Errorf("docs/settings.md is not what config.Settings makes: run go generate ./docs\nline %d is\n\t%s\nwant\n\t%s", i+1, line(gl), line(wl))
	}
}

// link matches an inline Markdown link's target: [text](target).
var link = regexp.MustCompile(`\]\(([^()\s]+)\)`)

// prose is a Markdown text without its fenced code blocks, where a ](...)
// is code, not a link.
func prose(md string) string {
	var out []string
	fenced := false
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// anchors are the ids GitHub gives a page's headings: lower case, each
// space a '-', every other character that is not a letter, a digit, '-'
// or '_' removed; a repeated id gets -1, -2, ... (github/cmark-gfm's
// heading anchors, as GitHub renders them).
func anchors(md string) map[string]bool {
	ids := map[string]bool{}
	seen := map[string]int{}
	for _, l := range strings.Split(prose(md), "\n") {
		text, ok := strings.CutPrefix(strings.TrimLeft(l, "#"), " ")
		if !ok || !strings.HasPrefix(l, "#") || len(l)-len(strings.TrimLeft(l, "#")) > 6 {
			continue
		}
		id := strings.Map(func(r rune) rune {
			switch {
			case r == ' ':
				return '-'
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				return unicode.ToLower(r)
			}
			return -1
		}, strings.TrimSpace(text))
		if n := seen[id]; n > 0 {
			ids[fmt.Sprintf("%s-%d", id, n)] = true
		} else {
			ids[id] = true
		}
		seen[id]++
	}
	return ids
}

// brokenLinks lists the relative links of the page at path (text md) that
// lead nowhere: a file that does not exist, or an #anchor that no heading
// of the target makes. read reads a page by its path.
func brokenLinks(path, md string, exists func(string) bool, read func(string) (string, error)) []string {
	var broken []string
	for _, m := range link.FindAllStringSubmatch(prose(md), -1) {
		target := m[1]
		if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
			continue
		}
		file, anchor, _ := strings.Cut(target, "#")
		dest := path
		if file != "" {
			dest = filepath.Join(filepath.Dir(path), file)
			if !exists(dest) {
				broken = append(broken, path+": "+target+": no such file")
				continue
			}
		}
		if anchor == "" {
			continue
		}
		if !strings.HasSuffix(dest, ".md") {
			broken = append(broken, path+": "+target+": an anchor in a file that is not Markdown")
			continue
		}
		page, err := read(dest)
		if err != nil {
			broken = append(broken, path+": "+target+": "+err.Error())
			continue
		}
		if !anchors(page)[anchor] {
			broken = append(broken, path+": "+target+": no heading makes #"+anchor)
		}
	}
	return broken
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestEveryRelativeLinkInTheDocsResolves(t *testing.T) {
	pages, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, filepath.Join("..", "README.md"))
	for _, p := range pages {
		md, err := readFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range brokenLinks(p, md, exists, readFile) {
			t.Error(b)
		}
	}
}

func TestTheLinkCheckFindsWhatIsBroken(t *testing.T) {
	pages := map[string]string{
		"README.md": "# acrsink\n",
		"docs/ops.md": "# Operations\n\n## Logs, sampling and the alert\n\n### With the Functions host (`func start`)\n\n" +
			"## Twice\n\n## Twice\n\n```sh\n# not a heading\n```\n",
	}
	read := func(p string) (string, error) {
		if md, ok := pages[filepath.ToSlash(p)]; ok {
			return md, nil
		}
		return "", os.ErrNotExist
	}
	has := func(p string) bool { _, ok := pages[filepath.ToSlash(p)]; return ok }
	tests := []struct {
		name, link string
		broken     bool
	}{
		{"a page that exists resolves", "[ops](docs/ops.md)", false},
		{"a heading with punctuation resolves without it", "[logs](docs/ops.md#logs-sampling-and-the-alert)", false},
		{"a heading with code and brackets resolves", "[host](docs/ops.md#with-the-functions-host-func-start)", false},
		{"a repeated heading resolves with its number", "[second](docs/ops.md#twice-1)", false},
		{"an external link is not checked", "[learn](https://learn.microsoft.com/x#y)", false},
		{"a link in a code block is not checked", "```\n[x](nowhere.md)\n```", false},
		{"a page that does not exist is broken", "[gone](docs/gone.md)", true},
		{"an anchor no heading makes is broken", "[gone](docs/ops.md#logs)", true},
		{"a comment in a code block makes no anchor", "[x](docs/ops.md#not-a-heading)", true},
		{"an anchor in the page itself is checked there", "[x](#operations)", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := brokenLinks("README.md", "# acrsink\n\n"+tt.link+"\n", has, read)
			if broken := len(got) > 0; broken != tt.broken {
				t.Errorf("broken links %q, want broken = %v", got, tt.broken)
			}
		})
	}
	if !slices.Equal(slices.Sorted(maps.Keys(anchors(pages["docs/ops.md"]))), []string{"logs-sampling-and-the-alert", "operations", "twice", "twice-1", "with-the-functions-host-func-start"}) {
		t.Errorf("anchors %v", anchors(pages["docs/ops.md"]))
	}
}
