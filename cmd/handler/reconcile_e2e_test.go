package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/arm"
	"github.com/acrsink/acrsink/internal/reconcile"
	"github.com/acrsink/acrsink/internal/store"
	"github.com/acrsink/acrsink/internal/testenv/armtest"
	"github.com/acrsink/acrsink/internal/testenv/faultproxy"
	"github.com/acrsink/acrsink/internal/testenv/functionshost"
)

// headers are what ACR sent with each delivery: the key among them, in
// clear, as the real history keeps it.
func headers(region string) map[string]string {
	return map[string]string{"Content-Type": "application/json", "x-functions-key": "test-key", "x-acrsink-region": region}
}

// startReconciling starts the handler behind the host stand-in, with
// Resource Manager and the managed identity stood in for, reconciling the
// webhooks named.
func startReconciling(t *testing.T, hooks map[string]*armtest.Hook, order ...string) (*functionshost.Host, *store.Cosmos, func() (int64, int64)) {
	t.Helper()
	h, st, _, p := startReconcilingWith(t, hooks, nil, order...)
	return h, st, func() (int64, int64) { return p.Creates(), p.Reads() }
}

// startReconcilingWith is startReconciling with more settings, returning
// the Resource Manager stand-in and the store's fault proxy.
func startReconcilingWith(t *testing.T, hooks map[string]*armtest.Hook, extraEnv []string, order ...string) (*functionshost.Host, *store.Cosmos, *armtest.Server, *faultproxy.Proxy) {
	t.Helper()
	id := armtest.NewIdentity(t)
	s := armtest.New(t, id.Token)
	for name, hook := range hooks {
		s.Add(armtest.WebhookID("myregistry", name), hook)
	}
	var ids []string
	for _, name := range order {
		ids = append(ids, armtest.WebhookID("myregistry", name))
	}
	env := append([]string{
		"ACRSINK_RECONCILE_WEBHOOKS=" + strings.Join(ids, ","),
		"ACRSINK_ARM_ENDPOINT=" + s.URL,
		"SSL_CERT_FILE=" + s.CertFile,
	}, id.Env()...)
	h, st, p := startBehindProxy(t, append(env, extraEnv...)...)
	return h, st, s, p
}

// listEventsCalls is the pages of history the stand-in served.
func listEventsCalls(s *armtest.Server) int {
	n := 0
	for _, c := range s.Calls() {
		if strings.HasSuffix(c, "/listEvents") {
			n++
		}
	}
	return n
}

func reports(t *testing.T, inv functionshost.Invocation) map[string]reconcile.Report {
	t.Helper()
	var body struct {
		Webhooks []reconcile.Report `json:"webhooks"`
	}
	raw := inv.ReturnValue
	if inv.Err != nil {
		raw = inv.Body // a failed run's answer carries the same report
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("report %s: %v", raw, err)
	}
	out := map[string]reconcile.Report{}
	for _, r := range body.Webhooks {
		out[r.Webhook[strings.LastIndex(r.Webhook, "/")+1:]] = r
	}
	return out
}

