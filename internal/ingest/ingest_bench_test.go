package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/ingest"
	"github.com/acrsink/acrsink/internal/testenv/acrtest"
)

// encodingStore does what the Cosmos store does before the network: encode
// the document.
type encodingStore struct{ n int }

func (s *encodingStore) Create(_ context.Context, d document.Document) (bool, error) {
	b, err := d.Marshal()
	s.n += len(b)
	return true, err
}

// BenchmarkDecodeValidateMap is the handler's own work for one event, with
// no I/O: decode and validate the body, map it to its document, and encode
// the document as the store sends it.
func BenchmarkDecodeValidateMap(b *testing.B) {
	for _, name := range []string{"push", "chart_push"} {
		body := acrtest.Event(name)
		b.Run(name, func(b *testing.B) {
			st := &encodingStore{}
			now := time.Now()
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				ev, err := acr.Parse(body)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ingest.Event(context.Background(), st, nil, ev, document.SourceWebhook, ev.Raw, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestIgnoredStoredAndDuplicateOutcomes(t *testing.T) {
	st := &memStore{}
	ev, _ := acr.Parse(acrtest.Event("push"))
	ping, _ := acr.Parse(acrtest.Event("ping"))
	for _, tt := range []struct {
		ev   acr.Event
		want ingest.Outcome
	}{{ping, ingest.Ignored}, {ev, ingest.Stored}, {ev, ingest.Duplicate}} {
		got, err := ingest.Event(context.Background(), st, nil, tt.ev, document.SourceWebhook, tt.ev.Raw, time.Now())
		if err != nil || got != tt.want {
			t.Errorf("%s: %v, %v; want %v", tt.ev.Action, got, err, tt.want)
		}
	}
	if len(st.ids) != 1 {
		t.Errorf("%d documents, want 1 (a ping is not stored)", len(st.ids))
	}
}

type memStore struct{ ids map[string]bool }

func (m *memStore) Create(_ context.Context, d document.Document) (bool, error) {
	if m.ids == nil {
		m.ids = map[string]bool{}
	}
	if m.ids[d.ID] {
		return false, nil
	}
	m.ids[d.ID] = true
	return true, nil
}
