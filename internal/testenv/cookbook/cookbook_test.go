package cookbook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/ingest"
	"github.com/acrsink/acrsink/internal/testenv/acrtest"
	"github.com/acrsink/acrsink/internal/testenv/cookbook"
	"github.com/acrsink/acrsink/internal/testenv/emulatortest"
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

// seed stores the samples (their push delivered by the westus2 webhook),
// the same push delivered again by the eastus webhook under another event
// id, a second push of the same digest under another tag, an older push,
// and deletes a day and a half apart.
//
// Each regional webhook of a geo-replicated registry delivers every push
// once the content reaches its replica (Microsoft's geo-replication
// tutorial, container-registry-tutorial-deploy-update); whether those
// deliveries share an event id is not documented, so the seed has both: the
// v1 push with one id per region (two documents), the latest push under one
// id (one document, from the region that delivered first). Timestamps are
// made up: whether a regional delivery carries the push's time or the
// arrival's is not documented either.
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
		if _, err := ingest.Event(context.Background(), st, nil, ev, document.SourceWebhook, body, now); err != nil {
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
	// The v1 push arrives in eastus too, and its webhook delivers it under
	// its own id.
	add(acrtest.Event("push"), func(e *acr.Event) {
		e.ID, e.Timestamp, e.Region = "push-v1-eastus", "2017-11-17T16:52:30Z", "eastus"
	})
	// The same digest pushed under another tag; the oldest push was stored
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
			// One row per document: the v1 push once per region that
			// delivered it under its own id.
			want := []any{
				"contoso.azurecr.io/team/big-model@sha256:2b1e4c6f8a0d2e4f6a8c0e2a4c6e8a0c2e4a6c8e0a2c4e6a8c0e2a4c6e8a0c2e",
				"myregistry.azurecr.io/hello-world:latest",
				"myregistry.azurecr.io/hello-world:v1",
				"myregistry.azurecr.io/hello-world:v1",
				"myregistry.azurecr.io/hello-world:v0",
			}
			if got := column(rows, "image"); !reflect.DeepEqual(got, want) {
				t.Errorf("images newest first = %v, want %v", got, want)
			}
		}},
		{"History of one repository", func(t *testing.T, rows []map[string]any) {
			got := column(rows, "action")
			if len(rows) != 8 || rows[0]["action"] != "delete" || rows[len(rows)-1]["tag"] != "v0" {
				t.Errorf("history = %v, want 8 documents of hello-world, newest (a delete) first, v0 last", got)
			}
		}},
		{"Which tags point at one digest", func(t *testing.T, rows []map[string]any) {
			tags := column(rows, "tag")
			if len(tags) != 4 || !slices.Contains(tags, "v1") || !slices.Contains(tags, "latest") || !slices.Contains(tags, "v0") {
				t.Errorf("tags = %v, want v1 (once per regional document), latest and v0", tags)
			}
		}},
		{"Deletes in the last day", func(t *testing.T, rows []map[string]any) {
			if len(rows) != 1 {
				t.Errorf("deletes = %v, want only the one two hours old", rows)
			}
		}},
		{"Everything one registry request raised (a quarantine and its push share it)", func(t *testing.T, rows []map[string]any) {
			actions := column(rows, "action")
			if len(rows) < 2 || !slices.Contains(actions, "quarantine") || !slices.Contains(actions, "push") {
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
				[]any{"eastus", "v1", "2017-11-17T16:52:30.0000000Z"},
				[]any{"eastus", "latest", "2017-11-17T16:53:00.0000000Z"},
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("pushes of the digest, oldest first = %v, want %v", got, want)
			}
		}},
		{"Pushes, each once however many regional webhooks delivered it", func(t *testing.T, rows []map[string]any) {
			// Five push documents, four pushes: v1 (delivered by two
			// regions under two ids), latest, v0 and the big model's push
			// by digest (no tag).
			deliveries := map[any]any{}
			for _, r := range rows {
				deliveries[fmt.Sprint(r["repository"], ":", r["tag"])] = r["deliveries"]
			}
			want := map[any]any{
				"hello-world:v1": float64(2), "hello-world:latest": float64(1), "hello-world:v0": float64(1),
				"team/big-model:<nil>": float64(1),
			}
			if len(rows) != 4 || !reflect.DeepEqual(deliveries, want) {
				t.Errorf("pushes = %v, want %v", deliveries, want)
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

func TestTheQueriesPageShowsEveryRecipeVerbatim(t *testing.T) {
	readme, err := os.ReadFile("../../../docs/queries.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range cookbook.Queries {
		if !strings.Contains(string(readme), q.SQL) {
			t.Errorf("docs/queries.md lacks the recipe %q:\n%s", q.Title, q.SQL)
		}
	}
}

// pushKey is what every regional delivery of one push shares: replication
// copies the manifest (its digest) into the same repository under the same
// tag. The event id may differ per region (not documented either way), and
// so may the timestamp.
var pushKey = []string{"c.repository", "c.tag", "c.digest"}

// countProblem says why a recipe that counts would count a push more than
// once with N regional webhooks, or "" when it cannot: a recipe with
// COUNT(...) must group by the push key (and by c.action unless it counts
// pushes alone).
func countProblem(sql string) string {
	if !strings.Contains(strings.ToUpper(sql), "COUNT(") {
		return ""
	}
	_, group, ok := strings.Cut(sql, " GROUP BY ")
	if !ok {
		return "counts documents without grouping them by push"
	}
	keys := map[string]bool{}
	for _, k := range strings.Split(group, ",") {
		keys[strings.TrimSpace(k)] = true
	}
	want := pushKey
	if !strings.Contains(sql, `c.action = "push"`) {
		want = append([]string{"c.action"}, pushKey...)
	}
	for _, k := range want {
		if !keys[k] {
			return "groups by " + strings.TrimSpace(group) + ", not by " + strings.Join(want, ", ") + ": each regional delivery of one push counts again"
		}
	}
	return ""
}

func TestEveryRecipeThatCountsCountsEachPushOnce(t *testing.T) {
	n := 0
	for _, q := range cookbook.Queries {
		if p := countProblem(q.SQL); p != "" {
			t.Errorf("%q %s", q.Title, p)
		}
		if strings.Contains(q.SQL, "COUNT(") {
			n++
		}
	}
	if n == 0 {
		t.Error("no recipe counts anything: the check reads nothing")
	}
}

func TestTheCountCheckFailsOnACountPerDocument(t *testing.T) {
	for _, sql := range []string{
		`SELECT c.action, COUNT(1) AS events FROM c GROUP BY c.action`,
		`SELECT VALUE COUNT(1) FROM c WHERE c.action = "push"`,
		`SELECT c.repository, c.tag, COUNT(1) AS pushes FROM c WHERE c.action = "push" GROUP BY c.repository, c.tag`,
		`SELECT c.repository, c.tag, c.digest, COUNT(1) AS n FROM c GROUP BY c.repository, c.tag, c.digest`,
	} {
		if countProblem(sql) == "" {
			t.Errorf("%s: passed", sql)
		}
	}
}
