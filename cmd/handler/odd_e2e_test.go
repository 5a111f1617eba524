package main_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/server"
)

// An event whose id and action are good is stored, whatever else in it is
// odd: ACR sends it once. The odd field is left out of the document and said
// in its anomalies; the payload is the event as sent.
func TestAnEventWithOddDescriptiveFieldsIsStoredThroughTheHost(t *testing.T) {
	t.Parallel()
	h, st := startHost(t)
	tests := []struct {
		name, id, fields string
		anomalies        []string
		absent           []string
	}{
		{"a timestamp without a time zone", "odd-ts", `"timestamp":"2026-11-22T08:00:00.1234567"`,
			[]string{`timestamp: want an RFC 3339 time with a time zone, got "2026-11-22T08:00:00.1234567"`}, []string{"timestamp"}},
		{"a size written with an exponent is the number it is", "odd-exp", `"target":{"size":1.2e3,"repository":"r"}`, nil, nil},
		{"a fractional size", "odd-frac", `"target":{"size":1.5,"repository":"r"}`,
			[]string{"target.size: want a whole number within 64 bits, got 1.5"}, []string{"size"}},
		{"a size that is a string", "odd-str", `"target":{"size":"big","repository":"r"}`,
			[]string{`target.size: want an integer, got "big"`}, []string{"size"}},
		{"a negative size", "odd-neg", `"target":{"size":-5,"repository":"r"}`,
			[]string{"target.size: want a size, not negative, got -5"}, []string{"size"}},
		{"a request that is a string", "odd-req", `"request":"PUT","target":{"repository":"r"}`,
			[]string{`request: want an object, got "PUT"`}, []string{"loginServer", "method"}},
		{"a repository past the registry's limit", "odd-repo", `"target":{"repository":"` + strings.Repeat("r", 300) + `","tag":"v1"},"request":{"host":"x.azurecr.io"}`,
			[]string{"target.repository: longer than 255 bytes (300)"}, []string{"repository", "image"}},
		{"a payload deeper than Cosmos DB holds", "odd-deep", `"target":{"repository":"r"},"x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200),
			[]string{acr.TooDeepAnomaly}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(`{"id":"` + tt.id + `","action":"push",` + tt.fields + `}`)
			status, resp := post(t, h.URL+"/images/push", body, "x-functions-key", "test-key")
			if status != http.StatusCreated {
				t.Fatalf("status %d %s, want 201", status, resp)
			}
			doc := get(t, st, tt.id)
			got, _ := doc["anomalies"].([]any)
			if len(got) != len(tt.anomalies) {
				t.Fatalf("anomalies %v, want %q", doc["anomalies"], tt.anomalies)
			}
			for i := range got {
				if got[i] != tt.anomalies[i] {
					t.Errorf("anomaly %q, want %q", got[i], tt.anomalies[i])
				}
			}
			for _, k := range tt.absent {
				if _, ok := doc[k]; ok {
					t.Errorf("%s = %v, want it left out", k, doc[k])
				}
			}
			if tt.id == "odd-exp" && doc["size"] != float64(1200) {
				t.Errorf("size = %v, want 1200", doc["size"])
			}
			if tt.id != "odd-deep" {
				checkPayloadIsAsSent(t, doc, body)
			}
			if tt.anomalies != nil {
				waitForLine(t, h, "a warning for "+tt.id, func(line string) bool {
					return strings.Contains(line, `"msg":"`+server.LogAnomalies+`","eventId":"`+tt.id+`"`)
				})
			}
		})
	}
}

func TestADeliveryThatCannotBeStoredIs400StoresNothingAndIsLoggedOnce(t *testing.T) {
	t.Parallel()
	h, st := startHost(t)
	tests := []struct {
		name, body, errHas string
	}{
		{"an id that is a number", `{"id":42,"action":"push","target":{"size":"big"}}`, "field id: want a string"},
		{"an action that is an array", `{"id":"bad-2","action":["push"]}`, "field action: want a string"},
		{"no id", `{"action":"push","timestamp":"2026-11-22T08:00:00"}`, "missing id"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, resp := post(t, h.URL+"/images/push", []byte(tt.body), "x-functions-key", "test-key")
			var e struct{ Error string }
			if status != http.StatusBadRequest || json.Unmarshal([]byte(resp), &e) != nil || !strings.Contains(e.Error, tt.errHas) {
				t.Fatalf("status %d %s, want 400 about %q", status, resp, tt.errHas)
			}
			// The request line comes after the not-stored line.
			want := i + 1
			waitForLine(t, h, strconv.Itoa(want)+" request lines answered 400", func(string) bool {
				return strings.Count(h.Logs(), `"status":400`) >= want
			})
			if n := strings.Count(h.Logs(), `"msg":"`+server.LogNotStored+`"`); n != want {
				t.Errorf("%d %q lines after %d refusals, want one each:\n%s", n, server.LogNotStored, want, h.Logs())
			}
		})
	}
	if n := count(t, st); n != 0 {
		t.Errorf("%d documents stored, want none", n)
	}
}

// An id is what an event is stored and read back by: every id is either
// refused at the door with a JSON 400, or stored, read back, and a
// redelivery answered 200 duplicate. Never a 5xx, never a document that
// cannot be read.
func TestOddIdsAreRefusedOrStoredAndReadBack(t *testing.T) {
	t.Parallel()
	h, st := startHost(t)
	tests := []struct {
		name, id string
		stored   bool
	}{
		{"a UUID", "cb8c3971-9adc-488b-bdd8-43cbb4974ff5", true},
		{"dots inside", "a.b.c", true},
		{"three dots", "...", true},
		{"a tilde and an underscore", "~_", true},
		{"101 bytes", strings.Repeat("i", 101), true},
		{"one dot", ".", false},
		{"two dots", "..", false},
		{"a slash", "a/b", false},
		{"a backslash", `a\\b`, false},
		{"a question mark", "a?b", false},
		{"a hash", "a#b", false},
		{"a percent escape", "a%2e%2e", false},
		{"a space inside", "a b", false},
		{"a leading space", " a", false},
		{"a trailing space", "a ", false},
		{"a control character", `a\u0001b`, false},
		{"a non-ASCII letter", "é", false},
		{"a colon", "a:b", false},
		{"102 bytes", strings.Repeat("i", 102), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(`{"id":"` + tt.id + `","action":"push","target":{"repository":"r","tag":"v1"}}`)
			var id string
			if err := json.Unmarshal([]byte(`"`+tt.id+`"`), &id); err != nil {
				t.Fatal(err)
			}
			status, resp := post(t, h.URL+"/images/push", body, "x-functions-key", "test-key")
			if !tt.stored {
				var e struct{ Error string }
				if status != http.StatusBadRequest || json.Unmarshal([]byte(resp), &e) != nil || !strings.Contains(e.Error, "is not an event id") {
					t.Errorf("status %d %s, want a JSON 400 refusing the id", status, resp)
				}
				return
			}
			if status != http.StatusCreated {
				t.Fatalf("status %d %s, want 201", status, resp)
			}
			if doc := get(t, st, id); doc["id"] != id {
				t.Errorf("read back id %v, want %q", doc["id"], id)
			}
			if status, resp := post(t, h.URL+"/images/push", body, "x-functions-key", "test-key"); status != http.StatusOK || !strings.Contains(resp, `"duplicate"`) {
				t.Errorf("redelivery: %d %s, want 200 duplicate", status, resp)
			}
		})
	}
}
