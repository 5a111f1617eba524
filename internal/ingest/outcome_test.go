package ingest_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/ingest"
	"github.com/acrsink/acrsink/internal/watch"
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

// docStore keeps documents by id, as the store does.
type docStore struct {
	mu   sync.Mutex
	docs map[string]document.Document
}

func (m *docStore) Create(_ context.Context, d document.Document) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.docs[d.ID]; ok {
		return false, nil
	}
	m.docs[d.ID] = d
	return true, nil
}

func TestOnlyAStoredDeleteOrQuarantineThatMatchesIsWatchedAndLoggedOnce(t *testing.T) {
	list, err := watch.Parse("prod/*")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, action, repo string
		watched            bool
	}{
		{"a matching delete is watched", acr.ActionDelete, "prod/api", true},
		{"a matching quarantine is watched", acr.ActionQuarantine, "prod/api", true},
		{"a matching chart_delete is watched", acr.ActionChartDelete, "prod/chart", true},
		{"a matching push is not", acr.ActionPush, "prod/api", false},
		{"a matching chart_push is not", acr.ActionChartPush, "prod/chart", false},
		{"a delete elsewhere is not", acr.ActionDelete, "dev/api", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			w := &ingest.Watch{List: list, Logger: slog.New(slog.NewJSONHandler(&log, nil))}
			st := &docStore{docs: map[string]document.Document{}}
			ev := acr.Event{ID: "e1", Action: tt.action, Target: acr.Target{Repository: tt.repo}}
			for range 2 { // the second is a redelivery
				if _, err := ingest.Event(context.Background(), st, w, ev, document.SourceWebhook, []byte(`{}`), time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			if got := st.docs["e1"].Watched; got != tt.watched {
				t.Errorf("watched = %v, want %v", got, tt.watched)
			}
			if n, want := strings.Count(log.String(), `"msg":"`+ingest.LogWatched+`"`), map[bool]int{true: 1, false: 0}[tt.watched]; n != want {
				t.Errorf("%d lines, want %d:\n%s", n, want, log.String())
			}
		})
	}
}

func TestANilWatchWatchesNothing(t *testing.T) {
	st := &docStore{docs: map[string]document.Document{}}
	ev := acr.Event{ID: "e1", Action: acr.ActionDelete, Target: acr.Target{Repository: "prod/api"}}
	if _, err := ingest.Event(context.Background(), st, nil, ev, document.SourceWebhook, []byte(`{}`), time.Now()); err != nil || st.docs["e1"].Watched {
		t.Fatalf("err %v, watched %v", err, st.docs["e1"].Watched)
	}
}
