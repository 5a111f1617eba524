package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/emulator"
	"github.com/acrsink/acrsink/internal/store"
	"github.com/acrsink/acrsink/internal/testenv/emulatortest"
	"github.com/acrsink/acrsink/internal/testenv/faultproxy"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

func doc(id, repo string) document.Document {
	size := int64(3 << 30)
	return document.Document{
		ID: id, Action: "push", Source: document.SourceWebhook,
		ReceivedAt: "2026-11-23T00:00:00.000000000Z", Repository: repo, Tag: "v1", Size: &size,
		Payload: json.RawMessage(`{"id":"` + id + `","action":"push"}`),
	}
}

func TestCreateStoresADocumentThatReadsBackWithEveryField(t *testing.T) {
	s, _ := emulatortest.Container(t)
	ctx := context.Background()
	created, err := s.Create(ctx, doc("e1", "hello"))
	if err != nil || !created {
		t.Fatalf("Create = %v, %v; want created", created, err)
	}
	raw, found, err := s.Get(ctx, "e1")
	if err != nil || !found {
		t.Fatalf("Get = found %v, %v", found, err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got["repository"] != "hello" || got["size"] != float64(3<<30) || got["payload"].(map[string]any)["id"] != "e1" {
		t.Errorf("stored document = %v", got)
	}
}

func TestCreatingTheSameIDTwiceKeepsTheFirstDocument(t *testing.T) {
	s, _ := emulatortest.Container(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, doc("dup", "first")); err != nil {
		t.Fatal(err)
	}
	created, err := s.Create(ctx, doc("dup", "second"))
	if err != nil || created {
		t.Fatalf("second Create = %v, %v; want not created, no error", created, err)
	}
	raw, _, _ := s.Get(ctx, "dup")
	var got document.Document
	_ = json.Unmarshal(raw, &got)
	if got.Repository != "first" {
		t.Errorf("repository = %q, want the first document's", got.Repository)
	}
}

func TestConcurrentCreatesOfOneIDLeaveOneDocument(t *testing.T) {
	s, _ := emulatortest.Container(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	createdCount := 0
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			created, err := s.Create(ctx, doc("race", "r"))
			if err != nil {
				t.Error(err)
			}
			if created {
				mu.Lock()
				createdCount++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if createdCount != 1 {
		t.Errorf("%d creates reported created, want 1", createdCount)
	}
	n := 0
	err := s.Query(ctx, `SELECT c.id FROM c WHERE c.id = @id`, map[string]any{"@id": "race"}, func(json.RawMessage) error { n++; return nil })
	if err != nil || n != 1 {
		t.Errorf("query found %d documents (%v), want 1", n, err)
	}
}

func TestGetOfAMissingIDIsNotFoundNotAnError(t *testing.T) {
	s, _ := emulatortest.Container(t)
	_, found, err := s.Get(context.Background(), "nope")
	if err != nil || found {
		t.Errorf("Get = found %v, %v", found, err)
	}
}

func TestCreateFailsWhenTheDeadlinePasses(t *testing.T) {
	s, _ := emulatortest.Container(t)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if created, err := s.Create(ctx, doc("late", "r")); err == nil || created {
		t.Errorf("Create past its deadline = %v, %v; want an error", created, err)
	}
}

func TestAStoreUnreachableOnTheFirstCallIsTriedAgainOnTheNext(t *testing.T) {
	// azcosmos caches a failed first read of the account's metadata for
	// five minutes; the store must not.
	s, p := behindProxy(t)
	p.Down()
	ctx := context.Background()
	if _, err := s.Create(ctx, doc("while-down", "hello")); err == nil {
		t.Fatal("Create succeeded with the store down")
	}
	if err := p.Up(); err != nil {
		t.Fatal(err)
	}
	if created, err := s.Create(ctx, doc("after", "hello")); err != nil || !created {
		t.Fatalf("Create once the store is back = %v, %v; want created at once", created, err)
	}
}

// behindProxy is a store whose every request goes through a fault proxy.
func behindProxy(t *testing.T) (*store.Cosmos, *faultproxy.Proxy) {
	t.Helper()
	_, cfg := emulatortest.Container(t)
	p, err := faultproxy.Start(emulatortest.Server().Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	cfg.CosmosConnection = "AccountEndpoint=" + p.Endpoint() + ";AccountKey=" + emulator.Key + ";"
	s, err := store.Open(emulatortest.Account(cfg), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

func TestACreateAnsweredWithATransientStatusIsTriedAgain(t *testing.T) {
	tests := []struct {
		name        string
		fault       func(p *faultproxy.Proxy)
		wantCreated bool
		wantCreates int64
		wantErr     bool
	}{
		// The statuses Cosmos DB documents as worth a retry that azcosmos
		// does not retry on a write.
		{"503, not processed", func(p *faultproxy.Proxy) { p.FailFirstCreates(503) }, true, 2, false},
		{"410", func(p *faultproxy.Proxy) { p.FailFirstCreates(410) }, true, 2, false},
		{"449, a concurrent write", func(p *faultproxy.Proxy) { p.FailFirstCreates(449) }, true, 2, false},
		{"408, not processed", func(p *faultproxy.Proxy) { p.FailFirstCreates(408) }, true, 2, false},
		// Processed, its answer lost: the retry's 409 is the event stored.
		{"408, processed", func(p *faultproxy.Proxy) { p.LoseFirstCreates(408) }, false, 2, false},
		{"503, processed all the same", func(p *faultproxy.Proxy) { p.LoseFirstCreates(503) }, false, 2, false},
		// Documented as not worth a retry.
		{"500", func(p *faultproxy.Proxy) { p.FailFirstCreates(500) }, false, 1, true},
		{"400", func(p *faultproxy.Proxy) { p.FailFirstCreates(400) }, false, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := behindProxy(t)
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
			defer cancel()
			if _, err := s.Create(ctx, doc("warm", "r")); err != nil {
				t.Fatal(err)
			}
			tt.fault(p)
			before := p.Creates()
			created, err := s.Create(ctx, doc("e", "r"))
			if created != tt.wantCreated || (err != nil) != tt.wantErr {
				t.Fatalf("Create = %v, %v; want created %v, error %v", created, err, tt.wantCreated, tt.wantErr)
			}
			if n := p.Creates() - before; n != tt.wantCreates {
				t.Errorf("%d creates reached the store, want %d", n, tt.wantCreates)
			}
			_, found, gerr := s.Get(ctx, "e")
			if gerr != nil || found == tt.wantErr {
				t.Errorf("Get = found %v, %v; want found %v", found, gerr, !tt.wantErr)
			}
		})
	}
}

func TestAStoreThatKeepsRefusingFailsWithinTheDeadlineInOneLine(t *testing.T) {
	s, p := behindProxy(t)
	if _, err := s.Create(context.Background(), doc("warm", "r")); err != nil {
		t.Fatal(err)
	}
	p.Fail(503)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	id := strings.Repeat("x", 10_000)
	_, err := s.Create(ctx, doc(id, "r"))
	if err == nil {
		t.Fatal("Create succeeded against a store that refuses everything")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gave up after %v, past the deadline", d)
	}
	if store.StatusCode(err) != 503 || p.Creates() < 3 {
		t.Errorf("status %d after %d creates, want 503 after retries", store.StatusCode(err), p.Creates())
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || len(msg) > 400 || !strings.Contains(msg, "503 Service Unavailable") || !strings.Contains(msg, "attempts") {
		t.Errorf("error %q: want one short line with the status and the attempts", msg)
	}
}

func TestEveryCallTheCommandsMakeFailsInOneLineWithItsStatus(t *testing.T) {
	s, p := behindProxy(t)
	if _, err := s.Create(context.Background(), doc("warm", "r")); err != nil {
		t.Fatal(err)
	}
	p.Fail(500)
	calls := map[string]func(context.Context) error{
		"query": func(ctx context.Context) error {
			return s.Query(ctx, "SELECT * FROM c", nil, func(json.RawMessage) error { return nil })
		},
		"read container":  s.Check,
		"create database": s.EnsureContainer,
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := call(ctx)
			if err == nil {
				t.Fatal("no error from a store that answers 500")
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "cosmos: "+name) || !strings.Contains(msg, "500 Internal Server Error") {
				t.Errorf("error %q: want one line naming the call and the status", msg)
			}
		})
	}
}
