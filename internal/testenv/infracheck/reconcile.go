package infracheck

import (
	"fmt"
	"maps"
	"path/filepath"
	"strings"
)

// ReconcileSwitchProblems checks that each timer function (the folder names
// in timers, reconcile/ among them) is switched off exactly when the app has
// no webhook to reconcile: main.bicep evaluated for no registry and for one,
// the function app's ACRSINK_RECONCILE_WEBHOOKS must be the webhooks main
// passes, and its AzureWebJobs.<timer>.Disabled setting "true" when that
// list is empty and "false" otherwise. An idle timer is not free: on Flex
// Consumption each non-HTTP function scales in its own instance group and
// each execution bills at least 1,000 ms (learn.microsoft.com,
// flex-consumption-plan); AzureWebJobs.<FUNCTION_NAME>.Disabled set to true
// is how Azure Functions documents disabling one function
// (learn.microsoft.com, disable-function), FUNCTION_NAME being the
// function's folder.
func ReconcileSwitchProblems(main, app *File, timers []string) []string {
	call := moduleCall(main, filepath.Base(app.Path))
	if call == nil {
		return []string{main.Path + ": no function app module"}
	}
	if len(timers) == 0 {
		return []string{"no timer function to check: the check is not reading the function folders"}
	}
	webhooksSetting := AppSettingValue(app, "ACRSINK_RECONCILE_WEBHOOKS")
	if webhooksSetting == nil {
		return []string{app.Path + ": sets no ACRSINK_RECONCILE_WEBHOOKS"}
	}
	var problems []string
	switches := map[string]*Node{}
	for _, timer := range timers {
		name := "AzureWebJobs." + timer + ".Disabled"
		if switches[timer] = AppSettingValue(app, name); switches[timer] == nil {
			problems = append(problems, fmt.Sprintf("%s sets no %s: the %s timer fires on schedule whether or not there is anything to reconcile", app.Path, name, timer))
		}
	}
	for _, registry := range []string{"", "myregistry"} {
		env := Env{"webhookRegions": "", "registryName": registry}
		maps.Copy(env, Deployment)
		passed, err := evalString(main, call.Args["reconcileWebhooks"], env)
		if err != nil {
			return append(problems, fmt.Sprintf("%s:%d: module %s, reconcileWebhooks: %v", main.Path, call.Row, call.Symbol, err))
		}
		appEnv := Env{"reconcileWebhooks": passed}
		set, err := evalString(app, webhooksSetting, appEnv)
		if err != nil || set != passed {
			problems = append(problems, fmt.Sprintf("%s: ACRSINK_RECONCILE_WEBHOOKS is %q (%v), not the reconcileWebhooks main.bicep passes (%q)", app.Path, set, err, passed))
		}
		want := "false"
		if passed == "" {
			want = "true"
		}
		for _, timer := range timers {
			name := "AzureWebJobs." + timer + ".Disabled"
			n := switches[timer]
			if n == nil {
				continue
			}
			got, err := evalString(app, n, appEnv)
			switch {
			case err != nil:
				problems = append(problems, fmt.Sprintf("%s: %s: %v", app.Path, name, err))
			case !strings.EqualFold(got, want):
				problems = append(problems, fmt.Sprintf("registry %q: %s is %q with ACRSINK_RECONCILE_WEBHOOKS %q, want %q", registry, name, got, passed, want))
			}
		}
	}
	return problems
}

// AppSettingValue is the value node of the app setting name in any
// appSettings array of f, or nil.
func AppSettingValue(f *File, name string) *Node {
	var found *Node
	for _, arr := range appSettingArrays(f) {
		if arr.Type != "array" {
			continue
		}
		for _, item := range arr.Children {
			if item.Type != "object" {
				continue
			}
			if k := Lookup(f, item, "name"); k != nil && f.Text(k) == "'"+name+"'" {
				found = Lookup(f, item, "value")
			}
		}
	}
	return found
}

// DriftExpectationProblems checks that what the reconciler holds each
// webhook to is what the webhooks were given: main.bicep passes the
// function app the same parameter as the webhook module's scope, and the
// webhook module's actions joined with commas, and the app sets
// ACRSINK_WEBHOOK_SCOPE and ACRSINK_WEBHOOK_ACTIONS from them. Otherwise a
// deployment that narrowed its webhooks on purpose would be told of drift
// on every run, and its drift alert would never close.
func DriftExpectationProblems(main, app *File) []string {
	appCall, hookCall := moduleCall(main, filepath.Base(app.Path)), moduleCall(main, "webhook.bicep")
	if appCall == nil || hookCall == nil {
		return []string{main.Path + ": no function app or webhook module"}
	}
	text := func(f *File, n *Node) string {
		if n == nil {
			return ""
		}
		return f.Text(n)
	}
	var problems []string
	for _, c := range []struct{ setting, appParam, want string }{
		{"ACRSINK_WEBHOOK_SCOPE", "webhookScope", text(main, hookCall.Args["scope"])},
		{"ACRSINK_WEBHOOK_ACTIONS", "webhookActions", "join(" + text(main, hookCall.Args["actions"]) + ", ',')"},
	} {
		if got := text(main, appCall.Args[c.appParam]); got != c.want || c.want == "" {
			problems = append(problems, fmt.Sprintf("%s:%d: module %s passes %s: %q, not %q, what the webhooks are given", main.Path, appCall.Row, appCall.Symbol, c.appParam, got, c.want))
		}
		if got := text(app, AppSettingValue(app, c.setting)); got != c.appParam {
			problems = append(problems, fmt.Sprintf("%s: %s is %q, not the %s parameter", app.Path, c.setting, got, c.appParam))
		}
	}
	return problems
}
