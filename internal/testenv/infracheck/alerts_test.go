package infracheck_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/ingest"
	"github.com/acrsink/acrsink/internal/reconcile"
	"github.com/acrsink/acrsink/internal/server"
	"github.com/acrsink/acrsink/internal/testenv/infracheck"
)

// alertQuery is the text of alerts.bicep's query variable.
func alertQuery(t *testing.T, path string) string {
	t.Helper()
	return bicepVar(t, path, "query")
}

// bicepVar is the text of the value of a variable of the Bicep file at
// path, or "".
func bicepVar(t *testing.T, path, name string) string {
	t.Helper()
	f := parse(t, path)[0]
	if n := infracheck.Variable(f, name); n != nil {
		return f.Text(n)
	}
	return ""
}

// messageAlerts are the alerts that each read one line the code logs, by
// the variable that holds the query: the message is the constant the code
// logs it under.
var messageAlerts = []struct{ variable, message string }{
	{"watchedQuery", ingest.LogWatched},
	{"driftQuery", reconcile.LogDrift},
}

// alertRuleProblems checks the alerts beyond the first: each query reads
// the handler's traces for exactly the message the code logs, by message
// alone; each query is used by a scheduled query rule of its own; and the
// rules have a severity each, so an operator can route them apart.
func alertRuleProblems(t *testing.T, path string) []string {
	t.Helper()
	var problems []string
	for _, a := range messageAlerts {
		q := strings.Join(strings.Fields(strings.Trim(bicepVar(t, path, a.variable), "'")), " ")
		if want := `traces | where message has "` + a.message + `"`; q != want {
			problems = append(problems, fmt.Sprintf("%s is %q, want %q: the line the code logs as %s", a.variable, q, want, a.message))
		}
		for _, c := range infracheck.BareBooleanComparisons(q) {
			problems = append(problems, a.variable+" compares with a bare boolean: "+c)
		}
		for _, c := range infracheck.TraceColumnsBeyondMessage(q) {
			problems = append(problems, a.variable+" reads a column the handler's console lines do not carry: "+c)
		}
	}
	f := parse(t, path)[0]
	rs, errs := infracheck.AllResources([]*infracheck.File{f})
	problems = append(problems, errs...)
	used := map[string]string{}     // query variable → rule
	severity := map[string]string{} // severity → rule
	for _, r := range rs {
		if !strings.EqualFold(r.Type, "Microsoft.Insights/scheduledQueryRules") {
			continue
		}
		crit := infracheck.Lookup(f, r.Body, "properties", "criteria", "allOf")
		if crit == nil || crit.Type != "array" || len(crit.Children) != 1 {
			problems = append(problems, r.Symbol+": want one criterion")
			continue
		}
		q := infracheck.Lookup(f, crit.Children[0], "query")
		if q == nil {
			problems = append(problems, r.Symbol+": no query")
			continue
		}
		if other, ok := used[f.Text(q)]; ok {
			problems = append(problems, fmt.Sprintf("%s and %s both alert on %s", other, r.Symbol, f.Text(q)))
		}
		used[f.Text(q)] = r.Symbol
		sev := infracheck.Lookup(f, r.Body, "properties", "severity")
		if sev == nil {
			problems = append(problems, r.Symbol+": no severity")
		} else if other, ok := severity[f.Text(sev)]; ok {
			problems = append(problems, fmt.Sprintf("%s and %s share severity %s: give each its own", other, r.Symbol, f.Text(sev)))
		} else {
			severity[f.Text(sev)] = r.Symbol
		}
	}
	for _, v := range []string{"query", messageAlerts[0].variable, messageAlerts[1].variable} {
		if _, ok := used[v]; !ok {
			problems = append(problems, "no alert rule queries "+v)
		}
	}
	return problems
}

func TestTheWatchAndDriftAlertsReadTheLinesTheCodeLogs(t *testing.T) {
	t.Parallel()
	for _, p := range alertRuleProblems(t, filepath.Join(root, "infra", "modules", "alerts.bicep")) {
		t.Error(p)
	}
}

func TestTheWatchAndDriftAlertCheckFailsWhenTheyDrift(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, old, new, want string }{
		{"a renamed watch message", `message has "watched event"`, `message has "watch matched"`, "the line the code logs as " + ingest.LogWatched},
		{"a renamed drift message", `message has "webhook drift"`, `message has "drift"`, "the line the code logs as " + reconcile.LogDrift},
		{"the watch read from customDimensions", `traces | where message has "watched event"`, `traces | where customDimensions.msg == "watched event"`, "customDimensions"},
		{"the drift alert left out", "query: driftQuery", "query: query", "no alert rule queries driftQuery"},
		{"two alerts of one severity", "severity: 1", "severity: 2", "share severity 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			problems := alertRuleProblems(t, brokenCopy(t, "modules/alerts.bicep", tt.old, tt.new))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want one about %s", problems, tt.want)
			}
		})
	}
}

