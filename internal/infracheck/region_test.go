package infracheck_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeRegionAz stands in for the Azure CLI's Flex Consumption listings:
// FAKE_REGIONS and FAKE_VERSIONS are what the two commands print (tsv),
// FAKE_RUNTIMES_ERROR makes the runtimes listing fail with that message,
// FAKE_SIGNED_OUT makes az account show fail.
const fakeRegionAz = `#!/bin/sh
case "$*" in
  "account show"*) [ -z "${FAKE_SIGNED_OUT:-}" ] || { echo "Please run 'az login' to setup account." >&2; exit 1; } ;;
  "functionapp list-flexconsumption-locations"*) printf '%s\n' $FAKE_REGIONS ;;
  "functionapp list-flexconsumption-runtimes -l "*"--runtime custom"*)
    [ -z "${FAKE_RUNTIMES_ERROR:-}" ] || { echo "ERROR: $FAKE_RUNTIMES_ERROR" >&2; exit 1; }
    printf '%s\n' $FAKE_VERSIONS ;;
  *) echo "unexpected: az $*" >&2; exit 2 ;;
esac
`

func TestTheRegionCheckStopsOnlyARegionThatCannotRunAcrsink(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	withAz := t.TempDir()
	if err := os.WriteFile(filepath.Join(withAz, "az"), []byte(fakeRegionAz), 0o755); err != nil {
		t.Fatal(err)
	}
	// Only what the script needs besides az, so "no az" can be tested.
	tools := t.TempDir()
	for _, tool := range []string{"tr", "grep", "head", "cat"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(path, filepath.Join(tools, tool)); err != nil {
			t.Fatal(err)
		}
	}
	flex := "eastasia westeurope westus2"
	tests := []struct {
		name     string
		noAz     bool
		env      []string
		wantFail bool
		want     string
	}{
		{"a region with custom 1.0 passes", false, []string{"AZURE_LOCATION=westeurope", "FAKE_REGIONS=" + flex, "FAKE_VERSIONS=1.0"}, false, "westeurope offers Flex Consumption with the custom handler runtime 1.0"},
		{"a display name is the same region", false, []string{"AZURE_LOCATION=West Europe", "FAKE_REGIONS=" + flex, "FAKE_VERSIONS=1.0"}, false, "westeurope offers"},
		{"a region without Flex Consumption fails", false, []string{"AZURE_LOCATION=brazilsoutheast", "FAKE_REGIONS=" + flex}, true, "brazilsoutheast does not offer Flex Consumption"},
		{"a region that lists no custom runtime fails", false, []string{"AZURE_LOCATION=westus2", "FAKE_REGIONS=" + flex, "FAKE_VERSIONS="}, true, "lists: none"},
		{"a region that lists another custom version fails", false, []string{"AZURE_LOCATION=westus2", "FAKE_REGIONS=" + flex, "FAKE_VERSIONS=2.0"}, true, "lists: 2.0"},
		{"a region where az says custom is not supported fails", false, []string{"AZURE_LOCATION=westus2", "FAKE_REGIONS=" + flex, "FAKE_RUNTIMES_ERROR=Runtime 'custom' not supported for function apps on the Flex Consumption plan."}, true, "does not offer the custom handler runtime"},
		{"another az failure is not a verdict", false, []string{"AZURE_LOCATION=westus2", "FAKE_REGIONS=" + flex, "FAKE_RUNTIMES_ERROR=connection reset"}, false, "region not checked"},
		{"no az is not a verdict", true, []string{"AZURE_LOCATION=westus2"}, false, "az is not installed"},
		{"signed out is not a verdict", false, []string{"AZURE_LOCATION=westus2", "FAKE_SIGNED_OUT=1"}, false, "az is not signed in"},
		{"no region yet is not a verdict", false, []string{"FAKE_REGIONS=" + flex}, false, "AZURE_LOCATION is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tools
			if !tt.noAz {
				path = withAz + string(os.PathListSeparator) + tools
			}
			cmd := exec.Command(sh, filepath.Join(root, "infra", "scripts", "check-region.sh"))
			cmd.Env = append([]string{"PATH=" + path}, tt.env...)
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
