package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/ingest"
	"github.com/acrsink/acrsink/internal/testenv/emulatortest"
	"github.com/acrsink/acrsink/internal/watch"
)

// reportNow is the clock of the report tests: noon on 2026-11-30 (UTC).
var reportNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// runReportAt runs acrsink report at reportNow.
func runReportAt(ctx context.Context, getenv func(string) string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	e := &env{getenv: getenv, stdout: &out, stderr: &errOut, now: func() time.Time { return reportNow }}
	err = e.run(ctx, append([]string{"acrsink", "report"}, args...))
	return out.String(), errOut.String(), err
}

// seedReport stores, through ingest.Event as the doors do, events of
// several days, actions, doors and regions, with the watch list prod/*.
func seedReport(t *testing.T) func(string) string {
	t.Helper()
	st, cfg := emulatortest.Container(t)
	list, err := watch.Parse("prod/*")
	if err != nil {
		t.Fatal(err)
	}
	w := &ingest.Watch{List: list}
	digest := "sha256:" + strings.Repeat("ab", 32)
	for _, ev := range []struct {
		id, action, repo, source, region, receivedAt string
	}{
		{"before-the-window", "push", "prod/api", document.SourceWebhook, "", "2026-11-27T23:59:59.9999999Z"},
		{"first-instant", "push", "prod/api", document.SourceWebhook, "eastus", "2026-11-28T00:00:00Z"},
		{"watched-delete", "delete", "prod/api", document.SourceWebhook, "eastus", "2026-11-28T10:00:00Z"},
		{"quarantine", "quarantine", "dev/x", document.SourceEventGrid, "", "2026-11-29T08:00:00Z"},
		{"watched-chart-delete", "chart_delete", "prod/chart", document.SourceReconcile, "westus2", "2026-11-30T09:30:00Z"},
		{"unwatched-delete", "delete", "dev/y", document.SourceReplay, "", "2026-11-30T11:00:00Z"},
		{"newest", "push", "prod/api", document.SourceReplay, "", "2026-11-30T11:59:59.5Z"},
	} {
		raw := fmt.Sprintf(`{"id":%q,"timestamp":"2026-11-01T00:00:00Z","action":%q,"target":{"repository":%q,"tag":"v1","digest":%q}}`, ev.id, ev.action, ev.repo, digest)
		e, err := acr.Parse([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		e.Region = ev.region
		at, _ := time.Parse(time.RFC3339, ev.receivedAt)
		if _, err := ingest.Event(context.Background(), st, w, e, ev.source, e.Raw, at); err != nil {
			t.Fatal(err)
		}
	}
	return envFor(cfg.CosmosDatabase, cfg.CosmosContainer)
}

func TestReportCountsEachDayByActionDoorAndRegionWithTheWatchedAndTheNewest(t *testing.T) {
	env := seedReport(t)
	out, errOut, err := runReportAt(context.Background(), env, "-days", "3")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	want := `events stored in %s per day (UTC, by receivedAt), 2026-11-28 to 2026-11-30

DAY         EVENTS  WATCHED  NEWEST
2026-11-28  2       1        10:00:00
2026-11-29  1       0        08:00:00
2026-11-30  3       1        11:59:59
total       6       2        2026-11-30T11:59:59.5000000Z

BY ACTION   push  delete  quarantine  chart_push  chart_delete
2026-11-28  1     1       0           0           0
2026-11-29  0     0       1           0           0
2026-11-30  1     1       0           0           1
total       2     2       1           0           1

BY DOOR     webhook  eventgrid  replay  reconcile
2026-11-28  2        0          0       0
2026-11-29  0        1          0       0
2026-11-30  0        0          2       1
total       2        1          2       1

BY REGION   eastus  westus2  none
2026-11-28  2       0        0
2026-11-29  0       0        1
2026-11-30  0       1        2
total       2       1        3

newest event: 2026-11-30T11:59:59.5000000Z (receivedAt: when acrsink stored it)
`
	if want = fmt.Sprintf(want, env("COSMOS_DATABASE")+"/"+env("COSMOS_CONTAINER")); out != want {
		t.Errorf("printed:\n%s\nwant:\n%s", out, want)
	}
	if errOut != "" {
		t.Errorf("stderr %q, want nothing (the event stored before the window is not read)", errOut)
	}
	ops, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	if example := strings.Replace(want, env("COSMOS_DATABASE")+"/"+env("COSMOS_CONTAINER"), "acr/pushes", 1); !strings.Contains(string(ops), "$ go run ./cmd/acrsink report -days 3\n"+example+"```") {
		t.Errorf("docs/operations.md's example is not what report prints:\n%s", example)
	}
}

func TestReportJSONCarriesTheSameNumbers(t *testing.T) {
	env := seedReport(t)
	out, errOut, err := runReportAt(context.Background(), env, "-json", "-days", "2")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	var got reportOut
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := `{"database":"%s","container":"%s","from":"2026-11-29","to":"2026-11-30","newestBy":"receivedAt","days":[` +
		`{"date":"2026-11-29","events":1,"watched":0,"byAction":{"chart_delete":0,"chart_push":0,"delete":0,"push":0,"quarantine":1},"bySource":{"eventgrid":1,"reconcile":0,"replay":0,"webhook":0},"byRegion":{"none":1},"newest":"2026-11-29T08:00:00.0000000Z"},` +
		`{"date":"2026-11-30","events":3,"watched":1,"byAction":{"chart_delete":1,"chart_push":0,"delete":1,"push":1,"quarantine":0},"bySource":{"eventgrid":0,"reconcile":1,"replay":2,"webhook":0},"byRegion":{"none":2,"westus2":1},"newest":"2026-11-30T11:59:59.5000000Z"}],` +
		`"total":{"events":4,"watched":1,"byAction":{"chart_delete":1,"chart_push":0,"delete":1,"push":1,"quarantine":1},"bySource":{"eventgrid":1,"reconcile":1,"replay":2,"webhook":0},"byRegion":{"none":3,"westus2":1},"newest":"2026-11-30T11:59:59.5000000Z"}}`
	want = fmt.Sprintf(want, env("COSMOS_DATABASE"), env("COSMOS_CONTAINER"))
	if compact, _ := json.Marshal(got); string(compact) != want {
		t.Errorf("printed:\n%s\nwant:\n%s", compact, want)
	}
	if !json.Valid([]byte(out)) || strings.Count(out, "\n{") != 0 {
		t.Errorf("want one JSON object:\n%s", out)
	}
}

func TestReportOnAnEmptyContainerPrintsZerosAndNoneAndSucceeds(t *testing.T) {
	_, cfg := emulatortest.Container(t)
	env := envFor(cfg.CosmosDatabase, cfg.CosmosContainer)
	out, errOut, err := runReportAt(context.Background(), env, "-days", "1")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	for _, want := range []string{
		"2026-11-30  0       0        none\ntotal       0       0        none\n",
		"BY ACTION   push  delete  quarantine  chart_push  chart_delete\n2026-11-30  0     0       0           0           0\n",
		"BY DOOR     webhook  eventgrid  replay  reconcile\n2026-11-30  0        0          0       0\n",
		"BY REGION   none\n2026-11-30  0\ntotal       0\n",
		"newest event: none ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("printed:\n%s\nwant it to hold:\n%s", out, want)
		}
	}
	out, _, err = runReportAt(context.Background(), env, "-json")
	if err != nil || !strings.Contains(out, `"newest": null`) || strings.Count(out, `"events": 0`) != 8 {
		t.Errorf("err %v, -json printed:\n%s\nwant 7 days and the total at 0 events, newest null", err, out)
	}
}

func TestReportOnAMissingContainerIsOneLineAndPrintsNothing(t *testing.T) {
	env := envFor("no-such-database", "no-such-container")
	for _, args := range [][]string{nil, {"-json"}} {
		t.Run(strings.Join(append([]string{"report"}, args...), " "), func(t *testing.T) {
			out, _, err := runReportAt(context.Background(), env, args...)
			if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "no-such-database/no-such-container is not there (404)") {
				t.Errorf("err %v, want one line naming the container and its status", err)
			}
			if out != "" {
				t.Errorf("printed a report it did not get:\n%s", out)
			}
		})
	}
}

func TestAReportCutShortByCtrlCPrintsNothingAndSaysSo(t *testing.T) {
	env := seedReport(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, errOut, err := runReportAt(ctx, env)
	if !errors.Is(err, errInterrupted) || out != "" || !strings.Contains(errOut, "interrupted; nothing is reported") {
		t.Errorf("err %v, stdout %q, stderr %q; want an interruption, said, and no report", err, out, errOut)
	}
}
