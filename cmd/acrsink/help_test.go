package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHelpIsNeverAnErrorAndSaysWhatTheCommandDoes(t *testing.T) {
	for _, name := range []string{"dev", "query", "replay", "package"} {
		for _, h := range []string{"-h", "--help"} {
			t.Run(name+" "+h, func(t *testing.T) {
				var errOut bytes.Buffer
				err := run(context.Background(), []string{"acrsink", name, h}, func(string) string { return "" }, nil, &bytes.Buffer{}, &errOut)
				if err != nil {
					t.Errorf("%s %s: %v; help is not an error", name, h, err)
				}
				help := errOut.String()
				first, _, _ := strings.Cut(help, "\n")
				if !strings.HasPrefix(first, "acrsink "+name+" ") || !strings.HasSuffix(first, ".") {
					t.Errorf("help starts with %q, want one sentence saying what acrsink %s does", first, name)
				}
				flags, example := strings.Index(help, "\nFlags:\n"), strings.Index(help, "\nExample:\n")
				if flags < 0 || example < flags {
					t.Errorf("want the flags, then an example:\n%s", help)
				}
			})
		}
	}
}

func TestAMistakeIsSaidInOneLineBeforeTheUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a second query", []string{"query", "SELECT * FROM c", "SELECT 1"}, "acrsink query: want one query, got 2 arguments"},
		{"no query", []string{"query"}, "acrsink query: want one query, got 0 arguments"},
		{"an unknown flag after the query", []string{"query", "SELECT * FROM c", "-json"}, "flag provided but not defined: -json"},
		{"an argument to replay", []string{"replay", "history.json"}, `acrsink replay: takes no arguments (got "history.json")`},
		{"an argument to dev", []string{"dev", "now"}, `acrsink dev: takes no arguments (got "now")`},
		{"an argument to package", []string{"package", "x.zip"}, `acrsink package: takes no arguments (got "x.zip")`},
		{"one port for both", []string{"dev", "-port", "9000", "-cosmos-port", "9000"}, "acrsink dev: -port and -cosmos-port are both 9000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errOut bytes.Buffer
			err := run(context.Background(), append([]string{"acrsink"}, tt.args...), func(string) string { return "" }, nil, &bytes.Buffer{}, &errOut)
			first, _, _ := strings.Cut(errOut.String(), "\n")
			if err == nil || first != tt.want && !strings.HasPrefix(first, tt.want) {
				t.Errorf("err %v, first line %q; want %q", err, first, tt.want)
			}
			if !strings.Contains(errOut.String(), "usage: ") {
				t.Errorf("no usage after the line:\n%s", errOut.String())
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
