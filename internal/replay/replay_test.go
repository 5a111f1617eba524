package replay_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/history"
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
			if len(s.Failed) != 0 {
				t.Errorf("%d failed after Ctrl-C (%v): not done is not failed", len(s.Failed), s.Failed[0].Err)
			}
			if s.Stored != tt.cancelAt || s.Stored+s.Interrupted != 20 {
				t.Errorf("stored %d, interrupted %d; want %d stored and the rest of 20 not done", s.Stored, s.Interrupted, tt.cancelAt)
			}
		})
	}
}

func TestAnEntryWithNothingToReplayIsSkippedNotFailed(t *testing.T) {
	ds := append(undelivered(1), history.Delivery{ID: "h-x", NotDelivery: true, Err: fmt.Errorf("no eventRequestMessage")})
	s := replay.Run(context.Background(), &memStore{docs: map[string]bool{}}, ds, replay.Options{})
	if len(s.Failed) != 0 || s.NotDeliveries != 1 || s.Stored != 1 {
		t.Errorf("failed %d, not deliveries %d, stored %d; want 0, 1, 1", len(s.Failed), s.NotDeliveries, s.Stored)
	}
}
