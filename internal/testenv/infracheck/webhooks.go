package infracheck

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/acrsink/acrsink/internal/acr"
)

// webhookType is the ACR webhook resource type.
const webhookType = "microsoft.containerregistry/registries/webhooks"

// ListedRegions is what the webhook module's regions parameter asks for:
// each comma-separated entry as ARM names regions (lower case, no spaces:
// West US 2 is westus2), and the registry's home region for an empty list
// or entry.
func ListedRegions(regions, home string) []string {
	if strings.TrimSpace(regions) == "" {
		return []string{armName(home)}
	}
	var out []string
	for _, r := range strings.Split(regions, ",") {
		r = armName(r)
		if r == "" {
			r = armName(home)
		}
		out = append(out, r)
	}
	return out
}

// armName is a region as ARM names it: West US 2 is westus2.
func armName(region string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(region), " ", ""))
}

// Deployment is what a check evaluates main.bicep for: the values Azure
// gives the functions infra/ calls, and the parameters a user sets.
var Deployment = Env{
	"subscription().subscriptionId": "00000000-0000-0000-0000-000000000001",
	"resourceGroup().name":          "acrsink",
	"registryResourceGroup":         "",
}

// WebhookProblems evaluates main.bicep's webhook module call and the module
// as Azure would expand them for a registry named registry ("" for none),
// the regions parameter regions, and a registry whose home region is home,
// and checks the platform's rules and ours: every name keeps the schema's
// name rule (5-50 letters and digits); names are distinct; there is exactly
// one webhook in each listed region and none elsewhere, because each
// webhook is bound to one regional replica ("With a geo-replicated
// registry, you configure each webhook to respond to events in a specific
// regional replica", learn.microsoft.com, container-registry-webhook) and
// fires as content arrives there (Microsoft's geo-replication tutorial,
// container-registry-tutorial-deploy-update), so a webhook in a region not
// listed would add deliveries nobody asked for; each sends the function key
// and its own region in acr.RegionHeader; and the app's
// ACRSINK_RECONCILE_WEBHOOKS names exactly those webhooks.
func WebhookProblems(s *Schemas, main *File, files []*File, registry, regions, home string) []string {
	env := Env{"webhookRegions": regions, "registryName": registry}
	maps.Copy(env, Deployment)
	call, app := moduleCall(main, "webhook.bicep"), moduleCall(main, "functionapp.bicep")
	if call == nil || app == nil {
		return []string{main.Path + ": no webhook or function app module to check"}
	}
	moduleEnv := Env{"registry.location": home}
	for _, param := range []string{"regions", "names"} {
		v, err := Eval(main, call.Args[param], env)
		if err != nil {
			return []string{fmt.Sprintf("%s:%d: module %s, %s: %v", main.Path, call.Row, call.Symbol, param, err)}
		}
		moduleEnv[param] = v
	}
	rs, problems := AllResources(files)
	var names, locations []string
	for _, r := range rs {
		if strings.ToLower(r.Type) != webhookType || filepath.Base(r.File.Path) != filepath.Base(call.Path) {
			continue
		}
		f := r.File
		err := ForEach(r, moduleEnv, func(env Env) error {
			at := fmt.Sprintf("%s:%d: webhook %s", f.Path, r.Row, r.Symbol)
			name, err := evalString(f, Lookup(f, r.Body, "name"), env)
			if err != nil {
				return fmt.Errorf("%s: name: %w", at, err)
			}
			if p := s.NameProblem(r, name); p != "" {
				problems = append(problems, at+": "+p)
			}
			names = append(names, name)
			loc, err := evalString(f, Lookup(f, r.Body, "location"), env)
			if err != nil {
				return fmt.Errorf("%s: location: %w", at, err)
			}
			locations = append(locations, loc)
			if Lookup(f, r.Body, "properties", "customHeaders", "x-functions-key") == nil {
				problems = append(problems, at+": sends no x-functions-key header")
			}
			sent, err := evalString(f, Lookup(f, r.Body, "properties", "customHeaders", acr.RegionHeader), env)
			if err != nil {
				return fmt.Errorf("%s: %s header: %w", at, acr.RegionHeader, err)
			}
			if sent != loc {
				problems = append(problems, fmt.Sprintf("%s in %s sends %s: %q, not its own region", at, loc, acr.RegionHeader, sent))
			}
			return nil
		})
		if err != nil {
			problems = append(problems, err.Error())
		}
	}
	for i, n := range names {
		if slices.Index(names, n) != i {
			problems = append(problems, fmt.Sprintf("two webhooks named %q", n))
		}
	}
	var want []string
	if registry != "" {
		want = ListedRegions(regions, home)
	}
	got := slices.Clone(locations)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(slices.Compact(want), got) {
		problems = append(problems, fmt.Sprintf("regions %q (home %s) give webhooks in %q, want one in each of %q", regions, home, got, slices.Compact(want)))
	}
	setting, err := evalString(main, app.Args["reconcileWebhooks"], env)
	if err != nil {
		return append(problems, fmt.Sprintf("%s:%d: module %s, reconcileWebhooks: %v", main.Path, app.Row, app.Symbol, err))
	}
	var named []string
	prefix := "/subscriptions/" + Deployment["subscription().subscriptionId"].(string) + "/resourceGroups/" + Deployment["resourceGroup().name"].(string) +
		"/providers/Microsoft.ContainerRegistry/registries/" + registry + "/webhooks/"
	for _, id := range strings.Split(setting, ",") {
		if id == "" {
			continue
		}
		name, ok := strings.CutPrefix(id, prefix)
		if !ok {
			problems = append(problems, fmt.Sprintf("ACRSINK_RECONCILE_WEBHOOKS names %s, not a webhook of registry %s", id, registry))
		}
		named = append(named, name)
	}
	slices.Sort(named)
	made := slices.Clone(names)
	slices.Sort(made)
	if !slices.Equal(named, made) {
		problems = append(problems, fmt.Sprintf("ACRSINK_RECONCILE_WEBHOOKS names webhooks %q, but the module makes %q", named, made))
	}
	return problems
}

// evalString evaluates n to a string.
func evalString(f *File, n *Node, env Env) (string, error) {
	if n == nil {
		return "", fmt.Errorf("not set")
	}
	v, err := Eval(f, n, env)
	if err != nil {
		return "", err
	}
	return str(v, f.Text(n))
}
