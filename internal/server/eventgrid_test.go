package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/acr/acrtest"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/eventgrid/eventgridtest"
	"github.com/acrsink/acrsink/internal/server"
)

// The ids (data.id) of the documented registry events in each sample.
var (
	eventGridSchemaIDs = []string{
		"31c51664-e5bd-416a-a5df-e5206bc47ed0", // ImagePushed
		"f06e3921-301f-42ec-b368-212f7d5354bd", // ImageDeleted
		"ea3a9c28-5b17-40f6-a500-3f02b6822b5b", // ChartPushed
		"39136b3a-1a7e-416f-a09e-5c85d5402fca", // ChartDeleted
	}
	publishedCloudEventIDs = []string{"31c51664-e5bd-416a-a5df-e5206bc47ed0", "f06e3921-301f-42ec-b368-212f7d5354bd"}
)

func storedIDs(st *recordingStore) []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	ids := make([]string, 0, len(st.docs))
	for id := range st.docs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func sorted(ids []string) []string {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	return out
}

func TestTheEventGridSubscriptionHandshakeIsAnsweredWithItsCode(t *testing.T) {
	st := &recordingStore{}
	var logs strings.Builder
	w := do(newServer(st, &logs, "k"), http.MethodPost, "/eventgrid?code=k", string(eventgridtest.Delivery("validation")),
		"aeg-event-type", "SubscriptionValidation", "Content-Type", "application/json")
	var got map[string]string
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &got) != nil || got["validationResponse"] != "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" || len(got) != 1 {
		t.Errorf("status %d %s, want 200 with exactly the validationResponse", w.Code, w.Body)
	}
	if n := len(storedIDs(st)); n != 0 {
		t.Errorf("the handshake stored %d documents", n)
	}
	if !strings.Contains(logs.String(), `"outcome":"handshake"`) {
		t.Errorf("log line does not say handshake:\n%s", logs.String())
	}
}

func TestTheCloudEventsHandshakeAllowsTheOriginThatAsks(t *testing.T) {
	st := &recordingStore{}
	// The headers Event Grid sends: an origin, and a callback for an
	// asynchronous approval it does not use; we approve synchronously.
	w := do(newServer(st, io.Discard, "k"), http.MethodOptions, "/eventgrid?code=k", "",
		"WebHook-Request-Origin", "eventgrid.azure.net",
		"WebHook-Request-Callback", "https://rp-eastus2.eventgrid.azure.net/validate?id=x")
	if w.Code != http.StatusOK {
		t.Errorf("status %d %s, want 200", w.Code, w.Body)
	}
	if got := w.Header().Get("WebHook-Allowed-Origin"); got != "eventgrid.azure.net" {
		t.Errorf("WebHook-Allowed-Origin = %q, want the origin echoed", got)
	}
	if got := w.Header().Get("WebHook-Allowed-Rate"); got == "" {
		t.Error("no WebHook-Allowed-Rate")
	}
	if n := len(storedIDs(st)); n != 0 {
		t.Errorf("the handshake stored %d documents", n)
	}
}

func TestEveryRegistryEventIsStoredAsTheWebhooksDocument(t *testing.T) {
	tests := []struct {
		name        string
		delivery    string
		contentType string
		want        []string
		body        string
		events      int // in the delivery, registry or not
	}{
		{"an Event Grid schema array of every registry type", "eventgrid-schema", "application/json", eventGridSchemaIDs, `"stored":4,"duplicates":0,"ignored":0`, 4},
		{"the documented CloudEvents as a batch", "published-cloudevents", "application/cloudevents-batch+json", publishedCloudEventIDs, `"stored":2,"duplicates":0,"ignored":0`, 2},
		{"a single CloudEvent", "cloudevent", "application/cloudevents+json", []string{"c0ffee00-1111-4222-8333-444455556666"}, `"stored":1,"duplicates":0,"ignored":0`, 1},
		{"a CloudEvents batch with an event of another type", "cloudevents-batch", "application/cloudevents-batch+json",
			[]string{"a1a1a1a1-0000-4000-8000-000000000001", "a1a1a1a1-0000-4000-8000-000000000002"}, `"stored":2,"duplicates":0,"ignored":1`, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &recordingStore{}
			var logs strings.Builder
			body := string(eventgridtest.Delivery(tt.delivery))
			w := do(newServer(st, &logs, "k"), http.MethodPost, "/eventgrid?code=k", body, "Content-Type", tt.contentType, "aeg-event-type", "Notification")
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), tt.body) {
				t.Fatalf("status %d %s, want 200 with %s", w.Code, w.Body, tt.body)
			}
			if got := storedIDs(st); strings.Join(got, ",") != strings.Join(sorted(tt.want), ",") {
				t.Errorf("stored %v, want %v (the data.id of each registry event)", got, sorted(tt.want))
			}
			for _, id := range tt.want {
				d := st.docs[id]
				if d.Source != document.SourceEventGrid {
					t.Errorf("%s: source %q, want %q", id, d.Source, document.SourceEventGrid)
				}
				// The evidence kept is the whole envelope of that one event.
				var env struct {
					ID   string          `json:"id"`
					Data json.RawMessage `json:"data"`
				}
				if err := json.Unmarshal(d.Payload, &env); err != nil || env.ID == "" || len(env.Data) == 0 {
					t.Errorf("%s: payload is not the event's envelope: %s", id, d.Payload)
				}
				var data struct{ ID string }
				if json.Unmarshal(env.Data, &data); data.ID != id {
					t.Errorf("%s: the payload is another event's envelope (data.id %s)", id, data.ID)
				}
			}
			if !strings.Contains(logs.String(), `"path":"/eventgrid"`) || !strings.Contains(logs.String(), fmt.Sprintf(`"events":%d`, tt.events)) {
				t.Errorf("request log line lacks the path or the event count:\n%s", logs.String())
			}
			if strings.Contains(logs.String(), "code=") {
				t.Errorf("the key's query string reached the log:\n%s", logs.String())
			}
		})
	}
}

