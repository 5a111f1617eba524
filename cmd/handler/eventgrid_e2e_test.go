package main_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/acr/acrtest"
	"github.com/acrsink/acrsink/internal/eventgrid/eventgridtest"
)

func TestEventGridHandshakesThroughTheHost(t *testing.T) {
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
	if !strings.Contains(h.Logs(), `"msg":"event of another type ignored"`) {
		t.Errorf("no log line for the ignored event:\n%s", h.Logs())
	}
}

func TestOneEventByWebhookAndByEventGridLeavesOneDocument(t *testing.T) {
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

func TestABatchWithOneBadRegistryEventStoresNothing(t *testing.T) {
	h, st := startHost(t)
	bad := strings.Replace(string(eventgridtest.Delivery("eventgrid-schema")), `"action": "chart_delete"`, `"action": 7`, 1)
	status, body := post(t, h.URL+"/eventgrid?code=test-key", []byte(bad))
	if status != http.StatusBadRequest || !strings.Contains(body, "39136b3a-1a7e-416f-a09e-5c85d5402fca") {
		t.Errorf("%d %s, want 400 naming the bad event", status, body)
	}
	if n := count(t, st); n != 0 {
		t.Errorf("%d documents stored from a rejected batch", n)
	}
}
