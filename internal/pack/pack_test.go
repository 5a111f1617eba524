package pack_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

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
	if _, err := pack.Check(path); err != nil {
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
		name, mode, changed, keep := change(e.Name, e.Mode(), data)
		if !keep {
			continue
		}
		if bytes.Equal(changed, data) {
			// The same bytes: copied as compressed, not deflated again
			// (half a second for the handler).
			h := e.FileHeader
			h.Name = name
			h.SetMode(mode)
			raw, err := e.OpenRaw()
			if err != nil {
				t.Fatal(err)
			}
			w, err := zw.CreateRaw(&h)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(w, raw); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data = changed
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(mode)
		w, _ := zw.CreateHeader(h)
		_, _ = w.Write(data)
	}
	zw.Close()
	f.Close()
	return out
}

func TestCheckFailsOnABrokenPackage(t *testing.T) {
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
		{"a function folder name the host ignores", func(n string, m os.FileMode, d []byte) (string, os.FileMode, []byte, bool) {
			if n == "webhook/function.json" {
				n = "web.hook/function.json"
			}
			return n, m, d, true
		}, "web.hook/function.json: the host only reads"},
		{"host.json starting another executable", func(n string, m os.FileMode, d []byte) (string, os.FileMode, []byte, bool) {
			if n == "host.json" {
				d = []byte(strings.Replace(string(d), `"defaultExecutablePath": "handler"`, `"defaultExecutablePath": "handler.exe"`, 1))
			}
			return n, m, d, true
		}, `defaultExecutablePath is "handler.exe"`},
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
			_, err := pack.Check(rewrite(t, tt.change))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

func TestFunctionFoldersAreDiscovered(t *testing.T) {
	tests := []struct {
		name    string
		folders map[string]bool // folder → has a function.json
		want    string
		wantErr string
	}{
		{"every folder with a function.json, and only those", map[string]bool{"webhook": true, "eventgrid": true, "another_one": true, "docs": false}, "another_one eventgrid webhook", ""},
		{"none is an error", map[string]bool{"docs": false}, "", "no function folder"},
		{"a name the host ignores is an error", map[string]bool{"webhook": true, "2fa": true}, "", "2fa/function.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for f, fn := range tt.folders {
				if err := os.Mkdir(filepath.Join(dir, f), 0o755); err != nil {
					t.Fatal(err)
				}
				if fn {
					if err := os.WriteFile(filepath.Join(dir, f, "function.json"), []byte(`{"bindings":[]}`), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, err := pack.Functions(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Functions = %v, %v; want an error about %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || strings.Join(got, " ") != tt.want {
				t.Errorf("Functions = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestEveryEntryCarriesAValidReproducibleDate(t *testing.T) {
	tests := []struct {
		name, epoch string
		want        time.Time
	}{
		{"without SOURCE_DATE_EPOCH, the earliest date a zip holds", "", time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"with SOURCE_DATE_EPOCH, that time", "1700000000", time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SOURCE_DATE_EPOCH", tt.epoch)
			path := filepath.Join(t.TempDir(), "acrsink.zip")
			if err := pack.Build(context.Background(), "../..", path); err != nil {
				t.Fatal(err)
			}
			zr, err := zip.OpenReader(path)
			if err != nil {
				t.Fatal(err)
			}
			defer zr.Close()
			for _, f := range zr.File {
				if !f.Modified.Equal(tt.want) {
					t.Errorf("%s: Modified %v, want %v", f.Name, f.Modified, tt.want)
				}
			}
			python, err := exec.LookPath("python3")
			if err != nil {
				t.Log("no python3: only Go's reader checked")
				return
			}
			// Python reads the MS-DOS date fields, which Go's reader can
			// hide behind the extended timestamp.
			out, err := exec.Command(python, "-c", `import sys, zipfile
for i in zipfile.ZipFile(sys.argv[1]).infolist(): print(i.filename, "%04d-%02d-%02d %02d:%02d:%02d" % i.date_time)`, path).CombinedOutput()
			if err != nil {
				t.Fatalf("python3 zipfile: %v\n%s", err, out)
			}
			want := tt.want.Format("2006-01-02 15:04:05")
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if !strings.HasSuffix(line, want) {
					t.Errorf("python3 zipfile reads %q, want the date %s", line, want)
				}
			}
		})
	}
}

func TestBuildDoesNotCreateAFolderThatIsMissing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	err := pack.Build(context.Background(), "../..", filepath.Join(dir, "x.zip"))
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("err %v, want one saying the folder does not exist", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("Build created %s", dir)
	}
}
