package infracheck_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/arm"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/history"
	"github.com/acrsink/acrsink/internal/ingest"
	"github.com/acrsink/acrsink/internal/reconcile"
	"github.com/acrsink/acrsink/internal/server"
	"github.com/acrsink/acrsink/internal/testenv/acrtest"
	"github.com/acrsink/acrsink/internal/testenv/eventgridtest"
	"github.com/acrsink/acrsink/internal/testenv/infracheck"
	"github.com/acrsink/acrsink/internal/testenv/syncbuf"
	"github.com/acrsink/acrsink/internal/watch"
)

var workbookBicep = filepath.Join(root, "infra", "modules", "workbook.bicep")

// lineStore stores every event but a quarantine, which it fails, so that
// the handler logs a store failure too.
type lineStore struct{}

func (lineStore) Create(_ context.Context, d document.Document) (bool, error) {
	if d.Action == "quarantine" {
		return false, errors.New("store unavailable")
	}
	return true, nil
}

func (lineStore) Exists(context.Context, string) (bool, error) { return false, nil }

// lineLister answers the first webhook's history with one undelivered
// delete (the reconciler recovers it, and watches it) and fails the
// second's. It embeds the
// interface so that a method added to it later leaves this compiling.
type lineLister struct {
	reconcile.Lister
	event acr.Event
}

// Config answers every webhook's configuration as disabled, with one
// action: drift.
func (l lineLister) Config(context.Context, arm.Webhook) (arm.Config, error) {
	return arm.Config{Status: "disabled", Actions: []string{"push"}}, nil
}

func (l lineLister) History(_ context.Context, w arm.Webhook) ([]history.Delivery, error) {
	if w.Name == "broken" {
		return nil, errors.New("403 Forbidden")
	}
	return []history.Delivery{{ID: "d1", Event: l.event, StatusCode: http.StatusServiceUnavailable}}, nil
}

// loggedLines are lines the handler's code logs, by message: the requests
// of each door (stored, refused as invalid, not stored for a store
// failure), a watched delete, an Event Grid delivery, and reconcile runs
// that recovered an event, found drift, and failed. They come from the code that logs them in
// production, through the same slog JSON handler as cmd/handler's logger
// (slog.NewJSONHandler on stdout, which the Functions host forwards to
// Application Insights as one trace per line, JSON inside message).
func loggedLines(t *testing.T) map[string][]string {
	t.Helper()
	var buf syncbuf.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	list, err := watch.Parse("hello-world")
	if err != nil {
		t.Fatal(err)
	}
	w := &ingest.Watch{List: list, Logger: log}
	h := server.New(server.Options{Logger: log, Store: lineStore{}, Watch: w})
	for _, d := range []struct{ path, body string }{
		{"/images/push", string(acrtest.Event("push"))},
		{"/images/push", string(acrtest.Event("delete"))},
		{"/images/push", string(acrtest.Event("quarantine"))},
		{"/images/push", `{"id": "x"}`},
		{"/eventgrid", string(eventgridtest.Delivery("eventgrid-schema"))},
		{"/eventgrid", string(eventgridtest.Delivery("cloudevents-batch"))},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, d.path, strings.NewReader(d.body)))
	}
	del, err := acr.Parse(acrtest.Event("delete"))
	if err != nil {
		t.Fatal(err)
	}
	rc := &reconcile.Reconciler{
		Webhooks: []arm.Webhook{{Registry: "myregistry", Name: "acrsink"}, {Registry: "myregistry", Name: "broken"}},
		Lister:   lineLister{event: del},
		Checker:  lineLister{},
		Store:    lineStore{},
		Logger:   log,
		Watch:    w,
	}
	if _, err := rc.Run(context.Background()); err == nil {
		t.Fatal("the run with a webhook it cannot read did not fail")
	}
	lines := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var v struct{ Msg string }
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("not a JSON line: %s", l)
		}
		lines[v.Msg] = append(lines[v.Msg], l)
	}
	return lines
}

var (
	msgFilter      = regexp.MustCompile(`contains '"msg":"([^"]+)"'|has "([^"]+)"`)
	containsFilter = regexp.MustCompile(`contains '([^']*)'`)
	extractCall    = regexp.MustCompile(`extract\('([^']*)'`)
)

