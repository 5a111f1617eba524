// Package ingest is the one path every event takes to the store, whatever
// door it came in by: the webhook, Event Grid or a replay of the webhook's
// history. Mapping and idempotency live here and in the packages it calls,
// never in a door.
package ingest

import (
	"context"
	"encoding/json"
	"time"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/document"
)

// Store is what ingesting needs of a store: create a document unless its id
// exists (created false), leaving the first one as it was.
type Store interface {
	Create(ctx context.Context, doc document.Document) (created bool, err error)
}

// LogWatched is the message of the log line for a stored delete,
// quarantine or chart_delete that matches ACRSINK_WATCH; infra/'s watch
// alert looks for it.
const LogWatched = "watched event"

// Outcome is what became of one event, or of one delivery of it: the one
// name each case has wherever it is counted or reported (the HTTP API, the
// request log, acrsink replay, the reconciler's report). Event returns the
// first three; a replay of a webhook's history adds the others, for
// deliveries it did not store or could not. Callers that show an outcome
// in other words (the CLI's "already present", the reconcile report's
// alreadyPresent) map it in one place each.
type Outcome int

const (
	// Stored: the event's document was written now.
	Stored Outcome = iota + 1
	// Duplicate: a document with the event's id was already there.
	Duplicate
	// Ignored: the event is not stored by design (a ping).
	Ignored
	// Delivered: the delivery was answered 2xx, so the event was taken
	// then; a replay makes no store call for it.
	Delivered
	// NotDelivery: a history entry that holds no request that was sent;
	// there is nothing in it to store, now or ever.
	NotDelivery
	// Invalid: a delivery whose payload is not an event that can be
	// stored (acrsink answered it 400); no run will store it.
	Invalid
	// WouldStore: a dry run found the event not stored yet.
	WouldStore
	// Failed: the store did not take the event; the same run again may.
	Failed
	// Unfinished: not tried, or cut short, because the caller's context
	// ended (Ctrl-C, a run's budget); the same run again does it.
	Unfinished
)

func (o Outcome) String() string {
	switch o {
	case Stored:
		return "stored"
	case Duplicate:
		return "duplicate"
	case Ignored:
		return "ignored"
	case Delivered:
		return "delivered"
	case NotDelivery:
		return "not a delivery"
	case Invalid:
		return "invalid"
	case WouldStore:
		return "would store"
	case Failed:
		return "failed"
	case Unfinished:
		return "unfinished"
	}
	return "unknown"
}

// Event stores ev, already validated, as it came in by source. payload is
// the evidence kept with it (see document.New). The outcome is Stored,
// Duplicate or Ignored; with an error, it is 0.
func Event(ctx context.Context, s Store, ev acr.Event, source string, payload json.RawMessage, now time.Time) (Outcome, error) {
	if ev.Action == acr.ActionPing {
		return Ignored, nil
	}
	created, err := s.Create(ctx, document.New(ev, source, payload, now))
	if err != nil {
		return 0, err
	}
	if !created {
		return Duplicate, nil
	}
	return Stored, nil
}
