// Package gcpolicy sets the handler's garbage collector for where it runs:
// a small live heap (a few MB) and a steady stream of short-lived
// allocations, on an instance whose memory is billed whether it is used
// or not.
//
// Go's default (GOGC=100) lets the heap grow to twice the live heap before
// it collects, which for this heap means collecting almost continuously
// under load. Measured with go run ./cmd/bench (2 cores, store path at
// concurrency 32, docs/performance.md), handler CPU per event against
// GOGC=100 in the same runs: GOGC=200 -16%, GOGC=400 -18%, GOGC=800 -25%,
// GOGC=off with a 256 MiB limit -27%; peak RSS 23, 31, 47 and 245 MiB
// against 19. So the heap may grow to nine times the live heap (GOGC=800),
// and a memory limit, when one is set, keeps a growing live heap (a burst)
// from taking the instance's memory: Azure sets GOMEMLIMIT from the
// instance size (infra/modules/functionapp.bicep).
package gcpolicy

import (
	"runtime/debug"
	"strings"
)

// Percent is the GOGC the handler runs with unless GOGC is set.
const Percent = 800

// Policy is what the collector runs with.
type Policy struct {
	// Percent is GOGC (-1 for off); FromEnv says GOGC was set.
	Percent int
	FromEnv bool
	// MemoryLimit is GOMEMLIMIT in bytes (math.MaxInt64: none).
	MemoryLimit int64
}

// Apply sets GOGC to Percent unless the environment sets GOGC (Go's own
// setting wins, so an app setting can change the policy without a build),
// and reports the policy in force. GOMEMLIMIT is Go's own, read by the
// runtime at start.
func Apply(getenv func(string) string) Policy {
	p := Policy{MemoryLimit: debug.SetMemoryLimit(-1)}
	if strings.TrimSpace(getenv("GOGC")) != "" {
		p.FromEnv = true
		p.Percent = debug.SetGCPercent(-1)
		debug.SetGCPercent(p.Percent)
		return p
	}
	debug.SetGCPercent(Percent)
	p.Percent = Percent
	return p
}
