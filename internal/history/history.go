// Package history reads a registry webhook's delivery history, the output of
// az acr webhook list-events -r REG -n HOOK -o json: each delivery's payload
// as sent, and the answer (if any) our endpoint gave.
package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/acrsink/acrsink/internal/acr"
)

// Delivery is one entry of the history.
type Delivery struct {
	// ID is the delivery's id in the history (not the event's).
	ID string
	// Event is the payload that was sent; valid only when Err is nil.
	Event acr.Event
	// Err says why the payload could not be read as an event.
	Err error
	// StatusCode is what our endpoint answered; 0 when nothing was answered
	// (a timeout, a connection that failed).
	StatusCode int
	// Warning, when set, says what was left out of the event (a region
	// header that is not a region, odd fields: acr.Event.Anomalies) without
	// keeping it from being stored.
	Warning string
	// NotDelivery is set for an entry that holds no request that was sent
	// (no eventRequestMessage, or not an object): there is nothing in it
	// to replay, now or ever. Err says what it lacks.
	NotDelivery bool
}

// Delivered reports whether the endpoint answered 2xx: the event was taken.
func (d Delivery) Delivered() bool { return d.StatusCode >= 200 && d.StatusCode < 300 }

// Answer says what the endpoint answered the delivery, for reports (what
// then became of the delivery is an ingest.Outcome).
func (d Delivery) Answer() string {
	if d.NotDelivery {
		if d.Err == nil {
			return "not a delivery"
		}
		return d.Err.Error()
	}
	if d.StatusCode == 0 {
		return "no answer (timed out or unreachable)"
	}
	return "answered " + strconv.Itoa(d.StatusCode)
}

type wire struct {
	ID      string `json:"id"`
	Request *struct {
		Content json.RawMessage `json:"content"`
		Headers regionHeader    `json:"headers"`
	} `json:"eventRequestMessage"`
	Response *struct {
		StatusCode json.RawMessage `json:"statusCode"`
	} `json:"eventResponseMessage"`
	// notObject marks an entry of the array that is not an object at all.
	notObject bool
}

// Expected names what Parse reads, for messages that say what was wrong.
const Expected = "a webhook history: the JSON array that az acr webhook list-events -r REGISTRY -n WEBHOOK -o json prints"

// Parse reads the whole history. A delivery whose payload is not a valid
// event is returned with Err set, so one bad entry does not hide the rest;
// only a document that is not a history at all is an error, which says
// what the document is instead.
func Parse(data []byte) ([]Delivery, error) {
	data = bytes.TrimSpace(data)
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, notAHistory(data)
	}
	entries := make([]wire, len(raws))
	for i, raw := range raws {
		if json.Unmarshal(raw, &entries[i]) != nil || raw[0] != '{' {
			entries[i] = wire{notObject: true}
		}
	}
	return deliveries(entries, 0), nil
}

// deliveries maps history entries, as az prints them or as Resource
// Manager pages them, to deliveries: the one mapping for both. first is the
// position of entries[0] in the whole history, for entries with no id.
func deliveries(entries []wire, first int) []Delivery {
	out := make([]Delivery, 0, len(entries))
	for i, e := range entries {
		d := Delivery{ID: e.ID}
		if d.ID == "" {
			d.ID = "#" + strconv.Itoa(first+i+1)
		}
		if e.Response != nil {
			d.StatusCode = statusCode(e.Response.StatusCode)
		}
		switch {
		case e.notObject:
			d.Err, d.NotDelivery = errors.New("not a history entry (an object with an eventRequestMessage)"), true
		case e.Request == nil:
			d.Err, d.NotDelivery = errors.New("no eventRequestMessage: the history kept no request to replay"), true
		default:
			d.Event, d.Err = content(e.Request.Content)
			var warnings []string
			if h := e.Request.Headers; d.Err == nil && h.present {
				if !d.Event.TakeRegion(h.value, h.isString) {
					warnings = append(warnings, fmt.Sprintf("%s header %q ignored (want %s); the event is stored without a region", acr.RegionHeader, acr.Clip(h.value), acr.RegionRule))
				}
			}
			if d.Err == nil && len(d.Event.Anomalies) > 0 {
				warnings = append(warnings, "odd fields left out (the document's anomalies): "+strings.Join(d.Event.Anomalies, "; "))
			}
			d.Warning = strings.Join(warnings, "; ")
		}
		out = append(out, d)
	}
	return out
}

// notAHistory says what data is, in the terms of the one who gave it.
func notAHistory(data []byte) error {
	what := "not JSON"
	switch {
	case len(data) == 0:
		what = "empty"
	case data[0] == '{':
		var obj map[string]json.RawMessage
		if json.Unmarshal(data, &obj) != nil {
			break
		}
		_, entry := obj["eventRequestMessage"]
		_, action := obj["action"]
		switch {
		case entry:
			return fmt.Errorf("this is one entry of a webhook history, not the history (put it in [ ] to replay it alone); replay reads %s", Expected)
		case action:
			return fmt.Errorf("this is one event, not a webhook history (post an event to the webhook URL to store it); replay reads %s", Expected)
		}
		what = "a JSON object"
	case json.Valid(data):
		// Not null either: null decodes as an empty history.
		switch data[0] {
		case '"':
			what = "a JSON string"
		case 't', 'f':
			what = "a JSON boolean"
		default:
			what = "a JSON number"
		}
	case data[0] == '[':
		what = "a JSON array that does not parse"
	}
	return fmt.Errorf("the input is %s, not %s", what, Expected)
}

// regionHeader is all that is kept of a delivery's request headers: the
// region header. The same headers hold the webhook's function key in clear
// (x-functions-key), which must reach no document and no output, so nothing
// else leaves this decoder.
type regionHeader struct {
	value             string
	present, isString bool
}

// UnmarshalJSON reads the headers as an object of names (matched without
// regard to case, as HTTP does) to a string or a list of strings. Headers in
// any other shape carry no region; they are no reason to skip the event.
func (h *regionHeader) UnmarshalJSON(data []byte) error {
	var all map[string]json.RawMessage
	if json.Unmarshal(data, &all) != nil {
		return nil
	}
	var values []string
	h.isString = true
	for name, raw := range all {
		if !strings.EqualFold(name, acr.RegionHeader) {
			continue
		}
		var one string
		var many []string
		switch {
		case json.Unmarshal(raw, &one) == nil:
			values = append(values, one)
		case json.Unmarshal(raw, &many) == nil:
			values = append(values, many...)
		default:
			values, h.isString = append(values, string(raw)), false
		}
	}
	if len(values) == 0 {
		return nil
	}
	// More than one value names no one region: the join fails the rule.
	slices.Sort(values)
	h.value, h.present = strings.Join(values, ","), true
	return nil
}

// content is the payload: a JSON object, or a string that holds one (the
// CLI prints it either way).
func content(raw json.RawMessage) (acr.Event, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return acr.Event{}, fmt.Errorf("content: %w", err)
		}
		raw = json.RawMessage(s)
	}
	return acr.Parse(raw)
}

// statusCode reads "200", 200, "OK"-less forms; anything else is 0, no
// answer.
func statusCode(raw json.RawMessage) int {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return 0
	}
	switch v := v.(type) {
	case float64:
		return int(v)
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return 0
		}
		return n
	}
	return 0
}