// workbookProblems holds each panel's query to the lines the code logs:
// every message it picks lines by is one the code logs; every contains()
// and every extract() finds what it looks for in a real line of those
// messages (Kusto's regular expressions are RE2, as Go's are); traces are
// read by message alone and no comparison has a bare boolean (the KQL
// rules); requests are read for a function the app has. And the panels
// cover what the workbook is for.
func workbookProblems(panels []infracheck.Panel, lines map[string][]string) []string {
	var problems []string
	covered := map[string]bool{}
	for _, p := range panels {
		at := fmt.Sprintf("panel %q", p.Title)
		q := p.Query
		if q == "" {
			problems = append(problems, at+": no query")
			continue
		}
		var msgs []string
		for _, m := range msgFilter.FindAllStringSubmatch(q, -1) {
			msg := m[1] + m[2]
			msgs = append(msgs, msg)
			covered[msg] = true
			if len(lines[msg]) == 0 {
				problems = append(problems, fmt.Sprintf("%s: picks lines by %q, a message the code does not log", at, msg))
			}
		}
		var real []string
		for _, m := range msgs {
			real = append(real, lines[m]...)
		}
		if strings.Contains(q, "traces") && len(msgs) == 0 {
			problems = append(problems, at+": reads traces without picking the handler's lines by message")
		}
		for _, m := range containsFilter.FindAllStringSubmatch(q, -1) {
			if strings.HasPrefix(m[1], `"msg":`) {
				continue
			}
			if !slices.ContainsFunc(real, func(l string) bool { return strings.Contains(strings.ToLower(l), strings.ToLower(m[1])) }) {
				problems = append(problems, fmt.Sprintf("%s: looks for %s, which no line of %q holds", at, m[1], msgs))
			}
		}
		for _, m := range extractCall.FindAllStringSubmatch(q, -1) {
			re, err := regexp.Compile(m[1])
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: extract %s: %v", at, m[1], err))
				continue
			}
			if !slices.ContainsFunc(real, re.MatchString) {
				problems = append(problems, fmt.Sprintf("%s: extract %s matches no line of %q the code logs", at, m[1], msgs))
			}
			covered[m[1]] = true
		}
		for _, c := range infracheck.BareBooleanComparisons(q) {
			problems = append(problems, at+": compares with a bare boolean: "+c)
		}
		for _, c := range infracheck.TraceColumnsBeyondMessage(q) {
			problems = append(problems, at+": reads a column the handler's console lines do not carry: "+c)
		}
		if strings.Contains(q, "requests") {
			if _, err := os.Stat(filepath.Join(root, "reconcile", "function.json")); err != nil || !strings.Contains(q, `operation_Name =~ "reconcile"`) {
				problems = append(problems, at+": reads requests of a function other than reconcile")
			}
			covered["requests:reconcile"] = true
			if strings.Contains(q, "duration") {
				covered["requests:duration"] = true
			}
		}
		if strings.Contains(q, "durationMs") && strings.Contains(q, "percentile(ms, 50)") && strings.Contains(q, "percentile(ms, 99)") {
			covered["latency p50/p99"] = true
		}
	}
	for _, want := range []string{"request", "event grid delivery", "reconciled", server.LogNotStored, ingest.LogWatched, reconcile.LogDrift,
		`"recovered":([0-9]+)`, `"reason":"([^"]*)"`, `"action":"([^"]*)"`, "requests:reconcile", "requests:duration", "latency p50/p99"} {
		if !covered[want] {
			problems = append(problems, "no panel shows "+want)
		}
	}
	return problems
}

func TestEveryWorkbookQueryReadsWhatTheHandlersLinesCarry(t *testing.T) {
	t.Parallel()
	lines := loggedLines(t)
	panels := infracheck.WorkbookPanels(parse(t, workbookBicep)[0])
	if len(panels) < 8 {
		t.Fatalf("%d panels found: the check is not reading workbook.bicep", len(panels))
	}
	for _, p := range workbookProblems(panels, lines) {
		t.Error(p)
	}
}

