package docs

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/testenv/functionshost"
	"github.com/acrsink/acrsink/internal/testenv/infracheck"
)

// TestFuncStartAsDocumentedHasItsStorage holds what Core Tools needs to
// start this app (azure-functions-core-tools, StartHostAction: with a
// trigger other than HTTP, an empty AzureWebJobsStorage stops func start):
// the sample names storage, and the documented block starts that storage
// before func start and says how to stop what it put in the background.
func TestFuncStartAsDocumentedHasItsStorage(t *testing.T) {
	app, err := functionshost.LoadApp("..")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(app.Functions, functionshost.Function.Timer) {
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
	for _, b := range infracheck.MarkdownBlocks(string(page), "sh") {
		if strings.Contains(b, "func start") {
			block = b
		}
	}
	azurite, start, stop := strings.Index(block, "npx --yes azurite"), strings.Index(block, "\nfunc start"), strings.Index(block, "\nkill %")
	if azurite < 0 || start < azurite || stop < start {
		t.Errorf("development.md's func start block must start Azurite before func start and then say how to stop the background jobs:\n%s", block)
	}
}
