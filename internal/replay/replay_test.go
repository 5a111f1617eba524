package replay_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/history"
	"github.com/acrsink/acrsink/internal/ingest"
	"github.com/acrsink/acrsink/internal/replay"
)

// memStore keeps documents in memory and calls onCreate after each write.
type memStore struct {
	mu       sync.Mutex
	docs     map[string]bool
	onCreate func(n int)
}

func (m *memStore) Create(_ context.Context, doc document.Document) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.docs[doc.ID] {
		return false, nil
	}
	m.docs[doc.ID] = true
	if m.onCreate != nil {
		m.onCreate(len(m.docs))
	}
	return true, nil
}

func (m *memStore) Exists(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.docs[id], nil
}

func undelivered(n int) []history.Delivery {
	var ds []history.Delivery
	for i := range n {
		body := fmt.Sprintf(`{"id":"ev-%d","timestamp":"2026-11-22T10:00:00Z","action":"push","target":{"repository":"r","tag":"t%d"}}`, i, i)
		ev, err := acr.Parse([]byte(body))
		ds = append(ds, history.Delivery{ID: fmt.Sprintf("h-%d", i), Event: ev, Err: err, StatusCode: 503})
	}
	return ds
}

func TestACancelledReplayCountsWhatItDidAndFailsNothing(t *testing.T) {
	tests := []struct {
		name     string
		cancelAt int // cancel after this many writes; 0: before the run
	}{
		{"cancelled before the run", 0},
		{"cancelled after three writes", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			st := &memStore{docs: map[string]bool{}}
			if tt.cancelAt == 0 {
				cancel()
			}
			st.onCreate = func(n int) {
				if n == tt.cancelAt {
					cancel()
				}
			}
			s := replay.Run(ctx, st, undelivered(20), replay.Options{Concurrency: 1})
			if n := s.Counts[ingest.Failed]; n != 0 {
				t.Errorf("%d failed after Ctrl-C: not done is not failed", n)
			}
			if stored, unfinished := s.Counts[ingest.Stored], s.Counts[ingest.Unfinished]; stored != tt.cancelAt || stored+unfinished != 20 {
				t.Errorf("stored %d, unfinished %d; want %d stored and the rest of 20 not done", stored, unfinished, tt.cancelAt)
			}
		})
	}
}

func TestAnEntryWithNothingToReplayIsSkippedNotFailed(t *testing.T) {
	ds := append(undelivered(1), history.Delivery{ID: "h-x", NotDelivery: true, Err: fmt.Errorf("no eventRequestMessage")})
	s := replay.Run(context.Background(), &memStore{docs: map[string]bool{}}, ds, replay.Options{})
	if c := s.Counts; c[ingest.Failed] != 0 || c[ingest.NotDelivery] != 1 || c[ingest.Stored] != 1 {
		t.Errorf("counts %v; want 1 not a delivery, 1 stored, none failed", c)
	}
}

// The reconciler runs a replay inside the handler, on goroutines of its
// own: a panic there would end the process, and every request in flight.
func TestAPanicStoringOneDeliveryFailsThatDeliveryOnly(t *testing.T) {
	st := &memStore{docs: map[string]bool{}}
	st.onCreate = func(n int) {
		if n == 4 {
			panic("bug") // as a bug in a store would, for the fourth event
		}
	}
	var done int
	s := replay.Run(context.Background(), st, undelivered(6), replay.Options{Concurrency: 1, Progress: func(n, _ int) { done = n }})
	if c := s.Counts; c[ingest.Stored] != 5 || c[ingest.Failed] != 1 || done != 6 {
		t.Errorf("counts %v, progress %d of 6; want 5 stored, 1 failed, all 6 done", c, done)
	}
	if r := s.Results[3]; r.Outcome != ingest.Failed || r.Err == nil || r.Err.Error() != "panic: bug" {
		t.Errorf("delivery %s: %v, %v; want failed with the panic", r.Delivery.ID, r.Outcome, r.Err)
	}
}
