package acr_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/testenv/acrtest"
)

func TestEverySampleParses(t *testing.T) {
	for _, name := range acrtest.Names() {
		t.Run(name, func(t *testing.T) {
			ev, err := acr.Parse(acrtest.Event(name))
			if err != nil {
				t.Fatal(err)
			}
			if ev.Action == "" || (ev.Action != acr.ActionPing && ev.ID == "") {
				t.Errorf("%+v", ev)
			}
			if string(ev.Raw) != string(acrtest.Event(name)) {
				t.Error("Raw is not the bytes as received")
			}
		})
	}
}

func TestParseKeepsSizesOver2GiBAndLeavesAbsentFieldsNil(t *testing.T) {
	ev, err := acr.Parse(acrtest.Event("push-by-digest"))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Target.Size == nil || *ev.Target.Size != 3429834752 {
		t.Errorf("size = %v", ev.Target.Size)
	}
	chart, _ := acr.Parse(acrtest.Event("chart_push"))
	if chart.Request != nil || chart.Target.Name != "wordpress" || chart.Target.Version != "5.4.0" {
		t.Errorf("chart event: %+v", chart)
	}
}

func TestParseRefusesWhatCannotBeStored(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"an empty body", "  ", "empty body"},
		{"text that is not JSON", "hello", "not JSON"},
		{"truncated JSON", `{"id":"a","action":"pu`, "not JSON"},
		{"an array", `[{"id":"a","action":"push"}]`, "want a JSON object"},
		{"a string", `"push"`, "want a JSON object"},
		{"null", `null`, "want a JSON object, got null"},
		{"two objects", `{"id":"a","action":"push"} {}`, "trailing data"},
		{"no action", `{"id":"a"}`, "missing action"},
		{"no id", `{"action":"push"}`, "missing id"},
		{"a null id", `{"id":null,"action":"push"}`, "missing id"},
		{"an id that is a number", `{"id":1,"action":"push"}`, "field id: want a string, got number"},
		{"an id that is an object, with an odd size beside it", `{"id":{},"action":"push","target":{"size":"5"}}`, "field id: want a string, got object"},
		{"an action that is a number", `{"id":"a","action":7}`, "field action: want a string, got number"},
		{"an action that is an array", `{"id":"a","action":["push"]}`, "field action: want a string, got array"},
		{"an id with a slash (not a Cosmos id)", `{"id":"a/b","action":"push"}`, "is not an event id"},
		{"an id of two dots", `{"id":"..","action":"push"}`, "is not an event id"},
		{"an action over 64 characters", `{"id":"a","action":"` + strings.Repeat("a", 65) + `"}`, "action longer"},
		{"an id over 101 bytes", `{"id":"` + strings.Repeat("a", 102) + `","action":"push"}`, "1 to 101"},
		{"an event over 1 MiB", `{"id":"a","action":"push","pad":"` + strings.Repeat("a", 1<<20) + `"}`, "larger than 1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := acr.Parse([]byte(tt.body))
			var invalid *acr.InvalidError
			if !errors.As(err, &invalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want an InvalidError about %q", err, tt.want)
			}
		})
	}
}

