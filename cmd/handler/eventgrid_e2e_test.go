package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/emulator"
	"github.com/acrsink/acrsink/internal/server"
	"github.com/acrsink/acrsink/internal/store"
	"github.com/acrsink/acrsink/internal/testenv/acrtest"
	"github.com/acrsink/acrsink/internal/testenv/emulatortest"
	"github.com/acrsink/acrsink/internal/testenv/eventgridtest"
	"github.com/acrsink/acrsink/internal/testenv/faultproxy"
)

func TestEventGridHandshakesThroughTheHost(t *testing.T) {
	t.Parallel()
	h, st := startHost(t)
	status, body := post(t, h.URL+"/eventgrid?code=test-key", eventgridtest.Delivery("validation"), "aeg-event-type", "SubscriptionValidation")
	if status != http.StatusOK || !strings.Contains(body, `"validationResponse":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"`) {
		t.Errorf("Event Grid handshake: %d %s", status, body)
	}
	// What Event Grid sends: its origin, and a callback it does not need.
	req, _ := http.NewRequest(http.MethodOptions, h.URL+"/eventgrid?code=test-key", nil)
	req.Header.Set("WebHook-Request-Origin", "eventgrid.azure.net")
	req.Header.Set("WebHook-Request-Callback", "https://rp-eastus2.eventgrid.azure.net/validate?id=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("WebHook-Allowed-Origin") != "eventgrid.azure.net" {
		t.Errorf("CloudEvents handshake: %d, WebHook-Allowed-Origin %q", resp.StatusCode, resp.Header.Get("WebHook-Allowed-Origin"))
	}
	req, _ = http.NewRequest(http.MethodOptions, h.URL+"/eventgrid", nil)
	req.Header.Set("WebHook-Request-Origin", "eventemitter.example.com")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("handshake without the key: %d, want 401", resp.StatusCode)
	}
	if n := count(t, st); n != 0 {
		t.Errorf("handshakes stored %d documents", n)
	}
}

func TestEventGridStoresEveryRegistryTypeAsTheWebhookWould(t *testing.T) {
	t.Parallel()
	h, st := startHost(t)
	status, body := post(t, h.URL+"/eventgrid?code=test-key", eventgridtest.Delivery("eventgrid-schema"), "aeg-event-type", "Notification")
	if status != http.StatusOK || !strings.Contains(body, `"stored":4`) {
		t.Fatalf("%d %s, want 200 with 4 stored", status, body)
	}
	tests := []struct {
		id, action string
		want       map[string]any
	}{
		{"31c51664-e5bd-416a-a5df-e5206bc47ed0", "push", map[string]any{"loginServer": "demo.azurecr.io", "tag": "v1", "image": "demo.azurecr.io/aci-helloworld:v1", "size": float64(3023), "region": "westus"}},
		{"f06e3921-301f-42ec-b368-212f7d5354bd", "delete", map[string]any{"method": "DELETE", "repository": "aci-helloworld"}},
		{"ea3a9c28-5b17-40f6-a500-3f02b6822b5b", "chart_push", map[string]any{"name": "mychart", "version": "1.0.0", "timestamp": "2019-03-12T22:16:31.0087496Z"}},
		{"39136b3a-1a7e-416f-a09e-5c85d5402fca", "chart_delete", map[string]any{"name": "mychart"}},
	}
	for _, tt := range tests {
		doc := get(t, st, tt.id)
		if doc["action"] != tt.action || doc["source"] != "eventgrid" {
			t.Errorf("%s: action %v source %v", tt.id, doc["action"], doc["source"])
		}
		for k, v := range tt.want {
			if doc[k] != v {
				t.Errorf("%s: %s = %v, want %v", tt.id, k, doc[k], v)
			}
		}
		if p, _ := doc["payload"].(map[string]any); p["eventType"] == nil {
			t.Errorf("%s: payload is not the Event Grid envelope: %v", tt.id, doc["payload"])
		}
	}
	// Event Grid delivers at least once: the same batch again changes nothing.
	status, body = post(t, h.URL+"/eventgrid?code=test-key", eventgridtest.Delivery("eventgrid-schema"))
	if status != http.StatusOK || !strings.Contains(body, `"duplicates":4`) || count(t, st) != 4 {
		t.Errorf("redelivery: %d %s, %d documents", status, body, count(t, st))
	}
}

