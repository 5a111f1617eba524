// Package acrtest holds sample ACR webhook payloads, one per action, for
// tests, benchmarks and the local run's example request. push.json is the
// documented example; the others follow the shapes in REFERENCE.md §1 (a
// ping's body is undocumented: ping.json is a guess shaped like the rest).
package acrtest

import (
	"embed"
	"path"
	"sort"
	"strings"
)

//go:embed testdata/*.json
var files embed.FS

// Event returns the sample payload called name (push, delete, quarantine,
// chart_push, chart_delete, ping, push-by-digest). It panics on an unknown
// name: a test's typo.
func Event(name string) []byte {
	b, err := files.ReadFile(path.Join("testdata", name+".json"))
	if err != nil {
		panic("acrtest: no sample " + name)
	}
	return b
}

// Names lists the samples.
func Names() []string {
	entries, _ := files.ReadDir("testdata")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(names)
	return names
}
