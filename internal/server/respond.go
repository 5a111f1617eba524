package server

import (
	"encoding/json"
	"net/http"
	"strings"
)

// errorBody is every error answer's shape: short, and never an echo of a
// secret.
type errorBody struct {
	Error string `json:"error"`
	ID    string `json:"id,omitempty"`
}

// encode writes v as JSON with status.
func encode(w http.ResponseWriter, status int, v any) {
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
