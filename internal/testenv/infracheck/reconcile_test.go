package infracheck_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/testenv/functionshost"
	"github.com/acrsink/acrsink/internal/testenv/infracheck"
)

var functionAppBicep = filepath.Join(root, "infra", "modules", "functionapp.bicep")

// timerFunctions are the app's timer functions, the function folders at the
// repository root as the host reads them.
func timerFunctions(t *testing.T) []string {
	t.Helper()
	app, err := functionshost.LoadApp(root)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range app.Functions {
		if f.Timer() {
			out = append(out, f.Name)
		}
	}
	return out
}

func reconcileSwitchProblems(t *testing.T, main, app string) []string {
	t.Helper()
	files := parse(t, main, app)
	return infracheck.ReconcileSwitchProblems(files[0], files[1], timerFunctions(t))
}

func TestTheReconcilerIsSwitchedOffExactlyWhenThereIsNoWebhook(t *testing.T) {
	t.Parallel()
	if timers := timerFunctions(t); !slices.Contains(timers, "reconcile") {
		t.Fatalf("timer functions %q: no reconcile/", timers)
	}
	for _, p := range reconcileSwitchProblems(t, mainBicep, functionAppBicep) {
		t.Error(p)
	}
}

func TestTheReconcileSwitchCheckFailsOnBrokenInfra(t *testing.T) {
	t.Parallel()
	const setting = "name: 'AzureWebJobs.reconcile.Disabled'"
	const value = "value: empty(reconcileWebhooks) ? 'true' : 'false'"
	tests := []struct{ name, old, new, want string }{
		{"no switch", setting, "name: 'AzureWebJobs.reconciler.Disabled'", "sets no AzureWebJobs.reconcile.Disabled"},
		{"always on", value, "value: 'false'", `registry "": AzureWebJobs.reconcile.Disabled is "false"`},
		{"always off", value, "value: 'true'", `registry "myregistry": AzureWebJobs.reconcile.Disabled is "true"`},
		{"the other way round", value, "value: empty(reconcileWebhooks) ? 'false' : 'true'", "want \"true\""},
		{"from another parameter", value, "value: restrictInbound ? 'true' : 'false'", "restrictInbound has no value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			problems := reconcileSwitchProblems(t, mainBicep, brokenCopy(t, "modules/functionapp.bicep", tt.old, tt.new))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want one about %s", problems, tt.want)
			}
		})
	}
}

func TestTheReconcilerHoldsTheWebhooksToTheScopeAndActionsTheyWereGiven(t *testing.T) {
	t.Parallel()
	files := parse(t, mainBicep, functionAppBicep)
	for _, p := range infracheck.DriftExpectationProblems(files[0], files[1]) {
		t.Error(p)
	}
}

func TestTheDriftExpectationCheckFailsOnBrokenInfra(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, rel, old, new, want string }{
		{"the scope from another parameter", "main.bicep", "    webhookScope: webhookScope\n", "    webhookScope: ''\n", "passes webhookScope"},
		{"the actions not passed", "main.bicep", "    webhookActions: join(webhookActions, ',')\n", "", "passes webhookActions"},
		{"the app setting not from the parameter", "modules/functionapp.bicep", "name: 'ACRSINK_WEBHOOK_SCOPE'\n          value: webhookScope", "name: 'ACRSINK_WEBHOOK_SCOPE'\n          value: ''", `ACRSINK_WEBHOOK_SCOPE is "''"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			main, app := mainBicep, functionAppBicep
			if tt.rel == "main.bicep" {
				main = brokenCopy(t, tt.rel, tt.old, tt.new)
			} else {
				app = brokenCopy(t, tt.rel, tt.old, tt.new)
			}
			files := parse(t, main, app)
			problems := strings.Join(infracheck.DriftExpectationProblems(files[0], files[1]), "\n")
			if !strings.Contains(problems, tt.want) {
				t.Errorf("problems %q, want one saying %q", problems, tt.want)
			}
		})
	}
}
