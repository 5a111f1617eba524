// Command acrsink is what people run by hand around the sink: a local run
// with the emulator (dev), queries (query), recovery (replay) and the
// deployment package (package). The Functions host runs cmd/handler instead.
//
// Each subcommand lives in its own file and registers itself in commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/acrsink/acrsink/internal/config"
	"github.com/acrsink/acrsink/internal/store"
)

// command is one subcommand: run gets the arguments after its name.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

// errUsage marks an error already explained to the user.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "acrsink:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[1] == "-h" || args[1] == "--help" || args[1] == "help" {
		usage(stderr)
		if len(args) < 2 {
			return errUsage
		}
		return nil
	}
	c, ok := commands[args[1]]
	if !ok {
		fmt.Fprintf(stderr, "acrsink: unknown command %q\n\n", args[1])
		usage(stderr)
		return errUsage
	}
	return c.run(ctx, args[2:], getenv, stdin, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: acrsink <command> [flags]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun acrsink <command> -h for its flags.")
}

// openStore opens the store the handler's settings name: what query and
// replay work on.
func openStore(getenv func(string) string) (*store.Cosmos, config.Config, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, cfg, err
	}
	st, err := store.Open(cfg, store.Options{})
	return st, cfg, err
}
