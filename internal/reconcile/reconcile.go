// Package reconcile is acrsink healing itself: on a schedule, it reads each
// configured webhook's delivery history from Resource Manager and stores
// every event whose delivery did not get a 2xx answer, through the same
// replay (and so the same ingest path) as acrsink replay. ACR tries a
// delivery once and never again; this is the again.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/arm"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/history"
	"github.com/acrsink/acrsink/internal/ingest"
	"github.com/acrsink/acrsink/internal/replay"
)

// Lister reads a webhook's delivery history (arm.Client does, from
// Resource Manager).
type Lister interface {
	History(ctx context.Context, w arm.Webhook) ([]history.Delivery, error)
}

// Checker reads a webhook's configuration (arm.Client does, from
// Resource Manager).
type Checker interface {
	Config(ctx context.Context, w arm.Webhook) (arm.Config, error)
}

// Budgets that keep a run well inside the Functions timeout (30 minutes by
// default on Flex Consumption, learn.microsoft.com functions-scale): the
// next run picks up whatever this one did not finish.
const (
	// RunBudget bounds a whole run.
	RunBudget = 5 * time.Minute
	// WebhookBudget bounds one webhook's reading and storing.
	WebhookBudget = 2 * time.Minute
)

// Reconciler reconciles a fixed list of webhooks into a store.
type Reconciler struct {
	Webhooks []arm.Webhook
	Lister   Lister
	// Checker, when set, reads each webhook's configuration on each run
	// and the run reports its drift (see Drift).
	Checker Checker
	Store   replay.Store
	Logger  *slog.Logger
	// Watch marks and logs the watched events a run recovers (see
	// ingest.Watch); nil watches nothing.
	Watch *ingest.Watch
	// Expect is what Checker holds each webhook's configuration to.
	Expect Expected

	idle sync.Once
}

// Report is what one run did for one webhook.
type Report struct {
	Webhook string `json:"webhook"`
	// Read: deliveries in the history; the others count them by their
	// ingest.Outcome (see count): Delivered: those that got a 2xx (no
	// store call); Recovered: stored now; Present: already stored;
	// Ignored: pings; Invalid: entries no run can store (a payload that is
	// not an event, which acrsink answered 400, or an entry with no
	// request); Unfinished: deliveries the budget left for the next run.
	Read       int `json:"read"`
	Delivered  int `json:"delivered"`
	Recovered  int `json:"recovered"`
	Present    int `json:"alreadyPresent"`
	Ignored    int `json:"ignored"`
	Invalid    int `json:"invalid"`
	Unfinished int `json:"unfinished,omitempty"`
	Failed     int `json:"failed"`
	// More says the history had more pages than a run reads
	// (arm.MaxPages): what was read was reconciled, and the deliveries
	// on the pages after were not read. It is no failure where the
	// history lists the newest deliveries first (see cutOffNewest): the
	// ones left are older than every one read, and earlier runs read them.
	More   bool     `json:"more,omitempty"`
	Errors []string `json:"errors,omitempty"`
	// Drift says, one item apiece, how the webhook's configuration keeps
	// events from acrsink (see Drift), or that it could not be read. It is
	// logged as LogDrift, which has its own alert, and does not fail the
	// run: the events that were sent were stored.
	Drift []string `json:"drift,omitempty"`
}

// OK reports whether everything that needed storing was stored.
func (r Report) OK() bool { return r.Failed == 0 && r.Unfinished == 0 && len(r.Errors) == 0 }

// LogFailed is the message of the log line for a webhook a run could not
// reconcile; infra/'s alert looks for it.
const LogFailed = "reconcile failed"

// LogDrift is the message of the log line for a webhook whose configuration
// no longer matches what acrsink needs of it (disabled, an action or the
// scope narrowed); infra/'s drift alert looks for it.
const LogDrift = "webhook drift"

// ErrFailed is returned when any webhook could not be read or any event not
// stored: the host then counts a failed run.
var ErrFailed = errors.New(LogFailed)

