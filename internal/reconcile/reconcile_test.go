package reconcile_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/arm"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/history"
	"github.com/acrsink/acrsink/internal/ingest"
	"github.com/acrsink/acrsink/internal/reconcile"
	"github.com/acrsink/acrsink/internal/replay"
)

// memStore counts its calls.
type memStore struct {
	mu              sync.Mutex
	docs            map[string]document.Document
	creates, exists int
}

func (m *memStore) Create(_ context.Context, d document.Document) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.creates++
	if _, ok := m.docs[d.ID]; ok {
		return false, nil
	}
	m.docs[d.ID] = d
	return true, nil
}

func (m *memStore) Exists(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.exists++
	_, ok := m.docs[id]
	return ok, nil
}

// lister serves histories by webhook name, with an error after them.
type lister map[string]struct {
	ds  []history.Delivery
	err error
}

func (l lister) History(_ context.Context, w arm.Webhook) ([]history.Delivery, error) {
	h := l[w.Name]
	return h.ds, h.err
}

func delivery(id string, status int) history.Delivery {
	raw := []byte(fmt.Sprintf(`{"id":%q,"action":"push","target":{"repository":"r","tag":"t"}}`, id))
	ev, err := acr.Parse(raw)
	if err != nil {
		panic(err)
	}
	return history.Delivery{ID: "d-" + id, Event: ev, StatusCode: status}
}

