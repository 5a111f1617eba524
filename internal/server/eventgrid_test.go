package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/server"
	"github.com/acrsink/acrsink/internal/testenv/acrtest"
	"github.com/acrsink/acrsink/internal/testenv/eventgridtest"
	"github.com/acrsink/acrsink/internal/testenv/syncbuf"
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
	for _, s := range []string{`"msg":"event of another type ignored","element":0,"eventGridId":"s1","type":"Microsoft.Storage.BlobCreated"`, `"type":"Microsoft.EventGrid.SubscriptionDeletedEvent"`} {
		if !strings.Contains(logs.String(), s) {
			t.Errorf("log lacks %s:\n%s", s, logs.String())
		}
	}
}

// goodElement is a push in the Event Grid schema, data.id "g-data".
var goodElement = `{"id":"g","eventType":"Microsoft.ContainerRegistry.ImagePushed","data":` +
	strings.Replace(string(acrtest.Event("push")), "cb8c3971-9adc-488b-bdd8-43cbb4974ff5", "g-data", 1) + `}`

// notStoredLines are the log lines the alert reads.
func notStoredLines(logs string) []string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"msg":"event not stored"`) {
			out = append(out, l)
		}
	}
	return out
}

func TestWhatIsNotAnEventGridDeliveryIs400AndRaisesTheAlertOnce(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"an empty body", "", "empty body"},
		{"a body that is not JSON", "hello", "not JSON"},
		{"a JSON number", "42", "not JSON"},
		{"an empty array", "[]", "no events"},
		{"broken JSON", `[{"id":`, "not a JSON array"},
		{"a broken CloudEvent", `{"specversion":"1.0","id":`, "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &recordingStore{}
			var logs strings.Builder
			w := do(newServer(st, &logs, "k"), http.MethodPost, "/eventgrid?code=k", tt.body)
			var e map[string]any
			if w.Code != http.StatusBadRequest || json.Unmarshal(w.Body.Bytes(), &e) != nil || !strings.Contains(fmt.Sprint(e["error"]), tt.want) || len(e) != 1 {
				t.Errorf("status %d %s, want 400 with just an error about %q", w.Code, w.Body, tt.want)
			}
			if lines := notStoredLines(logs.String()); len(lines) != 1 || !strings.Contains(lines[0], `"reason":"invalid"`) {
				t.Errorf("want one event-not-stored line, reason invalid:\n%s", logs.String())
			}
			if n := len(storedIDs(st)); n != 0 {
				t.Errorf("stored %d documents", n)
			}
		})
	}
}

// Event Grid does not retry a 400 (learn.microsoft.com,
// event-grid/delivery-and-retry): the good events of a batch answered 400
// would be lost with the bad one.
func TestABadElementIsReportedAndItsBatchMatesAreStored(t *testing.T) {
	tests := []struct {
		name, element string
		eventID, want string
	}{
		{"a registry event without data", `{"id":"b","eventType":"Microsoft.ContainerRegistry.ImageDeleted"}`, "", "no data"},
		{"a registry event whose data has no id", `{"id":"b","eventType":"Microsoft.ContainerRegistry.ImageDeleted","data":{"action":"delete"}}`, "", "missing id"},
		{"a registry event whose action contradicts its type", `{"id":"b","eventType":"Microsoft.ContainerRegistry.ChartPushed","data":{"id":"x","action":"push"}}`, "x", "carries action"},
		{"a registry event whose data is not an object", `{"id":"b","eventType":"Microsoft.ContainerRegistry.ImagePushed","data":"push"}`, "", "want a JSON object"},
		{"an element without a type", `{"id":"b","data":{}}`, "", "missing id or type"},
		{"a CloudEvent of another version", `{"specversion":"0.3","id":"b","type":"Microsoft.ContainerRegistry.ImagePushed"}`, "", "specversion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &recordingStore{}
			var logs strings.Builder
			w := do(newServer(st, &logs, "k"), http.MethodPost, "/eventgrid?code=k", "["+goodElement+","+tt.element+"]")
			var got struct {
				Stored  int
				Invalid []struct {
					Element     int
					EventGridID string
					EventID     string
					Error       string
				}
				Error string
			}
			if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &got) != nil || got.Stored != 1 || got.Error != "" {
				t.Fatalf("status %d %s, want 200 with the good event stored", w.Code, w.Body)
			}
			if len(got.Invalid) != 1 || got.Invalid[0].Element != 1 || got.Invalid[0].EventGridID != "b" || got.Invalid[0].EventID != tt.eventID || !strings.Contains(got.Invalid[0].Error, tt.want) {
				t.Errorf("invalid = %+v, want element 1, eventGridId b, eventId %q, an error about %q", got.Invalid, tt.eventID, tt.want)
			}
			if ids := storedIDs(st); len(ids) != 1 || ids[0] != "g-data" {
				t.Errorf("stored %v, want the good event", ids)
			}
			lines := notStoredLines(logs.String())
			if len(lines) != 1 || !strings.Contains(lines[0], `"element":1,"eventGridId":"b"`) || !strings.Contains(lines[0], `"reason":"invalid"`) || !strings.Contains(lines[0], tt.want) {
				t.Errorf("want one event-not-stored line for element 1 (eventGridId b, reason invalid):\n%s", logs.String())
			}
			if tt.eventID != "" && !strings.Contains(lines[0], `"eventId":"`+tt.eventID+`"`) {
				t.Errorf("the line lacks the event id %s: %s", tt.eventID, lines[0])
			}
			if !strings.Contains(logs.String(), `"outcome":"partial","events":2`) {
				t.Errorf("the request line does not say partial:\n%s", logs.String())
			}
		})
	}
}

// A delivery with nothing in it to store is answered 400: retrying cannot
// help, and a 400 is what makes Event Grid dead-letter it, keeping the
// whole event for a human.
func TestADeliveryWhoseEveryElementIsInvalidIs400(t *testing.T) {
	tests := []struct{ name, body string }{
		{"one registry event without data", `[{"id":"b","eventType":"Microsoft.ContainerRegistry.ImageDeleted"}]`},
		{"a CloudEvent without an id", `{"specversion":"1.0","type":"Microsoft.ContainerRegistry.ImagePushed","data":{}}`},
		{"two bad elements", `[{"id":"b","data":{}},"x"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &recordingStore{}
			var logs strings.Builder
			w := do(newServer(st, &logs, "k"), http.MethodPost, "/eventgrid?code=k", tt.body)
			var got struct {
				Invalid []json.RawMessage
				Error   string
			}
			if w.Code != http.StatusBadRequest || json.Unmarshal(w.Body.Bytes(), &got) != nil || got.Error == "" || len(got.Invalid) == 0 {
				t.Fatalf("status %d %s, want 400 with an error and the invalid elements", w.Code, w.Body)
			}
			if c := len(notStoredLines(logs.String())); c != len(got.Invalid) {
				t.Errorf("%d event-not-stored lines for %d invalid elements:\n%s", c, len(got.Invalid), logs.String())
			}
			if !strings.Contains(logs.String(), `"outcome":"invalid"`) {
				t.Errorf("the request line does not say invalid:\n%s", logs.String())
			}
			if n := len(storedIDs(st)); n != 0 {
				t.Errorf("stored %d documents", n)
			}
		})
	}
}

