package document_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/acr/acrtest"
	"github.com/acrsink/acrsink/internal/document"
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
