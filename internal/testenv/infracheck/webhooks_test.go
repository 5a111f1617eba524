package infracheck_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/testenv/infracheck"
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

var (
	mainBicep    = filepath.Join(root, "infra", "main.bicep")
	webhookBicep = filepath.Join(root, "infra", "modules", "webhook.bicep")
)

func webhookProblems(t *testing.T, s *infracheck.Schemas, main, module, registry, regions, home string) []string {
	t.Helper()
	files := parse(t, main, module)
	return infracheck.WebhookProblems(s, files[0], files[1:], registry, regions, home)
}

func TestInfraMakesOneValidWebhookPerListedRegionAndReconcilesThem(t *testing.T) {
	t.Parallel()
	s := schemas(t)
	for _, tt := range regionLists {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, p := range webhookProblems(t, s, mainBicep, webhookBicep, "myregistry", tt.regions, tt.home) {
				t.Error(p)
			}
		})
	}
	t.Run("no registry means no webhook and nothing to reconcile", func(t *testing.T) {
		t.Parallel()
		for _, p := range webhookProblems(t, s, mainBicep, webhookBicep, "", "westus2", "westeurope") {
			t.Error(p)
		}
	})
}

func TestTheWebhookCheckFailsOnBrokenInfra(t *testing.T) {
	t.Parallel()
	s := schemas(t)
	const name = "take('acrsink${region}', 50)"
	const two = "westus2,eastus"
	tests := []struct{ name, file, regions, old, new, want string }{
		{"a name with a hyphen", "main.bicep", two, name, "take('acrsink-${region}', 50)", "does not match ^[a-zA-Z0-9]*$"},
		{"a name past 50 characters", "main.bicep", "australiasoutheast", name, "'acrsink${region}${region}${region}'", "longer than 50 characters"},
		{"a name under 5 characters", "main.bicep", "", "? 'acrsink' :", "? 'acr' :", "shorter than 5 characters"},
		{"one name for every region", "main.bicep", two, name, "'acrsinkwebhook'", "two webhooks named \"acrsinkwebhook\""},
		{"a name the check cannot compute", "main.bicep", two, name, "take('acrsink${uniqueString(region)}', 50)", "cannot evaluate uniqueString()"},
		{"the reconciler told of no webhook", "main.bicep", two, "reconcileWebhooks: join(webhookIds, ',')", "reconcileWebhooks: ''", "ACRSINK_RECONCILE_WEBHOOKS names webhooks []"},
		{"the reconciler told of another webhook", "main.bicep", two, "registryName, name)]", "registryName, 'acrsink')]", "ACRSINK_RECONCILE_WEBHOOKS names webhooks"},
		{"every webhook in the home region", "modules/webhook.bicep", two, "location: empty(region) ? home : region", "location: home", "want one in each of"},
		{"the home region in every webhook's header", "modules/webhook.bicep", two, "'x-acrsink-region': empty(region) ? home : region", "'x-acrsink-region': home", "not its own region"},
		{"no region header", "modules/webhook.bicep", two, "        'x-acrsink-region': empty(region) ? home : region\n", "", "x-acrsink-region header: not set"},
		{"no key header", "modules/webhook.bicep", two, "        'x-functions-key': functionKey\n", "", "sends no x-functions-key header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			main, module := mainBicep, webhookBicep
			if tt.file == "main.bicep" {
				main = brokenCopy(t, tt.file, tt.old, tt.new)
			} else {
				module = brokenCopy(t, tt.file, tt.old, tt.new)
			}
			problems := webhookProblems(t, s, main, module, "myregistry", tt.regions, "westeurope")
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want one about %s", problems, tt.want)
			}
		})
	}
}

func TestListedRegionsAreARMNamesWithTheHomeRegionForAnEmptyList(t *testing.T) {
	t.Parallel()
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
