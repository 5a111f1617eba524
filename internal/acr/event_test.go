package acr_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/acr/acrtest"
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

func TestParseRejects(t *testing.T) {
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
		{"an id that is a number", `{"id":1,"action":"push"}`, "field id: want a string, got number"},
		{"a size that is a string", `{"id":"a","action":"push","target":{"size":"5"}}`, "field target.size: want an integer, got string"},
		{"a fractional size", `{"id":"a","action":"push","target":{"size":1.5}}`, "target.size"},
		{"a negative size", `{"id":"a","action":"push","target":{"size":-1}}`, "must not be negative"},
		{"a request that is a string", `{"id":"a","action":"push","request":"x"}`, "field request: want an object"},
		{"a target that is an array", `{"id":"a","action":"push","target":[]}`, "field target"},
		{"a timestamp that is not a time", `{"id":"a","action":"push","timestamp":"yesterday"}`, "RFC 3339"},
		{"an id with a slash (not a Cosmos id)", `{"id":"a/b","action":"push"}`, "must not contain"},
		{"an action over 64 characters", `{"id":"a","action":"` + strings.Repeat("a", 65) + `"}`, "action longer"},
		{"an id over 255 characters", `{"id":"` + strings.Repeat("a", 256) + `","action":"push"}`, "255"},
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
