package infracheck_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/infracheck"
)

func TestTheReconcilersRoleIsLeastPrivilege(t *testing.T) {
	for _, p := range infracheck.RoleProblems(parse(t, filepath.Join(root, "infra", "modules", "webhook-access.bicep"))) {
		t.Error(p)
	}
}

func TestTheRoleCheckFailsOnAWiderRole(t *testing.T) {
	const listEvents = "'Microsoft.ContainerRegistry/registries/webhooks/listEvents/action'"
	tests := []struct{ name, old, new, want string }{
		{"a wildcard", listEvents, "'Microsoft.ContainerRegistry/*'", `action "Microsoft.ContainerRegistry/*" is not one of the provider's webhook operations`},
		{"a misspelled action", listEvents, "'Microsoft.ContainerRegistry/registries/webhooks/listevents'", `"Microsoft.ContainerRegistry/registries/webhooks/listevents" is not one`},
		{"an action it does not need", listEvents, listEvents + "\n          'Microsoft.ContainerRegistry/registries/webhooks/getCallbackConfig/action'", "want exactly what the reconciler calls"},
		{"listEvents left out", "          " + listEvents + "\n", "", "want exactly what the reconciler calls"},
		{"a data action", "dataActions: []", "dataActions: [\n          'Microsoft.ContainerRegistry/registries/pull/read'\n        ]", "dataActions"},
		{"assignable across the subscription", "      registry.id\n", "      subscription().id\n", "assignableScopes must be the registry alone"},
		{"assigned on the registry", "scope: webhooks[i]", "scope: registry", "assigned on registry, want each webhook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := infracheck.RoleProblems(parse(t, brokenCopy(t, "modules/webhook-access.bicep", tt.old, tt.new)))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want one about %s", problems, tt.want)
			}
		})
	}
}
