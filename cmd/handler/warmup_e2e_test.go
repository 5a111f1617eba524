package main_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/emulator"
	"github.com/acrsink/acrsink/internal/testenv/acrtest"
	"github.com/acrsink/acrsink/internal/testenv/emulatortest"
	"github.com/acrsink/acrsink/internal/testenv/faultproxy"
	"github.com/acrsink/acrsink/internal/testenv/functionshost"
)

// waitForLine waits until the handler has logged a line that match
// accepts, and returns it; what says in the failure what was awaited.
func waitForLine(t *testing.T, h *functionshost.Host, what string, match func(line string) bool) string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, line := range strings.Split(h.Logs(), "\n") {
			if match(line) {
				return line
			}
		}
	}
	t.Fatalf("the handler never logged %s:\n%s", what, h.Logs())
	return ""
}

// waitForLog waits until the handler has logged a line holding msg.
func waitForLog(t *testing.T, h *functionshost.Host, msg string) string {
	t.Helper()
	return waitForLine(t, h, strconv.Quote(msg), func(line string) bool { return strings.Contains(line, msg) })
}

func TestTheStoreIsWarmedUpOnceAtStart(t *testing.T) {
	t.Parallel()
	h, st := startHost(t)
	line := waitForLog(t, h, `"msg":"store warmed up"`)
	if !strings.Contains(line, `"took"`) {
		t.Errorf("the warm-up line does not say how long it took: %s", line)
	}
	if status, body := post(t, h.URL+"/images/push?code=test-key", acrtest.Event("push")); status != http.StatusCreated {
		t.Fatalf("first event: %d %s", status, body)
	}
	get(t, st, "cb8c3971-9adc-488b-bdd8-43cbb4974ff5")
	if n := strings.Count(h.Logs(), "store warmed up"); n != 1 {
		t.Errorf("warmed up %d times, want once", n)
	}
}

func TestAStoreThatIsDownAtStartDelaysNothingAndIsTriedAgain(t *testing.T) {
	t.Parallel()
	p, err := faultproxy.Start(emulatortest.Server().Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	p.Down()
	start := time.Now()
	h, st := startHost(t, "COSMOS_CONNECTION_STRING=AccountEndpoint="+p.Endpoint()+";AccountKey="+emulator.Key+";")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("ready after %v with the store down: the warm-up held readiness back", d)
	}
	waitForLog(t, h, `"msg":"store warm-up failed; the first event tries again"`)
	if err := p.Up(); err != nil {
		t.Fatal(err)
	}
	if status, body := post(t, h.URL+"/images/push?code=test-key", acrtest.Event("push")); status != http.StatusCreated {
		t.Fatalf("first event once the store is back: %d %s", status, body)
	}
	get(t, st, "cb8c3971-9adc-488b-bdd8-43cbb4974ff5")
}
