package infracheck_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/testenv/infracheck"
)

var webhookAccessBicep = filepath.Join(root, "infra", "modules", "webhook-access.bicep")

func TestTheReconcilersRoleIsLeastPrivilege(t *testing.T) {
	t.Parallel()
	for _, p := range infracheck.RoleProblems(parse(t, webhookAccessBicep)) {
		t.Error(p)
	}
	for _, p := range infracheck.RoleModuleScopeProblems(parse(t, mainBicep)[0]) {
		t.Error(p)
	}
}

func TestTheRoleCheckFailsOnAWiderRole(t *testing.T) {
	t.Parallel()
	const listEvents = "'Microsoft.ContainerRegistry/registries/webhooks/listEvents/action'"
	const read = "'Microsoft.ContainerRegistry/registries/webhooks/read'"
	const name = "name: guid(registry.id, 'acrsink-webhook-history-reader')"
	tests := []struct{ name, old, new, want string }{
		{"a wildcard", listEvents, "'Microsoft.ContainerRegistry/*'", `action "Microsoft.ContainerRegistry/*" is not one of the provider's webhook operations`},
		{"a misspelled action", listEvents, "'Microsoft.ContainerRegistry/registries/webhooks/listevents'", `"Microsoft.ContainerRegistry/registries/webhooks/listevents" is not one`},
		{"an action it does not need", listEvents, listEvents + "\n          'Microsoft.ContainerRegistry/registries/webhooks/getCallbackConfig/action'", "want exactly what the reconciler calls"},
		{"listEvents left out", "          " + listEvents + "\n", "", "want exactly what the reconciler calls"},
		{"webhooks/read left out, so the drift check cannot read a webhook", "          " + read + "\n", "", "want exactly what the reconciler calls"},
		{"the ping the optional probe would need", listEvents, listEvents + "\n          'Microsoft.ContainerRegistry/registries/webhooks/ping/action'", "want exactly what the reconciler calls"},
		{"a data action", "dataActions: []", "dataActions: [\n          'Microsoft.ContainerRegistry/registries/pull/read'\n        ]", "dataActions"},
		{"assignable across the subscription", "      resourceGroup().id\n", "      subscription().id\n", "want the registry's resource group alone"},
		{"assignable in the registry alone, as before", "      resourceGroup().id\n", "      registry.id\n", "assignableScopes [ registry.id ], want the registry's resource group alone"},
		{"assigned on the registry", "scope: webhooks[i]", "scope: registry", "assigned on registry, want each webhook"},
		{"a new role on every deployment", name, "name: guid(registry.id, utcNow())", "changes from one deployment to the next"},
		{"a role shared by every registry", name, "name: guid('acrsink-webhook-history-reader')", "want guid() of the registry's id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			problems := infracheck.RoleProblems(parse(t, brokenCopy(t, "modules/webhook-access.bicep", tt.old, tt.new)))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want one about %s", problems, tt.want)
			}
		})
	}
}

func TestTheRoleScopeCheckFailsWhenTheRoleLeavesTheRegistrysGroup(t *testing.T) {
	t.Parallel()
	const scope = "  scope: resourceGroup(registryGroup)\n  params: {\n    registryName: registryName\n    webhookNames: webhookNames"
	problems := infracheck.RoleModuleScopeProblems(parse(t, brokenCopy(t, "main.bicep", scope, "  params: {\n    registryName: registryName\n    webhookNames: webhookNames"))[0])
	if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "module webhookAccess has scope nothing") }) {
		t.Errorf("problems %q, want one about webhookAccess's scope", problems)
	}
}
