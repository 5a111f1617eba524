package infracheck_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMain lets this test binary stand in for az's JMESPath (--query) and
// output formats when fakeRegionAz runs it, so that the region check is fed
// whole az answers, of the shape azure-cli's source gives them, rather than
// the few values the script picks out of them.
func TestMain(m *testing.M) {
	if os.Getenv("ACRSINK_FAKE_AZ_QUERY") != "" {
		os.Exit(fakeAzQuery(os.Args[1:], os.Getenv("FAKE_ANSWER")))
	}
	code := m.Run()
	if err := stopParser(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = max(code, 1)
	}
	os.Exit(code)
}

// fakeAzQuery prints answer (the JSON az would print with -o json and no
// --query) as az prints it for the given --query and -o. It knows the one
// query form the script uses, [].<field> (a projection: each array
// element's field, the elements without it left out, nothing at all when
// the answer is not an array), and tsv (one scalar a line; an object or
// array is printed as JSON here, which is not what az does, but is as
// unreadable to the script) and json.
func fakeAzQuery(args []string, answer string) int {
	var query, output string
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "--query":
			query = args[i+1]
		case "-o", "--output":
			output = args[i+1]
		}
	}
	var doc any
	if err := json.Unmarshal([]byte(answer), &doc); err != nil {
		fmt.Fprintln(os.Stderr, "fake az: FAKE_ANSWER is not JSON:", err)
		return 2
	}
	m := regexp.MustCompile(`^\[\]\.(\w+)$`).FindStringSubmatch(query)
	if m == nil {
		fmt.Fprintf(os.Stderr, "unexpected: az query %q\n", query)
		return 2
	}
	var result []any
	if list, ok := doc.([]any); ok {
		for _, item := range list {
			if obj, ok := item.(map[string]any); ok && obj[m[1]] != nil {
				result = append(result, obj[m[1]])
			}
		}
	}
	switch output {
	case "tsv":
		for _, v := range result {
			switch v := v.(type) {
			case string:
				fmt.Println(v)
			case float64, bool:
				fmt.Println(v)
			default:
				b, _ := json.Marshal(v)
				fmt.Println(string(b))
			}
		}
	case "json":
		b, _ := json.MarshalIndent(result, "", "  ")
		fmt.Println(string(b))
	default:
		fmt.Fprintf(os.Stderr, "unexpected: az output %q\n", output)
		return 2
	}
	return 0
}

// fakeRegionAz stands in for the Azure CLI's Flex Consumption listings:
// FAKE_LOCATIONS and FAKE_RUNTIMES are the JSON answers of the two
// commands (what -o json prints with no --query), which the test binary
// then queries as az would; FAKE_RUNTIMES_ERROR makes the runtimes listing
// fail with that message, FAKE_SIGNED_OUT makes az account show fail, and
// FAKE_AZ_NOTE makes every call print a warning on stderr, as az does when
// an update is available.
const fakeRegionAz = `#!/bin/sh
[ -z "${FAKE_AZ_NOTE:-}" ] || echo "WARNING: $FAKE_AZ_NOTE" >&2
case "$*" in
  "account show"*) [ -z "${FAKE_SIGNED_OUT:-}" ] || { echo "Please run 'az login' to setup account." >&2; exit 1; } ;;
  "functionapp list-flexconsumption-locations"*) FAKE_ANSWER="$FAKE_LOCATIONS" ACRSINK_FAKE_AZ_QUERY=1 exec "$FAKE_AZ_QUERY_BIN" "$@" ;;
  "functionapp list-flexconsumption-runtimes -l "*"--runtime custom"*)
    [ -z "${FAKE_RUNTIMES_ERROR:-}" ] || { echo "ERROR: $FAKE_RUNTIMES_ERROR" >&2; exit 1; }
    FAKE_ANSWER="$FAKE_RUNTIMES" ACRSINK_FAKE_AZ_QUERY=1 exec "$FAKE_AZ_QUERY_BIN" "$@" ;;
  *) echo "unexpected: az $*" >&2; exit 2 ;;
esac
`

