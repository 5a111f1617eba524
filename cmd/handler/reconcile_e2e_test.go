package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/arm/armtest"
	"github.com/acrsink/acrsink/internal/functionshost"
	"github.com/acrsink/acrsink/internal/reconcile"
	"github.com/acrsink/acrsink/internal/store"
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
	h, st, p := startBehindProxy(t, env...)
	return h, st, func() (int64, int64) { return p.Creates(), p.Reads() }
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
	h, _ := startHost(t)
	for range 2 {
		if inv := h.Invoke(context.Background(), "reconcile"); inv.Err != nil || inv.Status != 200 {
			t.Fatalf("invocation %d %s: %v", inv.Status, inv.Body, inv.Err)
		}
	}
	if n := strings.Count(h.Logs(), "ACRSINK_RECONCILE_WEBHOOKS is empty"); n != 1 {
		t.Errorf("said %d times that there is nothing to do, want once:\n%s", n, h.Logs())
	}
}
