package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/testenv/acrtest"
)

// logLines are the JSON log lines with message msg.
func logLines(t *testing.T, logs, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

const regionIgnored = "region ignored; event stored without it"

func TestTheRegionHeaderOfARegionalWebhook(t *testing.T) {
	long := strings.Repeat("a", 41)
	tests := []struct {
		name   string
		values []string // each sent as an x-acrsink-region header; nil sends none
		region string   // stored; empty means left out
		warned string   // the value the warning shows; empty means no warning
	}{
		{"a region name is stored as the region", []string{"westus2"}, "westus2", ""},
		{"a name of 40 characters is a region", []string{strings.Repeat("a", 40)}, strings.Repeat("a", 40), ""},
		{"no header means no region and no warning", nil, "", ""},
		{"a display name is ignored with a warning", []string{"West US 2"}, "", "West US 2"},
		{"upper case is ignored with a warning", []string{"WestUS2"}, "", "WestUS2"},
		{"punctuation is ignored with a warning", []string{"westus2;drop"}, "", "westus2;drop"},
		{"a hyphen is ignored with a warning", []string{"west-us-2"}, "", "west-us-2"},
		{"41 characters are ignored with a warning", []string{long}, "", long},
		{"an empty header is ignored with a warning", []string{""}, "", ""},
		{"a header sent twice is ignored with a warning", []string{"westus2", "eastus"}, "", "westus2,eastus"},
		{"a non-ASCII letter is ignored with a warning", []string{"westüs"}, "", "westüs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &recordingStore{}
			var logs strings.Builder
			req := httptest.NewRequest(http.MethodPost, "/images/push", bytes.NewReader(acrtest.Event("push")))
			req.Header.Set("x-functions-key", "the-secret-key")
			for _, v := range tt.values {
				req.Header.Add("X-Acrsink-Region", v)
			}
			w := httptest.NewRecorder()
			newServer(st, &logs, "the-secret-key").ServeHTTP(w, req)
			if w.Code != http.StatusCreated {
				t.Fatalf("status %d %s, want 201: a region header is never a reason to refuse an event", w.Code, w.Body)
			}
			d, ok := st.docs["cb8c3971-9adc-488b-bdd8-43cbb4974ff5"]
			if !ok {
				t.Fatal("the event was not stored")
			}
			if d.Region != tt.region {
				t.Errorf("region %q, want %q", d.Region, tt.region)
			}
			b, _ := json.Marshal(d)
			if tt.region == "" && bytes.Contains(b, []byte(`"region"`)) {
				t.Errorf("the document has a region field: %s", b)
			}
			if !bytes.Equal(d.Payload, acrtest.Event("push")) {
				t.Errorf("payload changed: %s", d.Payload)
			}
			warnings := logLines(t, logs.String(), regionIgnored)
			wantWarning := tt.values != nil && tt.region == ""
			switch {
			case !wantWarning && len(warnings) != 0:
				t.Errorf("warnings %v, want none", warnings)
			case wantWarning && len(warnings) != 1:
				t.Errorf("%d warnings, want 1:\n%s", len(warnings), logs.String())
			case wantWarning:
				l := warnings[0]
				if l["level"] != "WARN" || l["value"] != tt.warned || l["from"] != "x-acrsink-region header" || l["eventId"] != "cb8c3971-9adc-488b-bdd8-43cbb4974ff5" {
					t.Errorf("warning %v, want a WARN showing the value %q and the event", l, tt.warned)
				}
			}
			for _, l := range logLines(t, logs.String(), "request") {
				if got, _ := l["region"].(string); got != tt.region {
					t.Errorf("request line region %v, want %q", l["region"], tt.region)
				}
			}
			if strings.Contains(logs.String()+w.Body.String(), "the-secret-key") {
				t.Errorf("the key leaked:\n%s", logs.String())
			}
		})
	}
}

