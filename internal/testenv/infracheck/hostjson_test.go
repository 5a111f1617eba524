package infracheck_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/testenv/infracheck"
)

// The sources are in infracheck.SamplingProblems: host.json takes no
// comments here, because acrsink's own Go readers of it would refuse them.

func TestHostJSONNeverSamplesAwayTheAlertsEvidence(t *testing.T) {
	t.Parallel()
	for _, p := range infracheck.SamplingProblems([]byte(repoFile(t, "host.json"))) {
		t.Error(p)
	}
}

func TestTheSamplingCheckFailsWhenTracesOrRequestsCanBeSampled(t *testing.T) {
	t.Parallel()
	host := repoFile(t, "host.json")
	const excluded = `"excludedTypes": "Request;Trace"`
	if !strings.Contains(host, excluded) {
		t.Fatalf("host.json has no %s", excluded)
	}
	tests := []struct{ name, host, want string }{
		{"no sampling settings (the host's default)", `{"version": "2.0", "logging": {"logLevel": {"default": "Information"}}}`, "sets no logging.applicationInsights.samplingSettings"},
		{"traces sampled", strings.Replace(host, excluded, `"excludedTypes": "Request"`, 1), "samples Trace telemetry"},
		{"requests sampled", strings.Replace(host, excluded, `"excludedTypes": "Trace;Exception"`, 1), "samples Request telemetry"},
		{"nothing excluded", strings.Replace(host, excluded, `"maxTelemetryItemsPerSecond": 20`, 1), "samples Request telemetry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			problems := infracheck.SamplingProblems([]byte(tt.host))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want one saying %q", problems, tt.want)
			}
		})
	}
}

func TestTheSamplingCheckTakesEveryWayTheHostLeavesThemUnsampled(t *testing.T) {
	t.Parallel()
	for _, host := range []string{
		`{"logging": {"applicationInsights": {"samplingSettings": {"isEnabled": false}}}}`,
		`{"logging": {"applicationInsights": {"samplingSettings": {"isEnabled": "false", "excludedTypes": "Event"}}}}`,
		`{"logging": {"applicationInsights": {"samplingSettings": {"excludedTypes": "Exception; trace ;REQUEST"}}}}`,
		`{"Logging": {"ApplicationInsights": {"SamplingSettings": {"ExcludedTypes": "Request;Trace"}}}}`,
	} {
		if problems := infracheck.SamplingProblems([]byte(host)); len(problems) > 0 {
			t.Errorf("%s: %q", host, problems)
		}
	}
}
