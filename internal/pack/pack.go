// Package pack builds the deployment zip for Flex Consumption: host.json at
// the root, one folder per function with its function.json, and the handler
// built for linux/amd64 without cgo, its exec bit set inside the zip (the
// host runs it as it is; a lost exec bit is a start-up failure in Azure).
package pack

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// validFunctionName is what the host accepts as a function folder's name.
var validFunctionName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// Functions lists the function folders of the app at root: the direct
// subfolders with a function.json, which is all the host reads.
func Functions(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(root, e.Name(), "function.json")); err == nil {
				if !validFunctionName.MatchString(e.Name()) {
					return nil, fmt.Errorf("%s/function.json: the host ignores a function folder with that name (letters, digits, _ and -, starting with a letter)", e.Name())
				}
				out = append(out, e.Name())
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no function folder (<name>/function.json) under %s", root)
	}
	return out, nil
}

// Build builds the handler and writes the zip to out, whose folder must
// exist. Every entry is dated ModTime(SOURCE_DATE_EPOCH): the same sources
// make the same zip.
func Build(ctx context.Context, root, out string) error {
	fns, err := Functions(root)
	if err != nil {
		return err
	}
	mtime, err := ModTime(os.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return err
	}
	if st, err := os.Stat(filepath.Dir(out)); err != nil || !st.IsDir() {
		return fmt.Errorf("the folder %s does not exist", filepath.Dir(out))
	}
	tmp, err := os.MkdirTemp("", "acrsink-pack")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "handler")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/handler")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/handler: %v\n%s", err, b)
	}
	files := []struct {
		name, path string
		mode       os.FileMode
	}{{"host.json", filepath.Join(root, "host.json"), 0o644}, {"handler", bin, 0o755}}
	for _, fn := range fns {
		files = append(files, struct {
			name, path string
			mode       os.FileMode
		}{fn + "/function.json", filepath.Join(root, fn, "function.json"), 0o644})
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	for _, file := range files {
		if err := add(zw, file.name, file.path, file.mode, mtime); err != nil {
			f.Close()
			return err
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ModTime is the date of every entry: SOURCE_DATE_EPOCH (seconds since
// 1970, the reproducible-builds convention) when set, else the earliest
// date a zip can hold, 1980-01-01 00:00:00 UTC. A zero time would be
// written as the invalid 1980-00-00, which standard readers reject or
// misread.
func ModTime(sourceDateEpoch string) (time.Time, error) {
	earliest := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	if sourceDateEpoch == "" {
		return earliest, nil
	}
	secs, err := strconv.ParseInt(sourceDateEpoch, 10, 64)
	if err != nil || secs < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH is %q, want seconds since 1970", sourceDateEpoch)
	}
	t := time.Unix(secs, 0).UTC()
	if t.Before(earliest) {
		return earliest, nil // a zip cannot date an entry earlier
	}
	// The zip's DOS time has a 2-second resolution; the extended timestamp
	// keeps seconds: round so both agree.
	return t.Truncate(2 * time.Second), nil
}

func add(zw *zip.Writer, name, path string, mode os.FileMode, mtime time.Time) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: mtime}
	// SetMode records Unix permissions (creator Unix), which is what keeps
	// the exec bit when the platform unzips.
	h.SetMode(mode)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// Report is what Check found in a zip that passed.
type Report struct {
	Functions []string // function folders, sorted
	Size      int64    // bytes of the zip
}

// Check checks a deployment zip as Flex Consumption needs it: host.json at
// the root, at least one function folder whose function.json parses and
// has bindings, and handler a static linux/amd64 ELF with its exec bit. It
// says what it found.
func Check(path string) (Report, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return Report{}, err
	}
	defer zr.Close()
	var errs []error
	seen := map[string]*zip.File{}
	var fns []string
	for _, f := range zr.File {
		seen[f.Name] = f
		if dir, base := filepath.Split(f.Name); base == "function.json" {
			if strings.Count(f.Name, "/") != 1 {
				errs = append(errs, fmt.Errorf("%s: a function.json must be in a folder directly under the root", f.Name))
				continue
			}
			fn := strings.TrimSuffix(dir, "/")
			if !validFunctionName.MatchString(fn) {
				errs = append(errs, fmt.Errorf("%s: the host only reads function folders named with letters, digits, _ and -, starting with a letter", f.Name))
			}
			fns = append(fns, fn)
			var fj struct {
				Bindings []map[string]any `json:"bindings"`
			}
			if err := readJSON(f, &fj); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", f.Name, err))
			} else if len(fj.Bindings) == 0 {
				errs = append(errs, fmt.Errorf("%s: no bindings", f.Name))
			}
		}
	}
	sort.Strings(fns)
	if len(fns) == 0 {
		errs = append(errs, errors.New("no function folder with a function.json"))
	}
	if f, ok := seen["host.json"]; !ok {
		errs = append(errs, errors.New("no host.json at the root"))
	} else {
		var hj struct {
			CustomHandler struct {
				Description struct {
					DefaultExecutablePath string `json:"defaultExecutablePath"`
				} `json:"description"`
			} `json:"customHandler"`
		}
		if err := readJSON(f, &hj); err != nil {
			errs = append(errs, fmt.Errorf("host.json: %w", err))
		} else if exe := hj.CustomHandler.Description.DefaultExecutablePath; exe != "handler" {
			// The host starts this path; anything but the binary packed here
			// is a start-up failure in Azure.
			errs = append(errs, fmt.Errorf("host.json: customHandler.description.defaultExecutablePath is %q, want \"handler\"", exe))
		}
	}
	if f, ok := seen["handler"]; !ok {
		errs = append(errs, errors.New("no handler at the root"))
	} else {
		errs = append(errs, checkBinary(f)...)
	}
	if err := errors.Join(errs...); err != nil {
		return Report{}, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return Report{}, err
	}
	return Report{Functions: fns, Size: st.Size()}, nil
}

func readJSON(f *zip.File, v any) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return json.NewDecoder(rc).Decode(v)
}

func checkBinary(f *zip.File) []error {
	var errs []error
	if f.Mode()&0o111 == 0 {
		errs = append(errs, fmt.Errorf("handler: mode %v has no exec bit", f.Mode()))
	}
	rc, err := f.Open()
	if err != nil {
		return append(errs, err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return append(errs, err)
	}
	ef, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return append(errs, fmt.Errorf("handler: not an ELF executable: %w", err))
	}
	defer ef.Close()
	if ef.Class != elf.ELFCLASS64 || ef.Machine != elf.EM_X86_64 || ef.OSABI != elf.ELFOSABI_NONE && ef.OSABI != elf.ELFOSABI_LINUX {
		errs = append(errs, fmt.Errorf("handler: %v %v %v, want a 64-bit linux/amd64 executable", ef.Class, ef.Machine, ef.OSABI))
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			errs = append(errs, errors.New("handler: dynamically linked (has an interpreter); build with CGO_ENABLED=0"))
		}
	}
	return errs
}