func TestOneEventByTheWebhookAndByEventGridIsOneDocument(t *testing.T) {
	st := &recordingStore{}
	h := newServer(st, io.Discard, "k")
	push := acrtest.Event("push")
	if w := do(h, http.MethodPost, "/images/push", string(push), "x-functions-key", "k"); w.Code != http.StatusCreated {
		t.Fatalf("webhook: %d %s", w.Code, w.Body)
	}
	envelope, _ := json.Marshal([]map[string]any{{
		"id": "eg-envelope-1", "eventType": "Microsoft.ContainerRegistry.ImagePushed", "subject": "hello-world:v1",
		"eventTime": "2017-11-17T16:52:02Z", "data": json.RawMessage(push), "dataVersion": "1.0", "metadataVersion": "1",
	}})
	w := do(h, http.MethodPost, "/eventgrid?code=k", string(envelope))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"stored":0,"duplicates":1`) {
		t.Errorf("Event Grid after the webhook: %d %s, want 200 with the event already present", w.Code, w.Body)
	}
	if got := storedIDs(st); len(got) != 1 || st.docs[got[0]].Source != document.SourceWebhook {
		t.Errorf("stored %v, want the webhook's one document", got)
	}
}

func TestOnlyOtherEventTypesAreAcknowledgedAndLogged(t *testing.T) {
	st := &recordingStore{}
	var logs strings.Builder
	body := `[{"id":"s1","eventType":"Microsoft.Storage.BlobCreated","data":{"api":"PutBlob"},"dataVersion":"1","metadataVersion":"1"},
	          {"id":"s2","eventType":"Microsoft.EventGrid.SubscriptionDeletedEvent","data":{"eventSubscriptionId":"x"}}]`
	w := do(newServer(st, &logs, "k"), http.MethodPost, "/eventgrid?code=k", body)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"ignored":2`) {
		t.Errorf("status %d %s, want 200 with 2 ignored", w.Code, w.Body)
	}
	if n := len(storedIDs(st)); n != 0 {
		t.Errorf("stored %d documents", n)
	}
	for _, s := range []string{`"msg":"event of another type ignored","eventGridId":"s1","type":"Microsoft.Storage.BlobCreated"`, `"type":"Microsoft.EventGrid.SubscriptionDeletedEvent"`} {
		if !strings.Contains(logs.String(), s) {
			t.Errorf("log lacks %s:\n%s", s, logs.String())
		}
	}
}

