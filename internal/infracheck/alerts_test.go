package infracheck_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/reconcile"
	"github.com/acrsink/acrsink/internal/server"
)

// alertProblems checks that the alert's query looks for what the code
// logs and for failed runs of the function the app has.
func alertProblems(t *testing.T, path string) []string {
	t.Helper()
	f := parse(t, path)[0]
	var query string
	for _, n := range f.Root.Children {
		if n.Type == "variable_declaration" && len(n.Children) == 2 && f.Text(n.Children[0]) == "query" {
			query = f.Text(n.Children[1])
		}
	}
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
	return problems
}

func TestTheAlertWatchesWhatTheCodeLogs(t *testing.T) {
	for _, p := range alertProblems(t, filepath.Join(root, "infra", "modules", "alerts.bicep")) {
		t.Error(p)
	}
}

func TestTheAlertCheckFailsWhenTheyDrift(t *testing.T) {
	tests := []struct{ name, old, new, want string }{
		{"a renamed log message", `message has "event not stored"`, `message has "event lost"`, "event not stored"},
		{"the reconcile failures left out", ` or message has "reconcile failed"`, "", "reconcile failed"},
		{"another function's runs", `operation_Name =~ "reconcile"`, `operation_Name =~ "webhook"`, "failed runs of the reconcile function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := alertProblems(t, brokenCopy(t, "modules/alerts.bicep", tt.old, tt.new))
			found := false
			for _, p := range problems {
				found = found || strings.Contains(p, tt.want)
			}
			if !found {
				t.Errorf("problems %q, want one about %s", problems, tt.want)
			}
		})
	}
}