func TestARegionHeaderOfAMegabyteIsClippedInTheWarning(t *testing.T) {
	st := &recordingStore{}
	var logs strings.Builder
	huge := strings.Repeat("A", 1<<20)
	w := do(newServer(st, &logs, "k"), http.MethodPost, "/images/push", string(acrtest.Event("push")), "x-functions-key", "k", "x-acrsink-region", huge)
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d %s", w.Code, w.Body)
	}
	warnings := logLines(t, logs.String(), regionIgnored)
	if len(warnings) != 1 || warnings[0]["value"] != huge[:256]+"…" {
		t.Errorf("warning not clipped to 256 bytes: %d bytes of log", logs.Len())
	}
}

func TestAPingWithABadRegionHeaderIsStill204AndWarns(t *testing.T) {
	var logs strings.Builder
	w := do(newServer(&recordingStore{}, &logs, "k"), http.MethodPost, "/images/push", string(acrtest.Event("ping")), "x-functions-key", "k", "x-acrsink-region", "West US 2")
	if w.Code != http.StatusNoContent {
		t.Errorf("status %d, want 204", w.Code)
	}
	if n := len(logLines(t, logs.String(), regionIgnored)); n != 1 {
		t.Errorf("%d warnings, want 1: a ping is how an operator checks the webhook's headers", n)
	}
}

// registryDelivery is one ImagePushed, the documented push with location,
// in the Event Grid schema or as a CloudEvent.
func registryDelivery(t *testing.T, cloudEvents bool, location any) string {
	t.Helper()
	var data map[string]any
	if err := json.Unmarshal(acrtest.Event("push"), &data); err != nil {
		t.Fatal(err)
	}
	if location != nil {
		data["location"] = location
	}
	env := map[string]any{
		"id": "eg-1", "eventType": "Microsoft.ContainerRegistry.ImagePushed", "subject": "hello-world:v1",
		"eventTime": "2017-11-17T16:52:02Z", "data": data, "dataVersion": "1.0", "metadataVersion": "1",
	}
	if cloudEvents {
		env = map[string]any{
			"specversion": "1.0", "id": "eg-1", "type": "Microsoft.ContainerRegistry.ImagePushed",
			"source":  "/subscriptions/x/resourceGroups/r/providers/Microsoft.ContainerRegistry/registries/myregistry",
			"subject": "hello-world:v1", "time": "2017-11-17T16:52:02Z", "data": data,
		}
	}
	b, _ := json.Marshal([]any{env})
	return string(b)
}

func TestEventGridsLocationIsTheRegion(t *testing.T) {
	tests := []struct {
		name     string
		location any // data.location; nil leaves it out
		region   string
		warned   bool
	}{
		{"a region name is stored as the region", "westeurope", "westeurope", false},
		{"no location means no region and no warning", nil, "", false},
		{"a display name is ignored with a warning", "West Europe", "", true},
		{"a location that is not a string is ignored with a warning", 7, "", true},
	}
	for _, schema := range []struct {
		name        string
		cloudEvents bool
	}{{"Event Grid schema", false}, {"CloudEvents", true}} {
		for _, tt := range tests {
			t.Run(schema.name+": "+tt.name, func(t *testing.T) {
				st := &recordingStore{}
				var logs strings.Builder
				body := registryDelivery(t, schema.cloudEvents, tt.location)
				w := do(newServer(st, &logs, "k"), http.MethodPost, "/eventgrid?code=k", body)
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"stored":1`) {
					t.Fatalf("status %d %s, want 200 with the event stored", w.Code, w.Body)
				}
				d := st.docs["cb8c3971-9adc-488b-bdd8-43cbb4974ff5"]
				if d.Region != tt.region {
					t.Errorf("region %q, want %q", d.Region, tt.region)
				}
				var envs []json.RawMessage
				_ = json.Unmarshal([]byte(body), &envs)
				if !bytes.Equal(d.Payload, envs[0]) {
					t.Errorf("payload %s is not the envelope as delivered", d.Payload)
				}
				if n := len(logLines(t, logs.String(), regionIgnored)); tt.warned != (n == 1) || n > 1 {
					t.Errorf("%d warnings, want warned = %v:\n%s", n, tt.warned, logs.String())
				}
			})
		}
	}
}