// alertProblems checks that the alert's query looks for what the code
// logs and for failed runs of the function the app has, and relies only on
// what Application Insights holds for a custom handler (infracheck's KQL
// rules, with their sources).
func alertProblems(t *testing.T, path string) []string {
	t.Helper()
	query := alertQuery(t, path)
	if query == "" {
		return []string{"alerts.bicep has no query variable"}
	}
	var problems []string
	for _, msg := range []string{server.LogNotStored, reconcile.LogFailed} {
		if !strings.Contains(query, `message has "`+msg+`"`) {
			problems = append(problems, "the alert does not look for the log message "+msg)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "reconcile", "function.json")); err != nil || !strings.Contains(query, `operation_Name =~ "reconcile"`) {
		problems = append(problems, "the alert does not watch failed runs of the reconcile function")
	}
	if !strings.Contains(query, `tostring(success) =~ "false"`) {
		problems = append(problems, `the alert does not pick failed runs by tostring(success) =~ "false", which holds whether success is a string or a bool`)
	}
	for _, c := range infracheck.BareBooleanComparisons(query) {
		problems = append(problems, "the alert compares with a bare boolean: "+c)
	}
	for _, c := range infracheck.TraceColumnsBeyondMessage(query) {
		problems = append(problems, "the alert reads a column the handler's console lines do not carry: "+c)
	}
	return problems
}

func TestTheAlertWatchesWhatTheCodeLogs(t *testing.T) {
	t.Parallel()
	for _, p := range alertProblems(t, filepath.Join(root, "infra", "modules", "alerts.bicep")) {
		t.Error(p)
	}
}

func TestTheAlertCheckFailsWhenTheyDrift(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, old, new, want string }{
		{"a renamed log message", `message has "event not stored"`, `message has "event lost"`, "event not stored"},
		{"the reconcile failures left out", ` or message has "reconcile failed"`, "", "reconcile failed"},
		{"another function's runs", `operation_Name =~ "reconcile"`, `operation_Name =~ "webhook"`, "failed runs of the reconcile function"},
		{"success as a bare boolean", `tostring(success) =~ "false"`, `success == false`, "bare boolean: == false"},
		{"the handler's level read from severityLevel", `(traces | where message has "event not stored"`, `(traces | where severityLevel >= 3 and message has "event not stored"`, "severityLevel"},
		{"the JSON read from customDimensions", `or message has "reconcile failed"),`, `or customDimensions.msg == "reconcile failed"),`, "customDimensions"},
		{"the function's name read from a trace", `(traces | where message has`, `(traces | where operation_Name =~ "reconcile" or message has`, "operation_Name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			problems := alertProblems(t, brokenCopy(t, "modules/alerts.bicep", tt.old, tt.new))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want one about %s", problems, tt.want)
			}
		})
	}
}

// queryProblems applies the KQL rules to every string of the Bicep files
// (a bare boolean comparison has no business in any Bicep string, KQL or
// not) and to every kusto block of the docs.
func queryProblems(t *testing.T, readme string, files ...string) []string {
	t.Helper()
	var problems []string
	for _, f := range parse(t, files...) {
		for _, s := range infracheck.Strings(f) {
			for _, c := range infracheck.BareBooleanComparisons(s.Text) {
				problems = append(problems, f.Path+":"+strconv.Itoa(s.Row)+": compares with a bare boolean: "+c)
			}
		}
	}
	for _, block := range infracheck.MarkdownBlocks(readme, "kusto") {
		for _, c := range infracheck.BareBooleanComparisons(block) {
			problems = append(problems, "docs: a kusto block compares with a bare boolean: "+c)
		}
		for _, c := range infracheck.TraceColumnsBeyondMessage(block) {
			problems = append(problems, "docs: a kusto block reads a column the handler's console lines do not carry: "+c)
		}
	}
	return problems
}

// allDocs is README.md and every page of docs/, one after another: the
// rules hold for every query a user may paste from any of them.
func allDocs(t *testing.T) string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no page in docs/: %v", err)
	}
	text := repoFile(t, "README.md")
	for _, p := range pages {
		text += "\n" + repoFile(t, filepath.Join("docs", filepath.Base(p)))
	}
	return text
}

