package eventgrid_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/eventgrid"
	"github.com/acrsink/acrsink/internal/testenv/eventgridtest"
)

func TestEveryRegistryTypeCarriesTheWebhooksEvent(t *testing.T) {
	envs, err := eventgrid.Parse(eventgridtest.Delivery("eventgrid-schema"))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ typ, action, id string }{
		{eventgrid.ImagePushed, "push", "31c51664-e5bd-416a-a5df-e5206bc47ed0"},
		{eventgrid.ImageDeleted, "delete", "f06e3921-301f-42ec-b368-212f7d5354bd"},
		{eventgrid.ChartPushed, "chart_push", "ea3a9c28-5b17-40f6-a500-3f02b6822b5b"},
		{eventgrid.ChartDeleted, "chart_delete", "39136b3a-1a7e-416f-a09e-5c85d5402fca"},
	}
	if len(envs) != len(want) {
		t.Fatalf("%d events, want %d", len(envs), len(want))
	}
	for i, w := range want {
		ev, err := envs[i].RegistryEvent()
		if err != nil || envs[i].Type != w.typ || ev.Action != w.action || ev.ID != w.id {
			t.Errorf("event %d: type %s, %+v, %v; want %s %s with data.id %s", i, envs[i].Type, ev, err, w.typ, w.action, w.id)
		}
		if !strings.Contains(string(envs[i].Raw), `"eventType"`) {
			t.Errorf("event %d: Raw is not the envelope", i)
		}
	}
}

func TestCloudEventsSingleAndBatch(t *testing.T) {
	one, err := eventgrid.Parse(eventgridtest.Delivery("cloudevent"))
	if err != nil || len(one) != 1 || one[0].Type != eventgrid.ImagePushed {
		t.Fatalf("single: %+v, %v", one, err)
	}
	if ev, err := one[0].RegistryEvent(); err != nil || ev.ID != "c0ffee00-1111-4222-8333-444455556666" {
		t.Errorf("single: %+v, %v", ev, err)
	}
	batch, err := eventgrid.Parse(eventgridtest.Delivery("cloudevents-batch"))
	if err != nil || len(batch) != 3 {
		t.Fatalf("batch: %d, %v", len(batch), err)
	}
	if !batch[0].IsRegistryEvent() || !batch[1].IsRegistryEvent() || batch[2].IsRegistryEvent() {
		t.Errorf("registry events: %v %v %v, want true true false", batch[0].IsRegistryEvent(), batch[1].IsRegistryEvent(), batch[2].IsRegistryEvent())
	}
}

func TestTheValidationHandshakeCode(t *testing.T) {
	envs, err := eventgrid.Parse(eventgridtest.Delivery("validation"))
	if err != nil {
		t.Fatal(err)
	}
	if code, ok := envs[0].ValidationCode(); !ok || code != "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" {
		t.Errorf("code %q, %v", code, ok)
	}
	push, _ := eventgrid.Parse(eventgridtest.Delivery("cloudevent"))
	if _, ok := push[0].ValidationCode(); ok {
		t.Error("a push is not a validation event")
	}
}

func TestParseRejectsWhatIsNotADelivery(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"an empty body", "", "empty body"},
		{"a number", "42", "not JSON"},
		{"null", "null", "not JSON"},
		{"an empty array", "[]", "no events"},
		{"broken JSON", `[{"id":`, "not a JSON array"},
		{"a broken object", `{"id":"a","type":`, "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := eventgrid.Parse([]byte(tt.body))
			var invalid *acr.InvalidError
			if !errors.As(err, &invalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want an InvalidError about %q", err, tt.want)
			}
		})
	}
}