// locations is list-flexconsumption-locations' answer as azure-cli builds
// it: [{'name': x} for x in regions], each name lower-case without spaces
// (custom.py, list_flexconsumption_locations).
func locations(names ...string) string {
	var out []map[string]string
	for _, n := range names {
		out = append(out, map[string]string{"name": n})
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// runtimes is list-flexconsumption-runtimes' answer as azure-cli builds it:
// list_flex_function_app_runtimes returns _FlexFunctionAppStackRuntimeHelper
// .Runtime objects (name, version, app_insights, default, sku,
// end_of_life_date, github_actions_properties), which az prints through
// knack's todict with camel-cased names; the sku is the stacks API's (its
// fields as azure-cli's own tests mock them). Only version matters to the
// script.
func runtimes(versions ...string) string {
	var out []map[string]any
	for i, v := range versions {
		out = append(out, map[string]any{
			"name": "custom", "version": v, "appInsights": true, "default": i == 0, "endOfLifeDate": nil,
			"githubActionsProperties": map[string]any{"isSupported": false, "supportedVersion": nil},
			"sku": map[string]any{
				"skuCode":                     "FC1",
				"instanceMemoryMB":            []any{map[string]any{"size": 2048, "isDefault": true}},
				"maximumInstanceCount":        map[string]any{"defaultValue": 100},
				"functionAppConfigProperties": map[string]any{"runtime": map[string]any{"name": "custom", "version": v}},
			},
		})
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	return string(b)
}

func TestTheRegionCheckStopsOnlyARegionAzSaysCannotRunAcrsink(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	withAz := t.TempDir()
	if err := os.WriteFile(filepath.Join(withAz, "az"), []byte(fakeRegionAz), 0o755); err != nil {
		t.Fatal(err)
	}
	// Only what the script needs besides az, so "no az" can be tested.
	tools := t.TempDir()
	for _, tool := range []string{"tr", "grep", "head", "cat", "rm"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(path, filepath.Join(tools, tool)); err != nil {
			t.Fatal(err)
		}
	}
	flex := "FAKE_LOCATIONS=" + locations("eastasia", "westeurope", "westus2")
	custom10 := "FAKE_RUNTIMES=" + runtimes("1.0")
	const notChecked, warned = "region not checked", "WARNING: region not checked"
	tests := []struct {
		name     string
		noAz     bool
		env      []string
		wantFail bool
		want     string
	}{
		// az's answers of the shape its source gives: a verdict.
		{"a region with custom 1.0 passes", false, []string{"AZURE_LOCATION=westeurope", flex, custom10}, false, "westeurope offers Flex Consumption with the custom handler runtime 1.0"},
		{"a display name is the same region", false, []string{"AZURE_LOCATION=West Europe", flex, custom10}, false, "westeurope offers"},
		{"az's warnings on stderr change nothing", false, []string{"AZURE_LOCATION=westeurope", flex, custom10, "FAKE_AZ_NOTE=You have 2 update(s) available."}, false, "westeurope offers"},
		{"a region listing 1.0 among others passes", false, []string{"AZURE_LOCATION=westus2", flex, "FAKE_RUNTIMES=" + runtimes("2.0", "1.0")}, false, "westus2 offers"},
		{"a region without Flex Consumption fails", false, []string{"AZURE_LOCATION=brazilsoutheast", flex}, true, "brazilsoutheast does not offer Flex Consumption"},
		{"a region that lists another custom version fails", false, []string{"AZURE_LOCATION=westus2", flex, "FAKE_RUNTIMES=" + runtimes("2.0")}, true, "lists: 2.0"},
		{"a region where az says custom is not supported fails", false, []string{"AZURE_LOCATION=westus2", flex, "FAKE_RUNTIMES_ERROR=Runtime 'custom' not supported for function apps on the Flex Consumption plan."}, true, "does not offer the custom handler runtime"},
		// Answers of another shape: a warning, and the deployment goes on.
		{"runtimes without a version field warn", false, []string{"AZURE_LOCATION=westeurope", flex, `FAKE_RUNTIMES=[{"runtime": "custom", "runtimeVersion": "1.0"}]`}, false, warned},
		{"runtimes as an object warn", false, []string{"AZURE_LOCATION=westeurope", flex, `FAKE_RUNTIMES={"custom": {"versions": ["1.0"]}}`}, false, warned},
		{"an empty runtime list, which az never answers, warns", false, []string{"AZURE_LOCATION=westeurope", flex, "FAKE_RUNTIMES=[]"}, false, warned},
		{"versions that are not version numbers warn", false, []string{"AZURE_LOCATION=westeurope", flex, `FAKE_RUNTIMES=[{"version": {"value": "1.0"}}]`}, false, warned},
		{"locations without a name field warn", false, []string{"AZURE_LOCATION=westeurope", `FAKE_LOCATIONS=[{"location": "westeurope"}]`, custom10}, false, warned},
		// No answer: not checked.
		{"another az failure is not a verdict", false, []string{"AZURE_LOCATION=westus2", flex, "FAKE_RUNTIMES_ERROR=connection reset"}, false, notChecked},
		{"no az is not a verdict", true, []string{"AZURE_LOCATION=westus2"}, false, "az is not installed"},
		{"signed out is not a verdict", false, []string{"AZURE_LOCATION=westus2", "FAKE_SIGNED_OUT=1"}, false, "az is not signed in"},
		{"no region yet is not a verdict", false, []string{flex}, false, "AZURE_LOCATION is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := tools
			if !tt.noAz {
				path = withAz + string(os.PathListSeparator) + tools
			}
			cmd := exec.Command(sh, filepath.Join(root, "infra", "scripts", "check-region.sh"))
			cmd.Env = append([]string{"PATH=" + path, "TMPDIR=" + t.TempDir(), "FAKE_AZ_QUERY_BIN=" + self}, tt.env...)
			out, err := cmd.CombinedOutput()
			if failed := err != nil; failed != tt.wantFail {
				t.Errorf("failed = %v (%v), want %v; output:\n%s", failed, err, tt.wantFail, out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("output %q, want it to say %q", out, tt.want)
			}
			if strings.Contains(string(out), "unexpected: az") {
				t.Errorf("the script called az in a way the stand-in does not know: %s", out)
			}
		})
	}
}
