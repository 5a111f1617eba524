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

	// Anomalies says what Parse found odd in the event's descriptive fields
	// and left out of it, one line each ("target.size: want an integer,
	// got 1.5"), with any value it quotes clipped; nil when nothing was.
	Anomalies []string `json:"-"`
	// TooDeep is set when the event nests deeper than MaxDepth: its
	// document keeps the payload as base64 (Anomalies says so).
	TooDeep bool `json:"-"`
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

// Time is the event's own time, or the zero time when it has none (or had
// one that Parse left out as odd).
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

// Parse decodes one event from data, which must hold one JSON object and
// nothing else. It is the one rule for every door (the webhook, Event
// Grid's data, the webhook's history): strict on what identifies an event,
// liberal on what describes it.
//
// An event is refused (an InvalidError) only when it cannot be stored: not
// one JSON object, or an id or action that is missing, not a JSON string,
// or that Validate refuses. Every other field that is odd (of the wrong
// JSON type, a time without a zone, a fractional or negative size, longer
// than its limit) is left out of the event, never guessed at, and said in
// Anomalies; Raw keeps it as it came. ACR sends a delivery once and never
// again (REFERENCE.md §1), so an event refused for a descriptive field
// would be lost for a detail.
func Parse(data []byte) (Event, error) {
	var e Event
	switch trimmed := bytes.TrimSpace(data); {
	case len(trimmed) == 0:
		return e, invalid("empty body: want a JSON object")
	case string(trimmed) == "null":
		return e, invalid("want a JSON object, got null")
	case len(data) > MaxEventBytes:
		return e, invalid("event larger than 1 MiB")
	}
	// The fast path: an event whose every field has its type decodes in
	// one pass. Only one with a field of another type (an error naming the
	// field; the input is valid JSON by then, json.Unmarshal checks that
	// first) is decoded again, field by field.
	if err := json.Unmarshal(data, &e); err != nil {
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) || typeErr.Field == "" {
			return Event{}, describe(err)
		}
		if e, err = parseLoosely(data); err != nil {
			return e, err
		}
	}
	e.Raw = json.RawMessage(data)
	if err := e.Validate(); err != nil {
		return e, err
	}
	e.dropOddValues()
	return e, nil
}

// Validate checks what identifies an event, which storing needs: an action,
// and an id that ValidID accepts. A ping needs no id: it is not stored.
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
	if !ValidID(e.ID) {
		return invalid("id %q is not an event id: want %s", Clip(e.ID), IDRule)
	}
	return nil
}

// MaxIDBytes bounds an id. The id is the container's partition key
// (store.PartitionKeyPath), and Cosmos DB holds a partition key value of at
// most 101 bytes unless large partition keys are enabled (2,048 then),
// which neither infra/ nor the store's own container creation asks for;
// an id alone may have 1,023 (learn.microsoft.com, cosmos-db
// concepts-limits, per-item limits). ACR's ids are UUIDs, 36 bytes.
const MaxIDBytes = 101

// IDRule says what ValidID accepts, for errors that refuse an id.
const IDRule = "1 to 101 ASCII letters, digits, '-', '_', '.' or '~', and not . or .."

// ValidID reports whether id can be an event's id, the Cosmos DB item id
// it is stored under and read back by.
//
// Cosmos DB refuses '/' and '\' in an id, and its limits page "strongly
// recommend[s]" alphanumeric ASCII only, for SDKs, connectors and HTTP
// libraries that mishandle the rest (learn.microsoft.com, cosmos-db
// concepts-limits, per-item limits); '?' and '#' end a request's path, and
// the id is a segment of every point read's path (docs/{id}). So the rule
// is conservative: RFC 3986's unreserved characters (§2.3), which no layer
// escapes or decodes, and not the dot segments . and .., which a path is
// normalised to remove (RFC 3986 §5.2.4; cosmium stores an event with id
// .. and cannot read it back). Real ids are UUIDs, so nothing ACR or Event
// Grid sends is refused.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > MaxIDBytes || id == "." || id == ".." {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
		default:
			return false
		}
	}
	return true
}

func describe(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return invalid("want a JSON object, got %s", typeErr.Value)
	case errors.As(err, &syntaxErr) && strings.Contains(syntaxErr.Error(), "after top-level value"):
		return invalid("trailing data after the JSON value")
	case errors.As(err, &syntaxErr):
		return invalid("not JSON: %s at byte %d", syntaxErr.Error(), syntaxErr.Offset)
	default:
		return invalid("not JSON: %v", err)
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
