// Command acrsink is what people run by hand around the sink: a local run
// with the emulator (dev), queries (query), recovery (replay) and the
// deployment package (package). The Functions host runs cmd/handler instead.
//
// Each subcommand lives in its own file and registers itself in commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand: run gets the arguments after its name.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

// errUsage marks an error already explained to the user.
var errUsage = errors.New("usage")

// errInterrupted marks a run stopped by Ctrl-C after saying what it did.
var errInterrupted = errors.New("interrupted")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first Ctrl-C cancels ctx, and every subcommand winds down from it;
	// giving the signals back then lets a second Ctrl-C kill at once.
	go func() { <-ctx.Done(); stop() }()
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	interrupted := ctx.Err() != nil // before stop, which cancels ctx too
	stop()
	switch {
	case err == nil:
	case errors.Is(err, errInterrupted) || interrupted:
		if !errors.Is(err, errInterrupted) && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "acrsink:", err)
		}
		os.Exit(130) // the shell's code for a run ended by SIGINT
	default:
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
	err := c.run(ctx, args[2:], getenv, stdin, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // help was asked for and given: not an error
	}
	return err
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

// help is what a subcommand's -h prints, in this order: what it does (one
// sentence), how it is called and any detail, its flags, an example.
type help struct {
	name, does, usage, detail, example string
}

// newFlags makes a subcommand's flag set with h as its usage text.
func newFlags(h help, stderr io.Writer) *flag.FlagSet {
	flags := flag.NewFlagSet("acrsink "+h.name, flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprintf(stderr, "%s\n\nusage: %s\n", h.does, h.usage)
		if h.detail != "" {
			fmt.Fprintf(stderr, "\n%s\n", strings.TrimSpace(h.detail))
		}
		fmt.Fprintln(stderr, "\nFlags:")
		flags.PrintDefaults()
		fmt.Fprintf(stderr, "\nExample:\n  %s\n", strings.ReplaceAll(strings.TrimSpace(h.example), "\n", "\n  "))
	}
	return flags
}

// parseArgs parses flags wherever they stand among the arguments (people
// type `query 'SELECT ...' -jsonl`), and returns the other arguments; after
// "--" everything is an argument. -h returns flag.ErrHelp; any other
// mistake is said in one line (by the flag package), then the usage.
func parseArgs(flags *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := flags.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		left := flags.Args()
		if len(left) == 0 {
			return rest, nil
		}
		if used := len(args) - len(left); used > 0 && args[used-1] == "--" {
			return append(rest, left...), nil
		}
		rest = append(rest, left[0])
		args = left[1:]
	}
}

// usageError says what was wrong in one line, then shows the usage.
func usageError(flags *flag.FlagSet, format string, a ...any) error {
	fmt.Fprintf(flags.Output(), "%s: %s\n\n", flags.Name(), fmt.Sprintf(format, a...))
	flags.Usage()
	return errUsage
}
