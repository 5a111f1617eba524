package server

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// errorBody is every error answer's shape: short, and never an echo of a
// secret.
type errorBody struct {
	Error string `json:"error"`
	ID    string `json:"id,omitempty"`
}

// encode writes v as JSON with status. An error answer's reason also goes
// to the request's log line (see noteError): the operator reads the log,
// not the body ACR or Event Grid received.
func encode(w http.ResponseWriter, status int, v any) {
	switch b := v.(type) {
	case errorBody:
		noteError(w, b.Error)
	case reconcileBody:
		noteError(w, b.Error)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string) {
	encode(w, status, errorBody{Error: msg})
}

func handleReady() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

func handleNotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, "no such route")
	})
}

// onlyMethods answers 405 with Allow for any other method.
func onlyMethods(h http.Handler, methods ...string) http.Handler {
	allow := strings.Join(methods, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, m := range methods {
			if r.Method == m {
				h.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("Allow", allow)
		fail(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use "+allow)
	})
}

// extendWriteDeadline gives a handler d from now to write its answer, past
// the server's write timeout (Serve: the request timeout plus a second). It
// logs a failure instead of ignoring it: an answer written after the old
// deadline is cut off, and the caller sees EOF.
func extendWriteDeadline(log *slog.Logger, w http.ResponseWriter, r *http.Request, d time.Duration) {
	if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d)); err != nil {
		log.LogAttrs(r.Context(), slog.LevelError, "cannot extend the write deadline; a late answer will be cut off",
			slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	}
}
