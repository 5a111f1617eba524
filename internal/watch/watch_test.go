package watch

import (
	"strings"
	"testing"
	"time"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		name, list, repo, tag string
		want                  bool
	}{
		{"an empty list watches nothing", "", "prod/api", "v1", false},
		{"a plain repository matches itself", "prod/api", "prod/api", "v1", true},
		{"a plain repository does not match a longer one", "prod/api", "prod/api2", "v1", false},
		{"a star matches across slashes", "prod/*", "prod/team/api", "v1", true},
		{"a star matches an empty run", "prod/*", "prod/", "", true},
		{"a star does not free the prefix", "prod/*", "staging/prod/api", "v1", false},
		{"a star in the middle matches what lies between", "prod/*/api", "prod/a/b/api", "v1", true},
		{"a star in the middle needs the suffix", "prod/*/api", "prod/a/b/web", "v1", false},
		{"prefix and suffix may not overlap", "ab*ba", "aba", "", false},
		{"stars around a piece find it anywhere", "*team*", "prod/team/api", "", true},
		{"pieces must come in order", "*b*a*", "prod/ab", "", false},
		{"a repository pattern matches an event with no tag", "prod/*", "prod/api", "", true},
		{"a tag pattern matches every repository's tags", "*:release-*", "any/repo", "release-1.2", true},
		{"a tag pattern does not match another tag", "*:release-*", "any/repo", "v1", false},
		{"a tag pattern never matches an event with no tag, such as a delete", "*:release-*", "any/repo", "", false},
		{"a tag pattern needs its repository too", "prod/*:v1", "dev/api", "v1", false},
		{"any pattern of a list may match", "dev/*, prod/*:v*", "prod/api", "v2", true},
		{"case is compared as written", "Prod/*", "prod/api", "", false},
		{"a lone star matches everything", "*", "x", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Parse(tt.list)
			if err != nil {
				t.Fatal(err)
			}
			if got := l.Match(tt.repo, tt.tag); got != tt.want {
				t.Errorf("Parse(%q).Match(%q, %q) = %v, want %v", tt.list, tt.repo, tt.tag, got, tt.want)
			}
		})
	}
}

func TestParseRefusesBadPatterns(t *testing.T) {
	tests := []struct{ name, list, naming string }{
		{"a pattern with no repository", "prod/*,:v1", `":v1"`},
		{"a pattern with nothing after its colon", "prod/*:", `"prod/*:"`},
		{"a question mark, which is not a wildcard here", "prod/?", `"prod/?"`},
		{"a character class", "prod/[ab]", `"prod/[ab]"`},
		{"a second colon", "prod:v1:x", `"prod:v1:x"`},
		{"a space inside a pattern", "prod api", `"prod api"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.list)
			if err == nil || !strings.Contains(err.Error(), "ACRSINK_WATCH") || !strings.Contains(err.Error(), tt.naming) {
				t.Fatalf("Parse(%q) = %v, want an error naming ACRSINK_WATCH and %s", tt.list, err, tt.naming)
			}
		})
	}
}

func TestParseLeavesBlankItemsOut(t *testing.T) {
	l, err := Parse(" , prod/* ,, ")
	if err != nil || l.Len() != 1 {
		t.Fatalf("Parse = %d patterns, %v; want 1", l.Len(), err)
	}
}

// TestMatchTakesLinearTime holds the reason not to use a backtracking
// matcher: a pattern of many stars against a long name that almost
// matches would take exponential time there.
func TestMatchTakesLinearTime(t *testing.T) {
	l, err := Parse(strings.Repeat("a*", 30) + "b")
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Repeat("a", 10_000)
	start := time.Now()
	if l.Match(name, "") {
		t.Fatal("matched a name without the b")
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("took %v", d)
	}
}
