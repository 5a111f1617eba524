package arm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/acrsink/acrsink/internal/arm"
	"github.com/acrsink/acrsink/internal/history"
	"github.com/acrsink/acrsink/internal/identity"
	"github.com/acrsink/acrsink/internal/testenv/armtest"
)

const key = "SECRET-KEY-IN-HEADERS"

func event(id string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"id":%q,"timestamp":"2026-11-23T10:00:00Z","action":"push","target":{"repository":"hello-world","tag":"v1","digest":"sha256:80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d"}}`, id))
}

// client is an arm.Client that gets its token from a stand-in managed
// identity and talks to a stand-in Resource Manager.
func client(t *testing.T) (*arm.Client, *armtest.Server, *armtest.Identity) {
	t.Helper()
	id := armtest.NewIdentity(t)
	id.Setenv(t)
	s := armtest.New(t, id.Token)
	c, err := arm.Cloud(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := identity.Credential(id.Getenv, "", c)
	if err != nil {
		t.Fatal(err)
	}
	return arm.New(c, cred, arm.Options{Transport: s.Client(), Retry: &policy.RetryOptions{MaxRetries: 2, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 2 * time.Second}}), s, id
}

func webhook(t *testing.T, name string) arm.Webhook {
	t.Helper()
	w, err := arm.ParseWebhook(armtest.WebhookID("myregistry", name))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestHistoryReadsEveryPageWithTheManagedIdentitysToken(t *testing.T) {
	c, s, id := client(t)
	statuses := []int{201, 503, 0, 401, 200}
	var entries []json.RawMessage
	for i, st := range statuses {
		entries = append(entries, armtest.Entry(fmt.Sprintf("d-%d", i), event(fmt.Sprintf("e-%d", i)), map[string]string{"x-functions-key": key, "x-acrsink-region": "westeurope"}, st))
	}
	s.Add(armtest.WebhookID("myregistry", "acrsink"), &armtest.Hook{Entries: entries, PageSize: 2})
	ds, err := c.History(context.Background(), webhook(t, "acrsink"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != len(statuses) {
		t.Fatalf("%d deliveries, want %d", len(ds), len(statuses))
	}
	for i, d := range ds {
		if d.ID != fmt.Sprintf("d-%d", i) || d.Event.ID != fmt.Sprintf("e-%d", i) || d.StatusCode != statuses[i] || d.Event.Region != "westeurope" || d.Err != nil {
			t.Errorf("delivery %d: %+v", i, d)
		}
		if strings.Contains(fmt.Sprintf("%#v %s", d, d.Event.Raw), key) {
			t.Errorf("delivery %d keeps the key", i)
		}
	}
	pages := 0
	for _, call := range s.Calls() {
		if strings.HasSuffix(call, "/listEvents") {
			pages++
		}
	}
	if pages != 3 {
		t.Errorf("%d listEvents calls, want 3 (pages of 2, 2 and 1)", pages)
	}
	if res := id.Resources(); len(res) == 0 || res[0] != s.URL {
		t.Errorf("token audiences %q, want the endpoint %s", res, s.URL)
	}
}

func TestHistoryFailuresSayWhatIsWrong(t *testing.T) {
	tests := []struct {
		name  string
		fault armtest.Fault
		want  string // "" means the read succeeds
	}{
		{"forbidden names the action the identity needs", armtest.Fault{Status: 403, Code: "AuthorizationFailed"}, "403 AuthorizationFailed: not allowed to read this webhook's events; the identity needs Microsoft.ContainerRegistry/registries/webhooks/listEvents/action"},
		{"not found says so", armtest.Fault{Status: 404, Code: "ResourceNotFound"}, "404 ResourceNotFound: no such webhook"},
		{"throttled once is retried after Retry-After", armtest.Fault{Status: 429, Code: "TooManyRequests", RetryAfter: "1", Times: 1}, ""},
		{"throttled every time says so", armtest.Fault{Status: 429, Code: "TooManyRequests", RetryAfter: "0"}, "429 TooManyRequests: throttled"},
		{"a server error once is retried", armtest.Fault{Status: 500, Code: "InternalServerError", Times: 1}, ""},
		{"a server error every time fails", armtest.Fault{Status: 500, Code: "InternalServerError"}, "500 InternalServerError"},
		{"a hang ends with the caller's deadline", armtest.Fault{Hang: true}, "did not answer in time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s, _ := client(t)
			s.Add(armtest.WebhookID("myregistry", "acrsink"), &armtest.Hook{
				Entries: []json.RawMessage{armtest.Entry("d-1", event("e-1"), map[string]string{"x-functions-key": key}, 503)},
				Fault:   tt.fault,
			})
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			ds, err := c.History(ctx, webhook(t, "acrsink"))
			if tt.want == "" {
				if err != nil || len(ds) != 1 {
					t.Fatalf("History = %d deliveries, %v; want 1 and no error", len(ds), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "myregistry/acrsink") {
				t.Errorf("err = %v, want it to name the webhook", err)
			}
			if strings.Contains(err.Error(), key) || strings.Contains(err.Error(), "stand-in fault") {
				t.Errorf("err = %v quotes what Resource Manager sent", err)
			}
		})
	}
}

func TestAnUnknownWebhookIsNotFound(t *testing.T) {
	c, _, _ := client(t)
	_, err := c.History(context.Background(), webhook(t, "nosuchhook"))
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("err = %v, want a 404", err)
	}
}

func TestPingAddsADeliveryToTheHistory(t *testing.T) {
	c, s, _ := client(t)
	s.Add(armtest.WebhookID("myregistry", "acrsink"), &armtest.Hook{OnPing: func(eventID string) json.RawMessage {
		return armtest.Entry("ping-delivery", json.RawMessage(`{"id":"`+eventID+`","action":"ping"}`), nil, 204)
	}})
	id, err := c.Ping(context.Background(), webhook(t, "acrsink"))
	if err != nil || id == "" {
		t.Fatalf("Ping = %q, %v", id, err)
	}
	ds, err := c.History(context.Background(), webhook(t, "acrsink"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(ds, func(d history.Delivery) bool {
		return d.Event.ID == id && d.Event.Action == "ping" && d.StatusCode == 204
	}) {
		t.Errorf("no ping %s answered 204 in %+v", id, ds)
	}
}

func TestAHistoryLongerThanMaxPagesIsReadAsFarAsTheCapAndSaysMore(t *testing.T) {
	c, s, _ := client(t)
	var entries []json.RawMessage
	for i := range arm.MaxPages + 1 {
		entries = append(entries, armtest.Entry(fmt.Sprintf("d-%d", i), event(fmt.Sprintf("e-%d", i)), nil, 201))
	}
	s.Add(armtest.WebhookID("myregistry", "acrsink"), &armtest.Hook{Entries: entries, PageSize: 1})
	ds, err := c.History(context.Background(), webhook(t, "acrsink"))
	if !errors.Is(err, arm.ErrMore) || len(ds) != arm.MaxPages {
		t.Fatalf("%d deliveries, %v: want the first %d and ErrMore", len(ds), err, arm.MaxPages)
	}
	if ds[0].ID != "d-0" || ds[len(ds)-1].ID != fmt.Sprintf("d-%d", arm.MaxPages-1) {
		t.Errorf("read %s to %s", ds[0].ID, ds[len(ds)-1].ID)
	}
}

func TestConfigReadsAWebhooksStatusActionsAndScope(t *testing.T) {
	tests := []struct {
		name string
		hook *armtest.Hook
		want arm.Config
		err  string
	}{
		{"a webhook as infra/ deploys it", &armtest.Hook{},
			arm.Config{Status: "enabled", Actions: []string{"push", "delete", "quarantine", "chart_push", "chart_delete"}, ProvisioningState: "Succeeded"}, ""},
		{"a disabled, narrowed webhook", &armtest.Hook{Status: "disabled", Actions: []string{"push"}, Scope: "prod:*"},
			arm.Config{Status: "disabled", Actions: []string{"push"}, Scope: "prod:*", ProvisioningState: "Succeeded"}, ""},
		{"a forbidden read names the permission the identity needs", &armtest.Hook{ConfigFault: armtest.Fault{Status: 403, Code: "AuthorizationFailed"}},
			arm.Config{}, "403 AuthorizationFailed: not allowed to read this webhook's configuration; the identity needs Microsoft.ContainerRegistry/registries/webhooks/read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s, _ := client(t)
			s.Add(armtest.WebhookID("myregistry", "acrsink"), tt.hook)
			got, err := c.Config(context.Background(), webhook(t, "acrsink"))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil || got.Status != tt.want.Status || got.Scope != tt.want.Scope || got.ProvisioningState != tt.want.ProvisioningState || !slices.Equal(got.Actions, tt.want.Actions) {
				t.Fatalf("Config = %+v, %v; want %+v", got, err, tt.want)
			}
			if calls := s.Calls(); len(calls) != 1 || !strings.HasPrefix(calls[0], "GET /subscriptions/") || !strings.HasSuffix(calls[0], "/webhooks/acrsink") {
				t.Errorf("calls %q, want one GET of the webhook", calls)
			}
		})
	}
}
