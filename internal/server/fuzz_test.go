package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/testenv/acrtest"
	"github.com/acrsink/acrsink/internal/testenv/eventgridtest"
)

// FuzzServer drives the whole API with hostile requests. Whatever comes in,
// the answer is one of the statuses clients are told about (never a panic's
// 500), and nothing is stored unless the answer is 2xx. The seeds are real
// payloads and malformed ones; go test replays them (and
// testdata/fuzz/FuzzServer) on every run; go test -fuzz FuzzServer explores.
func FuzzServer(f *testing.F) {
	for _, name := range acrtest.Names() {
		f.Add(uint8(0), uint8(0), false, acrtest.Event(name))
	}
	for _, name := range []string{"eventgrid-schema", "validation", "cloudevent", "cloudevents-batch"} {
		f.Add(uint8(0), uint8(0), true, eventgridtest.Delivery(name))
	}
	for _, b := range []string{
		"", "null", "[]", "{}", "[{}]", `{"id":"x"}`, `{"action":"push"}`, `{"id":"a/b","action":"push"}`,
		`{"id":"x","action":"push","target":{"size":-1}}`, `{"id":"x","action":"push","target":{"size":1e40}}`,
		`{"id":"x","action":"push","timestamp":"nope"}`, `{"id":"x","action":"push"} trailing`, "\xff\xfe",
		`[{"id":"e","eventType":"Microsoft.ContainerRegistry.ImagePushed","data":null}]`,
		`{"specversion":"1.0","id":"e","type":"Microsoft.ContainerRegistry.ChartDeleted","data":"x"}`,
	} {
		f.Add(uint8(0), uint8(0), false, []byte(b))
		f.Add(uint8(0), uint8(0), true, []byte(b))
	}
	f.Add(uint8(1), uint8(0), false, acrtest.Event("push"))
	f.Add(uint8(0), uint8(1), false, acrtest.Event("push"))
	f.Add(uint8(5), uint8(2), true, []byte(""))

	methods := []string{http.MethodPost, http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions, http.MethodHead}
	keys := []string{"the-key", "", "wrong", "the-key-and-more"}
	allowed := map[int]bool{200: true, 201: true, 204: true, 400: true, 401: true, 405: true, 413: true}

	f.Fuzz(func(t *testing.T, method, key uint8, eventGrid bool, body []byte) {
		st := &recordingStore{}
		h := newServer(st, io.Discard, "the-key")
		path := "/images/push"
		if eventGrid {
			path = "/eventgrid"
		}
		m := methods[int(method)%len(methods)]
		w := do(h, m, path, string(body), "x-functions-key", keys[int(key)%len(keys)], "WebHook-Request-Origin", "x")
		if !allowed[w.Code] {
			t.Fatalf("%s %s: status %d %s", m, path, w.Code, w.Body)
		}
		if w.Code >= 300 && len(st.docs) > 0 {
			t.Fatalf("%s %s: status %d but %d documents stored", m, path, w.Code, len(st.docs))
		}
		if w.Code >= 400 && !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") && m != http.MethodHead {
			t.Fatalf("status %d without a JSON body", w.Code)
		}
	})
}
