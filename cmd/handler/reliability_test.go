package main_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/emulator"
	"github.com/acrsink/acrsink/internal/store"
	"github.com/acrsink/acrsink/internal/testenv/acrtest"
	"github.com/acrsink/acrsink/internal/testenv/emulatortest"
	"github.com/acrsink/acrsink/internal/testenv/faultproxy"
	"github.com/acrsink/acrsink/internal/testenv/functionshost"
)

// startBehindProxy starts the handler with its store reached through a
// fault injector in front of cosmium.
func startBehindProxy(t *testing.T, extraEnv ...string) (*functionshost.Host, *store.Cosmos, *faultproxy.Proxy) {
	t.Helper()
	return startBehindProxyWith(t, faultproxy.Options{}, extraEnv...)
}

// startBehindProxyWith is startBehindProxy with the proxy's options (a
// store some latency away).
func startBehindProxyWith(t *testing.T, o faultproxy.Options, extraEnv ...string) (*functionshost.Host, *store.Cosmos, *faultproxy.Proxy) {
	t.Helper()
	p, err := faultproxy.StartWith(emulatortest.Server().Endpoint(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	env := append([]string{"COSMOS_CONNECTION_STRING=AccountEndpoint=" + p.Endpoint() + ";AccountKey=" + emulator.Key + ";"}, extraEnv...)
	h, st := startHost(t, env...)
	return h, st, p
}

// event is the sample push with its own id and tag.
func event(n int) []byte {
	b := bytes.Replace(acrtest.Event("push"), []byte("cb8c3971-9adc-488b-bdd8-43cbb4974ff5"), []byte(fmt.Sprintf("load-%06d", n)), 1)
	return bytes.Replace(b, []byte(`"tag": "v1"`), []byte(fmt.Sprintf(`"tag": "v%d"`, n)), 1)
}

// assertNoSecrets checks the handler's whole log and the bodies it sent.
func assertNoSecrets(t *testing.T, h *functionshost.Host, bodies ...string) {
	t.Helper()
	all := h.Logs() + strings.Join(bodies, "\n")
	for _, secret := range []string{"test-key", "old-key-", emulator.Key, "AccountKey", "code="} {
		if strings.Contains(all, secret) {
			t.Errorf("%q appears in a log line or an answer", secret)
		}
	}
}

func TestThrottlingIsRetriedAndStoredWithinTheBudget(t *testing.T) {
	t.Parallel()
	h, st, p := startBehindProxy(t)
	p.Throttle(2, 300)
	start := time.Now()
	status, body := post(t, h.URL+"/images/push?code=test-key", acrtest.Event("push"))
	if status != http.StatusCreated {
		t.Fatalf("status %d %s, want 201 after the retries", status, body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("answered after %v, past ACR's 5s", d)
	}
	if p.Faults() != 2 {
		t.Errorf("%d throttled answers, want 2", p.Faults())
	}
	get(t, st, "cb8c3971-9adc-488b-bdd8-43cbb4974ff5")
	assertNoSecrets(t, h, body)
}

// Cosmos DB answers 503 for a write it did not process, and documents it
// as one to retry; azcosmos does not retry a write (REFERENCE.md §4). The
// store is 20 ms away, as in Azure, and fails the first write of each id.
func TestAWriteTheStoreRefusesOnceIsRetriedAndTheEventStored(t *testing.T) {
	t.Parallel()
	h, st, p := startBehindProxyWith(t, faultproxy.Options{Delay: 20 * time.Millisecond})
	p.FailFirstCreates(http.StatusServiceUnavailable)
	start := time.Now()
	status, body := post(t, h.URL+"/images/push?code=test-key", event(1))
	if status != http.StatusCreated {
		t.Fatalf("status %d %s, want 201 once the retry stored it\n%s", status, body, h.Logs())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("answered after %v, past ACR's 5s", d)
	}
	if p.Faults() != 1 || p.Creates() != 2 {
		t.Errorf("%d faults and %d creates, want the first create refused and the second stored", p.Faults(), p.Creates())
	}
	if doc := get(t, st, "load-000001"); doc["source"] != "webhook" {
		t.Errorf("stored %v", doc)
	}
	if strings.Contains(h.Logs(), "event not stored") {
		t.Errorf("an event that was stored was logged as not stored:\n%s", h.Logs())
	}
}

// A write that reached the store but whose answer was lost (a 408: "the
// request may or may not have been processed") is retried too; the retry
// finds the document there (409), which is the event stored.
func TestAWriteWhoseAnswerWasLostIsRetriedAndFoundStored(t *testing.T) {
	t.Parallel()
	h, st, p := startBehindProxy(t)
	p.LoseFirstCreates(http.StatusRequestTimeout)
	status, body := post(t, h.URL+"/images/push?code=test-key", event(2))
	if status != http.StatusOK || !strings.Contains(body, `"duplicate"`) {
		t.Fatalf("status %d %s, want 200 duplicate: the first write stored it\n%s", status, body, h.Logs())
	}
	if p.Faults() != 1 || p.Creates() != 2 {
		t.Errorf("%d faults and %d creates, want one lost answer and one retry", p.Faults(), p.Creates())
	}
	get(t, st, "load-000002")
}

func TestAMisbehavingStoreGets503InsideTheBudgetAndTheNextEventIsStoredWhenItRecovers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		break_ func(p *faultproxy.Proxy)
		// fix takes the subtest's t: t.Fatal must be called from the
		// goroutine of the test it fails.
		fix func(t *testing.T, p *faultproxy.Proxy)
	}{
		{"the store answers 503", func(p *faultproxy.Proxy) { p.Fail(http.StatusServiceUnavailable) }, func(_ *testing.T, p *faultproxy.Proxy) { p.Heal() }},
		{"the store hangs", func(p *faultproxy.Proxy) { p.Hang() }, func(_ *testing.T, p *faultproxy.Proxy) { p.Heal() }},
		{"the store is down", func(p *faultproxy.Proxy) { p.Down() }, func(t *testing.T, p *faultproxy.Proxy) {
			if err := p.Up(); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each case has a handler and a proxy of its own, and most of
			// its time is the budget waited out.
			t.Parallel()
			// The default budget (4s), as in Azure.
			h, st, p := startBehindProxy(t)
			// One write first, so the SDK has its account document and
			// connections: the fault hits a warm handler.
			if status, body := post(t, h.URL+"/images/push?code=test-key", event(0)); status != http.StatusCreated {
				t.Fatalf("warm-up: %d %s", status, body)
			}
			tt.break_(p)
			start := time.Now()
			status, body := post(t, h.URL+"/images/push?code=test-key", event(1))
			elapsed := time.Since(start)
			if status != http.StatusServiceUnavailable {
				t.Fatalf("status %d %s, want 503", status, body)
			}
			if elapsed > 5*time.Second {
				t.Errorf("503 after %v, past ACR's 5s", elapsed)
			}
			tt.fix(t, p)
			status, body2 := post(t, h.URL+"/images/push?code=test-key", event(2))
			if status != http.StatusCreated {
				t.Fatalf("after recovery: %d %s, want 201 with no restart", status, body2)
			}
			if _, found, _ := st.Get(t.Context(), "load-000001"); found {
				t.Error("the event answered 503 was stored")
			}
			get(t, st, "load-000002")
			assertNoSecrets(t, h, body, body2)
		})
	}
}

func TestFiftyConcurrentDeliveriesOfOneEventLeaveOneDocument(t *testing.T) {
	t.Parallel()
	h, st := startHost(t)
	var wg sync.WaitGroup
	statuses := make([]int, 50)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _ = post(t, h.URL+"/images/push?code=test-key", acrtest.Event("push"))
		}()
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusOK:
		default:
			t.Errorf("status %d, want only 2xx", s)
		}
	}
	if created != 1 {
		t.Errorf("%d answers said created, want 1", created)
	}
	if n := count(t, st); n != 1 {
		t.Errorf("%d documents, want 1", n)
	}
}

