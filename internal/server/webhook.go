package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/ingest"
)

// storedBody answers a stored or already stored event.
type storedBody struct {
	ID     string `json:"id"`
	Result string `json:"result"`
}

// handleWebhook takes one ACR webhook event: 201 when stored now, 200 when it
// was already stored, 204 for a ping, 503 when it could not be stored.
func handleWebhook(o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := readEventBody(o.Logger, w, r, findInWebhookHistory)
		if !ok {
			return
		}
		ev, err := acr.Parse(body)
		ri := info(r)
		ri.EventID, ri.Action, ri.Repository, ri.Tag = ev.ID, ev.Action, ev.Target.Repository, ev.Target.Tag
		if err != nil {
			ri.Outcome = "invalid"
			logInvalid(o.Logger, r, ev, err, findInWebhookHistory)
			fail(w, http.StatusBadRequest, err.Error())
			return
		}
		logAnomalies(o.Logger, r, ev)
		if vs := r.Header.Values(acr.RegionHeader); len(vs) > 0 {
			// Sent twice, the header names no one region: the join fails
			// the rule and is logged.
			takeRegion(o.Logger, r, &ev, acr.RegionHeader+" header", strings.Join(vs, ","), true)
			ri.Region = ev.Region
		}
		outcome, err := ingest.Event(r.Context(), o.Store, o.Watch, ev, document.SourceWebhook, ev.Raw, o.Now())
		if err != nil {
			storeFailed(o.Logger, w, r, ev, err)
			return
		}
		ri.Outcome = outcome.String()
		switch outcome {
		case ingest.Ignored:
			w.WriteHeader(http.StatusNoContent)
		case ingest.Duplicate:
			encode(w, http.StatusOK, storedBody{ID: ev.ID, Result: outcome.String()})
		default:
			encode(w, http.StatusCreated, storedBody{ID: ev.ID, Result: outcome.String()})
		}
	})
}

// takeRegion records value, the region that from says sent ev, when
// acr.Event.TakeRegion takes it. Anything else is logged once and left out of the document: a
// misconfigured webhook or subscription is no reason to refuse an event that
// ACR will not send again.
func takeRegion(log *slog.Logger, r *http.Request, ev *acr.Event, from, value string, isString bool) {
	if ev.TakeRegion(value, isString) {
		return
	}
	attrs := []slog.Attr{slog.String("from", from), slog.String("value", acr.Clip(value)), slog.String("want", acr.RegionRule)}
	if ev.ID != "" {
		attrs = append(attrs, slog.String("eventId", acr.Clip(ev.ID)))
	}
	log.LogAttrs(r.Context(), slog.LevelWarn, "region ignored; event stored without it", attrs...)
}

// LogAnomalies is the message of the warning for an event whose odd
// descriptive fields are left out of its document (acr.Event.Anomalies).
const LogAnomalies = "odd fields left out of the event's document"

// logAnomalies warns, once per delivery, that ev's document leaves out what
// was odd in it (its anomalies field says the same). Every door calls it
// for each event it is about to store; should the store fail, the
// LogNotStored line follows. The anomalies quote values already clipped
// (acr), and there is at most one per field.
func logAnomalies(log *slog.Logger, r *http.Request, ev acr.Event) {
	if len(ev.Anomalies) == 0 {
		return
	}
	log.LogAttrs(r.Context(), slog.LevelWarn, LogAnomalies,
		slog.String("eventId", acr.Clip(ev.ID)), slog.String("action", acr.Clip(ev.Action)),
		slog.Any("anomalies", ev.Anomalies))
}

// readBody reads at most MaxBody bytes, answering 413 or 400 itself when it
// cannot. tooLarge, when not nil, is called for a body over MaxBody.
func readBody(w http.ResponseWriter, r *http.Request, tooLarge func()) ([]byte, bool) {
	body, err := readAll(http.MaxBytesReader(w, r.Body, MaxBody), r.ContentLength)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		info(r).Outcome = "too large"
		fail(w, http.StatusRequestEntityTooLarge, errTooLarge.Error())
		if tooLarge != nil {
			tooLarge()
		}
		return nil, false
	case err != nil:
		info(r).Outcome = "unreadable"
		fail(w, http.StatusBadRequest, "cannot read body")
		return nil, false
	}
	return body, true
}

