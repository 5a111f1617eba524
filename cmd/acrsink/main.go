// Command acrsink is what people run by hand around the sink. The Functions
// host runs cmd/handler instead.
//
// Usage:
//
//	acrsink <command> [flags] [arguments]
//
// The commands are:
//
//	dev      run the sink locally on the cosmium emulator, with a fresh key
//	query    run a Cosmos DB SQL query against the configured container and print the results
//	report   count the events stored per day by action, door and region, the watched ones, and the newest
//	replay   store the events a webhook's history shows were not delivered (from Resource Manager, or az acr webhook list-events -o json)
//	check    ping a webhook through Resource Manager and report what acrsink answered
//	package  build the deployment zip for Flex Consumption (host.json, function folders, linux/amd64 handler)
//
// Use "acrsink help <command>" for more about a command.
//
// Each command is one value of type command, in its own file; commands
// below lists them in this order.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/acrsink/acrsink/internal/arm"
)

// commands is every command, in the order help lists them.
var commands = []*command{devCmd, queryCmd, reportCmd, replayCmd, checkCmd, packageCmd}

// command is one subcommand, declared in one value as cmd/go declares its
// own (cmd/go/internal/base.Command): its name, a one-line summary for the
// list, its usage line, its long help (the first line one sentence saying
// what it does), an example, and its flags. flags declares them on fs and
// returns the run that reads them, so a command's flags live beside it and
// nowhere else.
type command struct {
	name, summary, usage, long, example string
	flags                               func(fs *flag.FlagSet) func(ctx context.Context, e *env, args []string) error
}

// env is what a command runs with: the process's environment and streams,
// and the hooks tests set. Nothing a command reads is a package variable.
type env struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer

	// arm tunes the Resource Manager client (tests trust a stand-in's
	// certificate here).
	arm arm.Options
	// checkPoll and checkNoAnswer, when checkPoll is set, replace check's
	// timing (checkNoAnswer may then be 0: a delivery with no answer yet
	// is taken as unanswered at once).
	checkPoll, checkNoAnswer time.Duration
	// now, when set, is report's clock (tests fix the day).
	now func() time.Time
}

// errUsage marks a mistake in how acrsink was called, already explained to
// the user: the run exits 2, as the flag package and the go command do.
var errUsage = errors.New("usage")

// errInterrupted marks a run stopped by Ctrl-C after saying what it did.
var errInterrupted = errors.New("interrupted")

// usageError is a mistake in a command's arguments: said in one line, then
// the usage line and where the help is.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func badUsage(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first Ctrl-C cancels ctx, and every subcommand winds down from it;
	// giving the signals back then lets a second Ctrl-C kill at once.
	go func() { <-ctx.Done(); stop() }()
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	interrupted := ctx.Err() != nil // before stop, which cancels ctx too
	stop()
	os.Exit(exitCode(err, interrupted, os.Stderr))
}

// exitCode says err, unless it was said already, and is the status for it:
// 0, 2 for a usage mistake, 130 for Ctrl-C, 1 for anything else.
func exitCode(err error, interrupted bool, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errInterrupted) || interrupted:
		if !errors.Is(err, errInterrupted) && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "acrsink:", err)
		}
		return 130 // the shell's code for a run ended by SIGINT
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintln(stderr, "acrsink:", err)
	return 1
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return (&env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}).run(ctx, args)
}

// run runs the command args name (args[0] is the program).
func (e *env) run(ctx context.Context, args []string) error {
	if len(args) < 2 {
		list(e.stderr)
		return errUsage
	}
	switch args[1] {
	case "-h", "-help", "--help":
		list(e.stdout)
		return nil
	case "help":
		return e.help(args[2:])
	}
	cmd := lookup(args[1])
	if cmd == nil {
		fmt.Fprintf(e.stderr, "acrsink: unknown command %q\nsee 'acrsink help'\n", args[1])
		return errUsage
	}
	fs := flag.NewFlagSet("acrsink "+cmd.name, flag.ContinueOnError)
	// The flag package's own report is the error and then the whole usage;
	// ours is the error in one line (below), and -h's help.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	runCmd := cmd.flags(fs)
	rest, err := parseArgs(fs, args[2:])
	if errors.Is(err, flag.ErrHelp) {
		printHelp(e.stderr, cmd, fs)
		return nil // help was asked for and given: not an error
	}
	if err == nil {
		err = runCmd(ctx, e, rest)
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(e.stderr, "acrsink %s: %s\nusage: %s\nsee 'acrsink help %s'\n", cmd.name, ue.msg, firstLine(cmd.usage), cmd.name)
		return errUsage
	}
	return err
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// help is `acrsink help [command]`: the list, or one command's help.
func (e *env) help(args []string) error {
	switch {
	case len(args) == 0:
		list(e.stdout)
		return nil
	case len(args) > 1:
		fmt.Fprintf(e.stderr, "acrsink help: want one command, got %d\nsee 'acrsink help'\n", len(args))
		return errUsage
	}
	cmd := lookup(args[0])
	if cmd == nil {
		fmt.Fprintf(e.stderr, "acrsink help: unknown command %q\nsee 'acrsink help'\n", args[0])
		return errUsage
	}
	fs := flag.NewFlagSet("acrsink "+cmd.name, flag.ContinueOnError)
	cmd.flags(fs)
	printHelp(e.stdout, cmd, fs)
	return nil
}

// list is the commands, as the package doc lists them.
func list(w io.Writer) {
	fmt.Fprint(w, "acrsink is what people run by hand around the sink.\n\nUsage:\n\n\tacrsink <command> [flags] [arguments]\n\nThe commands are:\n\n")
	for _, c := range commands {
		fmt.Fprintf(w, "\t%-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nUse \"acrsink help <command>\" for more about a command.\n")
}

// printHelp is a command's help, in this order: what it does (one
// sentence) and any detail, how it is called, its flags, an example.
func printHelp(w io.Writer, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "%s\n\nusage: %s\n", strings.TrimSpace(cmd.long), cmd.usage)
	fmt.Fprintln(w, "\nFlags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprintf(w, "\nExample:\n  %s\n", strings.ReplaceAll(strings.TrimSpace(cmd.example), "\n", "\n  "))
}

// parseArgs parses flags wherever they stand among the arguments (people
// type `query 'SELECT ...' -jsonl`), and returns the other arguments; after
// "--" everything is an argument. -h returns flag.ErrHelp; any other
// mistake is a usageError in the flag package's words.
func parseArgs(flags *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := flags.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{msg: err.Error()}
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
