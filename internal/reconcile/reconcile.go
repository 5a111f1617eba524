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
	"sync"
	"time"

	"github.com/acrsink/acrsink/internal/arm"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/history"
	"github.com/acrsink/acrsink/internal/replay"
)

// Lister reads a webhook's delivery history (arm.Client does, from
// Resource Manager).
type Lister interface {
	History(ctx context.Context, w arm.Webhook) ([]history.Delivery, error)
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
	Store    replay.Store
	Logger   *slog.Logger

	idle sync.Once
}

// Report is what one run did for one webhook.
type Report struct {
	Webhook string `json:"webhook"`
	// Read: deliveries in the history; Delivered: those that got a 2xx
	// (no store call); Recovered: stored now; Present: already stored;
	// Ignored: pings; Invalid: entries no run can store (a payload that is
	// not an event, which acrsink answered 400, or an entry with no
	// request); Unfinished: deliveries the budget left for the next run.
	Read       int      `json:"read"`
	Delivered  int      `json:"delivered"`
	Recovered  int      `json:"recovered"`
	Present    int      `json:"alreadyPresent"`
	Ignored    int      `json:"ignored"`
	Invalid    int      `json:"invalid"`
	Unfinished int      `json:"unfinished,omitempty"`
	Failed     int      `json:"failed"`
	Errors     []string `json:"errors,omitempty"`
}

// OK reports whether everything that needed storing was stored.
func (r Report) OK() bool { return r.Failed == 0 && r.Unfinished == 0 && len(r.Errors) == 0 }

// LogFailed is the message of the log line for a webhook a run could not
// reconcile; infra/'s alert looks for it.
const LogFailed = "reconcile failed"

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
		if r.OK() {
			log.LogAttrs(ctx, slog.LevelInfo, "reconciled", attrs...)
			continue
		}
		failed = true
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
	ds, err := rc.Lister.History(ctx, w)
	if err != nil {
		// What was read before a later page failed is still worth storing.
		r.Errors = append(r.Errors, err.Error())
	}
	s := replay.Run(ctx, rc.Store, ds, replay.Options{Source: document.SourceReconcile})
	r.Read, r.Delivered, r.Recovered, r.Present, r.Ignored = s.Read, s.Skipped, s.Stored, s.Duplicates, s.Ignored
	r.Invalid, r.Unfinished = s.NotDeliveries, s.Interrupted
	if s.Interrupted > 0 {
		r.Errors = append(r.Errors, fmt.Sprintf("%d deliveries left for the next run: the run's time budget ran out", s.Interrupted))
	}
	for _, f := range s.Failed {
		if f.Delivery.Err != nil {
			r.Invalid++
			continue
		}
		r.Failed++
		if len(r.Errors) < 5 {
			r.Errors = append(r.Errors, fmt.Sprintf("event %s (delivery %s): %v", f.Delivery.Event.ID, f.Delivery.ID, f.Err))
		}
	}
	return r
}
