// Package watch reads ACRSINK_WATCH, the list of repositories (and tags)
// whose deletes and quarantines an operator wants to hear of, and matches
// names against it.
//
// A pattern is repository-glob[:tag-glob]. The one wildcard is *, which
// matches any run of characters, / included: prod/* matches prod/api and
// prod/team/api, and *:release-* matches every repository's release-
// tags. path.Match treats / as a separator and has ? and [...] besides, so
// it does not fit; and a pattern compiles to its literal pieces, so that a
// match is a prefix, a suffix and a left-to-right search for the pieces
// between: no backtracking, whatever the pattern.
package watch

import (
	"fmt"
	"strings"
)

// List is a parsed ACRSINK_WATCH; the zero value watches nothing.
type List struct {
	patterns []pattern
}

type pattern struct {
	repo, tag glob
	hasTag    bool
}

// glob is a pattern split at its stars: pieces[0] must begin the name, the
// last piece must end it, and the ones between must follow in order.
// star says the pattern had at least one *.
type glob struct {
	pieces []string
	star   bool
}

// Parse reads a comma-separated list of patterns; blank items are left
// out. Its error names the first bad pattern and why.
func Parse(list string) (List, error) {
	var l List
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := parse(item)
		if err != nil {
			return List{}, fmt.Errorf("ACRSINK_WATCH: pattern %q: %w", item, err)
		}
		l.patterns = append(l.patterns, p)
	}
	return l, nil
}

func parse(s string) (pattern, error) {
	repo, tag, hasTag := strings.Cut(s, ":")
	if repo == "" {
		return pattern{}, fmt.Errorf("no repository before the colon (use * for every repository: *:%s)", tag)
	}
	if hasTag && tag == "" {
		return pattern{}, fmt.Errorf("no tag after the colon (leave the colon out to match every tag)")
	}
	// What a repository or tag can hold, and *: any other character (a
	// second colon, ?, [, a space) would make a pattern that never
	// matches, or that means something else to its author. Repository
	// names are lowercase letters, digits and . _ - / (OCI distribution
	// spec, "path components"); tags are letters, digits and . _ -.
	// Case is kept: a pattern is compared as it is written.
	for _, part := range []string{repo, tag} {
		for _, c := range part {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
				c == '.', c == '_', c == '-', c == '/', c == '*':
			default:
				return pattern{}, fmt.Errorf("%q is not allowed (a pattern holds the characters of a repository and a tag, and * for any run of them)", c)
			}
		}
	}
	return pattern{repo: compile(repo), tag: compile(tag), hasTag: hasTag}, nil
}

func compile(s string) glob {
	pieces := strings.Split(s, "*")
	return glob{pieces: pieces, star: len(pieces) > 1}
}

func (g glob) match(name string) bool {
	if !g.star {
		return name == g.pieces[0]
	}
	first, last := g.pieces[0], g.pieces[len(g.pieces)-1]
	if len(name) < len(first)+len(last) || !strings.HasPrefix(name, first) || !strings.HasSuffix(name, last) {
		return false
	}
	// The leftmost place of each middle piece leaves the most room for the
	// ones after it, so the first found is as good as any.
	rest := name[len(first) : len(name)-len(last)]
	for _, p := range g.pieces[1 : len(g.pieces)-1] {
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return true
}

// Empty reports whether the list watches nothing.
func (l List) Empty() bool { return len(l.patterns) == 0 }

// Len is the number of patterns.
func (l List) Len() int { return len(l.patterns) }

// Match reports whether a pattern matches repository and tag. A pattern
// with a tag glob matches only a name with a tag: a delete, which ACR
// sends for a manifest and never with a tag, is matched by a pattern
// without one (prod/*), never by one with a tag (prod/*:release-*). A
// pattern without a tag matches every tag, and no tag.
func (l List) Match(repository, tag string) bool {
	for _, p := range l.patterns {
		if !p.repo.match(repository) {
			continue
		}
		if !p.hasTag || (tag != "" && p.tag.match(tag)) {
			return true
		}
	}
	return false
}
