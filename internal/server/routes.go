package server

import (
	"net/http"
	"time"
)

// addRoutes is the whole API surface.
func addRoutes(mux *http.ServeMux, o Options) {
	fn := func(timeout time.Duration, h http.Handler) http.Handler {
		return logRequests(o.Logger, requireKey(o.Keys, withTimeout(timeout, h)))
	}
	// The Functions host polls GET / until it answers: keep it cheap and open.
	mux.Handle("GET /{$}", handleReady())
	mux.Handle("/images/push", fn(o.Timeout, onlyMethods(handleWebhook(o), http.MethodPost)))
	// Event Grid passes the key as ?code= in the subscription's URL, and
	// waits longer than ACR for an answer (EventGridBudget).
	mux.Handle("/eventgrid", fn(o.EventGridTimeout, onlyMethods(handleEventGrid(o), http.MethodPost, http.MethodOptions)))
	// The host invokes the reconcile timer function here, with no key
	// (a non-HTTP trigger); the run bounds its own time.
	mux.Handle("/reconcile", logRequests(o.Logger, onlyMethods(handleReconcile(o), http.MethodPost)))
	mux.Handle("/", handleNotFound())
}