func TestAnElementThatIsNotAnEventIsInvalidAloneAndSaysItsID(t *testing.T) {
	good := `{"id":"g","eventType":"Microsoft.ContainerRegistry.ImagePushed","data":{"id":"d","action":"push"}}`
	tests := []struct{ name, element, id, want string }{
		{"a string", `"x"`, "", "event 1: not a JSON object"},
		{"null", `null`, "", "event 1: not a JSON object"},
		{"an event without a type", `{"id":"a","data":{}}`, "a", "event 1: missing id or type"},
		{"an event without an id", `{"specversion":"1.0","type":"x"}`, "", "event 1: missing id or type"},
		{"another CloudEvents version", `{"specversion":"0.3","id":"a","type":"x"}`, "a", `event 1: CloudEvents specversion "0.3", want 1.0`},
		{"a type that is not a string", `{"id":"a","eventType":7}`, "a", "event 1: eventType is not a string"},
		{"an id that is not a string", `{"id":{"a":1},"eventType":"x"}`, "", "event 1: id is not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			envs, err := eventgrid.Parse([]byte("[" + good + "," + tt.element + "]"))
			if err != nil || len(envs) != 2 {
				t.Fatalf("Parse = %d, %v; want both elements", len(envs), err)
			}
			if envs[0].Err != nil || !envs[0].IsRegistryEvent() {
				t.Errorf("the good element: %v", envs[0].Err)
			}
			bad := envs[1]
			var invalid *acr.InvalidError
			if !errors.As(bad.Err, &invalid) || !strings.Contains(bad.Err.Error(), tt.want) || bad.ID != tt.id {
				t.Errorf("Err = %v, id %q; want an InvalidError about %q and id %q", bad.Err, bad.ID, tt.want, tt.id)
			}
			if _, err := bad.RegistryEvent(); err != bad.Err {
				t.Errorf("RegistryEvent() = %v, want the element's error", err)
			}
			if bad.IsRegistryEvent() {
				t.Error("an invalid element is no registry event")
			}
			if string(bad.Raw) != tt.element {
				t.Errorf("Raw = %s, want the element as delivered", bad.Raw)
			}
		})
	}
}

func TestARegistryEventWithBadDataIsInvalid(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"no data", `[{"id":"e","eventType":"Microsoft.ContainerRegistry.ImagePushed"}]`, "no data"},
		{"data without an id", `[{"id":"e","eventType":"Microsoft.ContainerRegistry.ImagePushed","data":{"action":"push"}}]`, "missing id"},
		{"an action that contradicts the type", `[{"id":"e","eventType":"Microsoft.ContainerRegistry.ImagePushed","data":{"id":"x","action":"delete"}}]`, "carries action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			envs, err := eventgrid.Parse([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			_, err = envs[0].RegistryEvent()
			var invalid *acr.InvalidError
			if !errors.As(err, &invalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want an InvalidError about %q", err, tt.want)
			}
		})
	}
}

func TestThePublishedCloudEventsSamplesCarryTheWebhooksEvents(t *testing.T) {
	envs, err := eventgrid.Parse(eventgridtest.Delivery("published-cloudevents"))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ envelope, typ, action, id string }{
		{"831e1650-001e-001b-66ab-eeb76e069631", eventgrid.ImagePushed, "push", "31c51664-e5bd-416a-a5df-e5206bc47ed0"},
		{"f06e3921-301f-42ec-b368-212f7d5354bd", eventgrid.ImageDeleted, "delete", "f06e3921-301f-42ec-b368-212f7d5354bd"},
	}
	if len(envs) != len(want) {
		t.Fatalf("%d events, want %d", len(envs), len(want))
	}
	for i, w := range want {
		ev, err := envs[i].RegistryEvent()
		// The document id is data.id, not the envelope's id: that is the id
		// the webhook uses for the same event.
		if err != nil || envs[i].ID != w.envelope || envs[i].Type != w.typ || ev.Action != w.action || ev.ID != w.id {
			t.Errorf("event %d: envelope %s type %s, %+v, %v; want %s %s %s with data.id %s", i, envs[i].ID, envs[i].Type, ev, err, w.envelope, w.typ, w.action, w.id)
		}
		if !strings.Contains(string(envs[i].Raw), `"specversion"`) {
			t.Errorf("event %d: Raw is not the CloudEvent", i)
		}
	}
}

func TestLocationIsDataLocation(t *testing.T) {
	tests := []struct {
		name, data, loc   string
		present, isString bool
	}{
		{"a region name", `{"location":"westeurope"}`, "westeurope", true, true},
		{"no location", `{"id":"a"}`, "", false, false},
		{"a null location", `{"location":null}`, "", false, false},
		{"an empty location is present", `{"location":""}`, "", true, true},
		{"a number is present but not a string", `{"location":7}`, "7", true, false},
		{"an object is present but not a string", `{"location":{"name":"westus"}}`, `{"name":"westus"}`, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, present, isString := eventgrid.Envelope{Data: []byte(tt.data)}.Location()
			if loc != tt.loc || present != tt.present || isString != tt.isString {
				t.Errorf("Location() = %q, %v, %v; want %q, %v, %v", loc, present, isString, tt.loc, tt.present, tt.isString)
			}
		})
	}
}
