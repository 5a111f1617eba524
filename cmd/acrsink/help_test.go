package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestHelpIsNeverAnErrorAndSaysWhatTheCommandDoes(t *testing.T) {
	for _, cmd := range commands {
		for _, args := range [][]string{{cmd.name, "-h"}, {cmd.name, "--help"}, {"help", cmd.name}} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var out, errOut bytes.Buffer
				err := run(context.Background(), append([]string{"acrsink"}, args...), func(string) string { return "" }, nil, &out, &errOut)
				if err != nil {
					t.Errorf("%v; help is not an error", err)
				}
				help := out.String() + errOut.String()
				first, _, _ := strings.Cut(help, "\n")
				if !strings.HasPrefix(first, "acrsink "+cmd.name+" ") || !strings.HasSuffix(first, ".") {
					t.Errorf("help starts with %q, want one sentence saying what acrsink %s does", first, cmd.name)
				}
				usage, flags, example := strings.Index(help, "\nusage: acrsink "+cmd.name), strings.Index(help, "\nFlags:\n  -"), strings.Index(help, "\nExample:\n")
				if usage < 0 || flags < usage || example < flags {
					t.Errorf("want the usage, the flags, then an example:\n%s", help)
				}
			})
		}
	}
}

func TestHelpAndThePackageDocListEveryCommandInOrder(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"acrsink", "help"}, func(string) string { return "" }, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	listed := func(text string) []string {
		var names []string
		for line := range strings.Lines(text) {
			if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(line, "\t") && lookup(f[0]) != nil {
				names = append(names, f[0])
			}
		}
		return names
	}
	var want []string
	for _, c := range commands {
		want = append(want, c.name)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, _, _ := strings.Cut(string(src), "\npackage main")
	doc = strings.ReplaceAll(doc, "//\t", "\t")
	for what, text := range map[string]string{"acrsink help": out.String(), "the package doc": doc} {
		if got := listed(text); !slices.Equal(got, want) {
			t.Errorf("%s lists %q, want %q", what, got, want)
		}
	}
	for _, c := range commands {
		line := "\t" + fmt.Sprintf("%-8s %s", c.name, c.summary) + "\n"
		if !strings.Contains(out.String(), line) || !strings.Contains(doc, line) {
			t.Errorf("acrsink help or the package doc has no line %q", line)
		}
	}
}

func TestAMistakeIsOneLineThenWhereTheHelpIsAndExits2(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a second query", []string{"query", "SELECT * FROM c", "SELECT 1"}, "acrsink query: want one query, got 2 arguments"},
		{"no query", []string{"query"}, "acrsink query: want one query, got 0 arguments"},
		{"an unknown flag after the query", []string{"query", "SELECT * FROM c", "-json"}, "acrsink query: flag provided but not defined: -json"},
		{"a flag with no value", []string{"replay", "-file"}, "acrsink replay: flag needs an argument: -file"},
		{"an argument to replay", []string{"replay", "history.json"}, `acrsink replay: takes no arguments (got "history.json")`},
		{"an argument to dev", []string{"dev", "now"}, `acrsink dev: takes no arguments (got "now")`},
		{"an argument to package", []string{"package", "x.zip"}, `acrsink package: takes no arguments (got "x.zip")`},
		{"one port for both", []string{"dev", "-port", "9000", "-cosmos-port", "9000"}, "acrsink dev: -port and -cosmos-port are both 9000"},
		{"no days to report", []string{"report", "-days", "0"}, "acrsink report: -days 0: want 1 to 3650"},
		{"days that are no number", []string{"report", "-days", "week"}, `acrsink report: invalid value "week" for flag -days`},
		{"an argument to report", []string{"report", "30"}, `acrsink report: takes no arguments (got "30")`},
		{"check without its webhook", []string{"check"}, "acrsink check: -webhook is required"},
		{"help for no such command", []string{"help", "nope"}, `acrsink help: unknown command "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errOut bytes.Buffer
			err := run(context.Background(), append([]string{"acrsink"}, tt.args...), func(string) string { return "" }, nil, &bytes.Buffer{}, &errOut)
			lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
			if lines[0] != tt.want && !strings.HasPrefix(lines[0], tt.want) {
				t.Errorf("first line %q; want %q", lines[0], tt.want)
			}
			cmd := tt.args[0]
			if cmd == "help" {
				cmd = ""
			} else {
				cmd = " " + cmd
			}
			if len(lines) > 3 || !strings.HasSuffix(lines[len(lines)-1], "see 'acrsink help"+cmd+"'") {
				t.Errorf("want at most three lines, the last saying see 'acrsink help%s':\n%s", cmd, errOut.String())
			}
			if code := exitCode(err, false, io.Discard); code != 2 {
				t.Errorf("exit status %d (err %v), want 2", code, err)
			}
		})
	}
}

func TestPackageRefusesAFolderOutsideTheRepositoryThatDoesNotExist(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nonexistent-dir")
	err := run(context.Background(), []string{"acrsink", "package", "-o", filepath.Join(dir, "x.zip")}, func(string) string { return "" }, nil, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "does not exist") || strings.Contains(err.Error(), "\n") {
		t.Errorf("err %v, want one line saying the folder does not exist", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("package created %s", dir)
	}
}

func TestPackageSaysWhatItChecked(t *testing.T) {
	t.Parallel() // a second of go build, sharing nothing
	out := filepath.Join(t.TempDir(), "acrsink.zip")
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"acrsink", "package", "-o", out}, func(string) string { return "" }, nil, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{out, "checked", `host.json at the root starts "handler"`, "static linux/amd64", "exec bit", "webhook"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("package printed %q, want it to say %q", stdout.String(), want)
		}
	}
}