// readEventBody is readBody for a door that takes events. A body too large
// is a delivery not stored, so it is logged as one (logInvalid): the sender
// will not send it again. An unreadable one is not: the sender gave up
// before it was sent, and the reconciler replays what was not answered.
func readEventBody(log *slog.Logger, w http.ResponseWriter, r *http.Request, recover string) ([]byte, bool) {
	return readBody(w, r, func() { logInvalid(log, r, acr.Event{}, errTooLarge, recover) })
}

// errTooLarge answers a body over MaxBody.
var errTooLarge = errors.New("body larger than 1 MiB")

// LogNotStored is the message of the log line for an event that was not
// stored; infra/'s alert looks for it.
const LogNotStored = "event not stored"

// readAll reads a request body of the size the request declared (within
// MaxBody) into one buffer of that size: io.ReadAll would start small and
// grow, copying, for every event. net/http's server reads no more than
// Content-Length from a body, and a shorter one is an io.ErrUnexpectedEOF.
func readAll(r io.Reader, size int64) ([]byte, error) {
	if size <= 0 || size > MaxBody {
		return io.ReadAll(r)
	}
	buf := make([]byte, size)
	_, err := io.ReadFull(r, buf)
	return buf, err
}

// storeFailed answers 503 for one event that was not stored.
func storeFailed(log *slog.Logger, w http.ResponseWriter, r *http.Request, ev acr.Event, err error) {
	info(r).Outcome = "not stored"
	reason := logNotStored(log, r, ev, err)
	encode(w, http.StatusServiceUnavailable, errorBody{Error: "event not stored (" + reason + "); it can be replayed from the webhook's event history", ID: ev.ID})
}

// logNotStored logs what an operator needs to recover an event that was not
// stored (ACR will not send it again, but its webhook history has it) and
// returns the short reason.
func logNotStored(log *slog.Logger, r *http.Request, ev acr.Event, err error) string {
	reason := "store failed"
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(r.Context().Err(), context.DeadlineExceeded) {
		reason = "store too slow"
	}
	logUnstored(log, r, ev, reason, err, "az acr webhook list-events -r <registry> -n <webhook> -o json | acrsink replay")
	return reason
}

// logInvalid logs a delivery refused as invalid, under the same message as
// a store failure, so that the one alert that reads LogNotStored fires for
// it too: what a sender posted and acrsink could not store needs a human,
// and ACR will not send it again. ev holds whatever could be decoded.
// recover says where the delivery can still be found.
func logInvalid(log *slog.Logger, r *http.Request, ev acr.Event, err error, recover string) {
	logUnstored(log, r, ev, "invalid", err, recover)
}

// Where a refused delivery can still be found, for logInvalid.
const (
	findInWebhookHistory = "the delivery is in the webhook's event history; fix what the error names at the sender"
	// Event Grid dead-letters a delivery it does not retry when the
	// subscription has a dead-letter destination, and drops it otherwise
	// (learn.microsoft.com, event-grid/delivery-and-retry).
	findInDeadLetter = "Event Grid keeps the delivery only in the subscription's dead-letter destination, when one is set; fix what the error names at the sender"
)

// logUnstored writes the LogNotStored line. Every value that came with the
// delivery is clipped (acr.Clip): a field may be a megabyte long, and so may
// an error that quotes it.
func logUnstored(log *slog.Logger, r *http.Request, ev acr.Event, reason string, err error, recover string) {
	attrs := make([]slog.Attr, 0, 9)
	for _, a := range []struct{ k, v string }{
		{"eventId", ev.ID}, {"action", ev.Action},
		{"repository", ev.Target.Repository}, {"tag", ev.Target.Tag}, {"digest", ev.Target.Digest},
	} {
		if a.v != "" {
			attrs = append(attrs, slog.String(a.k, acr.Clip(a.v)))
		}
	}
	attrs = append(attrs,
		slog.String("reason", reason),
		slog.String("error", acr.Clip(err.Error())),
		slog.String("recover", recover),
	)
	log.LogAttrs(r.Context(), slog.LevelError, LogNotStored, attrs...)
}
