package history_test

import (
	"os"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/history"
)

func TestParseARecordedHistory(t *testing.T) {
	data, err := os.ReadFile("testdata/list-events.json")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := history.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
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
