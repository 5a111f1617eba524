package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/eventgrid"
	"github.com/acrsink/acrsink/internal/ingest"
)

// EventGridBudget bounds the store work of one Event Grid delivery (the
// default of Options.EventGridTimeout). It is sized from Event Grid, not
// from ACR's 5 s: Event Grid waits 30 s for an answer and retries a
// delivery that gets none (learn.microsoft.com, event-grid/delivery-and-retry;
// REFERENCE.md §7). The 10 s left over are for a cold start, the Functions
// host's forwarding, and the answer. The host allows far longer than 30 s:
// functionTimeout is 30 min by default on Flex Consumption, and an HTTP
// trigger may take up to 230 s, the load balancer's idle timeout
// (learn.microsoft.com, azure-functions "Function app timeout duration");
// the host forwards to a custom handler through an HttpClient with .NET's
// default 100 s timeout, or its proxy with a 240 s activity timeout
// (azure-functions-host, src/WebJobs.Script/Workers/Http:
// DefaultHttpWorkerService.cs, HttpProxyService/DefaultHttpProxyService.cs).
const EventGridBudget = 20 * time.Second

// storeConcurrency bounds the writes of one delivery. A batch's writes are
// bound by the store's latency, not by the handler: through the handler to
// cosmium behind the fault proxy 20 ms away, 2,000 events took 11.3 s at
// 4 in flight, 5.8 s at 8, 3.2 s at 16 and 1.8 s at 32. At 8, some 6,900
// events fit in EventGridBudget, more than Event Grid's largest batch
// (5,000 events), and far more with a store in the same region. More in
// flight would spend a serverless account's request units faster, which
// the webhook door shares.
const storeConcurrency = 8

// rememberStored is how many ids of stored events an instance remembers
// (knownStored): four of Event Grid's largest batches, a few megabytes.
const rememberStored = 20_000

// batchBody answers a delivery of Event Grid events.
type batchBody struct {
	Stored     int `json:"stored"`
	Duplicates int `json:"duplicates"`
	Ignored    int `json:"ignored"`
	// Invalid are the elements that are not registry events acrsink can
	// store; each is logged under LogNotStored.
	Invalid []invalidElement `json:"invalid,omitempty"`
	// Failed are the ids of the registry events not stored (a write failed,
	// or the budget ran out first); Event Grid retries the delivery.
	Failed []string `json:"failed,omitempty"`
	Error  string   `json:"error,omitempty"`
}

// invalidElement says which element of a delivery could not be read, by
// what identifies it.
type invalidElement struct {
	// Element is its position in the delivery, from 0.
	Element     int    `json:"element"`
	EventGridID string `json:"eventGridId,omitempty"`
	EventID     string `json:"eventId,omitempty"`
	Error       string `json:"error"`
}

// batchItem is one registry event of a delivery and what became of it.
type batchItem struct {
	env eventgrid.Envelope
	ev  acr.Event
	// outcome is set once the event is known stored; err once a write
	// failed. Neither, after the writes: never tried.
	outcome ingest.Outcome
	err     error
	// known: skipped, as this instance had seen it stored (knownStored).
	known bool
}

