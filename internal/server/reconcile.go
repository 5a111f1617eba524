package server

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/acrsink/acrsink/internal/reconcile"
)

// Reconciler runs one reconcile pass (internal/reconcile).
type Reconciler interface {
	Run(ctx context.Context) ([]reconcile.Report, error)
}

// invocation is what the Functions host posts to a custom handler for a
// function whose trigger is not HTTP, such as the reconcile timer: the
// trigger's value under Data, by binding name, and Metadata
// (azure-functions-host, src/WebJobs.Script/Workers/Http:
// HttpScriptInvocationContext). The timer's value says nothing a run needs.
type invocation struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// invocationResult is the answer the host reads after a 2xx
// (HttpScriptInvocationResult; a body that does not parse fails the
// invocation, so it is always sent).
type invocationResult struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// reconcileBody is the run's report, in the ReturnValue or in a failure.
type reconcileBody struct {
	Error    string             `json:"error,omitempty"`
	Webhooks []reconcile.Report `json:"webhooks"`
}

// handleReconcile runs the reconciler when the host's timer fires. It
// answers 200 with the per-webhook report when everything that needed
// storing was stored, and 500 otherwise, which the host counts as a failed
// invocation (its failure count and alerts see it). The host sends no
// function key for a non-HTTP trigger, and the handler listens on
// 127.0.0.1 under the host, which routes no outside request here.
//
// One run at a time. The host fires a timer function on one instance at a
// time and not while an invocation is still running (learn.microsoft.com,
// functions-bindings-timer, "Scale-out"); an invocation that reaches the
// handler while a run is in progress anyway (one started by hand) joins it
// and gets its report, rather than reading every history and writing every
// event a second time. The run belongs to no caller: it is bounded by
// reconcile.RunBudget and stopped by Options.Shutdown, and a caller that
// gives up stops neither it nor another caller's wait for it.
func handleReconcile(o Options) http.Handler {
	var runs singleflight.Group
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r, nil)
		if !ok {
			return
		}
		var inv invocation
		if err := json.Unmarshal(body, &inv); err != nil {
			info(r).Outcome = "invalid"
			fail(w, http.StatusBadRequest, "not a Functions host invocation ({\"Data\": {...}, \"Metadata\": {...}})")
			return
		}
		if o.Reconciler == nil {
			info(r).Outcome = "not configured"
			fail(w, http.StatusServiceUnavailable, "no reconciler in this handler")
			return
		}
		// A run takes longer than a webhook request's write timeout; it
		// bounds itself (reconcile.RunBudget). Should the deadline stay, the
		// run still stores what it can, and the log says why its answer was
		// lost.
		extendWriteDeadline(o.Logger, w, r, reconcile.RunBudget+time.Minute)
		// Do, not DoChan: a panic in the run reaches every caller's
		// recoverPanics, where DoChan would end the process.
		v, _, shared := runs.Do("run", func() (any, error) { return runReconcile(o), nil })
		res := v.(reconcileResult)
		outcome := "reconciled"
		if res.err != nil {
			outcome = "failed"
		}
		if shared {
			outcome += ", one run for concurrent invocations"
		}
		info(r).Outcome = outcome
		if res.err != nil {
			encode(w, http.StatusInternalServerError, reconcileBody{Error: res.err.Error(), Webhooks: res.reports})
			return
		}
		encode(w, http.StatusOK, invocationResult{Outputs: map[string]any{}, Logs: []string{}, ReturnValue: reconcileBody{Webhooks: res.reports}})
	})
}

// reconcileResult is one run's outcome, for every caller that waited on it.
type reconcileResult struct {
	reports []reconcile.Report
	err     error
}

// runReconcile runs the reconciler with a context of its own, which only
// the shutdown ends (on shutdown a run stops where it is; the next one
// resumes).
func runReconcile(o Options) reconcileResult {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if o.Shutdown != nil {
		defer context.AfterFunc(o.Shutdown, cancel)()
	}
	reports, err := o.Reconciler.Run(ctx)
	if reports == nil {
		reports = []reconcile.Report{}
	}
	return reconcileResult{reports: reports, err: err}
}
