// Package replay stores the events of a webhook's delivery history that
// acrsink did not take, through the same path as the handler: a replay of an
// event that did arrive, or a second replay, changes nothing. acrsink replay
// and the scheduled reconciler both run it.
package replay

import (
	"context"
	"sync"
	"time"

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
}

// Result is what happened to one delivery.
type Result struct {
	Delivery history.Delivery
	// Outcome: "delivered" (skipped), "not a delivery" (an entry with no
	// request to replay, skipped), "stored", "duplicate" (already present),
	// "ignored" (a ping), "would store" (dry run), "interrupted" (not done:
	// the context ended first) or "failed".
	Outcome string
	Err     error
}

// Summary counts the results.
type Summary struct {
	Read, Skipped, Stored, Duplicates, Ignored, WouldStore int
	// NotDeliveries counts entries with nothing to replay; Interrupted, the
	// deliveries not done because the context ended (Ctrl-C).
	NotDeliveries, Interrupted int
	Failed                     []Result
	Results                    []Result
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
	results := make([]Result, len(deliveries))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
		sem  = make(chan struct{}, o.Concurrency)
	)
	for i, d := range deliveries {
		if ctx.Err() != nil {
			results[i] = Result{Delivery: d, Outcome: "interrupted"}
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = one(ctx, st, d, o)
			if o.Progress != nil {
				mu.Lock()
				done++
				o.Progress(done, len(deliveries))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	s := Summary{Read: len(deliveries), Results: results}
	for _, r := range results {
		switch r.Outcome {
		case "delivered":
			s.Skipped++
		case "stored":
			s.Stored++
		case "duplicate":
			s.Duplicates++
		case "ignored":
			s.Ignored++
		case "would store":
			s.WouldStore++
		case "not a delivery":
			s.NotDeliveries++
		case "interrupted":
			s.Interrupted++
		default:
			s.Failed = append(s.Failed, r)
		}
	}
	return s
}

func one(ctx context.Context, st Store, d history.Delivery, o Options) Result {
	r := Result{Delivery: d}
	switch {
	case d.NotDelivery:
		r.Outcome = "not a delivery"
		return r
	case d.Delivered() && !o.All:
		r.Outcome = "delivered"
		return r
	case d.Err != nil:
		r.Outcome, r.Err = "failed", d.Err
		return r
	case d.Event.Action == "ping":
		r.Outcome = ingest.Ignored.String()
		return r
	}
	exists, err := st.Exists(ctx, d.Event.ID)
	switch {
	case err != nil:
		r.Outcome, r.Err = "failed", err
	case exists:
		r.Outcome = ingest.Duplicate.String()
	case o.DryRun:
		r.Outcome = "would store"
	default:
		outcome, err := ingest.Event(ctx, st, d.Event, o.Source, d.Event.Raw, o.Now())
		r.Outcome, r.Err = outcome.String(), err
		if err != nil {
			r.Outcome = "failed"
		}
	}
	if r.Err != nil && ctx.Err() != nil {
		// Cut short by the caller, not failed: the same run again does it.
		r.Outcome, r.Err = "interrupted", nil
	}
	return r
}
