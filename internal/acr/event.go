// Package acr is the model of an Azure Container Registry event, as a
// webhook posts it and as Event Grid carries it in its data.
//
// Every field but id and action is optional: ACR leaves out what does not
// apply (a delete has no tag, a chart event no request, a quarantine no
// media type), and its REST model allows more than it documents.
package acr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Actions ACR sends. Others may come later and are stored as they are.
const (
	ActionPush        = "push"
	ActionDelete      = "delete"
	ActionQuarantine  = "quarantine"
	ActionChartPush   = "chart_push"
	ActionChartDelete = "chart_delete"
	ActionPing        = "ping"
)

// Event is one ACR event.
type Event struct {
	ID        string   `json:"id"`
	Timestamp string   `json:"timestamp,omitempty"`
	Action    string   `json:"action"`
	Target    Target   `json:"target"`
	Request   *Request `json:"request,omitempty"`
	Actor     *Actor   `json:"actor,omitempty"`
	Source    *Source  `json:"source,omitempty"`

	// Region is the regional replica whose webhook sent the event, when a
	// door was told it and ValidRegion accepts it: the x-acrsink-region
	// header, Event Grid's data.location, or the header as the webhook's
	// history kept it. It is not part of what ACR posts, so no payload
	// decodes into it.
	Region string `json:"-"`

	// Raw is the event exactly as received, kept as evidence.
	Raw json.RawMessage `json:"-"`
}

// Target is what the event is about.
type Target struct {
	MediaType  string `json:"mediaType,omitempty"`
	Size       *int64 `json:"size,omitempty"`
	Digest     string `json:"digest,omitempty"`
	Length     *int64 `json:"length,omitempty"`
	Repository string `json:"repository,omitempty"`
	Tag        string `json:"tag,omitempty"`
	URL        string `json:"url,omitempty"`
	// Name and Version are set on chart events.
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

// Request is the registry request that raised the event. Chart events have
// none.
type Request struct {
	ID        string `json:"id,omitempty"`
	Host      string `json:"host,omitempty"`
	Method    string `json:"method,omitempty"`
	UserAgent string `json:"useragent,omitempty"`
	Addr      string `json:"addr,omitempty"`
}

// Actor is who made the request.
type Actor struct {
	Name string `json:"name,omitempty"`
}

// Source is the registry node that raised the event.
type Source struct {
	Addr       string `json:"addr,omitempty"`
	InstanceID string `json:"instanceID,omitempty"`
}

// RegionHeader is the custom header each regional webhook sends with its
// region (infra/ sets it; ACR itself sends no such thing).
const RegionHeader = "x-acrsink-region"

// RegionRule says what ValidRegion accepts, for warnings about what it
// does not.
const RegionRule = "lower-case ASCII letters and digits, 1 to 40 characters"

// ValidRegion reports whether s is plausible as an Azure region's name
// (westus2, westeurope). It is the one rule for every door: a region is
// stored only in that form, so that Data Explorer groups and filters on it
// without case or spelling variants, and a header cannot smuggle anything
// else into the document.
func ValidRegion(s string) bool {
	if len(s) == 0 || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// TakeRegion records value as the region that sent e when it is text (not
// a JSON number or the like, isString) that ValidRegion accepts, and
// reports whether it did: every door applies the rule through here and
// says in its own way what it left out.
func (e *Event) TakeRegion(value string, isString bool) bool {
	if !isString || !ValidRegion(value) {
		return false
	}
	e.Region = value
	return true
}

// Time is the event's own time, or the zero time when it has none.
func (e Event) Time() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, e.Timestamp)
	return t
}

// InvalidError is an event that cannot be stored: the sender's fault, and
// worth a 400 that says why.
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return "invalid event: " + e.Reason }

func invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// Parse decodes one event from data and validates it. data must hold one
// JSON object and nothing else.
func Parse(data []byte) (Event, error) {
	var e Event
	switch trimmed := bytes.TrimSpace(data); {
	case len(trimmed) == 0:
		return e, invalid("empty body: want a JSON object")
	case string(trimmed) == "null":
		return e, invalid("want a JSON object, got null")
	}
	if err := decodeStrict(data, &e); err != nil {
		return e, err
	}
	e.Raw = json.RawMessage(data)
	return e, e.Validate()
}

// Validate checks what storing needs: an action, and an id that can be a
// Cosmos DB item id. A ping needs neither id nor anything else.
func (e Event) Validate() error {
	if e.Action == "" {
		return invalid("missing action")
	}
	if len(e.Action) > 64 {
		return invalid("action longer than 64 characters")
	}
	if e.Action == ActionPing {
		return nil
	}
	if e.ID == "" {
		return invalid("missing id")
	}
	if len(e.ID) > 255 {
		return invalid("id longer than 255 characters")
	}
	if strings.ContainsAny(e.ID, "/\\?#") {
		return invalid("id must not contain / \\ ? or #")
	}
	if e.Timestamp != "" {
		if _, err := time.Parse(time.RFC3339Nano, e.Timestamp); err != nil {
			return invalid("timestamp %q is not an RFC 3339 time", Clip(e.Timestamp))
		}
	}
	for name, n := range map[string]*int64{"target.size": e.Target.Size, "target.length": e.Target.Length} {
		if n != nil && *n < 0 {
			return invalid("%s must not be negative", name)
		}
	}
	return nil
}

// decodeStrict decodes exactly one JSON value into v (json.Unmarshal
// rejects trailing data) and turns decoding errors into messages a sender
// can act on.
func decodeStrict(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return describe(err)
	}
	return nil
}

func describe(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return invalid("want a JSON object, got %s", typeErr.Value)
		}
		return invalid("field %s: want %s, got %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntaxErr) && strings.Contains(syntaxErr.Error(), "after top-level value"):
		return invalid("trailing data after the JSON value")
	case errors.As(err, &syntaxErr):
		return invalid("not JSON: %s at byte %d", syntaxErr.Error(), syntaxErr.Offset)
	default:
		return invalid("not JSON: %v", err)
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int64", "int":
		return "an integer"
	case "float64":
		return "a number"
	case "struct", "map", "ptr":
		return "an object"
	default:
		return goKind
	}
}

// Clip bounds a value that came with an event (from its payload or its
// delivery) before an error or a log line echoes it: an invalid event may
// carry a megabyte in any field, which no message should. It cuts on a
// character boundary and marks the cut.
func Clip(s string) string {
	limit := 256
	if len(s) <= limit {
		return s
	}
	for limit > 0 && !utf8.RuneStart(s[limit]) {
		limit--
	}
	return s[:limit] + "…"
}