func TestMalformedDeliveriesAre400AndStoreNothing(t *testing.T) {
	good := `{"id":"g","eventType":"Microsoft.ContainerRegistry.ImagePushed","data":` + string(acrtest.Event("push")) + `}`
	tests := []struct{ name, body, want string }{
		{"an empty body", "", "empty body"},
		{"a body that is not JSON", "hello", "not JSON"},
		{"an empty array", "[]", "no events"},
		{"broken JSON", `[{"id":`, "not a JSON array"},
		{"an event without a type", `[{"id":"a","data":{}}]`, "missing id or type"},
		{"a CloudEvent of another spec version", `{"specversion":"0.3","id":"a","type":"Microsoft.ContainerRegistry.ImagePushed","data":{}}`, "specversion"},
		{"a good event then a registry event without data", "[" + good + `,{"id":"b","eventType":"Microsoft.ContainerRegistry.ImageDeleted"}]`, "no data"},
		{"a good event then one whose data has no id", "[" + good + `,{"id":"b","eventType":"Microsoft.ContainerRegistry.ImageDeleted","data":{"action":"delete"}}]`, "missing id"},
		{"a good event then one whose action contradicts its type", "[" + good + `,{"id":"b","eventType":"Microsoft.ContainerRegistry.ChartPushed","data":{"id":"x","action":"push"}}]`, "carries action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &recordingStore{}
			w := do(newServer(st, io.Discard, "k"), http.MethodPost, "/eventgrid?code=k", tt.body)
			var e struct{ Error string }
			if w.Code != http.StatusBadRequest || json.Unmarshal(w.Body.Bytes(), &e) != nil || !strings.Contains(e.Error, tt.want) {
				t.Errorf("status %d %s, want 400 with an error about %q", w.Code, w.Body, tt.want)
			}
			if n := len(storedIDs(st)); n != 0 {
				t.Errorf("a rejected delivery stored %d documents", n)
			}
		})
	}
}

func TestADeliveryIs503WhenNoEventCanBeStoredAndTheKeyStaysOutOfTheLog(t *testing.T) {
	var logs strings.Builder
	h := newServer(&recordingStore{err: errors.New("account unreachable")}, &logs, "the-secret-key")
	w := do(h, http.MethodPost, "/eventgrid?code=the-secret-key", string(eventgridtest.Delivery("eventgrid-schema")))
	var got struct {
		Stored int
		Failed []string
		Error  string
	}
	if w.Code != http.StatusServiceUnavailable || json.Unmarshal(w.Body.Bytes(), &got) != nil {
		t.Fatalf("status %d %s, want 503 JSON", w.Code, w.Body)
	}
	if strings.Join(sorted(got.Failed), ",") != strings.Join(sorted(eventGridSchemaIDs), ",") || got.Stored != 0 || got.Error == "" {
		t.Errorf("body %+v, want every id failed and a reason", got)
	}
	if c := strings.Count(logs.String(), `"msg":"event not stored"`); c != 4 {
		t.Errorf("%d event-not-stored lines, want 4:\n%s", c, logs.String())
	}
	if strings.Contains(logs.String()+w.Body.String(), "the-secret-key") {
		t.Errorf("the key leaked:\n%s\n%s", logs.String(), w.Body)
	}
}

func TestAPanicStoringOneEventOfABatchFailsThatEventOnly(t *testing.T) {
	st := &panicsFor{id: "f06e3921-301f-42ec-b368-212f7d5354bd"}
	h := server.New(server.Options{Logger: slog.New(slog.DiscardHandler), Store: st, Keys: []string{"k"}})
	w := do(h, http.MethodPost, "/eventgrid?code=k", string(eventgridtest.Delivery("eventgrid-schema")))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"stored":3`) || !strings.Contains(w.Body.String(), `"failed":["f06e3921-301f-42ec-b368-212f7d5354bd"]`) {
		t.Errorf("status %d %s, want 503 with the one event failed and the rest stored", w.Code, w.Body)
	}
}

// panicsFor panics on one id, as a bug in a store would, and stores the rest.
type panicsFor struct {
	recordingStore
	id string
}

func (p *panicsFor) Create(ctx context.Context, d document.Document) (bool, error) {
	if d.ID == p.id {
		panic("bug")
	}
	return p.recordingStore.Create(ctx, d)
}

func TestTheEventGridRouteTakesOnlyPostAndOptions(t *testing.T) {
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		w := do(newServer(&recordingStore{}, io.Discard, "k"), m, "/eventgrid?code=k", "")
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "POST, OPTIONS" {
			t.Errorf("%s: status %d, Allow %q", m, w.Code, w.Header().Get("Allow"))
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodOptions} {
		w := do(newServer(&recordingStore{}, io.Discard, "k"), m, "/eventgrid?code=wrong", string(eventgridtest.Delivery("validation")), "WebHook-Request-Origin", "eventgrid.azure.net")
		if w.Code != http.StatusUnauthorized || w.Header().Get("WebHook-Allowed-Origin") != "" {
			t.Errorf("%s with a wrong key: status %d, WebHook-Allowed-Origin %q; want 401 and no handshake", m, w.Code, w.Header().Get("WebHook-Allowed-Origin"))
		}
	}
}
