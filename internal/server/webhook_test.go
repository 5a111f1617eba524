package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/server"
)

func TestAnEventWithOddDescriptiveFieldsIsStoredWithAWarning(t *testing.T) {
	st := &recordingStore{}
	var logs strings.Builder
	body := `{"id":"odd-1","action":"push","timestamp":"2026-11-22T08:00:00.1234567","target":{"size":"big","repository":"r","tag":"v1"}}`
	w := do(newServer(st, &logs, "k"), http.MethodPost, "/images/push", body, "x-functions-key", "k")
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d %s, want 201", w.Code, w.Body)
	}
	d := st.docs["odd-1"]
	want := []string{`target.size: want an integer, got "big"`, `timestamp: want an RFC 3339 time with a time zone, got "2026-11-22T08:00:00.1234567"`}
	if !slices.Equal(d.Anomalies, want) || d.Timestamp != "" || d.Size != nil || d.Repository != "r" || string(d.Payload) != body {
		t.Errorf("document %+v", d)
	}
	if n := len(logLines(t, logs.String(), server.LogNotStored)); n != 0 {
		t.Errorf("a stored event logged %q", server.LogNotStored)
	}
	warned := logLines(t, logs.String(), server.LogAnomalies)
	if len(warned) != 1 || warned[0]["level"] != "WARN" || warned[0]["eventId"] != "odd-1" || len(warned[0]["anomalies"].([]any)) != 2 {
		t.Errorf("no warning naming the anomalies:\n%s", logs.String())
	}
}

func TestWhatCannotBeStoredIs400AndOneNotStoredLine(t *testing.T) {
	tests := []struct {
		name, body, errHas string
	}{
		{"an id that is a number", `{"id":7,"action":"push"}`, "field id: want a string"},
		{"an action that is an object", `{"id":"a","action":{}}`, "field action: want a string"},
		{"an id of two dots", `{"id":"..","action":"push"}`, "is not an event id"},
		{"an id with a space", `{"id":"a b","action":"push"}`, "is not an event id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &recordingStore{}
			var logs strings.Builder
			w := do(newServer(st, &logs, "k"), http.MethodPost, "/images/push", tt.body, "x-functions-key", "k")
			var e struct{ Error string }
			if w.Code != http.StatusBadRequest || json.Unmarshal(w.Body.Bytes(), &e) != nil || !strings.Contains(e.Error, tt.errHas) {
				t.Errorf("status %d %s, want 400 about %q", w.Code, w.Body, tt.errHas)
			}
			if len(st.docs) != 0 {
				t.Errorf("stored %d", len(st.docs))
			}
			if n := strings.Count(logs.String(), `"msg":"`+server.LogNotStored+`"`); n != 1 {
				t.Errorf("%d %q lines, want 1:\n%s", n, server.LogNotStored, logs.String())
			}
		})
	}
}

func TestABodyTooLargeIs413AndOneNotStoredLine(t *testing.T) {
	var logs strings.Builder
	body := `{"id":"a","action":"push","pad":"` + strings.Repeat("a", server.MaxBody) + `"}`
	w := do(newServer(&recordingStore{}, &logs, "k"), http.MethodPost, "/images/push", body, "x-functions-key", "k")
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "1 MiB") {
		t.Errorf("status %d %s", w.Code, w.Body)
	}
	if n := strings.Count(logs.String(), `"msg":"`+server.LogNotStored+`","reason":"invalid"`); n != 1 {
		t.Errorf("%d %q lines with reason invalid, want 1:\n%s", n, server.LogNotStored, logs.String())
	}
}

// Whatever a delivery carries, no line the webhook door logs and no answer
// it writes echoes more than a clipped value of it.
func TestEveryLineAndAnswerOfTheWebhookDoorIsBounded(t *testing.T) {
	huge := strings.Repeat("x", 100_000)
	tests := []struct {
		name, body string
		header     []string
	}{
		{"a stored event with every odd field huge",
			`{"id":"big-1","action":"push","timestamp":"` + huge + `","target":{"size":"` + huge + `","repository":"` + huge + `","tag":"` + huge + `","digest":"` + huge + `"},"request":{"host":"` + huge + `","useragent":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}}`, nil},
		{"a refused event with a huge id, action and repository",
			`{"id":"` + huge + `","action":"` + huge + `","target":{"repository":"` + huge + `","tag":"` + huge + `","digest":"` + huge + `"}}`, nil},
		{"a huge region header", `{"id":"big-2","action":"push"}`, []string{"x-acrsink-region", huge}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			h := append([]string{"x-functions-key", "k"}, tt.header...)
			w := do(newServer(&recordingStore{}, &logs, "k"), http.MethodPost, "/images/push", tt.body, h...)
			if w.Code >= 500 {
				t.Fatalf("status %d", w.Code)
			}
			if w.Body.Len() > 2048 {
				t.Errorf("answer of %d bytes: %.300s", w.Body.Len(), w.Body)
			}
			for _, line := range strings.Split(logs.String(), "\n") {
				if len(line) > 16<<10 {
					t.Errorf("log line of %d bytes: %.300s", len(line), line)
				}
			}
			if !bytes.Contains([]byte(logs.String()), []byte("…")) {
				t.Errorf("nothing was clipped:\n%.2000s", logs.String())
			}
		})
	}
}