func TestCloudEventsSingleAndBatchAreStoredAndOtherTypesIgnored(t *testing.T) {
	t.Parallel()
	h, st := startHost(t)
	status, body := post(t, h.URL+"/eventgrid?code=test-key", eventgridtest.Delivery("cloudevent"), "Content-Type", "application/cloudevents+json")
	if status != http.StatusOK || !strings.Contains(body, `"stored":1`) {
		t.Fatalf("single: %d %s", status, body)
	}
	status, body = post(t, h.URL+"/eventgrid?code=test-key", eventgridtest.Delivery("cloudevents-batch"), "Content-Type", "application/cloudevents-batch+json")
	if status != http.StatusOK || !strings.Contains(body, `"stored":2`) || !strings.Contains(body, `"ignored":1`) {
		t.Fatalf("batch: %d %s", status, body)
	}
	// The documented CloudEvents samples, as a batch.
	status, body = post(t, h.URL+"/eventgrid?code=test-key", eventgridtest.Delivery("published-cloudevents"), "Content-Type", "application/cloudevents-batch+json")
	if status != http.StatusOK || !strings.Contains(body, `"stored":2`) {
		t.Fatalf("documented batch: %d %s", status, body)
	}
	if n := count(t, st); n != 5 {
		t.Errorf("%d documents, want 5", n)
	}
	if doc := get(t, st, "31c51664-e5bd-416a-a5df-e5206bc47ed0"); doc["action"] != "push" || doc["source"] != "eventgrid" {
		t.Errorf("documented push: %v", doc)
	}
	if doc := get(t, st, "c0ffee00-1111-4222-8333-444455556666"); doc["tag"] != "2.1" || doc["source"] != "eventgrid" || doc["region"] != "westeurope" {
		t.Errorf("CloudEvent document: %v", doc)
	}
	waitForLog(t, h, `"msg":"event of another type ignored"`) // through a pipe that may lag the answer
}

func TestOneEventByWebhookAndByEventGridLeavesOneDocument(t *testing.T) {
	t.Parallel()
	h, st := startHost(t)
	webhook := acrtest.Event("push")
	envelope, _ := json.Marshal([]map[string]any{{
		"id": "eg-1", "eventType": "Microsoft.ContainerRegistry.ImagePushed", "subject": "hello-world:v1",
		"eventTime": "2017-11-17T16:52:02Z", "data": json.RawMessage(webhook), "dataVersion": "1.0", "metadataVersion": "1",
	}})
	if status, body := post(t, h.URL+"/images/push", webhook, "x-functions-key", "test-key"); status != http.StatusCreated {
		t.Fatalf("webhook: %d %s", status, body)
	}
	status, body := post(t, h.URL+"/eventgrid?code=test-key", envelope)
	if status != http.StatusOK || !strings.Contains(body, `"duplicates":1`) {
		t.Fatalf("Event Grid: %d %s, want 200 with the event already present", status, body)
	}
	if n := count(t, st); n != 1 {
		t.Errorf("%d documents, want 1", n)
	}
	if doc := get(t, st, "cb8c3971-9adc-488b-bdd8-43cbb4974ff5"); doc["source"] != "webhook" {
		t.Errorf("source = %v, want the first arrival's (webhook)", doc["source"])
	}
}