func TestATimerInvocationRecoversExactlyTheUndeliveredEventsOnce(t *testing.T) {
	t.Parallel()
	a := &armtest.Hook{PageSize: 2, Entries: []json.RawMessage{
		armtest.Entry("a-1", event(101), headers("westeurope"), 201),
		armtest.Entry("a-2", event(102), headers("westeurope"), 503),
		armtest.Entry("a-3", event(103), headers("westeurope"), 401),
		armtest.Entry("a-4", event(104), headers("westeurope"), 0),
		armtest.Entry("a-5", event(105), headers("westeurope"), 200),
		armtest.Entry("a-6", json.RawMessage(`{"id":"ping-1","action":"ping"}`), headers("westeurope"), 204),
		// acrsink refused this as not an event: no run can store it.
		armtest.Entry("a-7", json.RawMessage(`{"action":"push"}`), headers("westeurope"), 400),
	}}
	c := &armtest.Hook{PageSize: 1, Entries: []json.RawMessage{
		armtest.Entry("c-1", event(201), headers("eastus"), 503),
		// The same event as a-2, delivered to this region's webhook too.
		armtest.Entry("c-2", event(102), headers("eastus"), 0),
	}}
	forbidden := &armtest.Hook{Fault: armtest.Fault{Status: 403, Code: "AuthorizationFailed"}}
	h, st, counts := startReconciling(t, map[string]*armtest.Hook{"acrsink": a, "acrsinkeastus": c, "acrsinkwestus2": forbidden}, "acrsink", "acrsinkwestus2", "acrsinkeastus")

	inv := h.Invoke(context.Background(), "reconcile")
	if inv.Err == nil || inv.Status != 500 {
		t.Fatalf("invocation %d %s (%v): want a failed invocation, one webhook answered 403", inv.Status, inv.Body, inv.Err)
	}
	got := reports(t, inv)
	want := map[string]reconcile.Report{
		"acrsink":       {Read: 7, Delivered: 3, Recovered: 3, Invalid: 1},
		"acrsinkeastus": {Read: 2, Recovered: 1, Present: 1},
	}
	for name, w := range want {
		r := got[name]
		if r.Read != w.Read || r.Delivered != w.Delivered || r.Recovered != w.Recovered || r.Present != w.Present || r.Invalid != w.Invalid || !r.OK() {
			t.Errorf("%s: %+v, want %+v", name, r, w)
		}
	}
	if r := got["acrsinkwestus2"]; r.OK() || !strings.Contains(strings.Join(r.Errors, " "), "403 AuthorizationFailed") {
		t.Errorf("acrsinkwestus2: %+v, want its 403 reported", r)
	}

	for _, tt := range []struct {
		id     string
		region string
	}{{"load-000102", "westeurope"}, {"load-000103", "westeurope"}, {"load-000104", "westeurope"}, {"load-000201", "eastus"}} {
		doc := get(t, st, tt.id)
		if doc["source"] != "reconcile" || doc["region"] != tt.region {
			t.Errorf("%s: source %v, region %v; want reconcile, %s", tt.id, doc["source"], doc["region"], tt.region)
		}
	}
	for _, id := range []string{"load-000101", "load-000105", "ping-1"} {
		if _, found, _ := st.Get(context.Background(), id); found {
			t.Errorf("%s was delivered, yet the reconciler stored it", id)
		}
	}
	// The log comes through a pipe, which may lag the answer.
	waitForLog(t, h, `"msg":"reconciled","webhook":"myregistry/acrsink"`)
	waitForLog(t, h, `"msg":"reconciled","webhook":"myregistry/acrsinkeastus"`)
	waitForLog(t, h, `"msg":"reconcile failed","webhook":"myregistry/acrsinkwestus2"`)
	logs := h.Logs()
	for _, want := range []string{`"msg":"reconciled","webhook":"myregistry/acrsink"`, `"msg":"reconciled","webhook":"myregistry/acrsinkeastus"`, `"msg":"reconcile failed","webhook":"myregistry/acrsinkwestus2"`} {
		if strings.Count(logs, want) != 1 {
			t.Errorf("log has %d lines %s, want 1:\n%s", strings.Count(logs, want), want, logs)
		}
	}

	// A second run finds everything stored: point reads, no create.
	creates, reads := counts()
	inv = h.Invoke(context.Background(), "reconcile")
	got = reports(t, inv)
	if r := got["acrsink"]; r.Recovered != 0 || r.Present != 3 {
		t.Errorf("second run, acrsink: %+v, want nothing recovered and 3 already present", r)
	}
	if r := got["acrsinkeastus"]; r.Recovered != 0 || r.Present != 2 {
		t.Errorf("second run, acrsinkeastus: %+v, want nothing recovered and 2 already present", r)
	}
	if c2, r2 := counts(); c2 != creates || r2 != reads+5 {
		t.Errorf("second run: %d creates and %d reads, want 0 creates and 5 point reads", c2-creates, r2-reads)
	}
	assertNoSecrets(t, h, string(inv.Body))
}

func TestARunWithEveryWebhookReadIsASuccessfulInvocation(t *testing.T) {
	t.Parallel()
	a := &armtest.Hook{Entries: []json.RawMessage{
		armtest.Entry("a-1", event(301), headers("westeurope"), 201),
		armtest.Entry("a-2", event(302), headers("westeurope"), 0),
	}}
	h, _, counts := startReconciling(t, map[string]*armtest.Hook{"acrsink": a}, "acrsink")
	waitForLog(t, h, "store warmed up")
	inv := h.Invoke(context.Background(), "reconcile")
	if inv.Err != nil || inv.Status != 200 {
		t.Fatalf("invocation %d %s: %v", inv.Status, inv.Body, inv.Err)
	}
	if r := reports(t, inv)["acrsink"]; r.Read != 2 || r.Delivered != 1 || r.Recovered != 1 {
		t.Errorf("%+v", r)
	}
	if creates, _ := counts(); creates != 1 {
		t.Errorf("%d creates, want 1: only the undelivered event", creates)
	}
	assertNoSecrets(t, h, string(inv.Body))
}

