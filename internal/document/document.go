// Package document maps an ACR event to the Cosmos DB document that
// acrsink stores: the contract with the people who query the container in
// Data Explorer. Every door an event comes in by (webhook, Event Grid,
// replay) uses this one mapping.
package document

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"time"

	"github.com/acrsink/acrsink/internal/acr"
)

// Sources: which door an event came in by.
const (
	SourceWebhook   = "webhook"
	SourceEventGrid = "eventgrid"
	SourceReplay    = "replay"
	SourceReconcile = "reconcile"
)

// TimeLayout is the format of Cosmos DB's own date functions
// (GetCurrentDateTime, DateTimeAdd: seven fractional digits, UTC). Fixed
// width makes the strings sort in time order and compare correctly with
// those functions' results; RFC 3339 with trimmed zeros does not. The
// payload keeps the event's time to the nanosecond.
const TimeLayout = "2006-01-02T15:04:05.0000000Z"

// Document is one stored event. Fields ACR did not send are left out.
type Document struct {
	// ID is the event's top-level id, unique per event (request.id is not:
	// a quarantine and a push share it). It is also the partition key.
	ID          string `json:"id"`
	Action      string `json:"action"`
	Timestamp   string `json:"timestamp,omitempty"`
	ReceivedAt  string `json:"receivedAt"`
	Source      string `json:"source"`
	Region      string `json:"region,omitempty"` // acr.Event.Region: left out when unknown
	LoginServer string `json:"loginServer,omitempty"`
	RequestID   string `json:"requestId,omitempty"`
	Method      string `json:"method,omitempty"`
	UserAgent   string `json:"userAgent,omitempty"`
	Actor       string `json:"actor,omitempty"`
	Repository  string `json:"repository,omitempty"`
	Tag         string `json:"tag,omitempty"`
	Digest      string `json:"digest,omitempty"`
	MediaType   string `json:"mediaType,omitempty"`
	Size        *int64 `json:"size,omitempty"`
	Name        string `json:"name,omitempty"`
	Version     string `json:"version,omitempty"`
	// Image is a reference that docker pull accepts, when the login server
	// is known.
	Image string `json:"image,omitempty"`
	// Anomalies says what was odd in the event and left out of the fields
	// above (acr.Event.Anomalies), or kept in another form (a payload too
	// deep for Cosmos DB); left out when nothing was.
	Anomalies []string `json:"anomalies,omitempty"`
	// Watched marks a delete, quarantine or chart_delete that matched
	// ACRSINK_WATCH when it was stored (internal/ingest sets it); left out
	// otherwise.
	Watched bool `json:"watched,omitempty"`
	// Payload is the event exactly as it was received: the evidence of what
	// ACR (or Event Grid) said. Marshal writes it; omitempty only keeps
	// encoding/json from writing it twice there.
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Marshal is the document as the store writes it, the same JSON as
// json.Marshal(d) but for whitespace and escaping inside the payload.
//
// The payload goes in as it came: json.Marshal would check and compact a
// json.RawMessage once more (appendCompact, about a quarter of the CPU of
// BenchmarkDecodeValidateMap by its profile), and every door has already
// decoded it, which checked it is one JSON value (acr.Parse, the Event
// Grid array, the history's entries). A payload that was not JSON would
// make Cosmos DB refuse the whole document (400): nothing half-written.
func (d Document) Marshal() ([]byte, error) {
	payload := bytes.TrimSpace(d.Payload)
	if len(payload) == 0 {
		payload = []byte("null")
	}
	d.Payload = nil
	buf := bytes.NewBuffer(make([]byte, 0, d.sizeHint(len(payload))))
	if err := json.NewEncoder(buf).Encode(d); err != nil {
		return nil, err
	}
	// Encode ends the object with "}\n": reopen it for the payload.
	b := buf.Bytes()
	b = append(b[:len(b)-2], `,"payload":`...)
	b = append(b, payload...)
	return append(b, '}'), nil
}

// sizeHint is a little more than the encoded document when nothing in it
// needs escaping: its strings, its keys and punctuation (under 320 bytes),
// its payload. One buffer of that size holds the whole document.
func (d *Document) sizeHint(payload int) int {
	n := payload + 336
	for _, s := range d.Anomalies {
		n += len(s) + 3
	}
	for _, s := range [...]string{d.ID, d.Action, d.Timestamp, d.ReceivedAt, d.Source, d.Region,
		d.LoginServer, d.RequestID, d.Method, d.UserAgent, d.Actor, d.Repository, d.Tag,
		d.Digest, d.MediaType, d.Name, d.Version, d.Image} {
		n += len(s)
	}
	return n
}

// New maps ev to its document. payload is what is kept as evidence: the
// event itself for a webhook or replay, the whole envelope for Event Grid.
func New(ev acr.Event, source string, payload json.RawMessage, receivedAt time.Time) Document {
	d := Document{
		ID:         ev.ID,
		Action:     ev.Action,
		ReceivedAt: receivedAt.UTC().Format(TimeLayout),
		Source:     source,
		Region:     ev.Region,
		Repository: ev.Target.Repository,
		Tag:        ev.Target.Tag,
		Digest:     ev.Target.Digest,
		MediaType:  ev.Target.MediaType,
		Size:       ev.Target.Size,
		Name:       ev.Target.Name,
		Version:    ev.Target.Version,
		Payload:    payload,
		Anomalies:  ev.Anomalies,
	}
	if ev.TooDeep || acr.Deeper(payload, MaxPayloadDepth) {
		d.Payload = base64Payload(payload)
		if !ev.TooDeep {
			d.Anomalies = append(slices.Clip(d.Anomalies), acr.TooDeepAnomaly)
		}
	}
	if d.Size == nil {
		d.Size = ev.Target.Length
	}
	if t := ev.Time(); !t.IsZero() {
		d.Timestamp = t.UTC().Format(TimeLayout)
	}
	if r := ev.Request; r != nil {
		d.LoginServer = r.Host
		d.RequestID = r.ID
		d.Method = r.Method
		d.UserAgent = r.UserAgent
	}
	if ev.Actor != nil {
		d.Actor = ev.Actor.Name
	}
	d.Image = Image(d.LoginServer, d.Repository, d.Tag, d.Digest)
	return d
}

// Image is the pullable reference loginServer/repository:tag, or
// loginServer/repository@digest when there is no tag; empty when the login
// server or repository is unknown, or there is neither tag nor digest.
func Image(loginServer, repository, tag, digest string) string {
	if loginServer == "" || repository == "" {
		return ""
	}
	switch {
	case tag != "":
		return loginServer + "/" + repository + ":" + tag
	case digest != "":
		return loginServer + "/" + repository + "@" + digest
	}
	return ""
}

// MaxDocumentBytes is Cosmos DB's item limit: 2 MB, "UTF-8 length of JSON
// representation" (learn.microsoft.com, cosmos-db concepts-limits,
// per-item limits), read as 2,000,000 bytes, the smaller of the two things
// MB may mean. Azure refuses a larger item on every write, so every retry
// and every reconcile run would fail on it. No document New makes from an
// event acr.Parse accepts (at most acr.MaxEventBytes) is larger: the
// payload is at most that (a third more as base64), and each field New
// repeats from it is bounded by acr's limits (MaxText and the registry's),
// at most six bytes encoded per byte decoded (\u003c for <). Held by
// TestNoAcceptedEventMakesADocumentPastCosmosDBsItemLimit.
const MaxDocumentBytes = 2_000_000

// MaxPayloadDepth is the deepest payload kept as JSON. Cosmos DB holds at
// most 128 levels of nested objects and arrays in an item
// (learn.microsoft.com, cosmos-db concepts-limits, per-item limits), and the
// payload is one level down in the document. Whether the document's own
// object counts as a level the page does not say; counting it is the safe
// reading. acr.Parse applies a level less to the event itself
// (acr.MaxDepth), so that the door warns of it; this is the bound on what
// is stored, an Event Grid envelope included.
const MaxPayloadDepth = acr.MaxDepth + 1

// base64Payload keeps a payload Cosmos DB cannot hold as JSON in a form it
// can, byte for byte: a JSON string of its base64. Base64 grows it by a
// third whatever it holds; a JSON string of the text could double it (every
// quote escaped) and could not carry bytes that are not UTF-8.
func base64Payload(payload []byte) json.RawMessage {
	b := make([]byte, 0, base64.StdEncoding.EncodedLen(len(payload))+2)
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, payload)
	return append(b, '"')
}
