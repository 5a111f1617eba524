package ingest_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/ingest"
)

// The names are read by people and programs: stored, duplicate and ignored
// are the HTTP API's "result" and the request log's "outcome"; the rest are
// what a replay's results are called.
func TestEachOutcomeHasOneNameOfItsOwn(t *testing.T) {
	tests := []struct {
		outcome ingest.Outcome
		want    string
	}{
		{ingest.Stored, "stored"},
		{ingest.Duplicate, "duplicate"},
		{ingest.Ignored, "ignored"},
		{ingest.Delivered, "delivered"},
		{ingest.NotDelivery, "not a delivery"},
		{ingest.Invalid, "invalid"},
		{ingest.WouldStore, "would store"},
		{ingest.Failed, "failed"},
		{ingest.Unfinished, "unfinished"},
		{0, "unknown"},
		{ingest.Unfinished + 1, "unknown"},
	}
	seen := map[string]ingest.Outcome{}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.outcome.String(); got != tt.want {
				t.Errorf("Outcome(%d).String() = %q, want %q", int(tt.outcome), got, tt.want)
			}
		})
		if other, ok := seen[tt.want]; ok && tt.want != "unknown" {
			t.Errorf("%d and %d are both called %q", int(other), int(tt.outcome), tt.want)
		}
		seen[tt.want] = tt.outcome
	}
}

func TestEachRunsABoundedNumberAtATimeAndStopsWhenTheContextEnds(t *testing.T) {
	tests := []struct {
		name        string
		n, limit    int
		cancelAfter int32 // cancel once this many calls have returned; 0: never
		wantCalls   int32
	}{
		{"every item, at most the limit at a time", 50, 4, 0, 50},
		{"no call starts once the context has ended", 50, 1, 5, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var running, most, calls atomic.Int32
			ingest.Each(ctx, tt.n, tt.limit, func(int) {
				now := running.Add(1)
				for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
				}
				time.Sleep(time.Millisecond) // long enough for the others to start, were they let
				running.Add(-1)
				if calls.Add(1) == tt.cancelAfter {
					cancel()
				}
			}, func(i int, err error) { t.Errorf("item %d panicked: %v", i, err) })
			if calls.Load() != tt.wantCalls || most.Load() > int32(tt.limit) {
				t.Errorf("%d calls, at most %d at a time; want %d calls, at most %d", calls.Load(), most.Load(), tt.wantCalls, tt.limit)
			}
		})
	}
}

func TestAPanicInOneCallFailsThatItemAndNoOther(t *testing.T) {
	var mu sync.Mutex
	done, panicked := map[int]bool{}, map[int]string{}
	ingest.Each(context.Background(), 10, 3, func(i int) {
		if i == 7 {
			panic("bug")
		}
		mu.Lock()
		done[i] = true
		mu.Unlock()
	}, func(i int, err error) {
		mu.Lock()
		panicked[i] = err.Error()
		mu.Unlock()
	})
	if len(done) != 9 || len(panicked) != 1 || panicked[7] != "panic: bug" {
		t.Errorf("done %v, panicked %v; want the other 9 done and item 7 reported as \"panic: bug\"", done, panicked)
	}
}
