package pack_test

import (
	"archive/zip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/acrsink/acrsink/internal/pack"
)

var (
	once     sync.Once
	built    string
	buildErr error
)

// good builds the real package once.
func good(t *testing.T) string {
	t.Helper()
	once.Do(func() {
		dir, err := os.MkdirTemp("", "acrsink-pack-test")
		if err != nil {
			buildErr = err
			return
		}
		built = filepath.Join(dir, "acrsink.zip")
		buildErr = pack.Build(context.Background(), "../..", built)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

func TestThePackageHasTheLayoutFlexConsumptionRuns(t *testing.T) {
	path := good(t)
	if err := pack.Verify(path); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	for _, want := range []string{"host.json", "handler", "webhook/function.json", "eventgrid/function.json"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("zip has %v, want %s", names, want)
		}
	}
}

// rewrite copies the good zip, changing one entry.
func rewrite(t *testing.T, change func(name string, mode os.FileMode, data []byte) (string, os.FileMode, []byte, bool)) string {
	t.Helper()
	zr, err := zip.OpenReader(good(t))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := filepath.Join(t.TempDir(), "broken.zip")
	f, _ := os.Create(out)
	zw := zip.NewWriter(f)
	for _, e := range zr.File {
		rc, _ := e.Open()
		data := make([]byte, e.UncompressedSize64)
		if _, err := io.ReadFull(rc, data); err != nil {
			t.Fatal(err)
		}
		rc.Close()
		name, mode, data, keep := change(e.Name, e.Mode(), data)
		if !keep {
			continue
		}
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(mode)
		w, _ := zw.CreateHeader(h)
		_, _ = w.Write(data)
	}
	zw.Close()
	f.Close()
	return out
}

func TestVerifyFailsOnABrokenPackage(t *testing.T) {
	dynamic := ""
	if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
		if p, err := exec.LookPath("sh"); err == nil {
			dynamic = p // a dynamically linked system binary
		}
	}
	tests := []struct {
		name   string
		change func(string, os.FileMode, []byte) (string, os.FileMode, []byte, bool)
		want   string
	}{
		{"the exec bit lost", func(n string, m os.FileMode, d []byte) (string, os.FileMode, []byte, bool) {
			if n == "handler" {
				m = 0o644
			}
			return n, m, d, true
		}, "no exec bit"},
		{"no host.json", func(n string, m os.FileMode, d []byte) (string, os.FileMode, []byte, bool) {
			return n, m, d, n != "host.json"
		}, "no host.json"},
		{"a function.json that is not JSON", func(n string, m os.FileMode, d []byte) (string, os.FileMode, []byte, bool) {
			if n == "webhook/function.json" {
				d = []byte("{bindings")
			}
			return n, m, d, true
		}, "webhook/function.json"},
		{"a function.json at the root", func(n string, m os.FileMode, d []byte) (string, os.FileMode, []byte, bool) {
			if n == "webhook/function.json" {
				n = "function.json"
			}
			return n, m, d, true
		}, "directly under the root"},
		{"a handler that is not an executable", func(n string, m os.FileMode, d []byte) (string, os.FileMode, []byte, bool) {
			if n == "handler" {
				d = []byte("#!/bin/sh\n")
			}
			return n, m, d, true
		}, "not an ELF"},
	}
	if dynamic != "" {
		sh, err := os.ReadFile(dynamic)
		if err == nil {
			tests = append(tests, struct {
				name   string
				change func(string, os.FileMode, []byte) (string, os.FileMode, []byte, bool)
				want   string
			}{"a dynamically linked handler", func(n string, m os.FileMode, d []byte) (string, os.FileMode, []byte, bool) {
				if n == "handler" {
					d = sh
				}
				return n, m, d, true
			}, "dynamically linked"})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pack.Verify(rewrite(t, tt.change))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Verify = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

func TestExtractKeepsTheExecBit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "app")
	if err := pack.Extract(good(t), dir); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "handler"))
	if err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("handler: %v, %v; want an executable file", st.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "webhook", "function.json")); err != nil {
		t.Error(err)
	}
}
