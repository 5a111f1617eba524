// Package replay stores the events of a webhook's delivery history that
// acrsink did not take, through the same path as the handler: a replay of an
// event that did arrive, or a second replay, changes nothing. acrsink replay
// and the scheduled reconciler both run it.
package replay

import (
	"context"
	"sync"
	"time"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/history"
	"github.com/acrsink/acrsink/internal/ingest"
)

// Store is what a replay needs of the store: create through ingest, and
// tell whether an event is already there. Looking first costs a point read
// where a create that the store refuses would cost a write's request units,
// and lets a dry run say what a real run would do.
type Store interface {
	ingest.Store
	Exists(ctx context.Context, id string) (bool, error)
}

// Options for Run.
type Options struct {
	// Source is the document's source; "" means document.SourceReplay.
	Source string
	// All replays every delivery, not only the ones that got no 2xx.
	All bool
	// DryRun decides what would be replayed and stores nothing.
	DryRun bool
	// Concurrency bounds the writes in flight; 0 means 8.
	Concurrency int
	// Progress, when set, is called after each delivery is done.
	Progress func(done, total int)
	// Now is the clock for receivedAt; nil means time.Now.
	Now func() time.Time
	// Watch marks and logs the watched events stored (see ingest.Watch);
	// nil watches nothing.
	Watch *ingest.Watch
}

// Result is what happened to one delivery.
type Result struct {
	Delivery history.Delivery
	Outcome  ingest.Outcome
	// Err says why, for Invalid (the delivery's Err) and Failed.
	Err error
}

// Summary is what a run did.
type Summary struct {
	// Results holds each delivery's result, in the history's order.
	Results []Result
	// Counts holds how many results ended each way: the one count that
	// acrsink replay prints and the reconciler reports.
	Counts map[ingest.Outcome]int
}

// Run replays deliveries into st.
func Run(ctx context.Context, st Store, deliveries []history.Delivery, o Options) Summary {
	if o.Source == "" {
		o.Source = document.SourceReplay
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// Each call writes only its own result; Each's return publishes them.
	results := make([]Result, len(deliveries))
	for i, d := range deliveries {
		results[i] = Result{Delivery: d, Outcome: ingest.Unfinished}
	}
	var (
		mu   sync.Mutex
		done int
	)
	ingest.Each(ctx, len(deliveries), o.Concurrency, func(i int) {
		if o.Progress != nil {
			// Deferred, so that a delivery that panics counts as done too.
			defer func() {
				mu.Lock()
				defer mu.Unlock()
				done++
				o.Progress(done, len(deliveries))
			}()
		}
		results[i] = one(ctx, st, deliveries[i], o)
	}, func(i int, err error) {
		results[i].Outcome, results[i].Err = ingest.Failed, err
	})
	s := Summary{Results: results, Counts: map[ingest.Outcome]int{}}
	for _, r := range results {
		s.Counts[r.Outcome]++
	}
	return s
}

func one(ctx context.Context, st Store, d history.Delivery, o Options) Result {
	r := Result{Delivery: d}
	switch {
	case d.NotDelivery:
		r.Outcome = ingest.NotDelivery
		return r
	case d.Delivered() && !o.All:
		r.Outcome = ingest.Delivered
		return r
	case d.Err != nil:
		r.Outcome, r.Err = ingest.Invalid, d.Err
		return r
	case d.Event.Action == acr.ActionPing:
		r.Outcome = ingest.Ignored
		return r
	}
	exists, err := st.Exists(ctx, d.Event.ID)
	switch {
	case err != nil:
		r.Outcome, r.Err = ingest.Failed, err
	case exists:
		r.Outcome = ingest.Duplicate
	case o.DryRun:
		r.Outcome = ingest.WouldStore
	default:
		r.Outcome, r.Err = ingest.Event(ctx, st, o.Watch, d.Event, o.Source, d.Event.Raw, o.Now())
		if r.Err != nil {
			r.Outcome = ingest.Failed
		}
	}
	if r.Err != nil && ctx.Err() != nil {
		// Cut short by the caller, not failed: the same run again does it.
		r.Outcome, r.Err = ingest.Unfinished, nil
	}
	return r
}