// Run reconciles every webhook, one after another, each within its budget.
// A webhook it cannot read is reported and does not stop the others.
func (rc *Reconciler) Run(ctx context.Context) ([]Report, error) {
	log := rc.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(rc.Webhooks) == 0 {
		rc.idle.Do(func() {
			log.Info("reconcile: no webhooks to read (ACRSINK_RECONCILE_WEBHOOKS is empty); nothing to do")
		})
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, RunBudget)
	defer cancel()
	var reports []Report
	failed := false
	for _, w := range rc.Webhooks {
		r := rc.one(ctx, w)
		reports = append(reports, r)
		attrs := []slog.Attr{
			slog.String("webhook", w.String()), slog.Int("read", r.Read), slog.Int("delivered", r.Delivered),
			slog.Int("recovered", r.Recovered), slog.Int("alreadyPresent", r.Present), slog.Int("ignored", r.Ignored),
			slog.Int("invalid", r.Invalid), slog.Int("unfinished", r.Unfinished), slog.Int("failed", r.Failed),
		}
		if r.More {
			attrs = append(attrs, slog.Bool("more", true), slog.String("left", fmt.Sprintf("the pages after the first %d, not read", arm.MaxPages)))
		}
		if len(r.Drift) > 0 {
			log.LogAttrs(ctx, slog.LevelError, LogDrift, slog.String("webhook", w.String()), slog.String("id", acr.Clip(w.ID)), slog.Any("drift", r.Drift))
		}
		switch {
		case r.OK() && r.More:
			// Worth a look, not an alert.
			log.LogAttrs(ctx, slog.LevelWarn, "reconciled", attrs...)
			continue
		case r.OK():
			log.LogAttrs(ctx, slog.LevelInfo, "reconciled", attrs...)
			continue
		}
		failed = true
		// Each error is clipped where one() makes it: a store's or
		// Resource Manager's error, or a value from a delivery, may be long.
		attrs = append(attrs, slog.Any("errors", r.Errors))
		log.LogAttrs(ctx, slog.LevelError, LogFailed, attrs...)
	}
	if failed {
		return reports, ErrFailed
	}
	return reports, nil
}

func (rc *Reconciler) one(ctx context.Context, w arm.Webhook) Report {
	ctx, cancel := context.WithTimeout(ctx, WebhookBudget)
	defer cancel()
	r := Report{Webhook: w.ID}
	if rc.Checker != nil {
		// Before the history, so that a history that takes the whole
		// budget leaves the check its time.
		c, err := rc.Checker.Config(ctx, w)
		if err != nil {
			r.Drift = []string{"configuration not read: " + acr.Clip(err.Error())}
		} else {
			r.Drift = Drift(c, rc.Expect)
		}
	}
	ds, err := rc.Lister.History(ctx, w)
	switch {
	case errors.Is(err, arm.ErrMore):
		// A long history: what was read is reconciled below.
		r.More = true
		if cutOffNewest(ds) {
			r.Errors = append(r.Errors, fmt.Sprintf("the history is longer than %d pages and lists the oldest deliveries first, so its newest were not read, and no run will read them: replay the whole history (az acr webhook list-events -r %s -n %s -o json | acrsink replay)", arm.MaxPages, w.Registry, w.Name))
		}
	case err != nil:
		// What was read before a later page failed is still worth storing.
		r.Errors = append(r.Errors, acr.Clip(err.Error()))
	}
	s := replay.Run(ctx, rc.Store, ds, replay.Options{Source: document.SourceReconcile, Watch: rc.Watch})
	r.count(s)
	if r.Unfinished > 0 {
		r.Errors = append(r.Errors, fmt.Sprintf("%d deliveries left for the next run: the run's time budget ran out", r.Unfinished))
	}
	for _, f := range s.Results {
		if f.Outcome == ingest.Failed && len(r.Errors) < 5 {
			r.Errors = append(r.Errors, fmt.Sprintf("event %s (delivery %s): %s", acr.Clip(f.Delivery.Event.ID), acr.Clip(f.Delivery.ID), acr.Clip(f.Err.Error())))
		}
	}
	return r
}

