package testenv_test

import (
	"os/exec"
	"strings"
	"testing"
)

// module is this repository's module path, with the slash that starts a
// package path below it.
const module = "github.com/acrsink/acrsink/"

// goList runs go list with args and returns the fields it prints.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
	}
	return strings.Fields(string(out))
}

// A newcomer who lists internal/ sees the product: every package there
// ships in a command (the handler the host starts, or the acrsink CLI),
// and what only the tests and the bench use sits under internal/testenv.
func TestEveryPackageOutsideTestenvShipsInACommand(t *testing.T) {
	t.Parallel()
	shipped := map[string]bool{}
	for _, p := range goList(t, "-deps", "../../cmd/handler", "../../cmd/acrsink") {
		shipped[p] = true
	}
	for _, p := range goList(t, "../../internal/...") {
		if strings.HasPrefix(p, module+"internal/testenv") {
			continue
		}
		if !shipped[p] {
			t.Errorf("%s is imported by neither cmd/handler nor cmd/acrsink: ship it or move it under internal/testenv", p)
		}
	}
	for p := range shipped {
		if strings.HasPrefix(p, module+"internal/testenv") {
			t.Errorf("%s ships in a command: a test double must not", p)
		}
	}
}

// Dependencies point inward: config is a leaf that every package may
// import, and the store is handed its credential rather than building one
// (the command builds one, for its cloud, and gives the same one to
// Resource Manager's client). go list -deps is the whole import graph,
// indirect imports included; the standard library is left out of it here.
func TestDependenciesPointInward(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		pkg  string
		// bad reports why an import from outside the standard library is
		// not allowed, or "".
		bad func(dep string) string
	}{
		{"config imports nothing of this module and nothing of Azure's SDK", module + "internal/config", func(dep string) string {
			switch {
			case dep == module+"internal/config":
				return ""
			case strings.HasPrefix(dep, module):
				return "config is a leaf: it imports no package of this module"
			}
			return "config is a leaf: it imports the standard library only (no ARM client, no SDK)"
		}},
		{"the store builds no credential and takes no configuration", module + "internal/store", func(dep string) string {
			switch {
			case dep == module+"internal/identity" || strings.HasPrefix(dep, "github.com/Azure/azure-sdk-for-go/sdk/azidentity"):
				return "the store is handed its credential: the command builds the one credential"
			case dep == module+"internal/config":
				return "the store takes what it needs (store.Account), not the configuration"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bad := 0
			for _, dep := range goList(t, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", tt.pkg) {
				if why := tt.bad(dep); why != "" {
					if bad++; bad <= 3 {
						t.Errorf("%s imports %s: %s", tt.pkg, dep, why)
					}
				}
			}
			if bad > 3 {
				t.Errorf("and %d more such imports", bad-3)
			}
		})
	}
}
