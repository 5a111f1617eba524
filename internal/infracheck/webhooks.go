package infracheck

import (
	"fmt"
	"slices"
	"strings"
)

// webhookType is the ACR webhook resource type.
const webhookType = "microsoft.containerregistry/registries/webhooks"

// RegionHeader is the custom header each regional webhook sends with its
// region, which the handler records as the document's region.
const RegionHeader = "x-acrsink-region"

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

// WebhookProblems evaluates the ACR webhooks declared in files as Azure
// would make them when the regions parameter is regions and the registry's
// home region is home, and checks the platform's rules and ours: every
// name keeps the schema's name rule (5-50 letters and digits); names are
// distinct; there is exactly one webhook in each listed region and none
// elsewhere, because a geo-replicated registry's webhook sees only the
// events of its own regional replica ("With a geo-replicated registry, you
// configure each webhook to respond to events in a specific regional
// replica", learn.microsoft.com, container-registry-webhook); and each
// sends the function key and its own region in RegionHeader.
func WebhookProblems(s *Schemas, files []*File, regions, home string) []string {
	env := Env{"regions": regions, "registry.location": home}
	rs, problems := AllResources(files)
	var names, locations []string
	for _, r := range rs {
		if strings.ToLower(r.Type) != webhookType {
			continue
		}
		f := r.File
		err := ForEach(r, env, func(env Env) error {
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
			sent, err := evalString(f, Lookup(f, r.Body, "properties", "customHeaders", RegionHeader), env)
			if err != nil {
				return fmt.Errorf("%s: %s header: %w", at, RegionHeader, err)
			}
			if sent != loc {
				problems = append(problems, fmt.Sprintf("%s in %s sends %s: %q, not its own region", at, loc, RegionHeader, sent))
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
	want := ListedRegions(regions, home)
	got := slices.Clone(locations)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(slices.Compact(want), got) {
		problems = append(problems, fmt.Sprintf("regions %q (home %s) give webhooks in %q, want one in each of %q", regions, home, got, slices.Compact(want)))
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

// Lookup is the value at path in an object literal (keys compared as
// written, quotes removed), or nil.
func Lookup(f *File, obj *Node, path ...string) *Node {
	n := obj
	for _, key := range path {
		if n == nil || n.Type != "object" {
			return nil
		}
		var next *Node
		for _, p := range Properties(f, n) {
			if p.Key == key {
				next = p.Value
			}
		}
		n = next
	}
	return n
}
