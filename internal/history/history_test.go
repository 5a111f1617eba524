package history_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/history"
)

// recorded is the recorded list-events output in testdata, parsed.
func recorded(t *testing.T) []history.Delivery {
	t.Helper()
	data, err := os.ReadFile("testdata/list-events.json")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := history.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestParseARecordedHistory(t *testing.T) {
	ds := recorded(t)
	want := []struct {
		status    int
		delivered bool
		action    string
	}{
		{201, true, "push"}, {503, false, "push"}, {0, false, "delete"}, {500, false, "quarantine"},
		{200, true, "ping"}, {200, true, "push"}, {0, false, "push"}, {401, false, "chart_push"},
	}
	if len(ds) != len(want) {
		t.Fatalf("%d deliveries, want %d", len(ds), len(want))
	}
	for i, w := range want {
		d := ds[i]
		if d.Err != nil || d.StatusCode != w.status || d.Delivered() != w.delivered || d.Event.Action != w.action {
			t.Errorf("delivery %s: status %d delivered %v action %q err %v; want %d %v %q", d.ID, d.StatusCode, d.Delivered(), d.Event.Action, d.Err, w.status, w.delivered, w.action)
		}
	}
	if string(ds[3].Event.Raw[:1]) != "{" {
		t.Errorf("string content was not unwrapped to the event: %s", ds[3].Event.Raw)
	}
}

func TestABadEntryIsReportedWithoutHidingTheRest(t *testing.T) {
	ds, err := history.Parse([]byte(`[
	  {"id":"a","eventRequestMessage":{"content":"not json"},"eventResponseMessage":{"statusCode":"503"}},
	  {"id":"b","eventRequestMessage":{"content":{"action":"push"}},"eventResponseMessage":{"statusCode":503}},
	  {"id":"c"},
	  {"id":"d","eventRequestMessage":{"content":{"id":"e","action":"push"}},"eventResponseMessage":{"statusCode":"OK"}}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"not JSON", "missing id", "no eventRequestMessage", ""} {
		got := ""
		if ds[i].Err != nil {
			got = ds[i].Err.Error()
		}
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("delivery %s: err %q, want one about %q", ds[i].ID, got, want)
		}
	}
	if ds[1].StatusCode != 503 || ds[3].StatusCode != 0 {
		t.Errorf("status codes %d and %d, want 503 (a number) and 0 (unreadable)", ds[1].StatusCode, ds[3].StatusCode)
	}
}

func TestSomethingElseIsNotAHistory(t *testing.T) {
	for _, in := range []string{"", "{}", "nope"} {
		if _, err := history.Parse([]byte(in)); err == nil || !strings.Contains(err.Error(), "list-events") {
			t.Errorf("Parse(%q) = %v, want an error naming list-events", in, err)
		}
	}
}

func TestTheRegionComesFromTheRequestHeaders(t *testing.T) {
	entry := func(headers string) string {
		return `[{"id":"h","eventRequestMessage":{"content":{"id":"e","action":"push"},"headers":` + headers +
			`},"eventResponseMessage":{"statusCode":"503"}}]`
	}
	tests := []struct {
		name, headers, region, warning string
	}{
		{"the region header is the region", `{"x-acrsink-region":"eastus","x-functions-key":"SECRET"}`, "eastus", ""},
		{"the header's name is matched whatever its case", `{"X-ACRSINK-REGION":"eastus"}`, "eastus", ""},
		{"a list of one value is that value", `{"x-acrsink-region":["eastus"]}`, "eastus", ""},
		{"no region header means no region and no warning", `{"Content-Type":"application/json","x-functions-key":"SECRET"}`, "", ""},
		{"headers that are not an object carry no region", `"x-acrsink-region: eastus"`, "", ""},
		{"null headers carry no region", `null`, "", ""},
		{"a display name is ignored with a warning", `{"x-acrsink-region":"East US"}`, "", `x-acrsink-region header "East US" ignored`},
		{"punctuation is ignored with a warning", `{"x-acrsink-region":"eastus;drop"}`, "", `"eastus;drop" ignored`},
		{"41 characters are ignored with a warning", `{"x-acrsink-region":"` + strings.Repeat("a", 41) + `"}`, "", strings.Repeat("a", 41)},
		{"an empty value is ignored with a warning", `{"x-acrsink-region":""}`, "", `header "" ignored`},
		{"a number is ignored with a warning", `{"x-acrsink-region":7}`, "", `header "7" ignored`},
		{"two values are ignored with a warning", `{"x-acrsink-region":"eastus","X-Acrsink-Region":"westus2"}`, "", `"eastus,westus2" ignored`},
		{"a value of a megabyte is clipped in the warning", `{"x-acrsink-region":"` + strings.Repeat("A", 1<<20) + `"}`, "", strings.Repeat("A", 256) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := history.Parse([]byte(entry(tt.headers)))
			if err != nil || len(ds) != 1 || ds[0].Err != nil {
				t.Fatalf("%+v, %v", ds, err)
			}
			d := ds[0]
			if d.Event.Region != tt.region {
				t.Errorf("region %q, want %q", d.Event.Region, tt.region)
			}
			if tt.warning == "" && d.Warning != "" || !strings.Contains(d.Warning, tt.warning) {
				t.Errorf("warning %.300q, want one with %.300q", d.Warning, tt.warning)
			}
			if len(d.Warning) > 600 {
				t.Errorf("warning of %d bytes: the value is not clipped", len(d.Warning))
			}
			if strings.Contains(fmt.Sprintf("%#v %s", d, d.Event.Raw), "SECRET") {
				t.Errorf("the delivery keeps the function key from the headers: %#v", d)
			}
		})
	}
}

func TestAHistoryKeepsNothingOfTheHeadersButTheRegion(t *testing.T) {
	ds := recorded(t)
	for _, d := range ds {
		// %#v shows Raw as bytes: add it as text.
		if s := fmt.Sprintf("%#v %s", d, d.Event.Raw); strings.Contains(s, "SECRET-KEY-IN-HISTORY") || strings.Contains(s, "AzureContainerRegistry/1.0") {
			t.Errorf("delivery %s keeps a header other than the region: %s", d.ID, s)
		}
	}
	for i, want := range []string{"", "eastus", "", "westus2"} {
		if got := ds[i].Event.Region; got != want {
			t.Errorf("delivery %s: region %q, want %q", ds[i].ID, got, want)
		}
	}
	if !strings.Contains(ds[2].Warning, `"East US"`) {
		t.Errorf("delivery %s: warning %q, want one about East US", ds[2].ID, ds[2].Warning)
	}
}

func TestWhatIsNotAHistoryIsSaidInOurWords(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"one event", `{"id":"e1","action":"push","target":{"repository":"r"}}`, "this is one event, not a webhook history"},
		{"one history entry", `{"id":"h-01","eventRequestMessage":{"content":{}}}`, "this is one entry of a webhook history"},
		{"nothing", "  \n", "the input is empty"},
		{"a string", `"hello"`, "the input is a JSON string"},
		{"a number", `42`, "the input is a JSON number"},
		{"some other object", `{"value":[]}`, "the input is a JSON object"},
		{"not JSON", `nope`, "the input is not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := history.Parse([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "az acr webhook list-events") || strings.Contains(err.Error(), "Go value") {
				t.Errorf("err %v, want one saying %q and what replay reads, in our words", err, tt.want)
			}
		})
	}
}

func TestAnEntryWithNoRequestIsNoDeliveryNotALostOne(t *testing.T) {
	ds, err := history.Parse([]byte(`[{"id":"c"}, null, "x", {"id":"d","eventRequestMessage":{"content":{"id":"e","action":"push"}}}]`))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, true, false} {
		if ds[i].NotDelivery != want {
			t.Errorf("entry %s: NotDelivery %v, want %v", ds[i].ID, ds[i].NotDelivery, want)
		}
		if want && strings.Contains(ds[i].Answer(), "no answer") {
			t.Errorf("entry %s is reported as %q: it was never sent, so it was not unanswered", ds[i].ID, ds[i].Answer())
		}
	}
}

// The history decodes through acr.Parse, the one rule: an entry with an odd
// descriptive field is an event to replay, with its anomalies; one that
// cannot be stored is an error (the webhook door refused and logged it).
func TestAHistoryEntryFollowsTheOneRuleOfWhatIsStored(t *testing.T) {
	entry := func(content string) string {
		return `{"id":"d","eventRequestMessage":{"content":` + content + `},"eventResponseMessage":{"statusCode":"400"}}`
	}
	tests := []struct {
		name, content string
		stored        bool
		anomalies     int
	}{
		{"a zoneless timestamp and a size that is a string", `{"id":"e1","action":"push","timestamp":"2026-11-22T08:00:00.1234567","target":{"size":"5"}}`, true, 2},
		{"the same, as the string the CLI may print", `"{\"id\":\"e1\",\"action\":\"push\",\"target\":{\"size\":1.5}}"`, true, 1},
		{"an id that is a number", `{"id":1,"action":"push"}`, false, 0},
		{"an id of two dots", `{"id":"..","action":"push"}`, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := history.Parse([]byte("[" + entry(tt.content) + "]"))
			if err != nil || len(ds) != 1 {
				t.Fatalf("%v, %d deliveries", err, len(ds))
			}
			if d := ds[0]; (d.Err == nil) != tt.stored || len(d.Event.Anomalies) != tt.anomalies || (tt.anomalies > 0) != strings.Contains(d.Warning, "odd fields left out") {
				t.Errorf("err %v, anomalies %q, warning %q; want stored %v with %d", d.Err, d.Event.Anomalies, d.Warning, tt.stored, tt.anomalies)
			}
		})
	}
}