// count sets r's counts from a replay's: the one place a report's fields
// are named after the outcomes they count. A reconciler never dry-runs,
// so no delivery is ingest.WouldStore.
func (r *Report) count(s replay.Summary) {
	c := s.Counts
	r.Read = len(s.Results)
	r.Delivered, r.Recovered, r.Present, r.Ignored = c[ingest.Delivered], c[ingest.Stored], c[ingest.Duplicate], c[ingest.Ignored]
	r.Invalid = c[ingest.Invalid] + c[ingest.NotDelivery]
	r.Unfinished, r.Failed = c[ingest.Unfinished], c[ingest.Failed]
}

// cutOffNewest reports whether a history cut at the page cap lost its
// newest deliveries: whether the deliveries read, by their events'
// timestamps, run from oldest to newest. The order of listEvents is not
// documented (learn.microsoft.com/rest/api/containerregistry/webhooks/
// list-events says "recent events" and nothing more; an example in the Az
// PowerShell reference, Get-AzContainerRegistryWebhookEvent, shows the
// newest first). Newest first, the deliveries left are older than every
// one read, and the runs before read them while they were newer (unless
// more than a run reads arrived between two runs); oldest first, every run
// would miss each new delivery, which needs a human.
// Entries without a readable timestamp say nothing either way.
func cutOffNewest(ds []history.Delivery) bool {
	var first, last time.Time
	for _, d := range ds {
		if d.Err != nil {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, d.Event.Timestamp)
		if err != nil {
			continue
		}
		if first.IsZero() {
			first = t
		}
		last = t
	}
	return last.After(first)
}

// Actions are every action ACR has (learn.microsoft.com/rest/api/
// containerregistry/webhooks/get, WebhookAction): what infra/ configures by
// default (main.bicep's webhookActions), and what a webhook must post for
// acrsink to see every event.
var Actions = []string{acr.ActionPush, acr.ActionDelete, acr.ActionQuarantine, acr.ActionChartPush, acr.ActionChartDelete}

// Expected is the configuration a deployment gave its webhooks: what a
// webhook is held to on each run. infra/ passes its own webhookActions and
// webhookScope to the app (ACRSINK_WEBHOOK_ACTIONS, ACRSINK_WEBHOOK_SCOPE),
// so that a deployment that narrowed them on purpose is not told so on
// every run.
type Expected struct {
	// Actions the webhooks were given; nil means every one (Actions).
	Actions []string
	// Scope the webhooks were given; empty is the whole registry (the
	// scope's documentation in armcontainerregistry's WebhookProperties:
	// "Empty means all events").
	Scope string
}

// NewExpected checks actions and scope as the settings give them: an
// action ACR does not have would be drift on every run, so it stops the
// handler at start instead.
func NewExpected(actions []string, scope string) (Expected, error) {
	for _, a := range actions {
		if !slices.Contains(Actions, a) {
			return Expected{}, fmt.Errorf("ACRSINK_WEBHOOK_ACTIONS: %q is not an action ACR has (want some of %s)", acr.Clip(a), strings.Join(Actions, ", "))
		}
	}
	return Expected{Actions: actions, Scope: scope}, nil
}

// Drift says how c keeps events from acrsink that want does not mean to,
// one item apiece; none when it keeps none: a status other than enabled,
// an action of want's missing, a scope other than want's.
func Drift(c arm.Config, want Expected) []string {
	var out []string
	if c.Status != "enabled" {
		out = append(out, fmt.Sprintf("status is %q, not enabled: ACR sends it nothing", acr.Clip(c.Status)))
	}
	actions := want.Actions
	if actions == nil {
		actions = Actions
	}
	var missing []string
	for _, a := range actions {
		if !slices.Contains(c.Actions, a) {
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		out = append(out, "actions lack "+strings.Join(missing, ", ")+": ACR sends no such event")
	}
	switch {
	case c.Scope == want.Scope:
	case want.Scope == "":
		out = append(out, fmt.Sprintf("scope is %q, not the whole registry: ACR sends no event outside it", acr.Clip(c.Scope)))
	default:
		out = append(out, fmt.Sprintf("scope is %q, not %q as deployed: ACR sends no event outside it", acr.Clip(c.Scope), acr.Clip(want.Scope)))
	}
	return out
}
