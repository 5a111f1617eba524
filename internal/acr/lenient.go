package acr

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Limits on what describes an event. A value past its limit is odd: left
// out of the event and said in Anomalies, never cut (a cut value would be
// a value nobody sent).
const (
	// MaxRepository is the registry's own limit on a repository name:
	// the distribution reference grammar allows 255 characters
	// (distribution/reference, NameTotalLengthMax; the OCI distribution
	// spec's <name>), and its grammar is ASCII, so bytes are characters.
	MaxRepository = 255
	// MaxTag is the registry's own limit on a tag, 128 characters: the
	// tag grammar [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127} (OCI distribution
	// spec, "<reference>"; distribution/reference, tag).
	MaxTag = 128
	// MaxText bounds every other descriptive string. It is acrsink's own
	// bound, not a platform's: well over anything ACR documents (a digest
	// is at most 135 bytes, a DNS host name 253, a media type 255 by RFC
	// 6838 §4.2, a Docker user agent a few hundred), and small enough that
	// the fields a document repeats from the payload cannot carry it past
	// Cosmos DB's 2 MB item limit (document.MaxDocumentBytes).
	MaxText = 4096
)

// MaxEventBytes is the largest event any door stores: the webhook door's
// body limit, and the bound the document's size is proven under
// (document.MaxDocumentBytes). An event the history kept that is larger
// (the webhook door answered it 413) is refused here too, or a replay
// would write a document Cosmos DB refuses.
const MaxEventBytes = 1 << 20

// dropOddValues checks the values that decoded with their JSON type: a
// time that is not RFC 3339 (one without a zone is not: it names no
// instant), a negative size, a string past its limit. Each is left out
// and said in Anomalies.
func (e *Event) dropOddValues() {
	if Deeper(e.Raw, MaxDepth) {
		e.TooDeep = true
		e.Anomalies = append(e.Anomalies, TooDeepAnomaly)
	}
	if e.Timestamp != "" {
		if _, err := time.Parse(time.RFC3339Nano, e.Timestamp); err != nil {
			e.odd("timestamp", "an RFC 3339 time with a time zone", strconv.Quote(e.Timestamp))
			e.Timestamp = ""
		}
	}
	for _, n := range [...]struct {
		path string
		n    **int64
	}{{"target.size", &e.Target.Size}, {"target.length", &e.Target.Length}} {
		if *n.n != nil && **n.n < 0 {
			e.odd(n.path, "a size, not negative", strconv.FormatInt(**n.n, 10))
			*n.n = nil
		}
	}
	e.dropLong("target.repository", &e.Target.Repository, MaxRepository)
	e.dropLong("target.tag", &e.Target.Tag, MaxTag)
	for _, f := range [...]struct {
		path string
		s    *string
	}{
		{"target.mediaType", &e.Target.MediaType}, {"target.digest", &e.Target.Digest},
		{"target.url", &e.Target.URL}, {"target.name", &e.Target.Name}, {"target.version", &e.Target.Version},
	} {
		e.dropLong(f.path, f.s, MaxText)
	}
	if r := e.Request; r != nil {
		for _, f := range [...]struct {
			path string
			s    *string
		}{
			{"request.id", &r.ID}, {"request.host", &r.Host}, {"request.method", &r.Method},
			{"request.useragent", &r.UserAgent}, {"request.addr", &r.Addr},
		} {
			e.dropLong(f.path, f.s, MaxText)
		}
	}
	if e.Actor != nil {
		e.dropLong("actor.name", &e.Actor.Name, MaxText)
	}
	if s := e.Source; s != nil {
		e.dropLong("source.addr", &s.Addr, MaxText)
		e.dropLong("source.instanceID", &s.InstanceID, MaxText)
	}
}

func (e *Event) dropLong(path string, s *string, limit int) {
	if len(*s) > limit {
		e.Anomalies = append(e.Anomalies, path+": longer than "+strconv.Itoa(limit)+" bytes ("+strconv.Itoa(len(*s))+")")
		*s = ""
	}
}