func hook(t *testing.T, name string) arm.Webhook {
	w, err := arm.ParseWebhook("/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/r/webhooks/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestAPageThatFailsKeepsWhatWasReadAndFailsTheRun(t *testing.T) {
	st := &memStore{docs: map[string]document.Document{}}
	var logs bytes.Buffer
	rc := &reconcile.Reconciler{
		Webhooks: []arm.Webhook{hook(t, "a"), hook(t, "b")},
		Lister: lister{
			"a": {ds: []history.Delivery{delivery("1", 503), delivery("2", 201)}, err: errors.New("r/a: 429 TooManyRequests: throttled")},
			"b": {ds: []history.Delivery{delivery("3", 0)}},
		},
		Store:  st,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	}
	reports, err := rc.Run(context.Background())
	if !errors.Is(err, reconcile.ErrFailed) {
		t.Fatalf("err = %v, want ErrFailed", err)
	}
	if len(reports) != 2 || reports[0].Recovered != 1 || reports[0].Delivered != 1 || reports[0].OK() || !reports[1].OK() || reports[1].Recovered != 1 {
		t.Errorf("reports %+v", reports)
	}
	if _, ok := st.docs["1"]; !ok || st.docs["1"].Source != document.SourceReconcile {
		t.Errorf("the event read before the failing page was not stored as reconciled: %+v", st.docs)
	}
	if !strings.Contains(logs.String(), `"msg":"reconcile failed","webhook":"r/a"`) || !strings.Contains(logs.String(), "throttled") {
		t.Errorf("log:\n%s", logs.String())
	}
}

func TestARunOutOfTimeLeavesTheRestForTheNextAndSaysSo(t *testing.T) {
	st := &memStore{docs: map[string]document.Document{}}
	rc := &reconcile.Reconciler{
		Webhooks: []arm.Webhook{hook(t, "a")},
		Lister:   lister{"a": {ds: []history.Delivery{delivery("1", 503), delivery("2", 503)}}},
		Store:    st,
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	reports, err := rc.Run(ctx)
	if !errors.Is(err, reconcile.ErrFailed) || len(reports) != 1 || reports[0].Unfinished != 2 {
		t.Fatalf("reports %+v, err %v: want 2 unfinished and a failed run", reports, err)
	}
	if st.creates != 0 {
		t.Errorf("%d creates after the budget ran out", st.creates)
	}
}

func TestNoWebhooksIsSaidOnceAndIsNoFailure(t *testing.T) {
	var logs bytes.Buffer
	rc := &reconcile.Reconciler{Store: &memStore{}, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	for range 3 {
		if reports, err := rc.Run(context.Background()); err != nil || len(reports) != 0 {
			t.Fatalf("Run = %v, %v", reports, err)
		}
	}
	if n := strings.Count(logs.String(), "nothing to do"); n != 1 {
		t.Errorf("said %d times, want once", n)
	}
}

func deliveryAt(id string, status int, at string) history.Delivery {
	raw := []byte(fmt.Sprintf(`{"id":%q,"timestamp":%q,"action":"push","target":{"repository":"r","tag":"t"}}`, id, at))
	ev, err := acr.Parse(raw)
	if err != nil {
		panic(err)
	}
	return history.Delivery{ID: "d-" + id, Event: ev, StatusCode: status}
}

func TestAHistoryLongerThanARunReadsFailsTheRunOnlyWhereItsNewestWereLeft(t *testing.T) {
	more := fmt.Errorf("r/a: %w: read its first %d pages", arm.ErrMore, arm.MaxPages)
	tests := []struct {
		name    string
		ds      []history.Delivery
		wantErr bool
	}{
		{"newest first: what is left is older than what was read", []history.Delivery{
			deliveryAt("3", 503, "2026-11-23T10:02:00Z"), deliveryAt("2", 201, "2026-11-23T10:01:00Z"), deliveryAt("1", 201, "2026-11-23T10:00:00Z"),
		}, false},
		{"no timestamps: nothing says the newest were left", []history.Delivery{delivery("1", 503), delivery("2", 201)}, false},
		{"oldest first: every run would miss the newest", []history.Delivery{
			deliveryAt("1", 201, "2026-11-23T10:00:00Z"), deliveryAt("2", 201, "2026-11-23T10:01:00Z"), deliveryAt("3", 503, "2026-11-23T10:02:00Z"),
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &memStore{docs: map[string]document.Document{}}
			var logs bytes.Buffer
			rc := &reconcile.Reconciler{
				Webhooks: []arm.Webhook{hook(t, "a")},
				Lister:   lister{"a": {ds: tt.ds, err: more}},
				Store:    st,
				Logger:   slog.New(slog.NewJSONHandler(&logs, nil)),
			}
			reports, err := rc.Run(context.Background())
			if len(reports) != 1 || !reports[0].More || reports[0].Recovered != 1 {
				t.Fatalf("reports %+v: want more, and the undelivered event read recovered", reports)
			}
			if tt.wantErr {
				if !errors.Is(err, reconcile.ErrFailed) || !strings.Contains(logs.String(), `"msg":"reconcile failed"`) || !strings.Contains(logs.String(), "oldest deliveries first") {
					t.Errorf("err %v, want the alert with why:\n%s", err, logs.String())
				}
				return
			}
			if err != nil || !reports[0].OK() || strings.Contains(logs.String(), reconcile.LogFailed) {
				t.Errorf("err %v, report %+v: want a run that succeeds\n%s", err, reports[0], logs.String())
			}
			if !strings.Contains(logs.String(), `"level":"WARN","msg":"reconciled","webhook":"r/a"`) || !strings.Contains(logs.String(), `"more":true`) {
				t.Errorf("want a warning that says more was left:\n%s", logs.String())
			}
		})
	}
}

// failingStore fails every create with err.
type failingStore struct {
	memStore
	err error
}

func (f *failingStore) Create(context.Context, document.Document) (bool, error) { return false, f.err }

func TestEveryValueALogLineEchoesIsClipped(t *testing.T) {
	huge := strings.Repeat("x", 1<<20)
	d := delivery(strings.Repeat("e", acr.MaxIDBytes), 503) // the longest id an event may have
	d.ID = huge                                             // the history's, unchecked
	var logs bytes.Buffer
	rc := &reconcile.Reconciler{
		Webhooks: []arm.Webhook{hook(t, "a")},
		Lister:   lister{"a": {ds: []history.Delivery{d}, err: errors.New("r/a: " + huge)}},
		Store:    &failingStore{memStore: memStore{docs: map[string]document.Document{}}, err: errors.New("cosmos: " + huge)},
		Logger:   slog.New(slog.NewJSONHandler(&logs, nil)),
	}
	reports, err := rc.Run(context.Background())
	if !errors.Is(err, reconcile.ErrFailed) || len(reports) != 1 || reports[0].Failed != 1 || len(reports[0].Errors) != 2 {
		t.Fatalf("reports %+v, %v: want the read error and the failed event reported", reports, err)
	}
	if n := logs.Len(); n > 4096 || !strings.Contains(logs.String(), `"msg":"reconcile failed"`) || !strings.Contains(logs.String(), "xxx…") {
		t.Errorf("log line of %d bytes, want a clipped one under 4 KiB:\n%.2000s", n, logs.String())
	}
	for _, e := range reports[0].Errors {
		if len(e) > 1024 {
			t.Errorf("report error of %d bytes, want it clipped", len(e))
		}
	}
}

// A delivery's outcome is decided once, by replay, and the report counts
// it under the one field that outcome is published as: acrsink replay and
// the reconciler cannot tell the same delivery's story two ways.
func TestEachDeliveryCountsUnderTheReportFieldOfItsReplayOutcome(t *testing.T) {
	ping, err := acr.Parse([]byte(`{"id":"p","action":"ping"}`))
	if err != nil {
		t.Fatal(err)
	}
	fresh := func() replay.Store { return &memStore{docs: map[string]document.Document{}} }
	tests := []struct {
		name      string
		delivery  history.Delivery
		store     func() replay.Store
		cancelled bool
		outcome   ingest.Outcome
		field     string // reconcile.Report's JSON name
	}{
		{"a delivery answered 2xx was delivered", delivery("1", 201), fresh, false, ingest.Delivered, "delivered"},
		{"an undelivered event not in the store is recovered", delivery("1", 503), fresh, false, ingest.Stored, "recovered"},
		{"an undelivered event in the store is already present", delivery("1", 0), func() replay.Store {
			return &memStore{docs: map[string]document.Document{"1": {}}}
		}, false, ingest.Duplicate, "alreadyPresent"},
		{"an undelivered ping is ignored", history.Delivery{ID: "d-p", Event: ping, StatusCode: 503}, fresh, false, ingest.Ignored, "ignored"},
		{"a payload that is no event is invalid", history.Delivery{ID: "d-x", Err: errors.New("missing id"), StatusCode: 400}, fresh, false, ingest.Invalid, "invalid"},
		{"an entry with no request is invalid, never lost", history.Delivery{ID: "d-y", Err: errors.New("no eventRequestMessage"), NotDelivery: true}, fresh, false, ingest.NotDelivery, "invalid"},
		{"an event the store refuses failed", delivery("1", 503), func() replay.Store {
			return &failingStore{memStore: memStore{docs: map[string]document.Document{}}, err: errors.New("503")}
		}, false, ingest.Failed, "failed"},
		{"an event the budget did not reach is unfinished", delivery("1", 503), fresh, true, ingest.Unfinished, "unfinished"},
	}
	fields := []string{"delivered", "recovered", "alreadyPresent", "ignored", "invalid", "unfinished", "failed"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelled {
				cancel()
			}
			s := replay.Run(ctx, tt.store(), []history.Delivery{tt.delivery}, replay.Options{})
			if got := s.Results[0].Outcome; got != tt.outcome || s.Counts[tt.outcome] != 1 {
				t.Errorf("replay: outcome %v, counts %v; want %v once", got, s.Counts, tt.outcome)
			}
			rc := &reconcile.Reconciler{
				Webhooks: []arm.Webhook{hook(t, "a")},
				Lister:   lister{"a": {ds: []history.Delivery{tt.delivery}}},
				Store:    tt.store(),
			}
			reports, _ := rc.Run(ctx)
			raw, err := json.Marshal(reports[0])
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			if got["read"] != 1.0 {
				t.Errorf("report %s: want read 1", raw)
			}
			for _, f := range fields {
				want := 0.0
				if f == tt.field {
					want = 1
				}
				if n, _ := got[f].(float64); n != want {
					t.Errorf("report %s: %s is %v, want %v (replay said %v)", raw, f, n, want, tt.outcome)
				}
			}
		})
	}
}

func TestDriftSaysHowAWebhooksConfigurationKeepsEventsAway(t *testing.T) {
	all := []string{"push", "delete", "quarantine", "chart_push", "chart_delete"}
	tests := []struct {
		name   string
		c      arm.Config
		expect reconcile.Expected
		want   []string
	}{
		{"a webhook as infra/ deploys it has none", arm.Config{Status: "enabled", Actions: all}, reconcile.Expected{}, nil},
		{"the actions in another order are no drift", arm.Config{Status: "enabled", Actions: []string{"chart_delete", "chart_push", "quarantine", "delete", "push"}}, reconcile.Expected{}, nil},
		{"a disabled webhook is drift", arm.Config{Status: "disabled", Actions: all}, reconcile.Expected{}, []string{`status is "disabled", not enabled: ACR sends it nothing`}},
		{"a missing action is drift, naming it", arm.Config{Status: "enabled", Actions: []string{"push", "delete", "chart_push", "chart_delete"}}, reconcile.Expected{}, []string{"actions lack quarantine: ACR sends no such event"}},
		{"an action the deployment left out is no drift", arm.Config{Status: "enabled", Actions: []string{"push"}}, reconcile.Expected{Actions: []string{"push"}}, nil},
		{"an action the deployment gave and the webhook lacks is drift", arm.Config{Status: "enabled", Actions: []string{"push"}}, reconcile.Expected{Actions: []string{"push", "delete"}}, []string{"actions lack delete: ACR sends no such event"}},
		{"the scope the deployment gave is no drift", arm.Config{Status: "enabled", Actions: all, Scope: "prod:*"}, reconcile.Expected{Scope: "prod:*"}, nil},
		{"another scope than the deployment gave is drift", arm.Config{Status: "enabled", Actions: all, Scope: "prod:v1"}, reconcile.Expected{Scope: "prod:*"}, []string{`scope is "prod:v1", not "prod:*" as deployed: ACR sends no event outside it`}},
		{"any scope is narrower than the whole registry", arm.Config{Status: "enabled", Actions: all, Scope: "prod:*"}, reconcile.Expected{}, []string{`scope is "prod:*", not the whole registry: ACR sends no event outside it`}},
		{"several drifts are each said", arm.Config{Status: "disabled", Scope: "x"}, reconcile.Expected{}, []string{
			`status is "disabled", not enabled: ACR sends it nothing`,
			"actions lack push, delete, quarantine, chart_push, chart_delete: ACR sends no such event",
			`scope is "x", not the whole registry: ACR sends no event outside it`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reconcile.Drift(tt.c, tt.expect); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Drift(%+v) =\n%q\nwant\n%q", tt.c, got, tt.want)
			}
		})
	}
}

func TestAnActionACRDoesNotHaveStopsTheHandlerNamingTheSetting(t *testing.T) {
	if _, err := reconcile.NewExpected([]string{"push", "pull"}, ""); err == nil || !strings.Contains(err.Error(), `ACRSINK_WEBHOOK_ACTIONS: "pull"`) {
		t.Errorf("NewExpected with pull = %v, want an error naming the setting and the action", err)
	}
	if e, err := reconcile.NewExpected([]string{"push"}, "prod:*"); err != nil || e.Scope != "prod:*" || len(e.Actions) != 1 {
		t.Errorf("NewExpected(push, prod:*) = %+v, %v", e, err)
	}
}