func TestABatchWithOneBadRegistryEventStoresTheOthersAndReportsIt(t *testing.T) {
	t.Parallel()
	h, st := startHost(t)
	bad := strings.Replace(string(eventgridtest.Delivery("eventgrid-schema")), `"action": "chart_delete"`, `"action": 7`, 1)
	status, body := post(t, h.URL+"/eventgrid?code=test-key", []byte(bad))
	// A 400 would be the end of the three good events: Event Grid does not
	// retry it.
	if status != http.StatusOK || !strings.Contains(body, `"stored":3`) || !strings.Contains(body, `"element":3,"eventGridId":"39136b3a-1a7e-416f-a09e-5c85d5402fca","eventId":"39136b3a-1a7e-416f-a09e-5c85d5402fca"`) {
		t.Errorf("%d %s, want 200 with 3 stored and the bad event named", status, body)
	}
	if n := count(t, st); n != 3 {
		t.Errorf("%d documents, want the 3 good events", n)
	}
	line := waitForLog(t, h, `"msg":"event not stored"`)
	for _, s := range []string{`"element":3`, `"eventGridId":"39136b3a-1a7e-416f-a09e-5c85d5402fca"`, `"reason":"invalid"`} {
		if !strings.Contains(line, s) {
			t.Errorf("the event-not-stored line lacks %s: %s", s, line)
		}
	}
	if c := strings.Count(h.Logs(), `"msg":"event not stored"`); c != 1 {
		t.Errorf("%d event-not-stored lines, want 1:\n%s", c, h.Logs())
	}
	if line := waitForLog(t, h, `"path":"/eventgrid"`); !strings.Contains(line, `"outcome":"partial"`) {
		t.Errorf("the request line does not say partial:\n%s", h.Logs())
	}
}

