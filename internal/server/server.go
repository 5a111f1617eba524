// Package server is acrsink's HTTP API: what the Functions host forwards to
// the custom handler, and what standalone runs serve.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/ingest"
)

// Options are the server's dependencies and settings.
type Options struct {
	Logger *slog.Logger
	Store  ingest.Store
	// Watch marks and logs the watched deletes and quarantines
	// (ACRSINK_WATCH); nil watches nothing.
	Watch *ingest.Watch
	// Keys are the accepted function keys. Empty means no key check, which
	// only an explicit opt-out may ask for (see config.CheckAuth).
	Keys []string
	// Timeout bounds one request, store included. ACR gives up after 5s.
	Timeout time.Duration
	// EventGridTimeout bounds the store work of one Event Grid delivery
	// instead; 0 means EventGridBudget, sized from Event Grid's 30 s.
	EventGridTimeout time.Duration
	// Now is the clock for receivedAt; nil means time.Now.
	Now func() time.Time
	// Reconciler serves the reconcile timer function; nil answers 503.
	Reconciler Reconciler
	// Shutdown, when done, stops a reconcile run in progress.
	Shutdown context.Context
}

// MaxBody is the largest body accepted: acr.MaxEventBytes, the size under
// which no event makes a document past Cosmos DB's 2 MB item limit
// (document.MaxDocumentBytes). ACR events are a few hundred bytes; an Event
// Grid batch is at most 1 MB by its own settings (a batch's body is each
// event's payload bound too).
const MaxBody = acr.MaxEventBytes

// New returns the handler for the whole API.
func New(o Options) http.Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Timeout <= 0 {
		o.Timeout = 4 * time.Second
	}
	if o.EventGridTimeout <= 0 {
		o.EventGridTimeout = EventGridBudget
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	addRoutes(mux, o)
	return recoverPanics(o.Logger, mux)
}
