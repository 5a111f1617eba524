package cookbook_test

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/acr/acrtest"
	"github.com/acrsink/acrsink/internal/cookbook"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/emulator/emulatortest"
	"github.com/acrsink/acrsink/internal/ingest"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

// lastDay stands in for Cosmos's date functions, which cosmium lacks: the
// test computes the same instant and compares the same fixed-width strings.
const lastDay = `DateTimeAdd("dd", -1, GetCurrentDateTime())`

func run(t *testing.T, title string, now time.Time) []map[string]any {
	t.Helper()
	for _, q := range cookbook.Queries {
		if q.Title != title {
			continue
		}
		sql := strings.ReplaceAll(q.SQL, lastDay, `"`+now.Add(-24*time.Hour).UTC().Format(document.TimeLayout)+`"`)
		var rows []map[string]any
		err := store.Query(context.Background(), sql, nil, func(raw json.RawMessage) error {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				return err
			}
			rows = append(rows, m)
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", title, err)
		}
		return rows
	}
	t.Fatalf("no recipe %q", title)
	return nil
}

var store interface {
	Query(context.Context, string, map[string]any, func(json.RawMessage) error) error
}

// seed stores the samples plus a second push of the same digest under
// another tag, an older push, and deletes a day and a half apart.
func seed(t *testing.T, now time.Time) {
	t.Helper()
	st, _ := emulatortest.Container(t)
	store = st
	add := func(body []byte, edit func(*acr.Event)) {
		ev, err := acr.Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(&ev)
		}
		if _, err := ingest.Event(context.Background(), st, ev, document.SourceWebhook, body, now); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range acrtest.Names() {
		var edit func(*acr.Event)
		if name == "push" {
			edit = func(e *acr.Event) { e.Region = "westus2" }
		}
		add(acrtest.Event(name), edit)
	}
	// The same digest reaches a second region; the oldest push was stored
	// before regions were recorded.
	add(acrtest.Event("push"), func(e *acr.Event) {
		e.ID, e.Target.Tag, e.Timestamp, e.Region = "push-latest", "latest", "2017-11-17T16:53:00Z", "eastus"
	})
	add(acrtest.Event("push"), func(e *acr.Event) { e.ID, e.Target.Tag, e.Timestamp = "push-old", "v0", "2017-01-01T00:00:00Z" })
	add(acrtest.Event("delete"), func(e *acr.Event) {
		e.ID, e.Timestamp = "delete-recent", now.Add(-2*time.Hour).Format(time.RFC3339Nano)
	})
	add(acrtest.Event("delete"), func(e *acr.Event) { e.ID, e.Timestamp = "delete-old", now.Add(-36*time.Hour).Format(time.RFC3339Nano) })
}

func column(rows []map[string]any, key string) []any {
	var out []any
	for _, r := range rows {
		out = append(out, r[key])
	}
	return out
}

func TestTheCookbookAnswersWhatItsTitlesPromise(t *testing.T) {
	now := time.Now()
	seed(t, now)
	tests := []struct {
		title string
		check func(t *testing.T, rows []map[string]any)
	}{
		{"Latest pushes", func(t *testing.T, rows []map[string]any) {
			want := []any{
				"contoso.azurecr.io/team/big-model@sha256:2b1e4c6f8a0d2e4f6a8c0e2a4c6e8a0c2e4a6c8e0a2c4e6a8c0e2a4c6e8a0c2e",
				"myregistry.azurecr.io/hello-world:latest",
				"myregistry.azurecr.io/hello-world:v1",
				"myregistry.azurecr.io/hello-world:v0",
			}
			if got := column(rows, "image"); !reflect.DeepEqual(got, want) {
				t.Errorf("images newest first = %v, want %v", got, want)
			}
		}},
		{"History of one repository", func(t *testing.T, rows []map[string]any) {
			got := column(rows, "action")
			if len(rows) != 7 || rows[0]["action"] != "delete" || rows[len(rows)-1]["tag"] != "v0" {
				t.Errorf("history = %v, want 7 events of hello-world, newest (a delete) first, v0 last", got)
			}
		}},
		{"Which tags point at one digest", func(t *testing.T, rows []map[string]any) {
			tags := column(rows, "tag")
			if len(tags) != 3 {
				t.Errorf("tags = %v, want v1, latest and v0", tags)
			}
		}},
		{"Deletes in the last day", func(t *testing.T, rows []map[string]any) {
			if len(rows) != 1 {
				t.Errorf("deletes = %v, want only the one two hours old", rows)
			}
		}},
		{"Everything one registry request raised (a quarantine and its push share it)", func(t *testing.T, rows []map[string]any) {
			actions := column(rows, "action")
			if len(rows) < 2 || !contains(actions, "quarantine") || !contains(actions, "push") {
				t.Errorf("actions = %v, want the quarantine and the push", actions)
			}
		}},
		{"Where did this digest arrive, region by region", func(t *testing.T, rows []map[string]any) {
			var got []any
			for _, r := range rows {
				got = append(got, []any{r["region"], r["tag"], r["timestamp"]})
			}
			want := []any{
				[]any{nil, "v0", "2017-01-01T00:00:00.0000000Z"}, // stored before regions were recorded
				[]any{"westus2", "v1", "2017-11-17T16:52:01.3431453Z"},
				[]any{"eastus", "latest", "2017-11-17T16:53:00.0000000Z"},
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("pushes of the digest, oldest first = %v, want %v", got, want)
			}
		}},
		{"Events per action", func(t *testing.T, rows []map[string]any) {
			counts := map[any]any{}
			for _, r := range rows {
				counts[r["action"]] = r["events"]
			}
			if counts["push"] != float64(4) || counts["delete"] != float64(3) || counts["ping"] != nil {
				t.Errorf("counts = %v, want 4 pushes, 3 deletes, no ping", counts)
			}
		}},
	}
	if len(tests) != len(cookbook.Queries) {
		t.Fatalf("%d recipes tested, %d in the cookbook", len(tests), len(cookbook.Queries))
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) { tt.check(t, run(t, tt.title, now)) })
	}
}

func contains(xs []any, v any) bool {
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}

func TestTheREADMEShowsEveryRecipeVerbatim(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range cookbook.Queries {
		if !strings.Contains(string(readme), q.SQL) {
			t.Errorf("README.md lacks the recipe %q:\n%s", q.Title, q.SQL)
		}
	}
}
