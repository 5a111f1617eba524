package infracheck_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/infracheck"
)

// regionLists are values of the webhook module's regions parameter, as a
// user would set ACRSINK_WEBHOOK_REGIONS.
var regionLists = []struct{ name, regions, home string }{
	{"no list means the home region", "", "westeurope"},
	{"no list and a home region in display form", "", "West Europe"},
	{"one replica", "westus2", "westeurope"},
	{"two replicas", "westus2,eastus", "westeurope"},
	{"display names with spaces", "West US 2, southcentralus", "westeurope"},
	{"long region names", "australiasoutheast,germanywestcentral,switzerlandnorth", "westeurope"},
}

func TestTheWebhookModuleMakesOneValidWebhookPerListedRegion(t *testing.T) {
	s := schemas(t)
	files := parse(t, filepath.Join(root, "infra", "modules", "webhook.bicep"))
	for _, tt := range regionLists {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range infracheck.WebhookProblems(s, files, tt.regions, tt.home) {
				t.Error(p)
			}
		})
	}
}

func TestTheWebhookCheckFailsOnABrokenModule(t *testing.T) {
	s := schemas(t)
	const name = "take('acrsink${region}', 50)"
	const two = "westus2,eastus"
	tests := []struct{ name, regions, old, new, want string }{
		{"a name with a hyphen", two, name, "take('acrsink-${region}', 50)", "does not match ^[a-zA-Z0-9]*$"},
		{"a name past 50 characters", "australiasoutheast", name, "'acrsink${region}${region}${region}'", "longer than 50 characters"},
		{"a name under 5 characters", "", "? 'acrsink' :", "? 'acr' :", "shorter than 5 characters"},
		{"one name for every region", two, name, "'acrsinkwebhook'", "two webhooks named \"acrsinkwebhook\""},
		{"every webhook in the home region", two, "location: empty(region) ? home : region", "location: home", "want one in each of"},
		{"the home region in every webhook's header", two, "'x-acrsink-region': empty(region) ? home : region", "'x-acrsink-region': home", "not its own region"},
		{"no region header", two, "        'x-acrsink-region': empty(region) ? home : region\n", "", "x-acrsink-region header: not set"},
		{"no key header", two, "        'x-functions-key': functionKey\n", "", "sends no x-functions-key header"},
		{"a name the check cannot compute", two, name, "take('acrsink${uniqueString(region)}', 50)", "cannot evaluate uniqueString()"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := parse(t, brokenCopy(t, "modules/webhook.bicep", tt.old, tt.new))
			problems := infracheck.WebhookProblems(s, files, tt.regions, "westeurope")
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want one about %s", problems, tt.want)
			}
		})
	}
}

func TestListedRegionsAreARMNamesWithTheHomeRegionForAnEmptyList(t *testing.T) {
	tests := []struct {
		regions string
		want    []string
	}{
		{"", []string{"westeurope"}},
		{"  ", []string{"westeurope"}},
		{"westus2", []string{"westus2"}},
		{"West US 2, eastus", []string{"westus2", "eastus"}},
		{"westus2,,eastus", []string{"westus2", "westeurope", "eastus"}},
	}
	for _, tt := range tests {
		if got := infracheck.ListedRegions(tt.regions, "westeurope"); !slices.Equal(got, tt.want) {
			t.Errorf("ListedRegions(%q) = %q, want %q", tt.regions, got, tt.want)
		}
	}
}