func TestNoQueryComparesAColumnToABareBooleanOrReadsWhatTracesLack(t *testing.T) {
	t.Parallel()
	readme := allDocs(t)
	if len(infracheck.MarkdownBlocks(readme, "kusto")) == 0 {
		t.Error("the docs have no kusto block: the check is not reading them")
	}
	for _, p := range queryProblems(t, readme, bicepFiles(t)...) {
		t.Error(p)
	}
}

func TestTheQueryCheckFailsOnABareBooleanAnywhere(t *testing.T) {
	t.Parallel()
	readme := allDocs(t)
	tests := []struct{ name, readme, file, want string }{
		{"in the alert", readme, brokenCopy(t, "modules/alerts.bicep", `tostring(success) =~ "false"`, `success == false`), "alerts.bicep"},
		{"in a docs query", readme + "\n```kusto\nrequests | where false != success\n```\n", filepath.Join(root, "infra", "modules", "alerts.bicep"), "false !="},
		{"a docs query reading customDimensions from traces", readme + "\n```kusto\ntraces | where customDimensions.Category == \"Host.Function.Console\"\n```\n", filepath.Join(root, "infra", "modules", "alerts.bicep"), "customDimensions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			problems := queryProblems(t, tt.readme, tt.file)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want one about %s", problems, tt.want)
			}
		})
	}
}

func TestTheKQLRules(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{
		`requests | where tostring(success) =~ "false"`,
		`traces | where message has "event not stored"`,
		`union (traces | where message has "x"), (requests | where operation_Name =~ "reconcile")`,
		`requests | where operation_Name =~ "reconcile" | project customDimensions`,
	} {
		if b, c := infracheck.BareBooleanComparisons(ok), infracheck.TraceColumnsBeyondMessage(ok); len(b)+len(c) > 0 {
			t.Errorf("%s: refused (%q, %q)", ok, b, c)
		}
	}
	for _, bad := range []string{
		`requests | where success == false`,
		`requests | where success==True`,
		`requests | where true == success`,
	} {
		if len(infracheck.BareBooleanComparisons(bad)) == 0 {
			t.Errorf("%s: no bare boolean found", bad)
		}
	}
	for _, bad := range []string{
		`traces | where severityLevel >= 3`,
		`union (requests | where x), (traces | where customDimensions.LogLevel == "Error")`,
		"traces\n| where operation_Name == \"reconcile\"",
	} {
		if len(infracheck.TraceColumnsBeyondMessage(bad)) == 0 {
			t.Errorf("%s: no column beyond message found", bad)
		}
	}
}

// readmeAlertProblems checks that docs/operations.md's "Logs, sampling and the
// alert" shows the alert's query as alerts.bicep has it and says how the
// handler's lines reach Application Insights.
func readmeAlertProblems(readme, query string) []string {
	_, section, ok := strings.Cut(readme, "\n### Logs, sampling and the alert\n")
	if !ok {
		return []string{`docs/operations.md has no "### Logs, sampling and the alert" section`}
	}
	section, _, _ = strings.Cut(section, "\n### ")
	var problems []string
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	q := norm(strings.Trim(query, "'"))
	if !slices.ContainsFunc(infracheck.MarkdownBlocks(section, "kusto"), func(b string) bool { return norm(b) == q }) {
		problems = append(problems, "docs/operations.md does not show the alert's query as alerts.bicep has it:\n"+q)
	}
	for _, fact := range []string{"Host.Function.Console", "Information", "`message`", "`customDimensions`", "no operation name", `tostring(success) =~ "false"`, "excludedTypes"} {
		if !strings.Contains(section, fact) {
			problems = append(problems, "docs/operations.md's Logs section does not say "+fact)
		}
	}
	return problems
}

func TestTheOperationsPageShowsTheAlertAndWhatTheHandlersTracesHold(t *testing.T) {
	t.Parallel()
	readme := repoFile(t, "docs/operations.md")
	for _, p := range readmeAlertProblems(readme, alertQuery(t, filepath.Join(root, "infra", "modules", "alerts.bicep"))) {
		t.Error(p)
	}
}

func TestTheOperationsPageAlertCheckFailsWhenTheyDrift(t *testing.T) {
	t.Parallel()
	readme := repoFile(t, "docs/operations.md")
	query := alertQuery(t, filepath.Join(root, "infra", "modules", "alerts.bicep"))
	if p := readmeAlertProblems(readme, strings.Replace(query, `=~ "false"`, `== "False"`, 1)); len(p) == 0 {
		t.Error("a changed alert query passed against docs/operations.md's copy")
	}
	if p := readmeAlertProblems(strings.Replace(readme, "Host.Function.Console", "Function.reconcile", -1), query); len(p) == 0 {
		t.Error("a page that does not name the console category passed")
	}
}