func TestSIGTERMLetsRequestsInFlightFinishAndExitsCleanly(t *testing.T) {
	t.Parallel()
	h, st, p := startBehindProxy(t)
	if status, body := post(t, h.URL+"/images/push?code=test-key", event(0)); status != http.StatusCreated {
		t.Fatalf("warm-up: %d %s", status, body)
	}
	p.Hang()
	const n = 8
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _ = post(t, h.URL+"/images/push?code=test-key", event(i+1))
		}()
	}
	for deadline := time.Now().Add(3 * time.Second); p.Faults() < n && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if err := h.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the store comes back while the handler drains
	p.Heal()
	wg.Wait()
	if err := h.Wait(6 * time.Second); err != nil {
		t.Errorf("exit: %v, want a clean exit 0\n%s", err, h.Logs())
	}
	for i, s := range statuses {
		_, found, err := st.Get(t.Context(), fmt.Sprintf("load-%06d", i+1))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case s == http.StatusCreated && !found:
			t.Errorf("event %d answered 201 but is not stored", i+1)
		case s != http.StatusCreated && s != http.StatusServiceUnavailable:
			t.Errorf("event %d: status %d, want 201 or 503", i+1, s)
		}
	}
	if !strings.Contains(h.Logs(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", h.Logs())
	}
}