// odd records that the value at path, shown as got, was not want.
func (e *Event) odd(path, want, got string) {
	e.Anomalies = append(e.Anomalies, path+": want "+want+", got "+Clip(got))
}

// The shapes of the event as parseLoosely reads it: every field as the raw
// JSON it came as, matched by name as encoding/json matches Event's
// (without regard to case).
type (
	looseEvent struct {
		ID        json.RawMessage `json:"id"`
		Timestamp json.RawMessage `json:"timestamp"`
		Action    json.RawMessage `json:"action"`
		Target    json.RawMessage `json:"target"`
		Request   json.RawMessage `json:"request"`
		Actor     json.RawMessage `json:"actor"`
		Source    json.RawMessage `json:"source"`
	}
	looseTarget struct {
		MediaType  json.RawMessage `json:"mediaType"`
		Size       json.RawMessage `json:"size"`
		Digest     json.RawMessage `json:"digest"`
		Length     json.RawMessage `json:"length"`
		Repository json.RawMessage `json:"repository"`
		Tag        json.RawMessage `json:"tag"`
		URL        json.RawMessage `json:"url"`
		Name       json.RawMessage `json:"name"`
		Version    json.RawMessage `json:"version"`
	}
	looseRequest struct {
		ID        json.RawMessage `json:"id"`
		Host      json.RawMessage `json:"host"`
		Method    json.RawMessage `json:"method"`
		UserAgent json.RawMessage `json:"useragent"`
		Addr      json.RawMessage `json:"addr"`
	}
	looseActor struct {
		Name json.RawMessage `json:"name"`
	}
	looseSource struct {
		Addr       json.RawMessage `json:"addr"`
		InstanceID json.RawMessage `json:"instanceID"`
	}
)

// parseLoosely decodes data, a JSON object that did not decode into Event
// in one pass, field by field: an id or action that is not a string is an
// InvalidError (what identifies an event is never guessed at), any other
// field of another type is left out and said in Anomalies.
func parseLoosely(data []byte) (Event, error) {
	var w looseEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return Event{}, describe(err)
	}
	var e Event
	for _, f := range [...]struct {
		name string
		raw  json.RawMessage
		dst  *string
	}{{"id", w.ID, &e.ID}, {"action", w.Action, &e.Action}} {
		if !absent(f.raw) && (f.raw[0] != '"' || json.Unmarshal(f.raw, f.dst) != nil) {
			return e, invalid("field %s: want a string, got %s", f.name, kind(f.raw))
		}
	}
	e.looseString("timestamp", w.Timestamp, &e.Timestamp)
	var t looseTarget
	if e.looseObject("target", w.Target, &t) {
		for _, f := range [...]struct {
			path string
			raw  json.RawMessage
			dst  *string
		}{
			{"target.mediaType", t.MediaType, &e.Target.MediaType}, {"target.digest", t.Digest, &e.Target.Digest},
			{"target.repository", t.Repository, &e.Target.Repository}, {"target.tag", t.Tag, &e.Target.Tag},
			{"target.url", t.URL, &e.Target.URL}, {"target.name", t.Name, &e.Target.Name},
			{"target.version", t.Version, &e.Target.Version},
		} {
			e.looseString(f.path, f.raw, f.dst)
		}
		e.looseInteger("target.size", t.Size, &e.Target.Size)
		e.looseInteger("target.length", t.Length, &e.Target.Length)
	}
	var r looseRequest
	if e.looseObject("request", w.Request, &r) {
		e.Request = &Request{}
		e.looseString("request.id", r.ID, &e.Request.ID)
		e.looseString("request.host", r.Host, &e.Request.Host)
		e.looseString("request.method", r.Method, &e.Request.Method)
		e.looseString("request.useragent", r.UserAgent, &e.Request.UserAgent)
		e.looseString("request.addr", r.Addr, &e.Request.Addr)
	}
	var a looseActor
	if e.looseObject("actor", w.Actor, &a) {
		e.Actor = &Actor{}
		e.looseString("actor.name", a.Name, &e.Actor.Name)
	}
	var s looseSource
	if e.looseObject("source", w.Source, &s) {
		e.Source = &Source{}
		e.looseString("source.addr", s.Addr, &e.Source.Addr)
		e.looseString("source.instanceID", s.InstanceID, &e.Source.InstanceID)
	}
	return e, nil
}

