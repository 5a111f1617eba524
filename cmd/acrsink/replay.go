package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/acrsink/acrsink/internal/arm"
	"github.com/acrsink/acrsink/internal/config"
	"github.com/acrsink/acrsink/internal/history"
	"github.com/acrsink/acrsink/internal/ingest"
	"github.com/acrsink/acrsink/internal/replay"
	"github.com/acrsink/acrsink/internal/store"
	"github.com/acrsink/acrsink/internal/watch"
)

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

var replayCmd = &command{
	name:    "replay",
	summary: "store the events a webhook's history shows were not delivered (from Resource Manager, or az acr webhook list-events -o json)",
	usage:   "acrsink replay -webhook WEBHOOK_ID [flags], or az acr webhook list-events -r REGISTRY -n WEBHOOK -o json | acrsink replay [flags]",
	long: `acrsink replay stores the events whose webhook delivery did not get a 2xx answer, reading the webhook's history.

With -webhook it reads the history from Azure Resource Manager with your
sign-in (az login), up to 100 pages, and writes no file: the history holds the
webhook's key in its headers. It goes through the same mapping and
create-only store as the handler: an event already stored is left as it was
("already present"), so replaying twice changes nothing. Reads the same
Cosmos settings as the handler (COSMOS_ENDPOINT or COSMOS_CONNECTION_STRING,
COSMOS_DATABASE, COSMOS_CONTAINER), and ACRSINK_WATCH as the handler does: a
watched delete or quarantine it stores is marked "watched": true and said on
standard error in one line, "watched event: eventId=... action=...".`,
	example: "acrsink replay -dry-run -webhook $(az acr webhook show -r REGISTRY -n WEBHOOK --query id -o tsv)\n" + replayExample + " -dry-run",
	flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		var o replayOptions
		fs.StringVar(&o.file, "file", "", "read the history from this file instead of standard input")
		fs.StringVar(&o.webhooks, "webhook", "", "read the history of these webhooks (resource ids, comma-separated) from Resource Manager")
		fs.BoolVar(&o.all, "all", false, "replay every event, not only those whose delivery got no 2xx")
		fs.BoolVar(&o.dryRun, "dry-run", false, "look each event up in the store and report what a replay would do; store nothing")
		fs.IntVar(&o.concurrency, "concurrency", 8, "writes in flight")
		return func(ctx context.Context, e *env, args []string) error { return runReplay(ctx, e, o, args) }
	},
}

// replayOptions are replay's flags.
type replayOptions struct {
	file, webhooks string
	all, dryRun    bool
	concurrency    int
}

// runReplay reads the history, checks that the store answers, replays,
// reports, and exits as the outcomes say.
func runReplay(ctx context.Context, e *env, o replayOptions, rest []string) error {
	if len(rest) != 0 {
		return badUsage("takes no arguments (got %q): pipe the history in, or name its file with -file", rest[0])
	}
	if o.concurrency < 1 {
		return badUsage("-concurrency %d: want at least 1 write in flight", o.concurrency)
	}
	if o.webhooks != "" && o.file != "" {
		return badUsage("-webhook and -file both name a history: give one")
	}
	az, err := loadAzure(e.getenv)
	if err != nil {
		return err
	}
	// ACRSINK_WATCH as the handler reads it: an event replayed here is
	// marked and announced as it would have been had it arrived, and a bad
	// pattern stops the run before anything is stored, as it stops the
	// handler at start.
	list, err := watch.Parse(az.cfg.Watch)
	if err != nil {
		return fmt.Errorf("nothing was replayed: %w", err)
	}
	deliveries, unread, err := readHistory(ctx, e, az, o)
	if err != nil {
		return err
	}
	st, err := az.openStore(store.Options{})
	if err != nil {
		return err
	}
	if err := probeStore(ctx, e, st, az.cfg); err != nil {
		return err
	}
	opts := replay.Options{All: o.all, DryRun: o.dryRun, Concurrency: o.concurrency}
	if !list.Empty() {
		opts.Watch = &ingest.Watch{List: list, Logger: slog.New(newLineHandler(e.stderr))}
	}
	progress := isTerminal(e.stderr)
	if progress {
		opts.Progress = func(done, total int) {
			fmt.Fprintf(e.stderr, "\rreplaying %d/%d", done, total)
			if done == total {
				fmt.Fprintln(e.stderr)
			}
		}
	}
	s := replay.Run(ctx, st, deliveries, opts)
	if progress && s.Counts[ingest.Unfinished] > 0 {
		fmt.Fprintln(e.stderr)
	}
	report(e, s, o.dryRun, az.cfg)
	return exitStatus(e, s, unread)
}

// readHistory reads the deliveries from Resource Manager (-webhook), the
// file, or standard input.
func readHistory(ctx context.Context, e *env, az *azure, o replayOptions) (ds []history.Delivery, unread []string, err error) {
	if o.webhooks != "" {
		return webhookHistory(ctx, e, az, o.webhooks)
	}
	in := e.stdin
	if o.file != "" {
		f, err := os.Open(o.file)
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		in = f
	} else if isTerminal(in) {
		// Nobody types a history: waiting for one would look like a hang.
		return nil, nil, badUsage("nothing is piped in; replay reads %s, on standard input or from -file, or a webhook's history from Resource Manager with -webhook: %s", history.Expected, replayExample)
	}
	data, err := readAll(ctx, in)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(e.stderr, "interrupted while reading the history; nothing was replayed")
			return nil, nil, errInterrupted
		}
		return nil, nil, err
	}
	ds, err = history.Parse(data)
	if err != nil {
		return nil, nil, err
	}
	// A JSON array of something else (az acr webhook list, [1,2]) is no
	// history; an empty one is a webhook that has sent nothing yet.
	if len(ds) > 0 && !slices.ContainsFunc(ds, func(d history.Delivery) bool { return !d.NotDelivery }) {
		return nil, nil, fmt.Errorf("nothing was replayed: none of the %d entries is a delivery (%v); replay reads %s", len(ds), ds[0].Err, history.Expected)
	}
	return ds, nil, nil
}

