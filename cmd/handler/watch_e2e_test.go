package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/ingest"
	"github.com/acrsink/acrsink/internal/reconcile"
	"github.com/acrsink/acrsink/internal/testenv/acrtest"
	"github.com/acrsink/acrsink/internal/testenv/armtest"
	"github.com/acrsink/acrsink/internal/testenv/eventgridtest"
	"github.com/acrsink/acrsink/internal/testenv/functionshost"
)

// sample is a sample event with its id, and its repository when repo is
// not empty, replaced.
func sample(name, id, repo string) []byte {
	b := acrtest.Event(name)
	var ev struct {
		ID     string `json:"id"`
		Target struct {
			Repository string `json:"repository"`
		} `json:"target"`
	}
	_ = json.Unmarshal(b, &ev)
	b = bytes.Replace(b, []byte(`"`+ev.ID+`"`), []byte(`"`+id+`"`), 1)
	if repo != "" {
		b = bytes.Replace(b, []byte(`"repository": "`+ev.Target.Repository+`"`), []byte(`"repository": "`+repo+`"`), 1)
	}
	return b
}

// watchedLines are the handler's watched-event lines so far, after
// waiting for the one about lastID (the log comes through a pipe, which
// may lag the answer).
func watchedLines(t *testing.T, h *functionshost.Host, lastID string) []string {
	t.Helper()
	if lastID != "" {
		waitForLine(t, h, "the watched line of "+lastID, func(line string) bool {
			return strings.Contains(line, `"msg":"`+ingest.LogWatched+`"`) && strings.Contains(line, `"eventId":"`+lastID+`"`)
		})
	}
	var out []string
	for _, line := range strings.Split(h.Logs(), "\n") {
		if strings.Contains(line, `"msg":"`+ingest.LogWatched+`"`) {
			out = append(out, line)
		}
	}
	return out
}

func TestWatchedDeletesAndQuarantinesThroughTheWebhookAreMarkedAndLoggedOnce(t *testing.T) {
	t.Parallel()
	h, st := startHost(t, "ACRSINK_WATCH=hello-world, *:wordpress-*")
	url := h.URL + "/images/push"
	tests := []struct {
		name, sample, id, repo string
		watched                bool
	}{
		{"a delete of a watched repository is watched", "delete", "w-delete", "", true},
		{"a quarantine of a watched repository is watched", "quarantine", "w-quarantine", "", true},
		{"a chart_delete whose tag matches a tag pattern is watched", "chart_delete", "w-chart-delete", "", true},
		{"a push of a watched repository is not", "push", "w-push", "", false},
		{"a chart_push whose tag matches is not", "chart_push", "w-chart-push", "", false},
		{"a delete elsewhere is not, though a tag pattern covers every repository: a delete has no tag", "delete", "w-delete-other", "other/repo", false},
	}
	for _, tt := range tests {
		if status, body := post(t, url, sample(tt.sample, tt.id, tt.repo), "x-functions-key", "test-key"); status != http.StatusCreated {
			t.Fatalf("%s: %d %s, want 201", tt.name, status, body)
		}
	}
	// A redelivery of a watched event: stored already, no second line.
	if status, body := post(t, url, sample("delete", "w-delete", ""), "x-functions-key", "test-key"); status != http.StatusOK {
		t.Fatalf("redelivery: %d %s, want 200", status, body)
	}
	// A last watched event, so that every line before it has come.
	if status, body := post(t, url, sample("delete", "w-last", ""), "x-functions-key", "test-key"); status != http.StatusCreated {
		t.Fatalf("last: %d %s, want 201", status, body)
	}
	lines := watchedLines(t, h, "w-last")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := get(t, st, tt.id)
			if got, _ := doc["watched"].(bool); got != tt.watched {
				t.Errorf("watched = %v, want %v", doc["watched"], tt.watched)
			}
			if _, ok := doc["watched"]; !tt.watched && ok {
				t.Errorf("an unwatched document carries watched: %v", doc["watched"])
			}
			n := 0
			for _, line := range lines {
				if strings.Contains(line, `"eventId":"`+tt.id+`"`) {
					n++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tt.watched]; n != want {
				t.Errorf("%d watched lines, want %d:\n%s", n, want, strings.Join(lines, "\n"))
			}
		})
	}
	var line map[string]any
	for _, l := range lines {
		if strings.Contains(l, `"eventId":"w-delete"`) {
			_ = json.Unmarshal([]byte(l), &line)
		}
	}
	for k, v := range map[string]any{"action": "delete", "repository": "hello-world", "tag": "", "source": "webhook",
		"digest": "sha256:80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d"} {
		if line[k] != v {
			t.Errorf("the watched line's %s = %v, want %v: %v", k, line[k], v, line)
		}
	}
	if _, ok := line["region"]; !ok {
		t.Errorf("the watched line has no region: %v", line)
	}
}

