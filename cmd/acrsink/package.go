package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/acrsink/acrsink/internal/pack"
	"github.com/acrsink/acrsink/internal/repo"
)

var packageCmd = &command{
	name:    "package",
	summary: "build the deployment zip for Flex Consumption (host.json, function folders, linux/amd64 handler)",
	usage:   "acrsink package [-o FILE]",
	long: `acrsink package builds the zip that Flex Consumption deploys (host.json, the function folders, the handler for linux/amd64) and checks it as the platform will read it.

Entries are dated SOURCE_DATE_EPOCH when it is set, else 1980-01-01: the same
sources make the same zip. A folder inside the repository (dist/) is created;
one elsewhere must exist.`,
	example: "go run ./cmd/acrsink package -o dist/acrsink.zip",
	flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		out := fs.String("o", "dist/acrsink.zip", "where to write the zip (relative to the repository root)")
		return func(ctx context.Context, e *env, args []string) error { return runPackage(ctx, e, *out, args) }
	},
}

func runPackage(ctx context.Context, e *env, out string, rest []string) error {
	if len(rest) != 0 {
		return badUsage("takes no arguments (got %q); name the zip with -o", rest[0])
	}
	root, err := repo.Root()
	if err != nil {
		return err
	}
	path := out
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	// The repository's own output folder may be missing in a fresh clone
	// (azd's prepackage asks for dist/); a missing folder elsewhere is a
	// typo, not a wish to create it. Said before the slow build.
	dir := filepath.Dir(path)
	if rel, err := filepath.Rel(root, dir); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	} else if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("the folder %s does not exist (package creates folders only inside the repository)", dir)
	}
	if err := pack.Build(ctx, root, path); err != nil {
		return err
	}
	// Check what was built as the platform will need it.
	rep, err := pack.Check(path)
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("the package failed its own check: %w", err)
	}
	fmt.Fprintf(e.stdout, `%s (%.1f MiB), checked as Flex Consumption reads it:
  host.json at the root starts "handler"
  handler: a static linux/amd64 executable, exec bit set
  function folders: %s (each function.json has its bindings)
`, path, float64(rep.Size)/(1<<20), strings.Join(rep.Functions, ", "))
	return nil
}
