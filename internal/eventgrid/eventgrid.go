// Package eventgrid decodes what Azure Event Grid delivers to a webhook
// endpoint, in the Event Grid schema (a JSON array) or CloudEvents 1.0 (one
// event or a batch), and picks out the container registry events, whose data
// is the same event a registry webhook posts.
package eventgrid

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/acrsink/acrsink/internal/acr"
)

// Event types.
const (
	ImagePushed          = "Microsoft.ContainerRegistry.ImagePushed"
	ImageDeleted         = "Microsoft.ContainerRegistry.ImageDeleted"
	ChartPushed          = "Microsoft.ContainerRegistry.ChartPushed"
	ChartDeleted         = "Microsoft.ContainerRegistry.ChartDeleted"
	SubscriptionValidate = "Microsoft.EventGrid.SubscriptionValidationEvent"
)

// registryActions maps each registry event type to the webhook action it
// carries.
var registryActions = map[string]string{
	ImagePushed:  acr.ActionPush,
	ImageDeleted: acr.ActionDelete,
	ChartPushed:  acr.ActionChartPush,
	ChartDeleted: acr.ActionChartDelete,
}

// Envelope is one delivered event, in either schema.
type Envelope struct {
	ID   string
	Type string
	Data json.RawMessage
	// Raw is the whole envelope as delivered, kept as evidence.
	Raw json.RawMessage
}

// wire holds the fields of both schemas: Event Grid's eventType, CloudEvents'
// type and specversion.
type wire struct {
	ID          string          `json:"id"`
	EventType   string          `json:"eventType"`
	Type        string          `json:"type"`
	SpecVersion string          `json:"specversion"`
	Data        json.RawMessage `json:"data"`
}

// Parse decodes a delivery: an array of events (Event Grid schema or a
// CloudEvents batch) or a single CloudEvent. Every element must be an event
// with an id and a type.
func Parse(body []byte) ([]Envelope, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, invalid("empty body: want an Event Grid array or a CloudEvent")
	}
	var raws []json.RawMessage
	switch trimmed[0] {
	case '[':
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return nil, invalid("not a JSON array of events: %v", err)
		}
		if len(raws) == 0 {
			return nil, invalid("no events in the array")
		}
	case '{':
		raws = []json.RawMessage{trimmed}
	default:
		return nil, invalid("not JSON: want an Event Grid array or a CloudEvent")
	}
	out := make([]Envelope, 0, len(raws))
	for i, raw := range raws {
		var w wire
		if err := json.Unmarshal(raw, &w); err != nil {
			return nil, invalid("event %d: %v", i, err)
		}
		e := Envelope{ID: w.ID, Type: w.EventType, Data: w.Data, Raw: raw}
		if w.SpecVersion != "" {
			if w.SpecVersion != "1.0" {
				return nil, invalid("event %d: CloudEvents specversion %q, want 1.0", i, w.SpecVersion)
			}
			e.Type = w.Type
		}
		if e.ID == "" || e.Type == "" {
			return nil, invalid("event %d: missing id or type", i)
		}
		out = append(out, e)
	}
	return out, nil
}

// ValidationCode is the code of a subscription validation event, for the
// Event Grid schema's handshake.
func (e Envelope) ValidationCode() (string, bool) {
	if e.Type != SubscriptionValidate {
		return "", false
	}
	var d struct {
		ValidationCode string `json:"validationCode"`
	}
	if json.Unmarshal(e.Data, &d) != nil || d.ValidationCode == "" {
		return "", false
	}
	return d.ValidationCode, true
}

// IsRegistryEvent reports whether e is one of the container registry types.
func (e Envelope) IsRegistryEvent() bool {
	_, ok := registryActions[e.Type]
	return ok
}

// RegistryEvent decodes e's data as the registry event it carries, validated
// as a webhook's would be. Its id is data.id, the id the webhook uses for the
// same event, so both doors store one document.
func (e Envelope) RegistryEvent() (acr.Event, error) {
	action, ok := registryActions[e.Type]
	if !ok {
		return acr.Event{}, invalid("event %s: type %s is not a registry event", e.ID, e.Type)
	}
	if len(bytes.TrimSpace(e.Data)) == 0 {
		return acr.Event{}, invalid("event %s: no data", e.ID)
	}
	ev, err := acr.Parse(e.Data)
	if err != nil {
		return ev, fmt.Errorf("event %s: %w", e.ID, err)
	}
	if ev.Action != action {
		return ev, invalid("event %s: type %s carries action %q, want %q", e.ID, e.Type, ev.Action, action)
	}
	return ev, nil
}

// Location is data.location, the region where a registry event happened:
// present reports whether data has one, and isString whether it is a JSON
// string. Any other JSON comes back as its text (7, true), to be shown in a
// warning and never taken for a region name.
func (e Envelope) Location() (loc string, present, isString bool) {
	var d struct {
		Location json.RawMessage `json:"location"`
	}
	if json.Unmarshal(e.Data, &d) != nil || len(d.Location) == 0 || string(d.Location) == "null" {
		return "", false, false
	}
	if json.Unmarshal(d.Location, &loc) != nil {
		return string(d.Location), true, false
	}
	return loc, true, true
}

func invalid(format string, args ...any) error {
	return &acr.InvalidError{Reason: fmt.Sprintf(format, args...)}
}
