// Package ingest is the one path every event takes to the store, whatever
// door it came in by: the webhook, Event Grid or a replay of the webhook's
// history. Mapping and idempotency live here and in the packages it calls,
// never in a door.
package ingest

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/watch"
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

// Watch is ACRSINK_WATCH at work: which deletes and quarantines are
// marked watched, and where their line goes. A nil *Watch watches
// nothing.
type Watch struct {
	List   watch.List
	Logger *slog.Logger
}

// watched reports whether ev is a watched event: a delete, quarantine or
// chart_delete whose repository and tag match the list. A push never is:
// the list is for what an operator would want a ticket about, things
// going away.
func (w *Watch) watched(ev *acr.Event) bool {
	if w == nil || w.List.Empty() {
		return false
	}
	switch ev.Action {
	case acr.ActionDelete, acr.ActionQuarantine, acr.ActionChartDelete:
		return w.List.Match(ev.Target.Repository, ev.Target.Tag)
	}
	return false
}

// Event stores ev, already validated, as it came in by source. payload is
// the evidence kept with it (see document.New). The outcome is Stored,
// Duplicate or Ignored; with an error, it is 0.
//
// An event w watches is stored marked watched, and when it is stored now
// (not a redelivery, which finds its document there) it raises one
// LogWatched line: every door, the reconciler's included, comes through
// here, so the line is raised once per event whichever door took it.
func Event(ctx context.Context, s Store, w *Watch, ev acr.Event, source string, payload json.RawMessage, now time.Time) (Outcome, error) {
	if ev.Action == acr.ActionPing {
		return Ignored, nil
	}
	doc := document.New(ev, source, payload, now)
	doc.Watched = w.watched(&ev)
	created, err := s.Create(ctx, doc)
	if err != nil {
		return 0, err
	}
	if !created {
		return Duplicate, nil
	}
	if doc.Watched && w.Logger != nil {
		w.Logger.LogAttrs(ctx, slog.LevelWarn, LogWatched,
			slog.String("eventId", acr.Clip(ev.ID)), slog.String("action", acr.Clip(ev.Action)),
			slog.String("repository", acr.Clip(ev.Target.Repository)), slog.String("tag", acr.Clip(ev.Target.Tag)),
			slog.String("digest", acr.Clip(ev.Target.Digest)), slog.String("region", acr.Clip(ev.Region)),
			slog.String("source", source))
	}
	return Stored, nil
}
