package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/acrsink/acrsink/internal/arm"
	"github.com/acrsink/acrsink/internal/history"
	"github.com/acrsink/acrsink/internal/ingest"
	"github.com/acrsink/acrsink/internal/replay"
	"github.com/acrsink/acrsink/internal/store"
)

func init() {
	commands["replay"] = command{summary: "store the events a webhook's history shows were not delivered (from Resource Manager, or az acr webhook list-events -o json)", run: runReplay}
}

const replayExample = "az acr webhook list-events -r REGISTRY -n WEBHOOK -o json | acrsink replay"

// replayWords are the words replay prints for an outcome where they are
// not its String(), in each event's line; the summary counts under the
// same words. They are documented (docs/operations.md, replay): an event
// already stored is "already present" (the HTTP API's "duplicate" keeps its
// name for the clients that read it), and a payload that is no event is
// one of the failures the run exits non-zero for.
var replayWords = map[ingest.Outcome]string{
	ingest.Duplicate:   "already present",
	ingest.NotDelivery: "skipped: not a delivery",
	ingest.Invalid:     ingest.Failed.String(),
}

// replayWord is what replay prints for o.
func replayWord(o ingest.Outcome) string {
	if w, ok := replayWords[o]; ok {
		return w
	}
	return o.String()
}

func runReplay(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	flags := newFlags(help{
		name:  "replay",
		does:  "acrsink replay stores the events whose webhook delivery did not get a 2xx answer, reading the webhook's history.",
		usage: "acrsink replay --webhook WEBHOOK_ID [flags], or az acr webhook list-events -r REGISTRY -n WEBHOOK -o json | acrsink replay [flags]",
		detail: `With --webhook it reads the history from Azure Resource Manager with your
sign-in (az login), up to 100 pages, and writes no file: the history holds the
webhook's key in its headers. It goes through the same mapping and create-only store as the handler: an
event already stored is left as it was ("already present"), so replaying
twice changes nothing. Reads the same Cosmos settings as the handler
(COSMOS_ENDPOINT or COSMOS_CONNECTION_STRING, COSMOS_DATABASE,
COSMOS_CONTAINER).`,
		example: "acrsink replay --dry-run --webhook $(az acr webhook show -r REGISTRY -n WEBHOOK --query id -o tsv)\n" + replayExample + " --dry-run",
	}, stderr)
	file := flags.String("file", "", "read the history from this file instead of standard input")
	webhooks := flags.String("webhook", "", "read the history of these webhooks (resource ids, comma-separated) from Resource Manager")
	all := flags.Bool("all", false, "replay every event, not only those whose delivery got no 2xx")
	dryRun := flags.Bool("dry-run", false, "look each event up in the store and report what a replay would do; store nothing")
	concurrency := flags.Int("concurrency", 8, "writes in flight")
	rest, err := parseArgs(flags, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usageError(flags, "takes no arguments (got %q): pipe the history in, or name its file with --file", rest[0])
	}
	az, err := loadAzure(getenv)
	if err != nil {
		return err
	}
	cfg := az.cfg
	var deliveries []history.Delivery
	if *webhooks != "" {
		if *file != "" {
			return usageError(flags, "--webhook and --file both name a history: give one")
		}
		if deliveries, err = webhookHistory(ctx, az, *webhooks, stderr); err != nil {
			return err
		}
	} else {
		in := stdin
		if *file != "" {
			f, err := os.Open(*file)
			if err != nil {
				return err
			}
			defer f.Close()
			in = f
		} else if isTerminal(stdin) {
			// Nobody types a history: waiting for one would look like a hang.
			fmt.Fprintf(stderr, "acrsink replay: nothing is piped in; replay reads %s, on standard input or from --file, or a webhook's history from Resource Manager with --webhook:\n  %s\n", history.Expected, replayExample)
			return errUsage
		}
		data, err := readAll(ctx, in)
		if err != nil {
			if ctx.Err() != nil {
				fmt.Fprintln(stderr, "interrupted while reading the history; nothing was replayed")
				return errInterrupted
			}
			return err
		}
		if deliveries, err = history.Parse(data); err != nil {
			return err
		}
	}
	st, err := az.openStore(store.Options{})
	if err != nil {
		return err
	}
	// One read before the loop: a store that cannot answer is one line
	// saying what to fix, not the same error once per event.
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, err = st.Exists(cctx, "acrsink-replay-store-check")
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "interrupted before anything was replayed")
			return errInterrupted
		}
		if p := storeProblem(err, cfg); p != nil {
			return fmt.Errorf("nothing was replayed: %w", p)
		}
		return fmt.Errorf("nothing was replayed: the store did not answer a test read: %w", err)
	}

	opts := replay.Options{All: *all, DryRun: *dryRun, Concurrency: *concurrency}
	progress := isTerminal(stderr)
	if progress {
		opts.Progress = func(done, total int) {
			fmt.Fprintf(stderr, "\rreplaying %d/%d", done, total)
			if done == total {
				fmt.Fprintln(stderr)
			}
		}
	}
	s := replay.Run(ctx, st, deliveries, opts)
	c := s.Counts
	if progress && c[ingest.Unfinished] > 0 {
		fmt.Fprintln(stderr)
	}
	for _, r := range s.Results {
		if r.Outcome == ingest.Delivered || r.Outcome == ingest.Unfinished {
			continue
		}
		if r.Delivery.Warning != "" {
			fmt.Fprintf(stderr, "warning: delivery %s: %s\n", r.Delivery.ID, r.Delivery.Warning)
		}
		word := replayWord(r.Outcome)
		if r.Outcome == ingest.NotDelivery {
			fmt.Fprintf(stdout, "%s (history entry %s: %s)\n", word, r.Delivery.ID, r.Delivery.Answer())
			continue
		}
		ev := r.Delivery.Event
		line := fmt.Sprintf("%-15s %s %s", word, ev.ID, ev.Action)
		if ref := reference(ev.Target.Repository, ev.Target.Tag, ev.Target.Digest); ref != "" {
			line += " " + ref
		}
		line += " (delivery " + r.Delivery.ID + ": " + r.Delivery.Answer() + ")"
		if r.Err != nil {
			line += ": " + r.Err.Error()
		}
		fmt.Fprintln(stdout, line)
	}
	fmt.Fprintf(stdout, "\nread %d, skipped (delivered) %d", len(s.Results), c[ingest.Delivered])
	if n := c[ingest.NotDelivery]; n > 0 {
		fmt.Fprintf(stdout, ", skipped (not a delivery) %d", n)
	}
	fmt.Fprintf(stdout, ", %s %d, %s %d, ignored (ping) %d", replayWord(ingest.Stored), c[ingest.Stored], replayWord(ingest.Duplicate), c[ingest.Duplicate], c[ingest.Ignored])
	if *dryRun {
		fmt.Fprintf(stdout, ", %s %d", replayWord(ingest.WouldStore), c[ingest.WouldStore])
	}
	fmt.Fprintf(stdout, ", %s %d", replayWord(ingest.Failed), c[ingest.Failed]+c[ingest.Invalid])
	if n := c[ingest.Unfinished]; n > 0 {
		fmt.Fprintf(stdout, ", not done (interrupted) %d", n)
	}
	fmt.Fprintln(stdout)
	if *dryRun {
		fmt.Fprintf(stdout, "dry run: looked each event up in %s/%s, as a replay does before writing; stored nothing\n", cfg.CosmosDatabase, cfg.CosmosContainer)
	}
	switch {
	case c[ingest.Unfinished] > 0:
		fmt.Fprintf(stderr, "interrupted: %d of %d deliveries not done; run the same command again to finish (a replay is safe to repeat)\n", c[ingest.Unfinished], len(s.Results))
		return errInterrupted
	case c[ingest.Failed] > 0:
		return errors.New("some events were not stored; see above, then run the replay again")
	case c[ingest.Invalid] > 0:
		return fmt.Errorf("%d entries of the history hold no valid ACR event and cannot be replayed; see above", c[ingest.Invalid])
	}
	return nil
}

