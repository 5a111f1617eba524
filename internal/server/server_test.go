package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/server"
	"github.com/acrsink/acrsink/internal/testenv/acrtest"
	"github.com/acrsink/acrsink/internal/testenv/eventgridtest"
)

// recordingStore is create-only on id, like Cosmos, in memory.
type recordingStore struct {
	mu   sync.Mutex
	docs map[string]document.Document
	err  error
	wait time.Duration
}

func (s *recordingStore) Create(ctx context.Context, d document.Document) (bool, error) {
	if s.wait > 0 {
		select {
		case <-time.After(s.wait):
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	if s.err != nil {
		return false, s.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.docs == nil {
		s.docs = map[string]document.Document{}
	}
	if _, ok := s.docs[d.ID]; ok {
		return false, nil
	}
	s.docs[d.ID] = d
	return true, nil
}

func newServer(st *recordingStore, logs io.Writer, keys ...string) http.Handler {
	return server.New(server.Options{
		Logger:  slog.New(slog.NewJSONHandler(logs, nil)),
		Store:   st,
		Keys:    keys,
		Timeout: 200 * time.Millisecond,
	})
}

func do(h http.Handler, method, target, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestTheKeyCheck(t *testing.T) {
	push := string(acrtest.Event("push"))
	tests := []struct {
		name   string
		target string
		header []string
		want   int
	}{
		{"the first key in the header passes", "/images/push", []string{"x-functions-key", "key-one"}, 201},
		{"the second key in the header passes", "/images/push", []string{"x-functions-key", "key-two"}, 201},
		{"a key in the code query passes", "/images/push?code=key-two", nil, 201},
		{"the header wins over the query", "/images/push?code=key-one", []string{"x-functions-key", "bad-guess"}, 401},
		{"a prefix of a key fails", "/images/push", []string{"x-functions-key", "key-on"}, 401},
		{"a key with more after it fails", "/images/push", []string{"x-functions-key", "key-one1"}, 401},
		{"no key fails", "/images/push", nil, 401},
		{"an empty code fails", "/images/push?code=", nil, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			w := do(newServer(&recordingStore{}, &logs, "key-one", "key-two"), http.MethodPost, tt.target, push, tt.header...)
			if w.Code != tt.want {
				t.Errorf("status %d %s, want %d", w.Code, w.Body, tt.want)
			}
			if w.Code == 401 && !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
				t.Errorf("401 is not JSON")
			}
			for _, secret := range []string{"key-one", "key-two", "key-on", "bad-guess"} {
				if strings.Contains(logs.String(), secret) || strings.Contains(w.Body.String(), secret) {
					t.Errorf("%q leaked into the log or body:\n%s\n%s", secret, logs.String(), w.Body)
				}
			}
		})
	}
}

func TestNoKeysMeansNoKeyCheck(t *testing.T) {
	w := do(newServer(&recordingStore{}, io.Discard), http.MethodPost, "/images/push", string(acrtest.Event("push")))
	if w.Code != http.StatusCreated {
		t.Errorf("status %d", w.Code)
	}
}

func TestOtherMethodsGet405WithAllow(t *testing.T) {
	st := &recordingStore{}
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		w := do(newServer(st, io.Discard, "k"), m, "/images/push", string(acrtest.Event("push")), "x-functions-key", "k")
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "POST" {
			t.Errorf("%s: status %d, Allow %q", m, w.Code, w.Header().Get("Allow"))
		}
	}
	if len(st.docs) != 0 {
		t.Errorf("stored %d", len(st.docs))
	}
}

func TestReadinessNeedsNoKeyAndUnknownPathsAre404(t *testing.T) {
	h := newServer(&recordingStore{}, io.Discard, "k")
	if w := do(h, http.MethodGet, "/", ""); w.Code != http.StatusOK {
		t.Errorf("GET / = %d", w.Code)
	}
	if w := do(h, http.MethodPost, "/api/images/push", "{}", "x-functions-key", "k"); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "error") {
		t.Errorf("unknown path = %d %s", w.Code, w.Body)
	}
}