// absent: a field that is not there or null, which Event leaves empty as
// encoding/json does.
func absent(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

func (e *Event) looseString(path string, raw json.RawMessage, dst *string) {
	if absent(raw) {
		return
	}
	if raw[0] != '"' || json.Unmarshal(raw, dst) != nil {
		e.odd(path, "a string", shown(raw))
	}
}

func (e *Event) looseObject(path string, raw json.RawMessage, dst any) bool {
	if absent(raw) {
		return false
	}
	if raw[0] != '{' || json.Unmarshal(raw, dst) != nil {
		e.odd(path, "an object", shown(raw))
		return false
	}
	return true
}

// looseInteger takes a JSON number whose value is a whole number that fits
// in 64 bits, in whatever form it is written: RFC 8259 §6 gives JSON one
// number type, so 1.2e3 and 1200.0 are the number 1200 as much as 1200 is,
// and taking them is reading, not guessing (encoders such as JavaScript's
// write large numbers with an exponent). A fraction (1.5) or a number past
// 64 bits is not a size: it is left out and said.
func (e *Event) looseInteger(path string, raw json.RawMessage, dst **int64) {
	if absent(raw) {
		return
	}
	if n, ok := integer(string(raw)); ok {
		*dst = &n
		return
	}
	if c := raw[0]; c == '-' || '0' <= c && c <= '9' {
		e.odd(path, "a whole number within 64 bits", shown(raw))
		return
	}
	e.odd(path, "an integer", shown(raw))
}

// integer is the value of num, the text of a JSON number, when it is a
// whole number within int64. It works on the decimal digits, exactly: no
// float rounding, and no work that grows with the exponent (1e999999999
// is refused by its length, not computed).
func integer(num string) (int64, bool) {
	if num == "" || (num[0] != '-' && (num[0] < '0' || num[0] > '9')) {
		return 0, false
	}
	mant, exp := num, 0
	if i := strings.IndexAny(num, "eE"); i >= 0 {
		x, err := strconv.Atoi(num[i+1:])
		if err != nil {
			return 0, false
		}
		mant, exp = num[:i], x
	}
	sign := ""
	if strings.HasPrefix(mant, "-") {
		sign, mant = "-", mant[1:]
	}
	whole, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(whole+frac, "0")
	exp -= len(frac)
	for exp < 0 && strings.HasSuffix(digits, "0") {
		digits, exp = digits[:len(digits)-1], exp+1
	}
	switch {
	case digits == "":
		return 0, true
	case exp < 0, len(digits)+exp > 19:
		return 0, false
	}
	n, err := strconv.ParseInt(sign+digits+strings.Repeat("0", exp), 10, 64)
	return n, err == nil
}

// kind names raw's JSON type, as encoding/json's errors do.
func kind(raw json.RawMessage) string {
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	}
	return "number"
}

// shown is raw as an anomaly quotes it: a scalar as written, a container
// by its type alone (its content is in the payload).
func shown(raw json.RawMessage) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return string(raw)
}

// MaxDepth is the deepest event kept as JSON in its document: Cosmos DB
// holds 128 levels of nested objects and arrays in an item
// (learn.microsoft.com, cosmos-db concepts-limits, per-item limits), less
// one for the document's own object and one for an Event Grid envelope
// around the event. A deeper event is stored with its payload as base64
// (document.New).
const MaxDepth = 126

// TooDeepAnomaly is the anomaly of a payload stored as base64.
const TooDeepAnomaly = "payload: nested deeper than Cosmos DB holds; kept as the base64 of the bytes received"

// Deeper reports whether the JSON in b nests objects and arrays deeper than
// max. JSON with no more brackets than max cannot, and bytes.Count is
// vectorised, so an ordinary event costs two counts.
func Deeper(b []byte, max int) bool {
	if bytes.Count(b, []byte{'{'})+bytes.Count(b, []byte{'['}) <= max {
		return false
	}
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			if depth++; depth > max {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}
