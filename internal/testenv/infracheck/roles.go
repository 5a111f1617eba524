package infracheck

import (
	"fmt"
	"regexp"
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
// webhook's configuration (GET .../webhooks/W, WebhooksClient.Get: status,
// actions and scope, the drift check) and its delivery history (POST
// .../webhooks/W/listEvents). webhooks/read "Gets the properties of the
// specified webhook or lists all the webhooks" (the operations list
// above); the properties it returns are actions, provisioningState, scope
// and status, not the service URI or custom headers, which only
// getCallbackConfig returns (the REST model WebhookProperties), so it does
// not reveal the key. Not ping: the optional ping probe is not built.
var reconcilerNeeds = []string{
	"Microsoft.ContainerRegistry/registries/webhooks/read",
	"Microsoft.ContainerRegistry/registries/webhooks/listEvents/action",
}

// RoleProblems checks the custom roles infra/ defines for the reconciler:
// least privilege means exactly the operations it calls, named as the
// provider names them (no wildcard, no data actions), and assignments on
// the webhooks themselves rather than on the registry or anything wider;
// the role itself is assignable in the registry's resource group, as Azure
// recommends, under a name that stays the same from one deployment to the
// next.
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
			// Azure recommends a management group, subscription or
			// resource group as a custom role's assignable scope, not a
			// resource instance, and limits a tenant to 5,000 custom roles
			// (learn.microsoft.com, role-based-access-control/
			// role-definitions): the registry's resource group, which is
			// this module's scope (RoleModuleScopeProblems).
			// (Compared as text: the tree-sitter grammar splits a call
			// followed by a member inside an array into two items.)
			scopes := Lookup(f, r.Body, "properties", "assignableScopes")
			if scopes == nil || scopes.Type != "array" || strings.Join(strings.Fields(f.Text(scopes)), "") != "[resourceGroup().id]" {
				problems = append(problems, fmt.Sprintf("%s: assignableScopes %s, want the registry's resource group alone ([resourceGroup().id])", at, strings.Join(strings.Fields(textOf(f, scopes)), " ")))
			}
			// A role definition's name is a GUID that must stay the same
			// from one deployment to the next, or each redeploy would try
			// to make another role under the same roleName: guid() of
			// stable inputs that include the registry's id, so that two
			// registries never share one.
			name := Lookup(f, r.Body, "name")
			switch text := textOf(f, name); {
			case !strings.HasPrefix(text, "guid(") || !strings.Contains(text, "registry.id"):
				problems = append(problems, fmt.Sprintf("%s: name %s, want guid() of the registry's id and constants, the same on every deployment", at, text))
			case nonDeterministic.MatchString(text):
				problems = append(problems, fmt.Sprintf("%s: name %s changes from one deployment to the next", at, text))
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

// nonDeterministic are the Bicep functions whose value changes between
// deployments.
var nonDeterministic = regexp.MustCompile(`(?i)\b(newGuid|utcNow|deployment)\(`)

// RoleModuleScopeProblems checks that main deploys the module that defines
// the reconciler's role (webhook-access.bicep) into the registry's resource
// group, the same scope as the webhooks: the role's assignable scope is
// that module's resourceGroup().
func RoleModuleScopeProblems(main *File) []string {
	access, hooks := moduleCall(main, "webhook-access.bicep"), moduleCall(main, "webhook.bicep")
	if access == nil || hooks == nil {
		return []string{main.Path + ": no webhook or webhook-access module"}
	}
	a, w := textOf(main, access.Scope), textOf(main, hooks.Scope)
	if a != "resourceGroup(registryGroup)" || a != w {
		return []string{fmt.Sprintf("%s:%d: module %s has scope %s, want the registry's resource group (resourceGroup(registryGroup)), as the webhooks (%s)", main.Path, access.Row, access.Symbol, a, w)}
	}
	return nil
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
