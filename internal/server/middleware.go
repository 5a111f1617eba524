package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"time"

	"github.com/acrsink/acrsink/internal/acr"
)

// requireKey accepts a request that carries one of keys in the
// x-functions-key header or, failing that, the code query parameter, as the
// Functions host does. The handler checks keys itself because the host does
// not under func start, and a standalone run has no host at all.
func requireKey(keys []string, next http.Handler) http.Handler {
	if len(keys) == 0 {
		return next
	}
	// Comparing fixed-size digests keeps the comparison constant-time in
	// the key's length too.
	sums := make([][sha256.Size]byte, len(keys))
	for i, k := range keys {
		sums[i] = sha256.Sum256([]byte(k))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		given := r.Header.Get("x-functions-key")
		if given == "" {
			given = r.URL.Query().Get("code")
		}
		sum := sha256.Sum256([]byte(given))
		ok := 0
		for i := range sums {
			ok |= subtle.ConstantTimeCompare(sum[:], sums[i][:])
		}
		if given == "" || ok != 1 {
			info(r).Outcome = "unauthorized"
			fail(w, http.StatusUnauthorized, "missing or wrong function key (x-functions-key header or code query parameter)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withTimeout bounds the request's work, the store call included, so that
// the answer reaches ACR before its 5 second timeout.
func withTimeout(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// requestInfo is what a handler learns about a request that belongs in its
// log line.
type requestInfo struct {
	EventID, Action, Repository, Tag, Region, Outcome string
	Events                                            int
}

type infoKey struct{}

// info is the request's requestInfo; a throwaway one outside logRequests.
func info(r *http.Request) *requestInfo {
	if ri, ok := r.Context().Value(infoKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	// reason is the error answer's reason, for the log line.
	reason string
}

// noteError records msg as the reason of w's error answer when w is
// logRequests' statusRecorder: no handler under logRequests wraps w.
func noteError(w http.ResponseWriter, msg string) {
	if rec, ok := w.(*statusRecorder); ok && msg != "" {
		rec.reason = msg
	}
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.NewResponseController reach the connection through the
// recorder: a handler that needs more time than the server's write timeout
// (a reconcile run, an Event Grid batch) extends its own write deadline, and
// without Unwrap that call fails with http.ErrNotSupported.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// logRequests writes one line per request. It logs the path, never the URL:
// the query string may carry the key (code=).
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{}
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), infoKey{}, ri)))
		level := slog.LevelInfo
		switch {
		case rec.status >= 500:
			level = slog.LevelError
		case rec.status >= 400:
			level = slog.LevelWarn
		}
		// Room for every attribute the line can have: no regrowth per request.
		attrs := make([]slog.Attr, 0, 13)
		attrs = append(attrs,
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Float64("durationMs", float64(time.Since(start).Microseconds())/1000),
		)
		for _, a := range []struct{ k, v string }{
			{"eventId", ri.EventID}, {"action", ri.Action}, {"repository", ri.Repository},
			{"tag", ri.Tag}, {"region", ri.Region}, {"outcome", ri.Outcome},
		} {
			if a.v != "" {
				attrs = append(attrs, slog.String(a.k, acr.Clip(a.v)))
			}
		}
		if ri.Events > 0 {
			attrs = append(attrs, slog.Int("events", ri.Events))
		}
		if rec.reason != "" && rec.status >= 400 {
			attrs = append(attrs, slog.String("error", acr.Clip(rec.reason)))
		}
		if id := r.Header.Get("X-Azure-Functions-InvocationId"); id != "" {
			attrs = append(attrs, slog.String("invocationId", id))
		}
		log.LogAttrs(r.Context(), level, "request", attrs...)
	})
}

// recoverPanics turns a panic into a 500 with a JSON body and a log line,
// so that no panic reaches a client as a dropped connection.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic", slog.String("path", r.URL.Path), slog.Any("panic", v))
				fail(w, http.StatusInternalServerError, "internal error; the event was not stored")
			}
		}()
		next.ServeHTTP(w, r)
	})
}