// probeStore is one read before the first event, the same for a dry run
// as for a real one: a store that cannot answer is one line saying what to
// fix, not the same error once per event.
func probeStore(ctx context.Context, e *env, st *store.Cosmos, cfg config.Config) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := st.Check(cctx)
	cancel()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		fmt.Fprintln(e.stderr, "interrupted before anything was replayed")
		return errInterrupted
	}
	if p := storeProblem(err, cfg); p != nil {
		return fmt.Errorf("nothing was replayed: %w", p)
	}
	return fmt.Errorf("nothing was replayed: the store did not answer a read of the container: %w", err)
}

// report prints a line for each event that was not skipped as delivered,
// then the counts.
func report(e *env, s replay.Summary, dryRun bool, cfg config.Config) {
	stdout, stderr := e.stdout, e.stderr
	c := s.Counts
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
	if dryRun {
		fmt.Fprintf(stdout, ", %s %d", replayWord(ingest.WouldStore), c[ingest.WouldStore])
	}
	fmt.Fprintf(stdout, ", %s %d", replayWord(ingest.Failed), c[ingest.Failed]+c[ingest.Invalid])
	if n := c[ingest.Unfinished]; n > 0 {
		fmt.Fprintf(stdout, ", not done (interrupted) %d", n)
	}
	fmt.Fprintln(stdout)
	if dryRun {
		fmt.Fprintf(stdout, "dry run: looked each event up in %s/%s, as a replay does before writing; stored nothing\n", cfg.CosmosDatabase, cfg.CosmosContainer)
	}
}

// exitStatus is the run's error: an interrupted run first, then failures.
func exitStatus(e *env, s replay.Summary, unread []string) error {
	c := s.Counts
	switch {
	case c[ingest.Unfinished] > 0:
		fmt.Fprintf(e.stderr, "interrupted: %d of %d deliveries not done; run the same command again to finish (a replay is safe to repeat)\n", c[ingest.Unfinished], len(s.Results))
		return errInterrupted
	case c[ingest.Failed] > 0:
		return errors.New("some events were not stored; see above, then run the replay again")
	case c[ingest.Invalid] > 0:
		return fmt.Errorf("%d entries of the history hold no valid ACR event and cannot be replayed; see above", c[ingest.Invalid])
	case len(unread) > 0:
		return fmt.Errorf("the history of %d webhook(s) could not be read and was not replayed: %s; see above", len(unread), strings.Join(unread, ", "))
	}
	return nil
}

// webhookHistory reads the histories of the webhooks named in list from
// Resource Manager, one after another. A history longer than one read
// takes (arm.ErrMore) is replayed as far as it was read, and said so.
func webhookHistory(ctx context.Context, e *env, az *azure, list string) (all []history.Delivery, unread []string, err error) {
	hooks, err := arm.ParseWebhooks(list, "-webhook")
	if err != nil {
		return nil, nil, badUsage("%v", err)
	}
	if len(hooks) == 0 {
		return nil, nil, badUsage("-webhook %q names no webhook: give resource ids, comma-separated", list)
	}
	client, err := az.openARM(e.arm)
	if err != nil {
		return nil, nil, err
	}
	// One webhook whose history cannot be read does not keep the others'
	// from being replayed, as in the reconciler; the run then exits non-zero.
	for _, w := range hooks {
		ds, err := client.History(ctx, w)
		switch {
		case errors.Is(err, arm.ErrMore):
			fmt.Fprintf(e.stderr, "%v; replaying what was read. For the whole history: az acr webhook list-events -r %s -n %s -o json | acrsink replay\n", err, w.Registry, w.Name)
		case err != nil && ctx.Err() != nil:
			fmt.Fprintln(e.stderr, "interrupted while reading the history; nothing was replayed")
			return nil, nil, errInterrupted
		case err != nil:
			if len(hooks) == 1 {
				return nil, nil, fmt.Errorf("nothing was replayed: %w", err)
			}
			fmt.Fprintf(e.stderr, "not replayed: %s: %v\n", w, err)
			unread = append(unread, w.String())
			continue
		}
		all = append(all, ds...)
	}
	if len(unread) == len(hooks) {
		return nil, nil, errors.New("nothing was replayed: no webhook's history could be read; see above")
	}
	return all, unread, nil
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

// lineHandler writes a log record as the CLI says things: one line, the
// message, then key=value for each attribute that has a value ("watched
// event: eventId=... action=delete repository=prod/api ..."). A value
// that could break the line (a space, a newline from an event's field) is
// quoted. Replay's writers log concurrently: a line is one Write, under a
// lock.
type lineHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	attrs []slog.Attr
}

func newLineHandler(w io.Writer) *lineHandler { return &lineHandler{mu: &sync.Mutex{}, w: w} }

func (h *lineHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	sep := ": "
	add := func(a slog.Attr) bool {
		if v := a.Value.Resolve().String(); v != "" {
			b.WriteString(sep + a.Key + "=" + label(v))
			sep = " "
		}
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &lineHandler{mu: h.mu, w: h.w, attrs: append(slices.Clip(h.attrs), attrs...)}
}

// WithGroup keeps the keys as they are: nothing acrsink logs here is
// grouped.
func (h *lineHandler) WithGroup(string) slog.Handler { return h }