func TestWatchedEventsThroughEventGridAreMarkedAndLoggedOnce(t *testing.T) {
	t.Parallel()
	h, st := startHost(t, "ACRSINK_WATCH=aci-helloworld,repo:*")
	for range 2 { // the second delivery is Event Grid's retry of the same batch
		if status, body := post(t, h.URL+"/eventgrid?code=test-key", eventgridtest.Delivery("eventgrid-schema"), "aeg-event-type", "Notification"); status != http.StatusOK {
			t.Fatalf("%d %s", status, body)
		}
	}
	// The delete and the chart_delete are watched; the two pushes are not.
	watched := map[string]bool{
		"f06e3921-301f-42ec-b368-212f7d5354bd": true, "39136b3a-1a7e-416f-a09e-5c85d5402fca": true,
		"31c51664-e5bd-416a-a5df-e5206bc47ed0": false, "ea3a9c28-5b17-40f6-a500-3f02b6822b5b": false,
	}
	watchedLines(t, h, "f06e3921-301f-42ec-b368-212f7d5354bd")
	lines := watchedLines(t, h, "39136b3a-1a7e-416f-a09e-5c85d5402fca")
	if len(lines) != 2 {
		t.Errorf("%d watched lines, want 2 (one per watched event, none for the retry):\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for id, want := range watched {
		if got, _ := get(t, st, id)["watched"].(bool); got != want {
			t.Errorf("%s: watched %v, want %v", id, got, want)
		}
	}
	for _, l := range lines {
		if !strings.Contains(l, `"source":"eventgrid"`) || !strings.Contains(l, `"region":"westus"`) {
			t.Errorf("line %s: want source eventgrid and the region westus", l)
		}
	}
}

func TestAWatchedDeleteTheReconcilerRecoversIsLoggedThenOnce(t *testing.T) {
	t.Parallel()
	hook := &armtest.Hook{Entries: []json.RawMessage{
		armtest.Entry("r-1", sample("delete", "r-lost-delete", "prod/api"), headers("westeurope"), 0),
		armtest.Entry("r-2", sample("delete", "r-taken-delete", "prod/api"), headers("westeurope"), 503),
		armtest.Entry("r-3", sample("push", "r-lost-push", "prod/api"), headers("westeurope"), 0),
	}}
	h, st, _, _ := startReconcilingWith(t, map[string]*armtest.Hook{"acrsink": hook}, []string{"ACRSINK_WATCH=prod/*"}, "acrsink")
	// r-taken-delete came in by the webhook, and raised its line then.
	if status, body := post(t, h.URL+"/images/push", sample("delete", "r-taken-delete", "prod/api"), "x-functions-key", "test-key"); status != http.StatusCreated {
		t.Fatalf("%d %s", status, body)
	}
	watchedLines(t, h, "r-taken-delete")
	for run := range 2 {
		if inv := h.Invoke(context.Background(), "reconcile"); inv.Err != nil {
			t.Fatalf("run %d: %d %s: %v", run, inv.Status, inv.Body, inv.Err)
		}
	}
	watchedLines(t, h, "r-lost-delete")
	// Lines that might lag would be here by the next run's report: wait a
	// moment for a stray second one before counting.
	time.Sleep(200 * time.Millisecond)
	lines := watchedLines(t, h, "")
	if len(lines) != 2 {
		t.Fatalf("%d watched lines, want 2 (the webhook's, and the recovered delete's once in two runs):\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[1], `"eventId":"r-lost-delete"`) || !strings.Contains(lines[1], `"source":"reconcile"`) || !strings.Contains(lines[1], `"region":"westeurope"`) {
		t.Errorf("the reconciler's line: %s", lines[1])
	}
	if got, _ := get(t, st, "r-lost-delete")["watched"].(bool); !got {
		t.Error("the recovered delete is not marked watched")
	}
	if _, ok := get(t, st, "r-lost-push")["watched"]; ok {
		t.Error("the recovered push is marked watched")
	}
}

func TestTheReconcilerReportsEachWebhooksDriftOnceAndDoesNotFailForIt(t *testing.T) {
	t.Parallel()
	hooks := map[string]*armtest.Hook{
		"healthy":  {},
		"disabled": {Status: "disabled"},
		"narrowed": {Actions: []string{"push", "chart_push"}, Scope: "prod:*"},
		"hidden":   {ConfigFault: armtest.Fault{Status: 403, Code: "AuthorizationFailed"}},
	}
	h, _, _, _ := startReconcilingWith(t, hooks, nil, "healthy", "disabled", "narrowed", "hidden")
	inv := h.Invoke(context.Background(), "reconcile")
	if inv.Err != nil || inv.Status != 200 {
		t.Fatalf("invocation %d %s (%v): want a successful run, drift has its own alert", inv.Status, inv.Body, inv.Err)
	}
	got := reports(t, inv)
	tests := []struct {
		hook string
		want []string
	}{
		{"healthy", nil},
		{"disabled", []string{`status is "disabled", not enabled`}},
		{"narrowed", []string{"actions lack delete, quarantine, chart_delete", `scope is "prod:*", not the whole registry`}},
		{"hidden", []string{"configuration not read", "403 AuthorizationFailed", "webhooks/read"}},
	}
	waitForLog(t, h, `"msg":"reconciled","webhook":"myregistry/hidden"`)
	logs := h.Logs()
	for _, tt := range tests {
		t.Run("the "+tt.hook+" webhook", func(t *testing.T) {
			r := got[tt.hook]
			drift := strings.Join(r.Drift, "; ")
			if len(tt.want) == 0 && len(r.Drift) != 0 {
				t.Errorf("drift %q, want none", drift)
			}
			for _, w := range tt.want {
				if !strings.Contains(drift, w) {
					t.Errorf("drift %q, want it to say %q", drift, w)
				}
			}
			n := strings.Count(logs, `"msg":"`+reconcile.LogDrift+`","webhook":"myregistry/`+tt.hook+`"`)
			if want := min(len(tt.want), 1); n != want {
				t.Errorf("%d drift lines, want %d:\n%s", n, want, logs)
			}
		})
	}
}

func TestABadWatchPatternStopsTheHandlerWithOneLineNamingIt(t *testing.T) {
	t.Parallel()
	buildHandler(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, handler)
	cmd.Env = []string{"ACRSINK_FUNCTION_KEYS=k", "ACRSINK_WATCH=prod/*, release[0-9]"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("the handler ended with %v, want exit status 1", err)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "ACRSINK_WATCH") || !strings.Contains(lines[0], `"release[0-9]"`) {
		t.Errorf("stderr %q, want one line naming ACRSINK_WATCH and the pattern", stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout %q, want nothing: it stopped before starting", stdout.String())
	}
}
