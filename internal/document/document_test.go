package document_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/testenv/acrtest"
)

func TestImage(t *testing.T) {
	tests := []struct {
		name, server, repo, tag, digest, want string
	}{
		{"a tag makes repo:tag", "r.azurecr.io", "a/b", "v1", "sha256:x", "r.azurecr.io/a/b:v1"},
		{"no tag makes repo@digest", "r.azurecr.io", "a/b", "", "sha256:x", "r.azurecr.io/a/b@sha256:x"},
		{"no login server makes nothing", "", "a/b", "v1", "", ""},
		{"no repository makes nothing", "r.azurecr.io", "", "v1", "", ""},
		{"neither tag nor digest makes nothing", "r.azurecr.io", "a", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := document.Image(tt.server, tt.repo, tt.tag, tt.digest); got != tt.want {
				t.Errorf("Image = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewLeavesOutWhatACRDidNotSend(t *testing.T) {
	ev, err := acr.Parse(acrtest.Event("chart_delete"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := document.New(ev, document.SourceWebhook, ev.Raw, time.Unix(0, 0)).Marshal()
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, k := range []string{"loginServer", "requestId", "method", "userAgent", "image", "actor"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s = %v, want it left out", k, m[k])
		}
	}
	if m["receivedAt"] != "1970-01-01T00:00:00.0000000Z" || m["timestamp"] != "2019-03-12T14:02:11.7654321Z" {
		t.Errorf("times = %v, %v", m["receivedAt"], m["timestamp"])
	}
}

func TestTimestampsSortAsTimeDoes(t *testing.T) {
	a := time.Date(2026, 1, 1, 0, 0, 1, 300_000_000, time.UTC)
	b := time.Date(2026, 1, 1, 0, 0, 1, 340_000_000, time.UTC)
	if !(a.Format(document.TimeLayout) < b.Format(document.TimeLayout)) {
		t.Errorf("%s sorts after %s", a.Format(document.TimeLayout), b.Format(document.TimeLayout))
	}
}

func TestSizeFallsBackToLength(t *testing.T) {
	ev, _ := acr.Parse([]byte(`{"id":"a","action":"push","target":{"length":7}}`))
	if d := document.New(ev, "webhook", ev.Raw, time.Now()); d.Size == nil || *d.Size != 7 {
		t.Errorf("size = %v", d.Size)
	}
}

func TestRegionIsMappedAndLeftOutWhenUnknown(t *testing.T) {
	tests := []struct {
		name, region string
	}{
		{"a known region is the region field", "westus2"},
		{"an unknown region is left out", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, _ := acr.Parse(acrtest.Event("push"))
			ev.Region = tt.region
			b, _ := document.New(ev, document.SourceWebhook, ev.Raw, time.Now()).Marshal()
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			got, present := m["region"]
			if tt.region == "" && present || tt.region != "" && got != tt.region {
				t.Errorf("region = %v (present %v), want %q", got, present, tt.region)
			}
			if string(document.New(ev, document.SourceWebhook, ev.Raw, time.Now()).Payload) != string(acrtest.Event("push")) {
				t.Error("the payload is not the event as received")
			}
		})
	}
}

func TestMarshalWritesWhatEncodingJSONWouldWithThePayloadAsReceived(t *testing.T) {
	pretty := []byte("{\n  \"id\": \"p1\",\n  \"action\": \"push\",\n  \"target\": {\"repository\": \"a<b>&c\", \"tag\": \"v1\"},\n  \"request\": {\"host\": \"r.azurecr.io\", \"useragent\": \"docker/27 \\u2028 go\"}\n}\n")
	tests := []struct {
		name string
		body []byte
	}{
		{"a pretty-printed push with characters encoding/json escapes", pretty},
	}
	for _, name := range acrtest.Names() {
		tests = append(tests, struct {
			name string
			body []byte
		}{"the sample " + name, acrtest.Event(name)})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := acr.Parse(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			ev.Region = "westus2"
			d := document.New(ev, document.SourceWebhook, ev.Raw, time.Unix(1, 5))
			got, err := d.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(got) {
				t.Fatalf("not JSON: %s", got)
			}
			want, _ := json.Marshal(d)
			var g, w any
			_ = json.Unmarshal(got, &g)
			_ = json.Unmarshal(want, &w)
			if !reflect.DeepEqual(g, w) {
				t.Errorf("Marshal = %s\nencoding/json = %s", got, want)
			}
		})
	}
}

func TestMarshalWritesAMissingPayloadAsNull(t *testing.T) {
	got, err := document.Document{ID: "x", Action: "push"}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatalf("not JSON: %s", got)
	}
	if p, ok := m["payload"]; !ok || string(p) != "null" {
		t.Errorf("payload = %s (present %v), want null", p, ok)
	}
}

// FuzzMarshal holds Marshal to encoding/json's document for every body the
// webhook door accepts: Marshal trusts that decoding checked the payload.
func FuzzMarshal(f *testing.F) {
	for _, name := range acrtest.Names() {
		f.Add(acrtest.Event(name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := acr.Parse(body)
		if err != nil {
			return
		}
		d := document.New(ev, document.SourceWebhook, ev.Raw, time.Unix(1, 0))
		got, err := d.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("Marshal wrote what is not JSON: %v\n%s", err, got)
		}
		_ = json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("Marshal = %s\nencoding/json = %s", got, want)
		}
	})
}

func TestAnomaliesAreOnTheDocumentAndLeftOutWhenThereAreNone(t *testing.T) {
	tests := []struct {
		name, body string
		want       []any
		absent     []string
	}{
		{"an event with nothing odd has no anomalies field", string(acrtest.Event("push")), nil, nil},
		{"a zoneless timestamp and a fractional size are anomalies, and left out",
			`{"id":"a","action":"push","timestamp":"2026-11-22T08:00:00.1234567","target":{"size":1.5,"repository":"r","tag":"v1"},"request":{"host":"r.azurecr.io"}}`,
			[]any{"target.size: want a whole number within 64 bits, got 1.5", `timestamp: want an RFC 3339 time with a time zone, got "2026-11-22T08:00:00.1234567"`},
			[]string{"timestamp", "size"}},
		{"a repository past the registry's limit leaves out the repository and the image",
			`{"id":"a","action":"push","target":{"repository":"` + strings.Repeat("r", 256) + `","tag":"v1"},"request":{"host":"r.azurecr.io"}}`,
			[]any{"target.repository: longer than 255 bytes (256)"},
			[]string{"repository", "image"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := acr.Parse([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			b, err := document.New(ev, document.SourceWebhook, ev.Raw, time.Unix(0, 0)).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			got, present := m["anomalies"]
			if tt.want == nil && present || tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("anomalies = %v (present %v), want %v", got, present, tt.want)
			}
			for _, k := range tt.absent {
				if _, ok := m[k]; ok {
					t.Errorf("%s = %v, want it left out", k, m[k])
				}
			}
			var payload, sent any
			_ = json.Unmarshal([]byte(tt.body), &sent)
			if p, _ := json.Marshal(m["payload"]); json.Unmarshal(p, &payload) != nil || !reflect.DeepEqual(payload, sent) {
				t.Error("the payload is not the event as received")
			}
		})
	}
}

func nested(depth int) string {
	return strings.Repeat("[", depth) + strings.Repeat("]", depth)
}

func TestAPayloadDeeperThanCosmosDBHoldsIsKeptAsBase64(t *testing.T) {
	tests := []struct {
		name  string
		depth int // of the payload, its own object counted
		deep  bool
	}{
		{"an event 126 levels deep is kept as JSON", 126, false},
		{"an event 127 levels deep is kept as base64 (a level is kept for an Event Grid envelope)", 127, true},
		{"a payload 10,000 levels deep is kept as base64", 10000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// brackets in strings do not count
			body := `{"id":"a","action":"push","s":"[[[[{{{{\"[[","x":` + nested(tt.depth-1) + `}`
			ev, err := acr.Parse([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			b, err := document.New(ev, document.SourceWebhook, ev.Raw, time.Unix(0, 0)).Marshal()
			if err != nil || !json.Valid(b) {
				t.Fatalf("%v: not JSON", err)
			}
			var m struct {
				Payload   json.RawMessage
				Anomalies []string
			}
			_ = json.Unmarshal(b, &m)
			var s string
			isString := json.Unmarshal(m.Payload, &s) == nil
			if isString != tt.deep {
				t.Fatalf("payload kept as a string: %v, want %v", isString, tt.deep)
			}
			if !tt.deep {
				if string(m.Payload) != body || m.Anomalies != nil {
					t.Errorf("payload or anomalies changed: %v", m.Anomalies)
				}
				return
			}
			if raw, err := base64.StdEncoding.DecodeString(s); err != nil || string(raw) != body {
				t.Errorf("the base64 is not the bytes received (%v)", err)
			}
			if len(m.Anomalies) != 1 || !strings.Contains(m.Anomalies[0], "kept as the base64") {
				t.Errorf("anomalies %q", m.Anomalies)
			}
		})
	}
}

// maximalEvent is an event acr.Parse accepts with every field the document
// repeats at its limit, each of < (1 byte in the body, 6 in the document:
// \u003c), padded to acr.MaxEventBytes with pad, which is placed last. odd
// makes the fields that can carry an anomaly odd instead, with long values.
func maximalEvent(t *testing.T, pad func(n int) string, odd bool) []byte {
	lt := func(n int) string { return strings.Repeat("<", n) }
	target := map[string]any{
		"mediaType": lt(acr.MaxText), "digest": lt(acr.MaxText), "repository": lt(acr.MaxRepository),
		"tag": lt(acr.MaxTag), "name": lt(acr.MaxText), "version": lt(acr.MaxText), "url": lt(acr.MaxText),
		"size": int64(1) << 62, "length": int64(1) << 62,
	}
	ev := map[string]any{
		"id": strings.Repeat("a", acr.MaxIDBytes), "action": lt(64), "timestamp": "2026-11-22T08:00:00.1234567Z",
		"target":  target,
		"request": map[string]any{"id": lt(acr.MaxText), "host": lt(acr.MaxText), "method": lt(acr.MaxText), "useragent": lt(acr.MaxText), "addr": lt(acr.MaxText)},
		"actor":   map[string]any{"name": lt(acr.MaxText)},
		"source":  map[string]any{"addr": lt(acr.MaxText), "instanceID": lt(acr.MaxText)},
	}
	if odd {
		ev["timestamp"] = lt(10000)
		target["size"], target["length"] = 1.5, -1
		target["repository"], target["tag"] = lt(acr.MaxRepository+1), lt(acr.MaxTag+1)
		ev["source"] = lt(10000)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.ReplaceAll(b, []byte(`\u003c`), []byte("<")) // as a sender may write it
	head := append(b[:len(b)-1], `,"pad":`...)
	body := append(head, pad(acr.MaxEventBytes-len(head)-1)...)
	body = append(body, '}')
	if len(body) != acr.MaxEventBytes {
		t.Fatalf("body of %d bytes, want %d", len(body), acr.MaxEventBytes)
	}
	return body
}

func TestNoAcceptedEventMakesADocumentPastCosmosDBsItemLimit(t *testing.T) {
	flat := func(n int) string { return `"` + strings.Repeat("<", n-2) + `"` }
	deep := func(n int) string {
		d := acr.MaxDepth + 1
		return strings.Repeat("[", d) + `"` + strings.Repeat("<", n-2*d-2) + `"` + strings.Repeat("]", d)
	}
	tests := []struct {
		name  string
		pad   func(int) string
		odd   bool
		state string
	}{
		{"every field at its limit, payload flat", flat, false, "json"},
		{"every field at its limit, payload too deep (base64)", deep, false, "base64"},
		{"every odd field long, payload too deep (base64)", deep, true, "base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := maximalEvent(t, tt.pad, tt.odd)
			ev, err := acr.Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.odd != (len(ev.Anomalies) > 1) {
				t.Fatalf("anomalies %q", ev.Anomalies)
			}
			for _, source := range []string{document.SourceWebhook, document.SourceEventGrid, document.SourceReconcile} {
				ev.Region = strings.Repeat("a", 40)
				d := document.New(ev, source, ev.Raw, time.Now())
				b, err := d.Marshal()
				if err != nil || !json.Valid(b) {
					t.Fatalf("%v: not JSON", err)
				}
				if len(b) > document.MaxDocumentBytes {
					t.Errorf("%s: document of %d bytes, past %d", source, len(b), document.MaxDocumentBytes)
				}
				t.Logf("%s: %d bytes from a body of %d", source, len(b), len(body))
			}
		})
	}
}

func TestAnEnvelopeDeeperThanCosmosDBHoldsIsKeptAsBase64(t *testing.T) {
	ev, err := acr.Parse([]byte(`{"id":"a","action":"push"}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		depth int
		deep  bool
	}{{document.MaxPayloadDepth, false}, {document.MaxPayloadDepth + 1, true}} {
		envelope := nested(tt.depth)
		d := document.New(ev, document.SourceEventGrid, json.RawMessage(envelope), time.Unix(0, 0))
		if got := string(d.Payload) != envelope; got != tt.deep || tt.deep != slices.Equal(d.Anomalies, []string{acr.TooDeepAnomaly}) {
			t.Errorf("depth %d: payload changed %v, anomalies %q; want base64 %v", tt.depth, got, d.Anomalies, tt.deep)
		}
	}
}
