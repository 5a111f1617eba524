package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/emulator"
	"github.com/acrsink/acrsink/internal/repo"
	"github.com/acrsink/acrsink/internal/store"
	"github.com/acrsink/acrsink/internal/testenv/acrtest"
	"github.com/acrsink/acrsink/internal/testenv/emulatortest"
	"github.com/acrsink/acrsink/internal/testenv/functionshost"
)

// TestMain runs up to four tests at once unless -parallel says otherwise:
// the tests' time is spent waiting (budgets run out, a store 20 ms away,
// Resource Manager's delay), not computing; on 2 cores at the default
// (GOMAXPROCS) the package took 20 s of wall time for 9 s of CPU, at four
// 11 s.
func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit && runtime.GOMAXPROCS(0) < 4 {
		_ = flag.Set("test.parallel", "4")
	}
	emulatortest.Main(m)
}

var (
	buildOnce sync.Once
	handler   string
	buildErr  error
)

// startHost builds the real handler binary and starts it behind the
// stand-in Functions host, on a container of its own.
func startHost(t *testing.T, extraEnv ...string) (*functionshost.Host, *store.Cosmos) {
	t.Helper()
	root := buildHandler(t)
	app, err := functionshost.LoadApp(root)
	if err != nil {
		t.Fatal(err)
	}
	st, cfg := emulatortest.Container(t)
	env := append([]string{
		"ACRSINK_FUNCTION_KEYS=old-key-" + t.Name() + ",test-key",
		"COSMOS_CONNECTION_STRING=" + emulatortest.Server().ConnectionString(),
		"COSMOS_DATABASE=" + cfg.CosmosDatabase,
		"COSMOS_CONTAINER=" + cfg.CosmosContainer,
		// A timer function needs the host's storage and its schedule (the
		// stand-in host checks both, as the host does); the handler reads
		// neither.
		"AzureWebJobsStorage=UseDevelopmentStorage=true",
		"ACRSINK_RECONCILE_SCHEDULE=0 */10 * * * *",
	}, extraEnv...)
	h, err := functionshost.Start(context.Background(), app, functionshost.Options{Executable: handler, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	// Whatever the test did, no key reached the log (runs before Stop).
	t.Cleanup(func() { assertNoSecrets(t, h) })
	return h, st
}

// buildHandler builds the real handler binary, once for the package, into
// handler, and returns the repository's root.
func buildHandler(t *testing.T) string {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "acrsink-handler")
		if err != nil {
			buildErr = err
			return
		}
		handler, buildErr = functionshost.BuildHandler(context.Background(), root, dir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return root
}

func post(t *testing.T, url string, body []byte, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, secret := range []string{"test-key", "old-key-", emulator.Key} {
		if strings.Contains(string(b), secret) {
			t.Errorf("an answer carries a secret: %s", b)
		}
	}
	return resp.StatusCode, string(b)
}

func count(t *testing.T, st *store.Cosmos) int {
	t.Helper()
	n := 0
	if err := st.Query(context.Background(), "SELECT c.id FROM c", nil, func(json.RawMessage) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func get(t *testing.T, st *store.Cosmos, id string) map[string]any {
	t.Helper()
	raw, found, err := st.Get(context.Background(), id)
	if err != nil || !found {
		t.Fatalf("document %s: found %v, %v", id, found, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEveryActionThroughTheHostIsStoredAsItsDocument(t *testing.T) {
	t.Parallel()
	h, st := startHost(t)
	url := h.URL + "/images/push"
	tests := []struct {
		sample string
		want   map[string]any
		absent []string
	}{
		{"push", map[string]any{
			"id": "cb8c3971-9adc-488b-bdd8-43cbb4974ff5", "action": "push", "source": "webhook",
			"timestamp": "2017-11-17T16:52:01.3431453Z", "loginServer": "myregistry.azurecr.io",
			"requestId": "3cbb6949-7549-4fa1-86cd-a6d5451dffc7", "method": "PUT",
			"repository": "hello-world", "tag": "v1", "size": float64(524),
			"digest":    "sha256:80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d",
			"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
			"image":     "myregistry.azurecr.io/hello-world:v1",
		}, []string{"name", "version"}},
		{"push-by-digest", map[string]any{
			"action": "push", "size": float64(3429834752), "actor": "ci-bot",
			"image":     "contoso.azurecr.io/team/big-model@sha256:2b1e4c6f8a0d2e4f6a8c0e2a4c6e8a0c2e4a6c8e0a2c4e6a8c0e2a4c6e8a0c2e",
			"timestamp": "2026-11-20T09:15:42.1000000Z",
		}, []string{"tag"}},
		{"delete", map[string]any{
			"action": "delete", "method": "DELETE", "repository": "hello-world",
			"image": "myregistry.azurecr.io/hello-world@sha256:80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d",
		}, []string{"tag", "size"}},
		{"quarantine", map[string]any{"action": "quarantine", "requestId": "3cbb6949-7549-4fa1-86cd-a6d5451dffc7", "tag": "v2"}, []string{"mediaType", "userAgent"}},
		{"chart_push", map[string]any{"action": "chart_push", "name": "wordpress", "version": "5.4.0", "mediaType": "application/vnd.acr.helm.chart"}, []string{"loginServer", "requestId", "image"}},
		{"chart_delete", map[string]any{"action": "chart_delete", "name": "wordpress"}, []string{"loginServer"}},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			body := acrtest.Event(tt.sample)
			status, resp := post(t, url, body, "x-functions-key", "test-key")
			if status != http.StatusCreated {
				t.Fatalf("status %d %s, want 201", status, resp)
			}
			var ev struct{ ID string }
			_ = json.Unmarshal(body, &ev)
			doc := get(t, st, ev.ID)
			for k, v := range tt.want {
				if doc[k] != v {
					t.Errorf("%s = %v, want %v", k, doc[k], v)
				}
			}
			for _, k := range tt.absent {
				if _, ok := doc[k]; ok {
					t.Errorf("%s = %v, want it left out", k, doc[k])
				}
			}
			if _, err := time.Parse(time.RFC3339Nano, doc["receivedAt"].(string)); err != nil {
				t.Errorf("receivedAt %v: %v", doc["receivedAt"], err)
			}
			checkPayloadIsAsSent(t, doc, body)
		})
	}
	// A quarantine and a push share request.id: both must be there.
	if n := count(t, st); n != len(tests) {
		t.Errorf("%d documents stored, want %d", n, len(tests))
	}
}

// checkPayloadIsAsSent checks that a document's payload is the event body
// as it was posted.
func checkPayloadIsAsSent(t *testing.T, doc map[string]any, body []byte) {
	t.Helper()
	var payload, sent any
	_ = json.Unmarshal(body, &sent)
	b, _ := json.Marshal(doc["payload"])
	_ = json.Unmarshal(b, &payload)
	if !jsonEqual(payload, sent) {
		t.Errorf("payload %s is not the event as sent", b)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestRequestsThatMustStoreNothing(t *testing.T) {
	t.Parallel()
	h, st := startHost(t)
	url := h.URL + "/images/push"
	push := acrtest.Event("push")
	tests := []struct {
		name   string
		url    string
		body   []byte
		header []string
		status int
		errHas string
	}{
		{"a ping answers 204", url, acrtest.Event("ping"), []string{"x-functions-key", "test-key"}, 204, ""},
		{"no key is 401", url, push, nil, 401, "function key"},
		{"a wrong key is 401", url, push, []string{"x-functions-key", "nope"}, 401, "function key"},
		{"a wrong code query is 401", url + "?code=nope", push, nil, 401, "function key"},
		{"garbage is 400", url, []byte("not json"), []string{"x-functions-key", "test-key"}, 400, "not JSON"},
		{"an array is 400", url, []byte(`[1,2]`), []string{"x-functions-key", "test-key"}, 400, "JSON object"},
		{"an event without an id is 400", url, []byte(`{"action":"push"}`), []string{"x-functions-key", "test-key"}, 400, "missing id"},
		{"an event without an action is 400", url, []byte(`{"id":"x"}`), []string{"x-functions-key", "test-key"}, 400, "missing action"},
		{"an id that is a number is 400", url, []byte(`{"id":7,"action":"push","target":{"size":"big"}}`), []string{"x-functions-key", "test-key"}, 400, "field id"},
		{"an empty body is 400", url, nil, []string{"x-functions-key", "test-key"}, 400, "empty body"},
		{"over 1 MiB is 413", url, append(append([]byte(`{"id":"x","action":"push","pad":"`), bytes.Repeat([]byte("a"), 1<<20)...), '"', '}'), []string{"x-functions-key", "test-key"}, 413, "1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, tt.url, tt.body, tt.header...)
			if status != tt.status {
				t.Fatalf("status %d %s, want %d", status, body, tt.status)
			}
			if tt.errHas != "" {
				var e struct{ Error string }
				if err := json.Unmarshal([]byte(body), &e); err != nil || !strings.Contains(e.Error, tt.errHas) {
					t.Errorf("body %s, want a JSON error about %q", body, tt.errHas)
				}
			}
		})
	}
	if n := count(t, st); n != 0 {
		t.Errorf("%d documents stored, want none", n)
	}
	if strings.Contains(h.Logs(), "nope") || strings.Contains(h.Logs(), "test-key") {
		t.Errorf("a key reached the log:\n%s", h.Logs())
	}
}

func TestTheKeyCanComeAsACodeQueryAndEitherRotatedKeyWorks(t *testing.T) {
	t.Parallel()
	h, st := startHost(t)
	status, body := post(t, h.URL+"/images/push?code=test-key", acrtest.Event("push"))
	if status != http.StatusCreated {
		t.Fatalf("code query: %d %s", status, body)
	}
	status, body = post(t, h.URL+"/images/push", acrtest.Event("delete"), "x-functions-key", "old-key-"+t.Name())
	if status != http.StatusCreated {
		t.Fatalf("second key: %d %s", status, body)
	}
	if n := count(t, st); n != 2 {
		t.Errorf("%d documents, want 2", n)
	}
	if strings.Contains(h.Logs(), "test-key") {
		t.Errorf("the code= value reached the log:\n%s", h.Logs())
	}
}

func TestARedeliveredEventAnswers200AndKeepsTheFirstDocument(t *testing.T) {
	t.Parallel()
	h, st := startHost(t)
	url := h.URL + "/images/push"
	if status, body := post(t, url, acrtest.Event("push"), "x-functions-key", "test-key"); status != http.StatusCreated {
		t.Fatalf("first: %d %s", status, body)
	}
	first := get(t, st, "cb8c3971-9adc-488b-bdd8-43cbb4974ff5")["receivedAt"]
	changed := bytes.Replace(acrtest.Event("push"), []byte(`"v1"`), []byte(`"v9"`), 1)
	if status, body := post(t, url, changed, "x-functions-key", "test-key"); status != http.StatusOK {
		t.Fatalf("redelivery: %d %s, want 200", status, body)
	}
	doc := get(t, st, "cb8c3971-9adc-488b-bdd8-43cbb4974ff5")
	if doc["tag"] != "v1" || doc["receivedAt"] != first {
		t.Errorf("redelivery changed the document: %v", doc)
	}
}

func TestOneLogLinePerRequestWithTheEvent(t *testing.T) {
	t.Parallel()
	h, _ := startHost(t)
	post(t, h.URL+"/images/push", acrtest.Event("push"), "x-functions-key", "test-key")
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(h.Logs(), "\n") {
			var l map[string]any
			if json.Unmarshal([]byte(line), &l) != nil || l["msg"] != "request" {
				continue
			}
			if l["eventId"] == "cb8c3971-9adc-488b-bdd8-43cbb4974ff5" && l["action"] == "push" && l["repository"] == "hello-world" &&
				l["tag"] == "v1" && l["status"] == float64(201) && l["durationMs"] != nil {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("no request line with the event in:\n%s", h.Logs())
}

func TestTheHostRoutesOnlyWhatFunctionJSONDeclares(t *testing.T) {
	t.Parallel()
	h, _ := startHost(t)
	resp, err := http.Get(h.URL + "/images/push")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET through the host = %d, want 404 (function.json allows POST only)", resp.StatusCode)
	}
	resp, err = http.Get(h.URL + "/api/images/push")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/api prefix = %d, want 404 (routePrefix is empty)", resp.StatusCode)
	}
}

func TestAStoreThatIsDownGets503WithinTheBudget(t *testing.T) {
	t.Parallel()
	port, err := emulator.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dead := "COSMOS_CONNECTION_STRING=AccountEndpoint=http://127.0.0.1:" + strconv.Itoa(port) + "/;AccountKey=" + emulator.Key + ";"
	h, _ := startHost(t, dead, "ACRSINK_REQUEST_TIMEOUT=1s")
	start := time.Now()
	status, body := post(t, h.URL+"/images/push", acrtest.Event("push"), "x-functions-key", "test-key")
	if status != http.StatusServiceUnavailable {
		t.Fatalf("status %d %s, want 503", status, body)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("503 took %v, want about the 1s budget", d)
	}
	// The log comes through a pipe, which may lag the answer.
	waitForLog(t, h, `"msg":"event not stored","eventId":"cb8c3971-9adc-488b-bdd8-43cbb4974ff5"`)
	if strings.Contains(h.Logs(), emulator.Key) {
		t.Errorf("the account key reached the log")
	}
}

func TestTheRegionHeaderThroughTheHost(t *testing.T) {
	t.Parallel()
	h, st := startHost(t)
	tests := []struct {
		name   string
		header []string
		region string // stored; empty means left out
		warned bool
	}{
		{"a regional webhook's header is stored as the region", []string{"x-acrsink-region", "westus2"}, "westus2", false},
		{"no header means no region and no warning", nil, "", false},
		{"a display name is stored without a region and warned about", []string{"x-acrsink-region", "West US 2"}, "", true},
		{"punctuation is stored without a region and warned about", []string{"x-acrsink-region", "westus2;drop"}, "", true},
		{"41 characters are stored without a region and warned about", []string{"x-acrsink-region", strings.Repeat("w", 41)}, "", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "region-" + strconv.Itoa(i)
			body := bytes.Replace(acrtest.Event("push"), []byte("cb8c3971-9adc-488b-bdd8-43cbb4974ff5"), []byte(id), 1)
			warningsBefore := strings.Count(h.Logs(), `"msg":"region ignored; event stored without it"`)
			status, resp := post(t, h.URL+"/images/push", body, append([]string{"x-functions-key", "test-key"}, tt.header...)...)
			if status != http.StatusCreated {
				t.Fatalf("status %d %s, want 201: a region header is never a reason to refuse an event", status, resp)
			}
			doc := get(t, st, id)
			if got, present := doc["region"]; tt.region == "" && present || tt.region != "" && got != tt.region {
				t.Errorf("region = %v (present %v), want %q", got, present, tt.region)
			}
			checkPayloadIsAsSent(t, doc, body)
			// The request's own line comes after any warning about it.
			waitForRequestLine(t, h, id)
			warnings := strings.Count(h.Logs(), `"msg":"region ignored; event stored without it"`) - warningsBefore
			if want := map[bool]int{false: 0, true: 1}[tt.warned]; warnings != want {
				t.Errorf("%d warnings, want %d:\n%s", warnings, want, h.Logs())
			}
			if tt.warned && !strings.Contains(h.Logs(), `"level":"WARN","msg":"region ignored; event stored without it","from":"x-acrsink-region header","value":`+strconv.Quote(tt.header[1])) {
				t.Errorf("no warning showing the value %q:\n%s", tt.header[1], h.Logs())
			}
		})
	}
}

// waitForRequestLine waits until the handler's log, read through a pipe,
// shows the request line of event id.
func waitForRequestLine(t *testing.T, h *functionshost.Host, id string) {
	t.Helper()
	waitForLine(t, h, "a request line for "+id, func(line string) bool {
		var l map[string]any
		return json.Unmarshal([]byte(line), &l) == nil && l["msg"] == "request" && l["eventId"] == id
	})
}
