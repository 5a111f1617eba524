package repo_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/acrsink/acrsink/internal/repo"
)

func TestRootIsTheCloneFromAnyFolderInIt(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	want, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if root != want {
		t.Errorf("Root() = %s, want %s", root, want)
	}
}

func TestRootOutsideACloneSaysWhatToDo(t *testing.T) {
	dir := t.TempDir()
	// A go.mod of another module is not this repository.
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if _, err := repo.Root(); !errors.Is(err, repo.ErrNotInRepo) {
		t.Errorf("Root() error %v, want ErrNotInRepo", err)
	}
}
