package infracheck

import (
	"encoding/json"
	"fmt"
	"strings"
)

// host.json is JSON without comments: the Functions host would skip them
// (HostJsonFileConfigurationSource reads it with Newtonsoft's
// JObject.Parse), but acrsink's own readers of host.json (internal/pack,
// internal/testenv/functionshost) use encoding/json, which refuses them. So the
// sources of the sampling settings live here and in docs/operations.md ("Logs,
// sampling and the alert"), not in host.json.

// SamplingProblems checks that host.json never lets Application Insights
// sample away a request or a trace: the evidence the alert counts
// (infra/modules/alerts.bicep) is the handler's log lines, which reach
// Application Insights as traces, and the reconcile function's failed runs,
// which are requests.
//
// The Functions host turns adaptive sampling on unless host.json says
// otherwise: ApplicationInsightsLoggerOptionsSetup (azure-functions-host,
// src/WebJobs.Script/Config) reads logging.applicationInsights.
// samplingSettings.isEnabled with a default of true and then uses the
// default sampling settings, 20 items per second with no excluded types
// (REFERENCE.md §7); the custom handler docs say "If your app produces a
// high volume of logs, only a subset of log messages are sent to
// Application Insights. Disable sampling to ensure all messages are
// logged." The host.json reference (learn.microsoft.com,
// functions-host-json, applicationInsights.samplingSettings) names the two
// ways out: isEnabled false, or excludedTypes, a semicolon-separated list of
// telemetry types that are never sampled (Request and Trace among them).
// The host binds host.json through .NET configuration, which matches keys
// without regard to case, and so does this check.
func SamplingProblems(hostJSON []byte) []string {
	var doc map[string]any
	if err := json.Unmarshal(hostJSON, &doc); err != nil {
		return []string{"host.json: " + err.Error()}
	}
	settings, ok := lookupFold(doc, "logging", "applicationInsights", "samplingSettings").(map[string]any)
	if !ok {
		return []string{"host.json sets no logging.applicationInsights.samplingSettings: the Functions host then samples Application Insights telemetry (20 items per second, no type excluded), and the alert's traces and requests can be dropped in a burst"}
	}
	if enabled, set := getFold(settings, "isEnabled"); set && strings.EqualFold(fmt.Sprint(enabled), "false") {
		return nil // no sampling at all
	}
	excluded, _ := getFold(settings, "excludedTypes")
	list, _ := excluded.(string)
	var problems []string
	for _, want := range []string{"Request", "Trace"} {
		found := false
		for _, t := range strings.Split(list, ";") {
			found = found || strings.EqualFold(strings.TrimSpace(t), want)
		}
		if !found {
			problems = append(problems, fmt.Sprintf("host.json samples %s telemetry (samplingSettings.excludedTypes %q lacks %s, and isEnabled is not false): the alert's evidence can be dropped", want, list, want))
		}
	}
	return problems
}

// lookupFold follows path through nested objects, keys compared without
// case; nil when a step is missing.
func lookupFold(v any, path ...string) any {
	for _, key := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		if v, ok = getFold(m, key); !ok {
			return nil
		}
	}
	return v
}

func getFold(m map[string]any, key string) (any, bool) {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}