// An event whose id and action are good is stored whatever else is odd:
// the odd value is left out (never guessed at), said in Anomalies, and
// kept in Raw as it came.
func TestParseLeavesOutAndRecordsWhatIsOddInADescriptiveField(t *testing.T) {
	tests := []struct {
		name, body string
		check      func(acr.Event) bool
		anomalies  []string
	}{
		{"a timestamp without a time zone is left out",
			`{"id":"a","action":"push","timestamp":"2026-11-22T08:00:00.1234567"}`,
			func(e acr.Event) bool { return e.Timestamp == "" && e.Time().IsZero() },
			[]string{`timestamp: want an RFC 3339 time with a time zone, got "2026-11-22T08:00:00.1234567"`}},
		{"a timestamp that is not a time is left out",
			`{"id":"a","action":"push","timestamp":"yesterday"}`,
			func(e acr.Event) bool { return e.Timestamp == "" },
			[]string{`timestamp: want an RFC 3339 time with a time zone, got "yesterday"`}},
		{"a timestamp that is a number is left out",
			`{"id":"a","action":"push","timestamp":1732262400}`,
			func(e acr.Event) bool { return e.Timestamp == "" },
			[]string{`timestamp: want a string, got 1732262400`}},
		{"a size written with an exponent is the whole number it is",
			`{"id":"a","action":"push","target":{"size":1.2e3,"length":1200.0}}`,
			func(e acr.Event) bool { return *e.Target.Size == 1200 && *e.Target.Length == 1200 },
			nil},
		{"a fractional size is left out",
			`{"id":"a","action":"push","target":{"size":1.5,"repository":"r"}}`,
			func(e acr.Event) bool { return e.Target.Size == nil && e.Target.Repository == "r" },
			[]string{"target.size: want a whole number within 64 bits, got 1.5"}},
		{"a size past 64 bits is left out",
			`{"id":"a","action":"push","target":{"size":1e30}}`,
			func(e acr.Event) bool { return e.Target.Size == nil },
			[]string{"target.size: want a whole number within 64 bits, got 1e30"}},
		{"a size that is a string is left out, not read as a number",
			`{"id":"a","action":"push","target":{"size":"5","tag":"v1"}}`,
			func(e acr.Event) bool { return e.Target.Size == nil && e.Target.Tag == "v1" },
			[]string{`target.size: want an integer, got "5"`}},
		{"a negative size is left out",
			`{"id":"a","action":"push","target":{"size":-1,"length":7}}`,
			func(e acr.Event) bool { return e.Target.Size == nil && *e.Target.Length == 7 },
			[]string{"target.size: want a size, not negative, got -1"}},
		{"a request that is a string is left out, the rest kept",
			`{"id":"a","action":"push","request":"x","actor":{"name":"bot"}}`,
			func(e acr.Event) bool { return e.Request == nil && e.Actor.Name == "bot" },
			[]string{`request: want an object, got "x"`}},
		{"a target that is an array is left out",
			`{"id":"a","action":"push","target":[1,2]}`,
			func(e acr.Event) bool { return e.Target == (acr.Target{}) },
			[]string{"target: want an object, got an array"}},
		{"a tag that is a number and a host that is an object are left out",
			`{"id":"a","action":"push","target":{"tag":5},"request":{"host":{"a":1},"method":"PUT"}}`,
			func(e acr.Event) bool { return e.Target.Tag == "" && e.Request.Host == "" && e.Request.Method == "PUT" },
			[]string{"target.tag: want a string, got 5", "request.host: want a string, got an object"}},
		{"a repository past the registry's 255 is left out",
			`{"id":"a","action":"push","target":{"repository":"` + strings.Repeat("r", 256) + `","tag":"v1"}}`,
			func(e acr.Event) bool { return e.Target.Repository == "" && e.Target.Tag == "v1" },
			[]string{"target.repository: longer than 255 bytes (256)"}},
		{"a repository of 255 is kept",
			`{"id":"a","action":"push","target":{"repository":"` + strings.Repeat("r", 255) + `"}}`,
			func(e acr.Event) bool { return len(e.Target.Repository) == 255 },
			nil},
		{"a tag past the registry's 128 is left out",
			`{"id":"a","action":"push","target":{"tag":"` + strings.Repeat("t", 129) + `"}}`,
			func(e acr.Event) bool { return e.Target.Tag == "" },
			[]string{"target.tag: longer than 128 bytes (129)"}},
		{"a user agent past 4096 bytes is left out",
			`{"id":"a","action":"push","request":{"useragent":"` + strings.Repeat("u", 4097) + `"}}`,
			func(e acr.Event) bool { return e.Request.UserAgent == "" },
			[]string{"request.useragent: longer than 4096 bytes (4097)"}},
		{"a long odd value is clipped in its anomaly",
			`{"id":"a","action":"push","timestamp":"` + strings.Repeat("9", 10000) + `"}`,
			func(e acr.Event) bool { return e.Timestamp == "" },
			[]string{`timestamp: want an RFC 3339 time with a time zone, got "` + strings.Repeat("9", 255) + "…"}},
		{"fields are matched without regard to case, as before",
			`{"ID":"a","Action":"push","Target":{"Size":"x","Repository":"r"}}`,
			func(e acr.Event) bool { return e.Target.Repository == "r" },
			[]string{`target.size: want an integer, got "x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := acr.Parse([]byte(tt.body))
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if ev.ID != "a" || ev.Action != "push" || string(ev.Raw) != tt.body {
				t.Errorf("id %q, action %q, raw kept %v", ev.ID, ev.Action, string(ev.Raw) == tt.body)
			}
			if !tt.check(ev) {
				t.Errorf("event %+v", ev)
			}
			if !slices.Equal(ev.Anomalies, tt.anomalies) {
				t.Errorf("anomalies %q, want %q", ev.Anomalies, tt.anomalies)
			}
		})
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		name, id string
		want     bool
	}{
		{"a UUID is valid", "cb8c3971-9adc-488b-bdd8-43cbb4974ff5", true},
		{"letters, digits and - _ . ~ are valid", "a-b_c.d~9", true},
		{"three dots are valid (not a dot segment)", "...", true},
		{"101 bytes are valid", strings.Repeat("a", 101), true},
		{"102 bytes are not", strings.Repeat("a", 102), false},
		{"empty is not", "", false},
		{"one dot is not", ".", false},
		{"two dots are not", "..", false},
		{"a slash is not", "a/b", false},
		{"a backslash is not", `a\b`, false},
		{"a question mark is not", "a?b", false},
		{"a hash is not", "a#b", false},
		{"a percent sign is not", "a%2Fb", false},
		{"a space inside is not", "a b", false},
		{"a leading space is not", " a", false},
		{"a trailing space is not", "a ", false},
		{"a control character is not", "a\x01b", false},
		{"a non-ASCII letter is not", "é", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := acr.ValidID(tt.id); got != tt.want {
				t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestAPingNeedsNoID(t *testing.T) {
	if _, err := acr.Parse([]byte(`{"action":"ping"}`)); err != nil {
		t.Error(err)
	}
}

func TestUnknownActionsAndFieldsAreAccepted(t *testing.T) {
	ev, err := acr.Parse([]byte(`{"id":"a","action":"image_signed","target":{"repository":"r","future":1},"extra":true}`))
	if err != nil || ev.Action != "image_signed" {
		t.Errorf("%+v, %v", ev, err)
	}
}

func TestValidRegion(t *testing.T) {
	tests := []struct {
		name, region string
		want         bool
	}{
		{"a region name is valid", "westus2", true},
		{"one character is valid", "a", true},
		{"40 characters are valid", strings.Repeat("a", 40), true},
		{"digits alone are valid", "2", true},
		{"empty is not", "", false},
		{"41 characters are not", strings.Repeat("a", 41), false},
		{"a display name is not", "West US 2", false},
		{"upper case is not", "WestUS2", false},
		{"a hyphen is not", "west-us-2", false},
		{"punctuation is not", "westus2;drop", false},
		{"a space around a name is not", " westus2", false},
		{"a non-ASCII letter is not", "westüs", false},
		{"a control character is not", "westus\n2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := acr.ValidRegion(tt.region); got != tt.want {
				t.Errorf("ValidRegion(%q) = %v, want %v", tt.region, got, tt.want)
			}
		})
	}
}

func TestAPayloadCannotClaimARegion(t *testing.T) {
	ev, err := acr.Parse([]byte(`{"id":"a","action":"push","region":"westus2","Region":"eastus"}`))
	if err != nil || ev.Region != "" {
		t.Errorf("region %q, %v: want none, only a door sets it", ev.Region, err)
	}
}

func TestClipBoundsAnEchoedValueOnACharacterBoundary(t *testing.T) {
	tests := []struct {
		name, in string
		wantLen  int
	}{
		{"a short value is kept whole", "westus2", len("westus2")},
		{"a megabyte is cut to 256 bytes and marked", strings.Repeat("a", 1<<20), 256 + len("…")},
		{"a cut inside a character backs off to its start", strings.Repeat("a", 255) + "é" + strings.Repeat("b", 10), 255 + len("…")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := acr.Clip(tt.in)
			if len(got) != tt.wantLen || !utf8.ValidString(got) {
				t.Errorf("Clip gave %d bytes (valid UTF-8: %v), want %d", len(got), utf8.ValidString(got), tt.wantLen)
			}
			if len(tt.in) > 256 && !strings.HasSuffix(got, "…") {
				t.Error("a cut value is not marked")
			}
		})
	}
}