// handleEventGrid takes Event Grid deliveries of registry events, in the
// Event Grid schema or CloudEvents 1.0, and answers both validation
// handshakes.
//
// Event Grid does not retry a webhook delivery answered 400, 413, 401 or
// 403: it dead-letters it, or drops it when no dead-letter container is set
// (learn.microsoft.com, event-grid/delivery-and-retry; REFERENCE.md §7). So
// an element that is not a registry event acrsink can store (no id, a data
// that is not the registry's event) never costs its batch-mates: the others
// are stored, the delivery is answered 200 and the bad one is reported, in
// the answer and under LogNotStored. Only a delivery with nothing to store
// is answered 400: a body that is not a delivery at all, or one whose every
// element is invalid. Retrying it cannot help, and a 400 is what makes
// Event Grid dead-letter it, which keeps the whole event for a human.
//
// A delivery is answered 200 when every registry event in it is stored (now
// or before); otherwise 503, and Event Grid retries the whole batch, which
// the create-only store makes safe. Each retry makes progress: the ids this
// instance has seen stored are skipped (knownStored), and the rest are
// written in a new random order, so that a retry that reaches another
// instance does not spend its budget on the head the last one stored.
func handleEventGrid(o Options) http.Handler {
	known := newKnownStored(rememberStored)
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
		body, ok := readEventBody(o.Logger, w, r, findInDeadLetter)
		if !ok {
			return
		}
		envs, err := eventgrid.Parse(body)
		if err != nil {
			ri.Outcome = "invalid"
			logInvalid(o.Logger, r, acr.Event{}, err, findInDeadLetter)
			fail(w, http.StatusBadRequest, err.Error())
			return
		}
		ri.Events = len(envs)
		if code, ok := envs[0].ValidationCode(); ok && len(envs) == 1 {
			ri.Outcome = "handshake"
			encode(w, http.StatusOK, map[string]string{"validationResponse": code})
			return
		}
		items, res := readElements(o.Logger, r, envs)
		if len(items) == 1 {
			ev := items[0].ev
			ri.EventID, ri.Action, ri.Repository, ri.Tag, ri.Region = ev.ID, ev.Action, ev.Target.Repository, ev.Target.Tag, ev.Region
		}
		if len(res.Invalid) == len(envs) {
			ri.Outcome = "invalid"
			res.Error = "no element of the delivery is a registry event that can be stored; see invalid"
			encode(w, http.StatusBadRequest, res)
			return
		}
		ctx := r.Context()
		if o.Shutdown != nil {
			// On shutdown the batch stops where it is and is answered 503:
			// Event Grid retries it, and Serve need not wait out a budget
			// longer than a webhook's.
			var cancel context.CancelFunc
			ctx, cancel = context.WithCancel(ctx)
			defer cancel()
			defer context.AfterFunc(o.Shutdown, cancel)()
		}
		if deadline, ok := ctx.Deadline(); ok && len(items) > 0 {
			// The budget is longer than the server's write timeout, which
			// is sized for the webhook (Serve).
			extendWriteDeadline(o.Logger, w, r, time.Until(deadline)+time.Second)
		}
		storeBatch(ctx, o, known, items)
		tally(ctx, o, r, len(envs), items, &res)
		switch {
		case len(res.Failed) > 0:
			ri.Outcome = "not stored"
			res.Error = fmt.Sprintf("%d of %d registry events not stored; Event Grid will retry the delivery", len(res.Failed), len(items))
			encode(w, http.StatusServiceUnavailable, res)
			return
		case len(res.Invalid) > 0:
			ri.Outcome = "partial"
		case res.Stored > 0:
			ri.Outcome = "stored"
		case res.Duplicates > 0:
			ri.Outcome = "duplicate"
		default:
			ri.Outcome = "ignored"
		}
		encode(w, http.StatusOK, res)
	})
}

// readElements sorts a delivery's elements: the registry events to store,
// the events of other types (counted and logged), and the invalid ones
// (reported, and logged under LogNotStored, each once, with its position
// and envelope id).
func readElements(log *slog.Logger, r *http.Request, envs []eventgrid.Envelope) ([]*batchItem, batchBody) {
	var items []*batchItem
	var res batchBody
	for i, env := range envs {
		log := log.With(slog.Int("element", i))
		if env.ID != "" {
			log = log.With(slog.String("eventGridId", acr.Clip(env.ID)))
		}
		if env.Err == nil && !env.IsRegistryEvent() {
			res.Ignored++
			log.LogAttrs(r.Context(), slog.LevelInfo, "event of another type ignored", slog.String("type", acr.Clip(env.Type)))
			continue
		}
		ev, err := env.RegistryEvent()
		if err != nil {
			logInvalid(log, r, ev, err, findInDeadLetter)
			res.Invalid = append(res.Invalid, invalidElement{
				Element: i, EventGridID: acr.Clip(env.ID), EventID: acr.Clip(ev.ID), Error: acr.Clip(err.Error()),
			})
			continue
		}
		if loc, present, isString := env.Location(); present {
			takeRegion(log, r, &ev, "data.location", loc, isString)
		}
		logAnomalies(log, r, ev)
		items = append(items, &batchItem{env: env, ev: ev})
	}
	return items, res
}

