package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/ingest"
	"github.com/acrsink/acrsink/internal/server"
	"github.com/acrsink/acrsink/internal/testenv/acrtest"
)

// BenchmarkPing is the handler's own cost for one ping, key check and log
// line included, with no network: what the bench command's handler-overhead
// ratio compares against a bare server.
func BenchmarkPing(b *testing.B) {
	benchPost(b, &recordingStore{}, acrtest.Event("ping"), http.StatusNoContent)
}

// benchPost posts body to the webhook route over and over, as a host
// would, through the whole handler with store st.
func benchPost(b *testing.B, st ingest.Store, body []byte, want int) {
	h := server.New(server.Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Store: st, Keys: []string{"k1", "k2"}, Timeout: 4 * time.Second})
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/images/push", bytes.NewReader(body))
		req.Header.Set("x-functions-key", "k2")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != want {
			b.Fatal(w.Code)
		}
	}
}

// encodingStore does what the Cosmos store does before the network: encode
// the document.
type encodingStore struct{}

func (encodingStore) Create(_ context.Context, d document.Document) (bool, error) {
	_, err := d.Marshal()
	return true, err
}

// BenchmarkPush is the handler's own cost for one stored push, from the
// request to the encoded document, key check and log line included, with
// no network.
func BenchmarkPush(b *testing.B) {
	benchPost(b, encodingStore{}, acrtest.Event("push"), http.StatusCreated)
}