// webhookHistory reads the histories of the webhooks named in list from
// Resource Manager, one after another. A history longer than one read
// takes (arm.ErrMore) is replayed as far as it was read, and said so.
func webhookHistory(ctx context.Context, az *azure, list string, stderr io.Writer) ([]history.Delivery, error) {
	hooks, err := arm.ParseWebhooks(list, "--webhook")
	if err != nil {
		return nil, err
	}
	client, err := az.openARM()
	if err != nil {
		return nil, err
	}
	var all []history.Delivery
	for _, w := range hooks {
		ds, err := client.History(ctx, w)
		switch {
		case errors.Is(err, arm.ErrMore):
			fmt.Fprintf(stderr, "%v; replaying what was read. For the whole history: az acr webhook list-events -r %s -n %s -o json | acrsink replay\n", err, w.Registry, w.Name)
		case err != nil:
			return nil, fmt.Errorf("nothing was replayed: %w", err)
		}
		all = append(all, ds...)
	}
	return all, nil
}

// readAll reads r to the end, unless ctx ends first: a read from a
// terminal or a stalled pipe must not keep Ctrl-C from stopping replay.
func readAll(ctx context.Context, r io.Reader) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := io.ReadAll(r)
		done <- result{data, err}
	}()
	select {
	case res := <-done:
		return res.data, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
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

// isTerminal reports whether f (a reader or writer) is a terminal: where
// progress belongs, and where no history is being piped in.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