func TestAHistoryOfDeliveredEventsCostsNoStoreCall(t *testing.T) {
	t.Parallel()
	var entries []json.RawMessage
	for i := range 5 {
		entries = append(entries, armtest.Entry(fmt.Sprintf("a-%d", i), event(400+i), headers("westeurope"), 201))
	}
	h, _, counts := startReconciling(t, map[string]*armtest.Hook{"acrsink": {Entries: entries, PageSize: 2}}, "acrsink")
	waitForLog(t, h, "store warmed up") // the start's own read, not the run's
	creates, reads := counts()
	if inv := h.Invoke(context.Background(), "reconcile"); inv.Err != nil {
		t.Fatalf("invocation %d %s: %v", inv.Status, inv.Body, inv.Err)
	}
	if c, r := counts(); c != creates || r != reads {
		t.Errorf("%d creates and %d reads for a history where every delivery got a 2xx, want none", c-creates, r-reads)
	}
}

func TestNoWebhooksMeansNothingToDoSaidOnce(t *testing.T) {
	t.Parallel()
	h, _ := startHost(t)
	for range 2 {
		if inv := h.Invoke(context.Background(), "reconcile"); inv.Err != nil || inv.Status != 200 {
			t.Fatalf("invocation %d %s: %v", inv.Status, inv.Body, inv.Err)
		}
	}
	waitForLog(t, h, "ACRSINK_RECONCILE_WEBHOOKS is empty") // through a pipe that may lag the answer
	if n := strings.Count(h.Logs(), "ACRSINK_RECONCILE_WEBHOOKS is empty"); n != 1 {
		t.Errorf("said %d times that there is nothing to do, want once:\n%s", n, h.Logs())
	}
}

// A run outlasts the server's write timeout (ACRSINK_REQUEST_TIMEOUT plus a
// second, 2 s here) when Resource Manager is slow, as its pages are in
// Azure: the host must still get its 200 and the report, not EOF.
func TestARunLongerThanTheWriteTimeoutStillAnswersTheHost(t *testing.T) {
	t.Parallel()
	const delay = 2500 * time.Millisecond
	a := &armtest.Hook{Delay: delay, Entries: []json.RawMessage{
		armtest.Entry("a-1", event(501), headers("westeurope"), 201),
		armtest.Entry("a-2", event(502), headers("westeurope"), 0),
	}}
	h, st, _, _ := startReconcilingWith(t, map[string]*armtest.Hook{"acrsink": a}, []string{"ACRSINK_REQUEST_TIMEOUT=1s"}, "acrsink")
	start := time.Now()
	inv := h.Invoke(context.Background(), "reconcile")
	if d := time.Since(start); d < delay {
		t.Fatalf("the run took %v, less than the stand-in's delay %v: the test proves nothing", d, delay)
	}
	if inv.Err != nil || inv.Status != 200 {
		t.Fatalf("invocation %d %s: %v, want 200 with the report\n%s", inv.Status, inv.Body, inv.Err, h.Logs())
	}
	if r := reports(t, inv)["acrsink"]; r.Read != 2 || r.Delivered != 1 || r.Recovered != 1 || !r.OK() {
		t.Errorf("%+v, want 2 read, 1 delivered, 1 recovered", r)
	}
	get(t, st, "load-000502")
	if strings.Contains(h.Logs(), "cannot extend the write deadline") {
		t.Errorf("the handler could not extend its write deadline:\n%s", h.Logs())
	}
}

// eventAt is event(n) pushed at t.
func eventAt(n int, t time.Time) []byte {
	return bytes.Replace(event(n), []byte(`"2017-11-17T16:52:01.343145347Z"`), []byte(`"`+t.UTC().Format(time.RFC3339Nano)+`"`), 1)
}

// A busy webhook's history can be longer than a run reads (arm.MaxPages).
// Listed newest first, as Microsoft's examples show it, what is left is
// older than what was read: the run stores what it read, says what it left,
// and succeeds, so the alert does not fire on every run for nothing.
func TestAHistoryLongerThanARunReadsIsReconciledAsFarAsReadAndIsNoFailure(t *testing.T) {
	t.Parallel()
	const pages = arm.MaxPages + 2
	now := time.Now()
	var entries []json.RawMessage
	for i := range pages {
		status := 201
		if i == 0 || i == pages-1 {
			status = 503 // one on the first page, one on a page no run reads
		}
		entries = append(entries, armtest.Entry(fmt.Sprintf("a-%d", i), eventAt(600+i, now.Add(-time.Duration(i)*time.Minute)), headers("westeurope"), status))
	}
	h, st, s, _ := startReconcilingWith(t, map[string]*armtest.Hook{"acrsink": {Entries: entries, PageSize: 1}}, nil, "acrsink")
	inv := h.Invoke(context.Background(), "reconcile")
	if inv.Err != nil || inv.Status != 200 {
		t.Fatalf("invocation %d %s: %v, want 200: a long history is no failure\n%s", inv.Status, inv.Body, inv.Err, h.Logs())
	}
	var body struct {
		Webhooks []map[string]any `json:"webhooks"`
	}
	if err := json.Unmarshal(inv.ReturnValue, &body); err != nil || len(body.Webhooks) != 1 {
		t.Fatalf("report %s: %v", inv.ReturnValue, err)
	}
	r := body.Webhooks[0]
	if r["more"] != true || r["read"] != float64(arm.MaxPages) || r["recovered"] != float64(1) || r["errors"] != nil {
		t.Errorf("report %v, want more: true, %d read, 1 recovered, no error", r, arm.MaxPages)
	}
	get(t, st, "load-000600")
	if _, found, _ := st.Get(context.Background(), fmt.Sprintf("load-%06d", 600+pages-1)); found {
		t.Error("an event on a page past the cap was stored: the cap did not hold")
	}
	if n := listEventsCalls(s); n != arm.MaxPages {
		t.Errorf("%d listEvents calls, want %d", n, arm.MaxPages)
	}
	waitForLog(t, h, `"msg":"reconciled","webhook":"myregistry/acrsink"`) // through a pipe that may lag the answer
	logs := h.Logs()
	if strings.Contains(logs, reconcile.LogFailed) || !strings.Contains(logs, `"level":"WARN","msg":"reconciled","webhook":"myregistry/acrsink"`) || !strings.Contains(logs, `"more":true`) {
		t.Errorf("want one warning that says more was left, no alert:\n%s", logs)
	}
}

