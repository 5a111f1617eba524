package docs

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFuncStartAsDocumentedHasItsStorage holds what Core Tools needs to
// start this app (azure-functions-core-tools, StartHostAction: with a
// trigger other than HTTP, an empty AzureWebJobsStorage stops func start):
// the sample names storage, and the documented block starts that storage
// before func start and says how to stop what it put in the background.
func TestFuncStartAsDocumentedHasItsStorage(t *testing.T) {
	fns, _ := filepath.Glob("../*/function.json")
	timer := false
	for _, f := range fns {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var fn struct{ Bindings []struct{ Type string } }
		if err := json.Unmarshal(b, &fn); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, b := range fn.Bindings {
			timer = timer || b.Type == "timerTrigger"
		}
	}
	if !timer {
		t.Skip("no timer function: func start needs no storage")
	}
	b, err := os.ReadFile("../local.settings.sample.json")
	if err != nil {
		t.Fatal(err)
	}
	var sample struct{ Values map[string]string }
	if err := json.Unmarshal(b, &sample); err != nil {
		t.Fatal(err)
	}
	if got := sample.Values["AzureWebJobsStorage"]; got != "UseDevelopmentStorage=true" {
		t.Errorf("local.settings.sample.json: AzureWebJobsStorage is %q; func start refuses an app with a timer function without storage", got)
	}
	page, err := os.ReadFile("development.md")
	if err != nil {
		t.Fatal(err)
	}
	var block string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(page), -1) {
		if strings.Contains(m[1], "func start") {
			block = m[1]
		}
	}
	azurite, start, stop := strings.Index(block, "npx --yes azurite"), strings.Index(block, "\nfunc start"), strings.Index(block, "\nkill %")
	if azurite < 0 || start < azurite || stop < start {
		t.Errorf("development.md's func start block must start Azurite before func start and then say how to stop the background jobs:\n%s", block)
	}
}