// tally counts what became of items into res, logs each event not stored
// under LogNotStored (the ones never tried, all in one line: Event Grid
// retries them), and logs the delivery's counts.
func tally(ctx context.Context, o Options, r *http.Request, elements int, items []*batchItem, res *batchBody) {
	var failed, untried, remembered int
	for _, it := range items {
		switch {
		case it.err != nil:
			failed++
			logNotStored(o.Logger, r, it.ev, it.err)
			res.Failed = append(res.Failed, it.ev.ID)
		case it.outcome == 0:
			untried++
			res.Failed = append(res.Failed, it.ev.ID)
		case it.outcome == ingest.Duplicate:
			res.Duplicates++
			if it.known {
				remembered++
			}
		case it.outcome == ingest.Ignored:
			res.Ignored++
		default:
			res.Stored++
		}
	}
	if untried > 0 {
		reason := "store too slow" // the budget ran out
		switch {
		case o.Shutdown != nil && o.Shutdown.Err() != nil:
			reason = "shutting down"
		case !errors.Is(ctx.Err(), context.DeadlineExceeded):
			reason = "request cancelled"
		}
		o.Logger.LogAttrs(r.Context(), slog.LevelError, LogNotStored,
			slog.Int("events", untried),
			slog.String("reason", reason),
			slog.String("error", fmt.Sprintf("%d of the delivery's %d registry events were not tried", untried, len(items))),
			slog.String("recover", "Event Grid retries the delivery"))
	}
	o.Logger.LogAttrs(r.Context(), slog.LevelInfo, "event grid delivery",
		slog.Int("events", elements), slog.Int("stored", res.Stored), slog.Int("duplicates", res.Duplicates),
		slog.Int("remembered", remembered), slog.Int("ignored", res.Ignored), slog.Int("invalid", len(res.Invalid)),
		slog.Int("failed", failed), slog.Int("untried", untried))
}

// storeBatch stores items through ingest.Event, storeConcurrency at a time,
// until ctx ends: then it starts no more, and the ones it did not start are
// left with neither outcome nor err.
//
// Event Grid retries a batch whole, so each retry would rewrite, at one
// round trip each, what the last one stored. The ids this instance has seen
// stored are skipped instead, and the rest are written in a random order:
// what a retry finds on another instance, which remembers nothing, is then
// spread over the batch rather than at its head, so every retry stores some
// of what is left whatever the budget.
func storeBatch(ctx context.Context, o Options, known *knownStored, items []*batchItem) {
	todo := make([]*batchItem, 0, len(items))
	for _, it := range items {
		if known.has(it.ev.ID) {
			it.outcome, it.known = ingest.Duplicate, true
			continue
		}
		todo = append(todo, it)
	}
	rand.Shuffle(len(todo), func(i, j int) { todo[i], todo[j] = todo[j], todo[i] })
	now := o.Now()
	// Each call writes only its own item; Each's return publishes them.
	ingest.Each(ctx, len(todo), storeConcurrency, func(i int) {
		it := todo[i]
		it.outcome, it.err = ingest.Event(ctx, o.Store, o.Watch, it.ev, document.SourceEventGrid, it.env.Raw, now)
		if it.err == nil && it.outcome != ingest.Ignored {
			known.add(it.ev.ID)
		}
	}, func(i int, err error) {
		todo[i].outcome, todo[i].err = 0, err
	})
}

// knownStored remembers the ids of events this instance has seen stored
// (written, or found already there), up to a number, forgetting the oldest
// first. Documents are create-only and acrsink deletes none, so an id once
// stored stays stored; forgetting one only costs a write that finds it
// there.
type knownStored struct {
	mu   sync.Mutex
	ids  map[string]struct{}
	ring []string // the ids in the order added; the oldest at next once full
	next int
}

func newKnownStored(n int) *knownStored {
	return &knownStored{ids: make(map[string]struct{}), ring: make([]string, 0, n)}
}

func (k *knownStored) has(id string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, ok := k.ids[id]
	return ok
}

func (k *knownStored) add(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.ids[id]; ok {
		return
	}
	if len(k.ring) < cap(k.ring) {
		k.ring = append(k.ring, id)
	} else {
		delete(k.ids, k.ring[k.next])
		k.ring[k.next] = id
		k.next = (k.next + 1) % len(k.ring)
	}
	k.ids[id] = struct{}{}
}