// requestLine is the request log line for path.
func requestLine(t *testing.T, logs, path string) map[string]any {
	t.Helper()
	for _, l := range strings.Split(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" && m["path"] == path {
			return m
		}
	}
	t.Fatalf("no request line for %s:\n%s", path, logs)
	return nil
}

func TestTheRequestLineSaysWhatTheDeliveryDid(t *testing.T) {
	// One store, a new server (nothing remembered) for each delivery.
	st := &recordingStore{}
	other := `{"id":"s1","eventType":"Microsoft.Storage.BlobCreated","data":{}}`
	bad := `{"id":"b","eventType":"Microsoft.ContainerRegistry.ImageDeleted"}`
	tests := []struct {
		name, body, outcome string
		status              int
	}{
		{"every event new", string(eventgridtest.Delivery("eventgrid-schema")), "stored", http.StatusOK},
		{"every event already stored", string(eventgridtest.Delivery("eventgrid-schema")), "duplicate", http.StatusOK},
		{"new and already stored", "[" + goodElement + "," + strings.Trim(string(eventgridtest.Delivery("eventgrid-schema")), "[] \n") + "]", "stored", http.StatusOK},
		{"only other types", "[" + other + "]", "ignored", http.StatusOK},
		{"a stored event and a bad one", "[" + goodElement + "," + bad + "]", "partial", http.StatusOK},
		{"only bad ones", "[" + bad + "]", "invalid", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			h := server.New(server.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Store: st, Keys: []string{"k"}})
			w := do(h, http.MethodPost, "/eventgrid?code=k", tt.body)
			line := requestLine(t, logs.String(), "/eventgrid")
			if w.Code != tt.status || line["outcome"] != tt.outcome {
				t.Errorf("status %d, outcome %v; want %d, %s (%s)", w.Code, line["outcome"], tt.status, tt.outcome, w.Body)
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

// batchOf is n pushes in the Event Grid schema, data.id prefix-000000 on.
func batchOf(t *testing.T, prefix string, n int) string {
	t.Helper()
	envs := make([]map[string]any, n)
	for i := range envs {
		envs[i] = map[string]any{
			"id": fmt.Sprintf("eg-%06d", i), "eventType": "Microsoft.ContainerRegistry.ImagePushed",
			"data": map[string]any{"id": fmt.Sprintf("%s-%06d", prefix, i), "action": "push", "target": map[string]any{"repository": "r", "tag": "v"}},
		}
	}
	b, err := json.Marshal(envs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// countingStore counts the writes that reach it and the time each had left.
type countingStore struct {
	recordingStore
	mu     sync.Mutex
	writes int
	left   []time.Duration
}

func (c *countingStore) Create(ctx context.Context, d document.Document) (bool, error) {
	c.mu.Lock()
	c.writes++
	if deadline, ok := ctx.Deadline(); ok {
		c.left = append(c.left, time.Until(deadline))
	}
	c.mu.Unlock()
	return c.recordingStore.Create(ctx, d)
}

func (c *countingStore) counts() (writes int, left []time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes, append([]time.Duration(nil), c.left...)
}

func TestEventGridHasABudgetOfItsOwnSizedFromItsThirtySeconds(t *testing.T) {
	st := &countingStore{}
	h := server.New(server.Options{Logger: slog.New(slog.DiscardHandler), Store: st, Keys: []string{"k"}})
	if w := do(h, http.MethodPost, "/images/push", string(acrtest.Event("push")), "x-functions-key", "k"); w.Code != http.StatusCreated {
		t.Fatalf("webhook: %d %s", w.Code, w.Body)
	}
	if w := do(h, http.MethodPost, "/eventgrid?code=k", string(eventgridtest.Delivery("cloudevent"))); w.Code != http.StatusOK {
		t.Fatalf("Event Grid: %d %s", w.Code, w.Body)
	}
	_, left := st.counts()
	if len(left) != 2 || left[0] > 4*time.Second || left[1] <= 15*time.Second || left[1] > server.EventGridBudget {
		t.Errorf("time left to the writes: %v; want the webhook's 4s and then Event Grid's %v", left, server.EventGridBudget)
	}
	if server.EventGridBudget >= 30*time.Second-5*time.Second {
		t.Errorf("EventGridBudget %v leaves too little of Event Grid's 30 s for the rest", server.EventGridBudget)
	}
}

// serve runs h under Serve, whose write timeout is the request timeout
// plus a second, as in production.
func serve(t *testing.T, timeout time.Duration, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, slog.New(slog.DiscardHandler), ln, timeout, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func postBody(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST: %v (an answer cut off by the write timeout?)", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestABatchLongerThanTheWebhooksWriteTimeoutGetsItsAnswer(t *testing.T) {
	// 48 writes of 300 ms, 8 at a time: 1.8 s, past the server's write
	// timeout of 1.3 s (the request timeout, 300 ms, plus a second).
	st := &recordingStore{wait: 300 * time.Millisecond}
	h := server.New(server.Options{Logger: slog.New(slog.DiscardHandler), Store: st, Keys: []string{"k"}, Timeout: 300 * time.Millisecond, EventGridTimeout: 10 * time.Second})
	url := serve(t, 300*time.Millisecond, h)
	start := time.Now()
	status, body := postBody(t, url+"/eventgrid?code=k", batchOf(t, "slow", 48))
	if status != http.StatusOK || !strings.Contains(body, `"stored":48`) {
		t.Errorf("status %d %s, want 200 with 48 stored", status, body)
	}
	if d := time.Since(start); d < 1300*time.Millisecond {
		t.Errorf("the batch took %v, not past the write timeout: the test proves nothing", d)
	}
}

func TestEveryRetryOfABatchTooBigForItsBudgetStoresMoreUntilItIsAllStored(t *testing.T) {
	// 10 ms a write, 8 at a time, 400 ms: at most 320 writes a delivery,
	// for a batch of 600; two or three deliveries (more on a loaded
	// machine: no fixed count, but each must store more).
	st := &countingStore{recordingStore: recordingStore{wait: 10 * time.Millisecond}}
	var logs strings.Builder
	h := server.New(server.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Store: st, Keys: []string{"k"}, EventGridTimeout: 400 * time.Millisecond})
	const n = 600
	batch := batchOf(t, "big", n)
	var w *httptest.ResponseRecorder
	deliveries := 0
	for deliveries < 12 {
		deliveries++
		before := len(storedIDs(&st.recordingStore))
		w = do(h, http.MethodPost, "/eventgrid?code=k", batch)
		after := len(storedIDs(&st.recordingStore))
		t.Logf("delivery %d: %d, %d documents", deliveries, w.Code, after)
		if w.Code == http.StatusOK {
			break
		}
		if w.Code != http.StatusServiceUnavailable || after == before {
			t.Fatalf("delivery %d: %d, %d new documents; want 503 and progress", deliveries, w.Code, after-before)
		}
	}
	if w.Code != http.StatusOK || len(storedIDs(&st.recordingStore)) != n {
		t.Fatalf("after %d deliveries: %d, %d documents; want 200 and %d", deliveries, w.Code, len(storedIDs(&st.recordingStore)), n)
	}
	if deliveries == 1 {
		t.Fatal("the first delivery stored the whole batch: the budget is too long to test anything")
	}
	// What one delivery stored, the next did not write again: each write
	// cut short by a budget's end may be written twice, no more.
	if writes, _ := st.counts(); writes > n+deliveries*8 {
		t.Errorf("%d writes for %d events in %d deliveries: stored events were written again", writes, n, deliveries)
	}
	if !strings.Contains(logs.String(), `"reason":"store too slow"`) {
		t.Errorf("an unfinished delivery left no event-not-stored line:\n%s", logs.String())
	}
}

func TestARetryThatReachesAnotherInstanceStillStoresSomeOfWhatIsLeft(t *testing.T) {
	// Each delivery on a server of its own, which remembers nothing: only
	// the order can keep a retry from rewriting the last one's events.
	st := &recordingStore{wait: 10 * time.Millisecond}
	batch := batchOf(t, "spread", 600)
	for i := 1; i <= 3; i++ {
		h := server.New(server.Options{Logger: slog.New(slog.DiscardHandler), Store: st, Keys: []string{"k"}, EventGridTimeout: 300 * time.Millisecond})
		before := len(storedIDs(st))
		w := do(h, http.MethodPost, "/eventgrid?code=k", batch)
		after := len(storedIDs(st))
		t.Logf("delivery %d: %d, %d documents", i, w.Code, after)
		// Expected: some 240 writes a try, of which the share of what is
		// left is new (240, 144, 86); the same order each time would store
		// (next to) none after the first.
		if w.Code != http.StatusServiceUnavailable || after-before < 30 {
			t.Fatalf("delivery %d: %d, %d new documents; want 503 and progress", i, w.Code, after-before)
		}
	}
}

func TestOnShutdownABatchStopsAndIsAnswered503(t *testing.T) {
	st := &recordingStore{wait: 50 * time.Millisecond}
	var logs syncbuf.Buffer
	shutdown, stop := context.WithCancel(context.Background())
	defer stop()
	h := server.New(server.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Store: st, Keys: []string{"k"}, Shutdown: shutdown})
	time.AfterFunc(200*time.Millisecond, stop)
	start := time.Now()
	// 400 writes of 50 ms, 8 at a time: 2.5 s without the shutdown.
	w := do(h, http.MethodPost, "/eventgrid?code=k", batchOf(t, "shut", 400))
	if d := time.Since(start); w.Code != http.StatusServiceUnavailable || d > time.Second {
		t.Errorf("status %d after %v, want 503 soon after the shutdown: %.300s", w.Code, d, w.Body)
	}
	if !strings.Contains(logs.String(), `"reason":"shutting down"`) {
		t.Errorf("no event-not-stored line for the events not tried:\n%s", logs.String())
	}
}

// Event Grid's data decodes by acr's one rule, so an odd descriptive field
// costs the event nothing there either; the door warns of it as the
// webhook's does.
func TestAnEventGridEventWithAnOddFieldIsStoredWithAWarning(t *testing.T) {
	st := &recordingStore{}
	var logs strings.Builder
	element := `{"id":"eg-odd","eventType":"Microsoft.ContainerRegistry.ImagePushed","subject":"r:v1","eventTime":"2026-11-22T08:00:00Z","dataVersion":"1.0","metadataVersion":"1",` +
		`"data":{"id":"odd-eg-1","action":"push","timestamp":"2026-11-22T08:00:00.1234567","target":{"size":1.5,"repository":"r","tag":"v1"}}}`
	w := do(newServer(st, &logs, "k"), http.MethodPost, "/eventgrid?code=k", "["+element+"]")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d %s, want 200", w.Code, w.Body)
	}
	d, ok := st.docs["odd-eg-1"]
	if !ok || len(d.Anomalies) != 2 || d.Size != nil || d.Timestamp != "" || d.Repository != "r" {
		t.Errorf("document %+v, want stored with two anomalies and neither odd field", d)
	}
	warned := logLines(t, logs.String(), server.LogAnomalies)
	if len(warned) != 1 || warned[0]["eventId"] != "odd-eg-1" {
		t.Errorf("want one warning naming the event:\n%s", logs.String())
	}
}

// Event Grid does not retry a 413 either (event-grid/delivery-and-retry):
// a delivery too large is refused for good, so it raises the alert, with
// the dead-letter destination as where it may still be.
func TestAnEventGridDeliveryTooLargeIs413AndOneNotStoredLine(t *testing.T) {
	var logs strings.Builder
	body := `[{"id":"a","eventType":"x","data":{"pad":"` + strings.Repeat("a", server.MaxBody) + `"}}]`
	w := do(newServer(&recordingStore{}, &logs, "k"), http.MethodPost, "/eventgrid?code=k", body)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d %s, want 413", w.Code, w.Body)
	}
	lines := logLines(t, logs.String(), server.LogNotStored)
	if len(lines) != 1 || lines[0]["reason"] != "invalid" || !strings.Contains(lines[0]["recover"].(string), "dead-letter") {
		t.Errorf("want one %q line, reason invalid, pointing at the dead-letter destination:\n%s", server.LogNotStored, logs.String())
	}
}
