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

// Outcome of one event.
type Outcome int

const (
	// Stored: the event's document was written now.
	Stored Outcome = iota + 1
	// Duplicate: a document with the event's id was already there.
	Duplicate
	// Ignored: the event is not stored by design (a ping).
	Ignored
)

func (o Outcome) String() string {
	switch o {
	case Stored:
		return "stored"
	case Duplicate:
		return "duplicate"
	case Ignored:
		return "ignored"
	}
	return "unknown"
}

// Event stores ev, already validated, as it came in by source. payload is
// the evidence kept with it (see document.New).
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
