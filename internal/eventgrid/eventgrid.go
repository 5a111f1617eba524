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

// Envelope is one element of a delivery, in either schema.
type Envelope struct {
	ID   string
	Type string
	Data json.RawMessage
	// Raw is the whole envelope as delivered, kept as evidence.
	Raw json.RawMessage
	// Err says why the element is not an event (not a JSON object, no id
	// or type, another CloudEvents version); nil for one that is. A bad
	// element is the sender's fault and its alone: the delivery's other
	// elements are still events.
	Err error
}

// Parse decodes a delivery: an array of events (Event Grid schema or a
// CloudEvents batch) or a single CloudEvent. It fails only for a body that
// is not a delivery at all (empty, not JSON, an empty array, neither an
// array nor an object); an element that is not an event comes back with
// its Err set, beside the others.
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
		if !json.Valid(trimmed) {
			return nil, invalid("not JSON: want an Event Grid array or a CloudEvent")
		}
		raws = []json.RawMessage{trimmed}
	default:
		return nil, invalid("not JSON: want an Event Grid array or a CloudEvent")
	}
	out := make([]Envelope, len(raws))
	for i, raw := range raws {
		out[i] = element(i, raw)
	}
	return out, nil
}

// element decodes one element of a delivery. It reads each field on its
// own, so that an element whose type is wrong still says its id.
func element(i int, raw json.RawMessage) Envelope {
	e := Envelope{Raw: raw}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil || fields == nil {
		e.Err = invalid("event %d: not a JSON object", i)
		return e
	}
	str := func(name string) (string, error) {
		v, ok := fields[name]
		if !ok || string(v) == "null" {
			return "", nil
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", invalid("event %d: %s is not a string", i, name)
		}
		return s, nil
	}
	// Event Grid's schema names the type eventType; CloudEvents, which has
	// a specversion, names it type.
	var errs [3]error
	e.ID, errs[0] = str("id")
	e.Data = fields["data"]
	if _, ok := fields["specversion"]; ok {
		var version string
		version, errs[1] = str("specversion")
		if errs[1] == nil && version != "1.0" {
			errs[1] = invalid("event %d: CloudEvents specversion %q, want 1.0", i, acr.Clip(version))
		}
		e.Type, errs[2] = str("type")
	} else {
		e.Type, errs[2] = str("eventType")
	}
	for _, err := range errs {
		if err != nil {
			e.Err = err
			return e
		}
	}
	if e.ID == "" || e.Type == "" {
		e.Err = invalid("event %d: missing id or type", i)
	}
	return e
}

// ValidationCode is the code of a subscription validation event, for the
// Event Grid schema's handshake.
func (e Envelope) ValidationCode() (string, bool) {
	if e.Err != nil || e.Type != SubscriptionValidate {
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
	return ok && e.Err == nil
}

// RegistryEvent decodes e's data as the registry event it carries, validated
// as a webhook's would be. Its id is data.id, the id the webhook uses for the
// same event, so both doors store one document.
func (e Envelope) RegistryEvent() (acr.Event, error) {
	if e.Err != nil {
		return acr.Event{}, e.Err
	}
	// The envelope's id and type came with the delivery: clipped, as
	// anything an error echoes.
	id, typ := acr.Clip(e.ID), acr.Clip(e.Type)
	action, ok := registryActions[e.Type]
	if !ok {
		return acr.Event{}, invalid("event %s: type %s is not a registry event", id, typ)
	}
	if len(bytes.TrimSpace(e.Data)) == 0 {
		return acr.Event{}, invalid("event %s: no data", id)
	}
	ev, err := acr.Parse(e.Data)
	if err != nil {
		return ev, fmt.Errorf("event %s: %w", id, err)
	}
	if ev.Action != action {
		return ev, invalid("event %s: type %s carries action %q, want %q", id, typ, acr.Clip(ev.Action), action)
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
