package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/arm"
	"github.com/acrsink/acrsink/internal/server"
	"github.com/acrsink/acrsink/internal/store"
	"github.com/acrsink/acrsink/internal/testenv/armtest"
	"github.com/acrsink/acrsink/internal/testenv/emulatortest"
)

// standInAzure points the CLI at a stand-in Resource Manager, signed in
// through a stand-in managed identity, and returns the getenv for it.
func standInAzure(t *testing.T) (*armtest.Server, *env, *store.Cosmos) {
	t.Helper()
	id := armtest.NewIdentity(t)
	id.Setenv(t)
	s := armtest.New(t, id.Token)
	st, cfg := emulatortest.Container(t)
	getenv := envFor(cfg.CosmosDatabase, cfg.CosmosContainer)
	return s, &env{getenv: func(name string) string {
		if name == "ACRSINK_ARM_ENDPOINT" {
			return s.URL
		}
		return getenv(name)
	}, arm: arm.Options{Transport: s.Client()}}, st
}

// deliverPing is ACR delivering a ping to url with key, as the stand-in's
// ping does: the history entry records acrsink's real answer.
func deliverPing(t *testing.T, url, key string) func(string) json.RawMessage {
	return func(eventID string) json.RawMessage {
		body := []byte(`{"id":"` + eventID + `","timestamp":"2026-11-23T10:00:00Z","action":"ping"}`)
		headers := map[string]string{"x-functions-key": key}
		req, _ := http.NewRequest(http.MethodPost, url+"/images/push", bytes.NewReader(body))
		req.Header.Set("x-functions-key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return armtest.Entry("delivery-"+eventID, body, headers, 0)
		}
		resp.Body.Close()
		return armtest.Entry("delivery-"+eventID, body, headers, resp.StatusCode)
	}
}

func TestCheckReportsWhatAcrsinkAnsweredThePing(t *testing.T) {
	st, _ := emulatortest.Container(t)
	app := httptest.NewServer(server.New(server.Options{Store: st, Keys: []string{"the-right-key"}}))
	defer app.Close()
	tests := []struct {
		name    string
		hook    *armtest.Hook
		healthy bool
		want    string
	}{
		{"the right key is healthy", &armtest.Hook{OnPing: deliverPing(t, app.URL, "the-right-key")}, true, "answered 204: healthy"},
		{"a wrong key is a 401 with what to do", &armtest.Hook{OnPing: deliverPing(t, app.URL, "an-old-key")}, false, "answered 401: the key the webhook sends is not one acrsink accepts"},
		{"an app that is down is no answer", &armtest.Hook{OnPing: deliverPing(t, "http://127.0.0.1:1", "the-right-key")}, false, "no answer (timed out or unreachable): the app was unreachable"},
		{"no right to read the history says so", &armtest.Hook{Fault: armtest.Fault{Status: 403, Code: "AuthorizationFailed"}}, false, "403 AuthorizationFailed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, e, _ := standInAzure(t)
			e.checkPoll, e.checkNoAnswer = 10*time.Millisecond, 0
			id := armtest.WebhookID("myregistry", "acrsink")
			s.Add(id, tt.hook)
			var out, errOut bytes.Buffer
			err := e.runTo([]string{"acrsink", "check", "-webhook", id}, &out, &errOut)
			if (err == nil) != tt.healthy {
				t.Errorf("err = %v, want healthy %v", err, tt.healthy)
			}
			all := out.String() + errOut.String()
			if err != nil {
				all += err.Error()
			}
			if !strings.Contains(all, tt.want) {
				t.Errorf("output %q, want it to say %q", all, tt.want)
			}
			if strings.Count(all, "no answer") > 1 {
				t.Errorf("output %q says no answer twice", all)
			}
			for _, secret := range []string{"the-right-key", "an-old-key"} {
				if strings.Contains(all, secret) {
					t.Errorf("the output holds the key %s", secret)
				}
			}
		})
	}
}

func TestCheckNeedsAWebhookID(t *testing.T) {
	for _, args := range [][]string{{"check"}, {"check", "-webhook", "acrsink"}} {
		var errOut bytes.Buffer
		err := run(context.Background(), append([]string{"acrsink"}, args...), func(string) string { return "" }, nil, &bytes.Buffer{}, &errOut)
		if err == nil {
			t.Errorf("%q: no error", args)
		}
		if msg := errOut.String() + err.Error(); !strings.Contains(msg, "-webhook") {
			t.Errorf("%q: %q does not name -webhook", args, msg)
		}
	}
}

