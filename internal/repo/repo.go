// Package repo finds the acrsink repository a command runs in: acrsink dev
// builds the emulator and the handler from it, acrsink package zips it, and
// the bench and the tests build from it.
package repo

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
)

// Module is this repository's module path, by which Root knows its go.mod.
const Module = "github.com/acrsink/acrsink"

// ErrNotInRepo is Root's error outside a clone of acrsink.
var ErrNotInRepo = errors.New("not inside the acrsink repository (no go.mod of " + Module + " in the working directory or above it): run this from a clone of acrsink")

// Root is the repository's root: the nearest directory, from the working
// directory up, whose go.mod declares Module.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("module "+Module+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNotInRepo
		}
		dir = parent
	}
}