func TestAFailingOrSlowStoreGets503AndARecoverableLogLine(t *testing.T) {
	tests := []struct {
		name  string
		store *recordingStore
		why   string
	}{
		{"a store error", &recordingStore{err: errors.New("boom")}, "store failed"},
		{"a store slower than the budget", &recordingStore{wait: time.Second}, "store too slow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			w := do(newServer(tt.store, &logs, "k"), http.MethodPost, "/images/push", string(acrtest.Event("push")), "x-functions-key", "k")
			if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), tt.why) {
				t.Errorf("status %d %s, want 503 saying %q", w.Code, w.Body, tt.why)
			}
			for _, s := range []string{`"msg":"event not stored"`, `"eventId":"cb8c3971-9adc-488b-bdd8-43cbb4974ff5"`, `"digest":"sha256:80f0`, "list-events"} {
				if !strings.Contains(logs.String(), s) {
					t.Errorf("log lacks %s:\n%s", s, logs.String())
				}
			}
		})
	}
}

type panickingStore struct{}

func (panickingStore) Create(context.Context, document.Document) (bool, error) { panic("bug") }

func TestAPanicIsA500WithJSONNotADroppedConnection(t *testing.T) {
	h := server.New(server.Options{Logger: slog.New(slog.DiscardHandler), Store: panickingStore{}, Keys: []string{"k"}})
	w := do(h, http.MethodPost, "/images/push", string(acrtest.Event("push")), "x-functions-key", "k")
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "not stored") {
		t.Errorf("status %d %s", w.Code, w.Body)
	}
}

// failingFor fails the writes of some ids and stores the rest.
type failingFor struct {
	recordingStore
	ids map[string]bool
}

func (f *failingFor) Create(ctx context.Context, d document.Document) (bool, error) {
	if f.ids[d.ID] {
		return false, errors.New("unavailable")
	}
	return f.recordingStore.Create(ctx, d)
}

func TestAnEventGridBatchIs503UnlessEveryEventIsStored(t *testing.T) {
	st := &failingFor{ids: map[string]bool{"ea3a9c28-5b17-40f6-a500-3f02b6822b5b": true}}
	var logs strings.Builder
	h := server.New(server.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Store: st, Keys: []string{"k"}})
	w := do(h, http.MethodPost, "/eventgrid?code=k", string(eventgridtest.Delivery("eventgrid-schema")))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"failed":["ea3a9c28-5b17-40f6-a500-3f02b6822b5b"]`) {
		t.Errorf("status %d %s, want 503 naming the failed event", w.Code, w.Body)
	}
	if !strings.Contains(logs.String(), `"msg":"event not stored","eventId":"ea3a9c28-5b17-40f6-a500-3f02b6822b5b"`) {
		t.Errorf("no recoverable log line:\n%s", logs.String())
	}
	// Event Grid retries the batch; once the store is well, it completes.
	delete(st.ids, "ea3a9c28-5b17-40f6-a500-3f02b6822b5b")
	w = do(h, http.MethodPost, "/eventgrid?code=k", string(eventgridtest.Delivery("eventgrid-schema")))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"stored":1,"duplicates":3`) {
		t.Errorf("retry: %d %s, want 200 with 1 stored and 3 duplicates", w.Code, w.Body)
	}
}

func TestTheCloudEventsHandshakeNeedsItsOriginHeader(t *testing.T) {
	w := do(newServer(&recordingStore{}, io.Discard, "k"), http.MethodOptions, "/eventgrid?code=k", "")
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "WebHook-Request-Origin") {
		t.Errorf("status %d %s", w.Code, w.Body)
	}
}

func TestALongValueFromABadRequestIsClippedInTheLog(t *testing.T) {
	var logs strings.Builder
	long := strings.Repeat("x", 10000)
	w := do(newServer(&recordingStore{}, &logs, "k"), http.MethodPost, "/images/push", `{"id":"`+long+`","action":"push"}`, "x-functions-key", "k")
	if w.Code != http.StatusBadRequest {
		t.Fatalf("status %d", w.Code)
	}
	if strings.Contains(logs.String(), long[:300]) || !strings.Contains(logs.String(), long[:256]+"…") {
		t.Errorf("log line not clipped: %d bytes", logs.Len())
	}
}