// bigBatch is n pushes in the Event Grid schema, each about as small as a
// registry event gets, so that 2,000 fit the body limit.
func bigBatch(t *testing.T, prefix string, n int) []byte {
	t.Helper()
	envs := make([]map[string]any, n)
	for i := range envs {
		envs[i] = map[string]any{
			"id": fmt.Sprintf("eg-%06d", i), "eventType": "Microsoft.ContainerRegistry.ImagePushed",
			"subject": "r:v", "eventTime": "2026-11-30T08:00:00Z", "dataVersion": "1.0", "metadataVersion": "1",
			"data": map[string]any{
				"id": fmt.Sprintf("%s-%06d", prefix, i), "timestamp": "2026-11-30T08:00:00Z", "action": "push",
				"target": map[string]any{"repository": "r", "tag": fmt.Sprintf("v%d", i), "digest": "sha256:0"},
			},
		}
	}
	b, err := json.Marshal(envs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// slowStore is cosmium behind the fault proxy, 20 ms away.
func slowStore(t *testing.T) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.StartWith(emulatortest.Server().Endpoint(), faultproxy.Options{Delay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// deliverUntil2xx posts batch as Event Grid would retry it, at most max
// times, and returns how many deliveries it took and the last answer. Each
// retry must store more than the one before.
func deliverUntil2xx(t *testing.T, url string, batch []byte, st *store.Cosmos, max int) (int, int, string) {
	t.Helper()
	stored := 0
	for i := 1; ; i++ {
		start := time.Now()
		status, body := post(t, url, batch, "aeg-event-type", "Notification")
		n := count(t, st)
		t.Logf("delivery %d: %d after %v, %d documents", i, status, time.Since(start).Round(time.Millisecond), n)
		if status < 300 || i == max {
			return i, status, body
		}
		if n <= stored {
			t.Fatalf("delivery %d stored nothing more: %d documents", i, n)
		}
		stored = n
	}
}

// A 2,000-event batch against a store 20 ms away: with the webhook's 4 s,
// every delivery stored the same first 1,400 or so, and no retry ever
// finished it.
func TestABigBatchAgainstAStore20msAwayIsStoredWithinFourDeliveries(t *testing.T) {
	t.Parallel()
	p := slowStore(t)
	h, st := startHost(t, "COSMOS_CONNECTION_STRING=AccountEndpoint="+p.Endpoint()+";AccountKey="+emulator.Key+";")
	const n = 2000
	deliveries, status, body := deliverUntil2xx(t, h.URL+"/eventgrid?code=test-key", bigBatch(t, "big", n), st, 4)
	if status != http.StatusOK {
		t.Errorf("delivery %d answered %d %.300s, want 200", deliveries, status, body)
	}
	if c := count(t, st); c != n {
		t.Errorf("%d documents after %d deliveries, want %d", c, deliveries, n)
	}
}

// The same batch with a budget too short for it: each retry stores what
// the last one did not, rather than rewriting it, so the batch converges
// whatever the budget, in as many deliveries as the budget needs (two or
// three here; more on a loaded machine, hence no fixed count). Served
// in-process (the budget is an Option, not a setting), as main serves it,
// against cosmium behind the fault proxy.
func TestABigBatchConvergesEvenWhenNoDeliveryCanStoreItAll(t *testing.T) {
	t.Parallel()
	p := slowStore(t)
	st, cfg := emulatortest.Container(t)
	cfg.CosmosConnection = "AccountEndpoint=" + p.Endpoint() + ";AccountKey=" + emulator.Key + ";"
	viaProxy, err := store.Open(emulatortest.Account(cfg), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	// 3 s at 8 writes in flight, each at least 20 ms: at most 1,200 of the
	// 2,000 events a delivery (some 1,000 measured).
	h := server.New(server.Options{Logger: log, Store: viaProxy, Keys: []string{"k"}, EventGridTimeout: 3 * time.Second})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, log, ln, 4*time.Second, h) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	const n = 2000
	deliveries, status, body := deliverUntil2xx(t, "http://"+ln.Addr().String()+"/eventgrid?code=k", bigBatch(t, "conv", n), st, 12)
	if status != http.StatusOK {
		t.Errorf("delivery %d answered %d %.300s, want 200", deliveries, status, body)
	}
	if deliveries == 1 {
		t.Error("one delivery stored the whole batch: the test proves nothing")
	}
	if c := count(t, st); c != n {
		t.Errorf("%d documents after %d deliveries, want %d", c, deliveries, n)
	}
	// A retry does not write again what an earlier delivery stored; a
	// write cut short by a budget's end may be written twice.
	if creates := p.Creates(); creates > n+int64(deliveries)*8 {
		t.Errorf("%d creates for %d events: stored events were written again", creates, n)
	}
}

// Serve waits a webhook's budget for the requests in flight; an Event Grid
// delivery, which may take longer, stops on shutdown and is answered 503,
// for Event Grid to retry.
func TestSIGTERMDuringABigBatchAnswers503AndExitsCleanly(t *testing.T) {
	t.Parallel()
	p := slowStore(t)
	h, st := startHost(t, "COSMOS_CONNECTION_STRING=AccountEndpoint="+p.Endpoint()+";AccountKey="+emulator.Key+";")
	type answer struct {
		status int
		body   string
		err    error
	}
	batch := bigBatch(t, "term", 2000)
	answered := make(chan answer, 1)
	go func() {
		resp, err := http.Post(h.URL+"/eventgrid?code=test-key", "application/json", bytes.NewReader(batch))
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answered <- answer{resp.StatusCode, string(b), err}
	}()
	for deadline := time.Now().Add(5 * time.Second); p.Creates() < 100 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if err := h.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a := <-answered
	if a.err != nil || a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, "Event Grid will retry") {
		t.Errorf("answer %d %.300s, %v; want 503", a.status, a.body, a.err)
	}
	if err := h.Wait(6 * time.Second); err != nil {
		t.Errorf("exit: %v, want a clean exit 0\n%s", err, h.Logs())
	}
	if !strings.Contains(h.Logs(), `"reason":"shutting down"`) {
		t.Errorf("no event-not-stored line for the events not tried:\n%s", h.Logs())
	}
	if c := count(t, st); c == 0 || c == 2000 {
		t.Errorf("%d documents, want some and not all", c)
	}
}
