package server

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/eventgrid"
	"github.com/acrsink/acrsink/internal/ingest"
)

// batchBody answers a delivery of Event Grid events.
type batchBody struct {
	Stored     int      `json:"stored"`
	Duplicates int      `json:"duplicates"`
	Ignored    int      `json:"ignored"`
	Failed     []string `json:"failed,omitempty"`
	Error      string   `json:"error,omitempty"`
}

// storeConcurrency bounds the writes of one batch: enough to finish a
// batch inside the budget, few enough not to swamp a serverless account.
const storeConcurrency = 8

// handleEventGrid takes Event Grid deliveries of registry events, in the
// Event Grid schema or CloudEvents 1.0, and answers both validation
// handshakes. A delivery is answered 200 only when every registry event in it
// is stored (now or before); otherwise 503, and Event Grid retries the whole
// batch, which the create-only store makes safe.
func handleEventGrid(o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := info(r)
		if r.Method == http.MethodOptions {
			// CloudEvents webhook validation: allow the origin that asks,
			// at any rate. The spec also lets a sender offer
			// WebHook-Request-Callback for an approval given later; we
			// approve here and now, which the spec allows, so the callback
			// is ignored (Event Grid waits for this synchronous answer).
			origin := r.Header.Get("WebHook-Request-Origin")
			if origin == "" {
				ri.Outcome = "invalid"
				fail(w, http.StatusBadRequest, "OPTIONS is the CloudEvents handshake: WebHook-Request-Origin header missing")
				return
			}
			ri.Outcome = "handshake"
			w.Header().Set("WebHook-Allowed-Origin", origin)
			w.Header().Set("WebHook-Allowed-Rate", "*")
			w.Header().Set("Allow", "POST, OPTIONS")
			w.WriteHeader(http.StatusOK)
			return
		}
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		envs, err := eventgrid.Parse(body)
		if err != nil {
			ri.Outcome = "invalid"
			fail(w, http.StatusBadRequest, err.Error())
			return
		}
		ri.Events = len(envs)
		if code, ok := envs[0].ValidationCode(); ok && len(envs) == 1 {
			ri.Outcome = "handshake"
			encode(w, http.StatusOK, map[string]string{"validationResponse": code})
			return
		}
		// Decode the whole batch before storing any of it, so that bad input
		// stores nothing.
		type item struct {
			env eventgrid.Envelope
			ev  acr.Event
		}
		var items []item
		var res batchBody
		for _, env := range envs {
			if !env.IsRegistryEvent() {
				res.Ignored++
				o.Logger.LogAttrs(r.Context(), slog.LevelInfo, "event of another type ignored",
					slog.String("eventGridId", env.ID), slog.String("type", env.Type))
				continue
			}
			ev, err := env.RegistryEvent()
			if err != nil {
				ri.Outcome = "invalid"
				fail(w, http.StatusBadRequest, err.Error())
				return
			}
			if loc, present, isString := env.Location(); present {
				takeRegion(o.Logger, r, &ev, "data.location", loc, isString)
			}
			items = append(items, item{env, ev})
		}
		if len(items) == 1 {
			ev := items[0].ev
			ri.EventID, ri.Action, ri.Repository, ri.Tag, ri.Region = ev.ID, ev.Action, ev.Target.Repository, ev.Target.Tag, ev.Region
		}
		var (
			mu  sync.Mutex
			wg  sync.WaitGroup
			sem = make(chan struct{}, storeConcurrency)
			now = o.Now()
		)
		for _, it := range items {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				outcome, err := storeOne(r, o, it.ev, it.env.Raw, now)
				if err != nil {
					logNotStored(o.Logger, r, it.ev, err)
				}
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					res.Failed = append(res.Failed, it.ev.ID)
				case outcome == ingest.Duplicate:
					res.Duplicates++
				default:
					res.Stored++
				}
			}()
		}
		wg.Wait()
		if len(res.Failed) > 0 {
			ri.Outcome = "not stored"
			res.Error = "not every event was stored; Event Grid will retry the delivery"
			encode(w, http.StatusServiceUnavailable, res)
			return
		}
		ri.Outcome = "stored"
		encode(w, http.StatusOK, res)
	})
}

// storeOne stores one event of a batch; it runs on its own goroutine, out
// of recoverPanics' reach, so it turns a panic into a failure of that event.
func storeOne(r *http.Request, o Options, ev acr.Event, raw json.RawMessage, now time.Time) (outcome ingest.Outcome, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return ingest.Event(r.Context(), o.Store, ev, document.SourceEventGrid, raw, now)
}
