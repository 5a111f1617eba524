package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/acrsink/acrsink/internal/history"
	"github.com/acrsink/acrsink/internal/replay"
)

func init() {
	commands["replay"] = command{summary: "store the events a webhook's history shows were not delivered (az acr webhook list-events -o json)", run: runReplay}
}

func runReplay(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("acrsink replay", flag.ContinueOnError)
	flags.SetOutput(stderr)
	file := flags.String("file", "", "read the history from this file instead of standard input")
	all := flags.Bool("all", false, "replay every event, not only those whose delivery got no 2xx")
	dryRun := flags.Bool("dry-run", false, "report what would be replayed; store nothing")
	concurrency := flags.Int("concurrency", 8, "writes in flight")
	flags.Usage = func() {
		fmt.Fprintln(stderr, `usage: az acr webhook list-events -r REGISTRY -n WEBHOOK -o json | acrsink replay [flags]

Stores the events whose delivery did not get a 2xx answer, through the same
mapping and create-only store as the handler: an event already stored is left
as it was, so replaying twice changes nothing. Reads the same Cosmos settings
as the handler (COSMOS_ENDPOINT or COSMOS_CONNECTION_STRING, COSMOS_DATABASE,
COSMOS_CONTAINER).

Flags:`)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil || flags.NArg() != 0 {
		if err == nil {
			flags.Usage()
		}
		return errUsage
	}
	in := stdin
	if *file != "" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	deliveries, err := history.Parse(data)
	if err != nil {
		return err
	}
	st, _, err := openStore(getenv)
	if err != nil {
		return err
	}
	opts := replay.Options{All: *all, DryRun: *dryRun, Concurrency: *concurrency}
	if isTerminal(stderr) {
		opts.Progress = func(done, total int) {
			fmt.Fprintf(stderr, "\rreplaying %d/%d", done, total)
			if done == total {
				fmt.Fprintln(stderr)
			}
		}
	}
	s := replay.Run(ctx, st, deliveries, opts)
	for _, r := range s.Results {
		if r.Outcome == "delivered" {
			continue
		}
		if r.Delivery.Warning != "" {
			fmt.Fprintf(stderr, "warning: delivery %s: %s\n", r.Delivery.ID, r.Delivery.Warning)
		}
		ev := r.Delivery.Event
		line := fmt.Sprintf("%-12s %s %s", r.Outcome, ev.ID, ev.Action)
		if ref := reference(ev.Target.Repository, ev.Target.Tag, ev.Target.Digest); ref != "" {
			line += " " + ref
		}
		line += " (delivery " + r.Delivery.ID + ": " + r.Delivery.Outcome() + ")"
		if r.Err != nil {
			line += ": " + r.Err.Error()
		}
		fmt.Fprintln(stdout, line)
	}
	fmt.Fprintf(stdout, "\nread %d, skipped (delivered) %d, stored %d, already present %d, ignored (ping) %d", s.Read, s.Skipped, s.Stored, s.Duplicates, s.Ignored)
	if *dryRun {
		fmt.Fprintf(stdout, ", would store %d", s.WouldStore)
	}
	fmt.Fprintf(stdout, ", failed %d\n", len(s.Failed))
	if len(s.Failed) > 0 {
		return errors.New("some events were not stored; see above, then run the replay again")
	}
	return nil
}

func reference(repo, tag, digest string) string {
	switch {
	case repo == "":
		return ""
	case tag != "":
		return repo + ":" + tag
	case digest != "":
		return repo + "@" + digest
	}
	return repo
}

// isTerminal reports whether w is a terminal, where progress belongs; a
// pipe or a file gets the summary only.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