func TestReplayReadsAWebhooksHistoryFromResourceManager(t *testing.T) {
	s, e, st := standInAzure(t)
	hooks := []string{armtest.WebhookID("myregistry", "acrsink"), armtest.WebhookID("myregistry", "acrsinkeastus")}
	headers := map[string]string{"x-functions-key": "SECRET-KEY-IN-HISTORY", "x-acrsink-region": "westeurope"}
	ev := func(id string) json.RawMessage {
		return json.RawMessage(`{"id":"` + id + `","timestamp":"2026-11-23T10:00:00Z","action":"push","target":{"repository":"hello-world","tag":"v1"}}`)
	}
	s.Add(hooks[0], &armtest.Hook{PageSize: 1, Entries: []json.RawMessage{
		armtest.Entry("d-1", ev("e-1"), headers, 201),
		armtest.Entry("d-2", ev("e-2"), headers, 503),
		armtest.Entry("d-3", ev("e-3"), headers, 0),
	}})
	s.Add(hooks[1], &armtest.Hook{Entries: []json.RawMessage{armtest.Entry("d-4", ev("e-4"), headers, 401)}})
	var out, errOut bytes.Buffer
	err := e.runTo([]string{"acrsink", "replay", "-webhook", strings.Join(hooks, ",")}, &out, &errOut)
	if err != nil {
		t.Fatalf("replay: %v\n%s%s", err, out.String(), errOut.String())
	}
	got := ids(t, st)
	want := map[string]string{"e-2": "replay", "e-3": "replay", "e-4": "replay"}
	if len(got) != len(want) {
		t.Errorf("stored %v, want %v", got, want)
	}
	for id, src := range want {
		if got[id] != src {
			t.Errorf("%s: source %q, want %q", id, got[id], src)
		}
	}
	if strings.Contains(out.String()+errOut.String(), "SECRET-KEY-IN-HISTORY") {
		t.Error("the key in the history's headers was printed")
	}
	if !strings.Contains(out.String(), "read 4, skipped (delivered) 1, stored 3") {
		t.Errorf("summary:\n%s", out.String())
	}
}

func TestReplayOfAHistoryLongerThanOneReadTakesReplaysWhatWasReadAndSaysSo(t *testing.T) {
	s, e, st := standInAzure(t)
	hook := armtest.WebhookID("myregistry", "acrsink")
	var entries []json.RawMessage
	for i := range arm.MaxPages + 1 {
		entries = append(entries, armtest.Entry(fmt.Sprintf("d-%d", i), json.RawMessage(fmt.Sprintf(`{"id":"e-%d","action":"push","target":{"repository":"hello-world","tag":"v1"}}`, i)), nil, 0))
	}
	s.Add(hook, &armtest.Hook{PageSize: 1, Entries: entries})
	var out, errOut bytes.Buffer
	if err := e.runTo([]string{"acrsink", "replay", "-webhook", hook}, &out, &errOut); err != nil {
		t.Fatalf("replay: %v\n%s%s", err, out.String(), errOut.String())
	}
	if got := ids(t, st); len(got) != arm.MaxPages {
		t.Errorf("stored %d events, want the %d read", len(got), arm.MaxPages)
	}
	if !strings.Contains(errOut.String(), "history longer than one read takes") || !strings.Contains(errOut.String(), "az acr webhook list-events -r myregistry -n acrsink -o json | acrsink replay") {
		t.Errorf("stderr:\n%s", errOut.String())
	}
}

func TestReplayTakesOneHistoryAtATime(t *testing.T) {
	var errOut bytes.Buffer
	err := run(context.Background(), []string{"acrsink", "replay", "-webhook", armtest.WebhookID("r", "acrsink"), "-file", "x.json"}, func(string) string { return "" }, nil, &bytes.Buffer{}, &errOut)
	if err == nil || !strings.Contains(errOut.String(), "-webhook and -file both name a history") {
		t.Errorf("err %v, stderr %q", err, errOut.String())
	}
}

// runTo runs args with e, writing to stdout and stderr.
func (e *env) runTo(args []string, stdout, stderr io.Writer) error {
	e.stdout, e.stderr = stdout, stderr
	return e.run(context.Background(), args)
}

func TestOneWebhookWhoseHistoryCannotBeReadDoesNotStopTheOthers(t *testing.T) {
	s, e, st := standInAzure(t)
	readable, refused := armtest.WebhookID("myregistry", "acrsink"), armtest.WebhookID("myregistry", "acrsinkeastus")
	s.Add(refused, &armtest.Hook{Fault: armtest.Fault{Status: 403, Code: "AuthorizationFailed"}})
	s.Add(readable, &armtest.Hook{Entries: []json.RawMessage{
		armtest.Entry("d-1", json.RawMessage(`{"id":"e-1","timestamp":"2026-11-23T10:00:00Z","action":"push","target":{"repository":"hello-world","tag":"v1"}}`), nil, 503),
	}})
	var out, errOut bytes.Buffer
	err := e.runTo([]string{"acrsink", "replay", "-webhook", refused + "," + readable}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "myregistry/acrsinkeastus") {
		t.Errorf("err %v, want one naming the webhook that was not replayed", err)
	}
	if !strings.Contains(errOut.String(), "not replayed: myregistry/acrsinkeastus:") || !strings.Contains(errOut.String(), "403") {
		t.Errorf("stderr %q, want the unreadable webhook and why", errOut.String())
	}
	if got := ids(t, st); got["e-1"] != "replay" {
		t.Errorf("stored %v, want the readable webhook's event replayed", got)
	}
}
