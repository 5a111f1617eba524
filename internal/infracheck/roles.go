package infracheck

import (
	"fmt"
	"slices"
	"strings"
)

// webhookOperations are the Microsoft.ContainerRegistry provider's
// operations on webhooks, as the Azure resource provider operations list
// publishes them (learn.microsoft.com/azure/role-based-access-control/
// resource-provider-operations, Microsoft.ContainerRegistry; the same list
// az provider operation show -n Microsoft.ContainerRegistry prints). A
// custom role may name only these.
var webhookOperations = []string{
	"Microsoft.ContainerRegistry/registries/webhooks/read",
	"Microsoft.ContainerRegistry/registries/webhooks/write",
	"Microsoft.ContainerRegistry/registries/webhooks/delete",
	"Microsoft.ContainerRegistry/registries/webhooks/listEvents/action",
	"Microsoft.ContainerRegistry/registries/webhooks/ping/action",
	"Microsoft.ContainerRegistry/registries/webhooks/getCallbackConfig/action",
	"Microsoft.ContainerRegistry/registries/webhooks/operationStatuses/read",
}

// reconcilerNeeds are the operations the reconciler calls: it reads a
// webhook's delivery history (POST .../webhooks/W/listEvents).
var reconcilerNeeds = []string{
	"Microsoft.ContainerRegistry/registries/webhooks/read",
	"Microsoft.ContainerRegistry/registries/webhooks/listEvents/action",
}

// RoleProblems checks the custom roles infra/ defines for the reconciler:
// least privilege means exactly the operations it calls, named as the
// provider names them (no wildcard, no data actions), and assignments on
// the webhooks themselves rather than on the registry or anything wider.
func RoleProblems(files []*File) []string {
	rs, problems := AllResources(files)
	found := false
	for _, r := range rs {
		f := r.File
		at := fmt.Sprintf("%s:%d: %s", f.Path, r.Row, r.Symbol)
		switch strings.ToLower(r.Type) {
		case "microsoft.authorization/roledefinitions":
			found = true
			perms := Lookup(f, r.Body, "properties", "permissions")
			if perms == nil || perms.Type != "array" || len(perms.Children) != 1 {
				problems = append(problems, at+": want one permissions entry")
				continue
			}
			p := perms.Children[0]
			actions := stringList(f, Lookup(f, p, "actions"))
			for _, a := range actions {
				if !slices.Contains(webhookOperations, a) {
					problems = append(problems, fmt.Sprintf("%s: action %q is not one of the provider's webhook operations", at, a))
				}
			}
			sorted := slices.Sorted(slices.Values(actions))
			want := slices.Sorted(slices.Values(reconcilerNeeds))
			if !slices.Equal(sorted, want) {
				problems = append(problems, fmt.Sprintf("%s: actions %q, want exactly what the reconciler calls: %q", at, actions, want))
			}
			for _, key := range []string{"dataActions", "notDataActions", "notActions"} {
				if l := stringList(f, Lookup(f, p, key)); len(l) > 0 {
					problems = append(problems, fmt.Sprintf("%s: %s %q: the reconciler needs none", at, key, l))
				}
			}
			scopes := Lookup(f, r.Body, "properties", "assignableScopes")
			if scopes == nil || scopes.Type != "array" || len(scopes.Children) != 1 || f.Text(scopes.Children[0]) != "registry.id" {
				problems = append(problems, at+": assignableScopes must be the registry alone ([registry.id])")
			}
		case "microsoft.authorization/roleassignments":
			def := Lookup(f, r.Body, "properties", "roleDefinitionId")
			if def == nil || !strings.HasSuffix(f.Text(def), ".id") || strings.Contains(f.Text(def), "subscriptionResourceId") {
				continue // a built-in role, checked elsewhere
			}
			scope := Lookup(f, r.Body, "scope")
			if scope == nil || !strings.HasPrefix(f.Text(scope), "webhooks[") {
				problems = append(problems, fmt.Sprintf("%s: the history reader is assigned on %s, want each webhook (scope: webhooks[i])", at, textOf(f, scope)))
			}
		}
	}
	if !found {
		problems = append(problems, "no custom role for the reconciler")
	}
	return problems
}

// stringList is the plain strings of an array literal; anything else comes
// back as its source text, which matches no operation.
func stringList(f *File, arr *Node) []string {
	if arr == nil || arr.Type != "array" {
		return nil
	}
	var out []string
	for _, c := range arr.Children {
		out = append(out, strings.Trim(f.Text(c), "'"))
	}
	return out
}