// Two invocations at once (a run that outlasts the timer's period, a
// second instance's host) make one run: the second joins the first, both
// get its report, and Resource Manager is read once.
func TestConcurrentInvocationsShareOneRun(t *testing.T) {
	t.Parallel()
	a := &armtest.Hook{Delay: time.Second, Entries: []json.RawMessage{
		armtest.Entry("a-1", event(701), headers("westeurope"), 0),
		armtest.Entry("a-2", event(702), headers("westeurope"), 201),
	}}
	h, st, s, _ := startReconcilingWith(t, map[string]*armtest.Hook{"acrsink": a}, nil, "acrsink")
	var wg sync.WaitGroup
	invs := make([]functionshost.Invocation, 2)
	for i := range invs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 1 {
				time.Sleep(200 * time.Millisecond) // while the first reads the history
			}
			invs[i] = h.Invoke(context.Background(), "reconcile")
		}()
	}
	wg.Wait()
	for i, inv := range invs {
		if inv.Err != nil || inv.Status != 200 {
			t.Fatalf("invocation %d: %d %s: %v\n%s", i, inv.Status, inv.Body, inv.Err, h.Logs())
		}
		if r := reports(t, inv)["acrsink"]; r.Read != 2 || r.Recovered != 1 || !r.OK() {
			t.Errorf("invocation %d: %+v, want the one run's report: 2 read, 1 recovered", i, r)
		}
	}
	if n := listEventsCalls(s); n != 1 {
		t.Errorf("%d listEvents calls, want 1: one run", n)
	}
	get(t, st, "load-000701")
	waitForLog(t, h, `"msg":"reconciled","webhook":"myregistry/acrsink"`) // through a pipe that may lag the answer
	if n := strings.Count(h.Logs(), `"msg":"reconciled","webhook":"myregistry/acrsink"`); n != 1 {
		t.Errorf("%d runs logged, want 1:\n%s", n, h.Logs())
	}
}

// The host gives up on an invocation (its timeout, a restart) while a
// second one waits on the same run: the run is not cancelled for it.
func TestACallerThatGivesUpDoesNotStopTheRunAnotherWaitsOn(t *testing.T) {
	t.Parallel()
	a := &armtest.Hook{Delay: time.Second, Entries: []json.RawMessage{
		armtest.Entry("a-1", event(801), headers("westeurope"), 0),
	}}
	h, st, s, _ := startReconcilingWith(t, map[string]*armtest.Hook{"acrsink": a}, nil, "acrsink")
	first, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	gaveUp := make(chan functionshost.Invocation, 1)
	go func() { gaveUp <- h.Invoke(first, "reconcile") }()
	time.Sleep(100 * time.Millisecond)
	inv := h.Invoke(context.Background(), "reconcile")
	if g := <-gaveUp; g.Err == nil {
		t.Fatalf("the first caller got %d %s; want it to have given up", g.Status, g.Body)
	}
	if inv.Err != nil || inv.Status != 200 {
		t.Fatalf("the second caller: %d %s: %v\n%s", inv.Status, inv.Body, inv.Err, h.Logs())
	}
	if r := reports(t, inv)["acrsink"]; r.Recovered != 1 || !r.OK() {
		t.Errorf("%+v, want the event recovered by the run the first caller started", r)
	}
	if n := listEventsCalls(s); n != 1 {
		t.Errorf("%d listEvents calls, want 1: the first caller's run, carried on", n)
	}
	get(t, st, "load-000801")
}
