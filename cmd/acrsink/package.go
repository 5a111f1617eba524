package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/acrsink/acrsink/internal/emulator"
	"github.com/acrsink/acrsink/internal/pack"
)

func init() {
	commands["package"] = command{summary: "build the deployment zip for Flex Consumption (host.json, function folders, linux/amd64 handler)", run: runPackage}
}

func runPackage(ctx context.Context, args []string, _ func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("acrsink package", flag.ContinueOnError)
	flags.SetOutput(stderr)
	out := flags.String("o", "dist/acrsink.zip", "where to write the zip (relative to the repository root)")
	if err := flags.Parse(args); err != nil {
		return errUsage
	}
	root, err := emulator.Root()
	if err != nil {
		return err
	}
	path := *out
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	if err := pack.Build(ctx, root, path); err != nil {
		return err
	}
	// Check what was built as the platform will need it.
	if err := pack.Verify(path); err != nil {
		os.Remove(path)
		return fmt.Errorf("the package failed its own check: %w", err)
	}
	fmt.Fprintln(stdout, path)
	return nil
}
