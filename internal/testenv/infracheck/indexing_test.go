package infracheck_test

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/testenv/cookbook"
	"github.com/acrsink/acrsink/internal/testenv/infracheck"
)

type compositePath struct{ path, order string }

// indexing is the container's indexing policy and partition key, read from
// cosmos.bicep's parse tree.
type indexing struct {
	composite    [][]compositePath
	excluded     []string
	partitionKey []string
}

func readIndexing(t *testing.T, file string) indexing {
	t.Helper()
	f := parse(t, file)[0]
	str := func(n *infracheck.Node) string { return strings.Trim(f.Text(n), "'") }
	var ix indexing
	var walk func(n *infracheck.Node)
	walk = func(n *infracheck.Node) {
		if n.Type == "object" {
			for _, p := range infracheck.Properties(f, n) {
				switch {
				case p.Key == "compositeIndexes" && p.Value.Type == "array":
					for _, index := range p.Value.Children {
						var paths []compositePath
						for _, item := range index.Children {
							if item.Type != "object" {
								continue
							}
							var cp compositePath
							for _, ip := range infracheck.Properties(f, item) {
								switch ip.Key {
								case "path":
									cp.path = str(ip.Value)
								case "order":
									cp.order = str(ip.Value)
								}
							}
							paths = append(paths, cp)
						}
						if index.Type == "array" {
							ix.composite = append(ix.composite, paths)
						}
					}
				case p.Key == "excludedPaths" && p.Value.Type == "array":
					for _, item := range p.Value.Children {
						for _, ip := range infracheck.Properties(f, item) {
							if ip.Key == "path" {
								ix.excluded = append(ix.excluded, str(ip.Value))
							}
						}
					}
				case p.Key == "partitionKey" && p.Value.Type == "object":
					for _, pp := range infracheck.Properties(f, p.Value) {
						if pp.Key == "paths" {
							for _, c := range pp.Value.Children {
								ix.partitionKey = append(ix.partitionKey, str(c))
							}
						}
					}
				}
			}
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(f.Root)
	return ix
}

var (
	filterRE  = regexp.MustCompile(`c\.(\w+)\s*(>=|<=|!=|=|>|<)`)
	orderByRE = regexp.MustCompile(`(?i)ORDER BY c\.(\w+)(?:\s+(ASC|DESC))?`)
	clauseEnd = regexp.MustCompile(`(?i)\s(ORDER|GROUP) BY\s`)
)

// needs is the composite index a query needs, or nil: equality-filtered
// paths first, then the ORDER BY path in its direction or the range-filtered
// path ascending (Cosmos DB's indexing policy documentation). A query with
// no filter, or with equality filters only, is served by the range indexes
// of /*.
func needs(sql string) (eq []string, last compositePath, ok bool) {
	where := ""
	if _, after, found := strings.Cut(sql, " WHERE "); found {
		where = after
		if loc := clauseEnd.FindStringIndex(where); loc != nil {
			where = where[:loc[0]]
		}
	}
	var rng []string
	for _, m := range filterRE.FindAllStringSubmatch(where, -1) {
		if m[2] == "=" {
			eq = append(eq, "/"+m[1])
		} else {
			rng = append(rng, "/"+m[1])
		}
	}
	if m := orderByRE.FindStringSubmatch(sql); m != nil && len(eq)+len(rng) > 0 {
		order := "ascending"
		if strings.EqualFold(m[2], "DESC") {
			order = "descending"
		}
		return eq, compositePath{"/" + m[1], order}, true
	}
	if len(rng) == 1 && len(eq) > 0 {
		return eq, compositePath{rng[0], "ascending"}, true
	}
	return nil, compositePath{}, false
}

// served reports whether one of the composite indexes has the equality
// paths (in any order) followed by last.
func served(ix indexing, eq []string, last compositePath) bool {
	for _, c := range ix.composite {
		if len(c) != len(eq)+1 || c[len(c)-1] != last {
			continue
		}
		var prefix []string
		for _, p := range c[:len(c)-1] {
			prefix = append(prefix, p.path)
		}
		slices.Sort(prefix)
		want := slices.Clone(eq)
		slices.Sort(want)
		if slices.Equal(prefix, want) {
			return true
		}
	}
	return false
}

func indexingProblems(ix indexing) []string {
	var problems []string
	for _, q := range cookbook.Queries {
		if eq, last, ok := needs(q.SQL); ok && !served(ix, eq, last) {
			problems = append(problems, fmt.Sprintf("%q needs a composite index (%s then %s %s)", q.Title, strings.Join(eq, ", "), last.path, last.order))
		}
	}
	if !slices.Contains(ix.excluded, "/payload/*") {
		problems = append(problems, "/payload/* is indexed: the raw event costs RUs on every write and nobody filters on it")
	}
	if !slices.Equal(ix.partitionKey, []string{"/id"}) {
		problems = append(problems, fmt.Sprintf("partition key %v, want [/id] (the handler writes with the event id as the partition key)", ix.partitionKey))
	}
	return problems
}

func TestTheIndexingPolicyServesTheCookbook(t *testing.T) {
	t.Parallel()
	ix := readIndexing(t, filepath.Join(root, "infra", "modules", "cosmos.bicep"))
	if len(ix.composite) == 0 {
		t.Fatal("no composite index found: the check is not reading cosmos.bicep")
	}
	for _, p := range indexingProblems(ix) {
		t.Error(p)
	}
	n := 0
	for _, q := range cookbook.Queries {
		if _, _, ok := needs(q.SQL); ok {
			n++
		}
	}
	if n < 3 {
		t.Errorf("only %d cookbook queries need a composite index: the query reading is broken", n)
	}
}

func TestTheIndexingCheckFailsOnABrokenPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, old, new, want string }{
		{"the repository history index gone", "path: '/repository'", "path: '/tag'", `"History of one repository" needs a composite index (/repository then /timestamp descending)`},
		{"the latest pushes index in the wrong direction", "path: '/timestamp'\n              order: 'descending'", "path: '/timestamp'\n              order: 'ascending'", `"Latest pushes" needs a composite index`},
		{"the payload indexed", "path: '/payload/*'", "path: '/payloads/*'", "/payload/* is indexed"},
		{"another partition key", "'/id'", "'/repository'", "partition key [/repository]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ix := readIndexing(t, brokenCopy(t, "modules/cosmos.bicep", tt.old, tt.new))
			problems := indexingProblems(ix)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want %q", problems, tt.want)
			}
		})
	}
}