func TestTheWorkbookCheckFailsWhenAQueryDriftsFromTheLines(t *testing.T) {
	t.Parallel()
	lines := loggedLines(t)
	panels := infracheck.WorkbookPanels(parse(t, workbookBicep)[0])
	tests := []struct{ name, old, new, want string }{
		{"a renamed message", `'"msg":"event grid delivery"'`, `'"msg":"eventgrid delivery"'`, `"eventgrid delivery", a message the code does not log`},
		{"a field the line does not carry", `'"durationMs":([0-9.]+)'`, `'"duration":([0-9.]+)'`, `extract "duration":([0-9.]+) matches no line`},
		{"a count read as a string", `'"recovered":([0-9]+)'`, `'"recovered":"([0-9]+)"'`, `matches no line`},
		{"a path the handler does not serve", `'"path":"/images/push"'`, `'"path":"/webhook"'`, `looks for "path":"/webhook"`},
		{"the watch panel reading customDimensions", `| where message contains '"msg":"watched event"'`, `| where customDimensions.msg == "watched event"`, "customDimensions"},
		{"the drift panel gone", `'"msg":"webhook drift"'`, `'"msg":"watched event"'`, "no panel shows " + reconcile.LogDrift},
		{"the watched line's door under another name", `'"source":"([^"]*)"'`, `'"door":"([^"]*)"'`, "matches no line"},
		{"success as a bare boolean", `tostring(success) =~ "false"`, `success == false`, "bare boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			changed := slices.Clone(panels)
			n := 0
			for i := range changed {
				if strings.Contains(changed[i].Query, tt.old) {
					changed[i].Query = strings.ReplaceAll(changed[i].Query, tt.old, tt.new)
					n++
				}
			}
			if n == 0 {
				t.Fatalf("no panel has %s", tt.old)
			}
			problems := workbookProblems(changed, lines)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want one about %s", problems, tt.want)
			}
		})
	}
}

// workbookLinkProblems checks that main deploys the workbook on the
// Application Insights component, and that the workbook is linked to it
// (sourceId) and reads it when opened elsewhere (fallbackResourceIds).
func workbookLinkProblems(t *testing.T, main, workbook string) []string {
	t.Helper()
	files := parse(t, main, workbook)
	var problems []string
	passed := false
	for _, m := range infracheck.Modules(files[0]) {
		if filepath.Base(m.Path) == "workbook.bicep" && m.Args["componentId"] != nil {
			passed = files[0].Text(m.Args["componentId"]) == "monitoring.outputs.id"
		}
	}
	if !passed {
		problems = append(problems, "main.bicep does not deploy the workbook with componentId: monitoring.outputs.id")
	}
	rs, errs := infracheck.AllResources(files[1:])
	problems = append(problems, errs...)
	found := false
	for _, r := range rs {
		if !strings.EqualFold(r.Type, "Microsoft.Insights/workbooks") {
			continue
		}
		found = true
		f := r.File
		if n := infracheck.Lookup(f, r.Body, "properties", "sourceId"); n == nil || f.Text(n) != "componentId" {
			problems = append(problems, "the workbook is not linked to the component (sourceId: componentId)")
		}
		if n := infracheck.Lookup(f, r.Body, "kind"); n == nil || f.Text(n) != "'shared'" {
			problems = append(problems, "the workbook is not shared (kind: 'shared'): others in the resource group would not see it")
		}
		if !strings.Contains(f.Text(r.Body), "fallbackResourceIds") {
			problems = append(problems, "the workbook has no fallbackResourceIds: opened from the gallery, its queries have no component")
		}
	}
	if !found {
		problems = append(problems, "no Microsoft.Insights/workbooks resource")
	}
	return problems
}

func TestTheWorkbookIsDeployedOnTheApplicationInsightsComponent(t *testing.T) {
	t.Parallel()
	for _, p := range workbookLinkProblems(t, mainBicep, workbookBicep) {
		t.Error(p)
	}
	bad := brokenCopy(t, "modules/workbook.bicep", "    sourceId: componentId\n", "")
	if p := workbookLinkProblems(t, mainBicep, bad); !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, "sourceId") }) {
		t.Errorf("a workbook with no sourceId passed: %q", p)
	}
	bad = brokenCopy(t, "main.bicep", "    componentId: monitoring.outputs.id\n  }\n}\n\nmodule monitoringAccess", "    componentId: ''\n  }\n}\n\nmodule monitoringAccess")
	if p := workbookLinkProblems(t, bad, workbookBicep); !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, "does not deploy the workbook") }) {
		t.Errorf("a workbook on no component passed: %q", p)
	}
}
