package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/config"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/emulator"
	"github.com/acrsink/acrsink/internal/ingest"
	"github.com/acrsink/acrsink/internal/testenv/acrtest"
	"github.com/acrsink/acrsink/internal/testenv/emulatortest"
)

func TestMain(m *testing.M) { emulatortest.Main(m) }

func envFor(cfgDB, cfgContainer string) func(string) string {
	return func(name string) string {
		switch name {
		case "COSMOS_CONNECTION_STRING":
			return emulatortest.Server().ConnectionString()
		case "COSMOS_DATABASE":
			return cfgDB
		case "COSMOS_CONTAINER":
			return cfgContainer
		}
		return ""
	}
}

func ids(t *testing.T, q interface {
	Query(context.Context, string, map[string]any, func(json.RawMessage) error) error
}) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := q.Query(context.Background(), "SELECT c.id, c.source FROM c", nil, func(raw json.RawMessage) error {
		var d struct{ ID, Source string }
		if err := json.Unmarshal(raw, &d); err != nil {
			return err
		}
		got[d.ID] = d.Source
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestReplayStoresExactlyTheMissingEventsOnce(t *testing.T) {
	st, cfg := emulatortest.Container(t)
	env := envFor(cfg.CosmosDatabase, cfg.CosmosContainer)
	// Delivery h-06 did arrive (200): it is already stored, by the webhook.
	arrived, _ := os.ReadFile("../../internal/history/testdata/list-events.json")
	var entries []struct {
		EventRequestMessage struct{ Content json.RawMessage }
	}
	_ = json.Unmarshal(arrived, &entries)
	var s string
	_ = json.Unmarshal(entries[5].EventRequestMessage.Content, &s)
	ev, err := acr.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.Event(context.Background(), st, nil, ev, document.SourceWebhook, ev.Raw, ev.Time()); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	err = run(context.Background(), []string{"acrsink", "replay", "-file", "../../internal/history/testdata/list-events.json"}, env, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("replay: %v\n%s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "read 8, skipped (delivered) 3, stored 5, already present 0, ignored (ping) 0, failed 0") {
		t.Errorf("summary:\n%s", out.String())
	}
	want := map[string]string{
		"11111111-0000-4000-8000-000000000002": "replay", // 503
		"11111111-0000-4000-8000-000000000003": "replay", // no answer
		"11111111-0000-4000-8000-000000000004": "replay", // 500, string content
		"11111111-0000-4000-8000-000000000006": "webhook",
		"11111111-0000-4000-8000-000000000007": "replay", // empty status
		"11111111-0000-4000-8000-000000000008": "replay", // 401
	}
	if got := ids(t, st); !equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
	// The history's headers: a region for h-02, the same header in another
	// case for h-04, a display name that is no region for h-03.
	for id, want := range map[string]string{
		"11111111-0000-4000-8000-000000000002": "eastus",
		"11111111-0000-4000-8000-000000000003": "",
		"11111111-0000-4000-8000-000000000004": "westus2",
		"11111111-0000-4000-8000-000000000007": "",
	} {
		if got := regionOf(t, st, id); got != want {
			t.Errorf("%s: region %q, want %q", id, got, want)
		}
	}
	if !strings.Contains(errOut.String(), `warning: delivery h-03: x-acrsink-region header "East US" ignored`) || strings.Count(errOut.String(), "warning:") != 1 {
		t.Errorf("want one warning, for h-03's region header:\n%s", errOut.String())
	}
	printed := out.String() + errOut.String()

	// The same replay again, from standard input: nothing new.
	data, _ := os.ReadFile("../../internal/history/testdata/list-events.json")
	out.Reset()
	err = run(context.Background(), []string{"acrsink", "replay"}, env, bytes.NewReader(data), &out, &errOut)
	if err != nil {
		t.Fatalf("second replay: %v\n%s", err, out.String())
	}
	printed += out.String() + errOut.String()
	if !strings.Contains(out.String(), "read 8, skipped (delivered) 3, stored 0, already present 5, ignored (ping) 0, failed 0") {
		t.Errorf("second summary:\n%s", out.String())
	}
	if got := ids(t, st); !equal(got, want) {
		t.Errorf("after the second replay: %v, want %v unchanged", got, want)
	}

	// -all replays the delivered ones too: only the one that was answered
	// 2xx but never stored here is new.
	out.Reset()
	err = run(context.Background(), []string{"acrsink", "replay", "-all"}, env, bytes.NewReader(data), &out, &errOut)
	if err != nil {
		t.Fatalf("replay --all: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "read 8, skipped (delivered) 0, stored 1, already present 6, ignored (ping) 1, failed 0") {
		t.Errorf("-all summary:\n%s", out.String())
	}
	if got := ids(t, st); len(got) != 7 || got["11111111-0000-4000-8000-000000000001"] != "replay" {
		t.Errorf("after --all: %v, want the one delivered event that was never stored here added", got)
	}
	printed += out.String() + errOut.String()

	// The same headers carry the function key in clear: it reaches no
	// document (payload included) and nothing replay printed.
	var stored strings.Builder
	err = st.Query(context.Background(), "SELECT * FROM c", nil, func(raw json.RawMessage) error {
		stored.Write(raw)
		return nil
	})
	if err != nil || !strings.Contains(stored.String(), `"payload"`) {
		t.Fatalf("reading the documents back: %v\n%s", err, stored.String())
	}
	if strings.Contains(stored.String(), "SECRET-KEY-IN-HISTORY") {
		t.Errorf("the key from the history's headers was stored:\n%s", stored.String())
	}
	if strings.Contains(printed, "SECRET-KEY-IN-HISTORY") {
		t.Errorf("the key from the history's headers was printed:\n%s", printed)
	}
}

func regionOf(t *testing.T, st interface {
	Get(context.Context, string) (json.RawMessage, bool, error)
}, id string) string {
	t.Helper()
	raw, found, err := st.Get(context.Background(), id)
	if err != nil || !found {
		t.Fatalf("document %s: found %v, %v", id, found, err)
	}
	var d struct{ Region string }
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return d.Region
}

func TestReplayDryRunStoresNothing(t *testing.T) {
	st, cfg := emulatortest.Container(t)
	var out bytes.Buffer
	err := run(context.Background(), []string{"acrsink", "replay", "-dry-run", "-file", "../../internal/history/testdata/list-events.json"}, envFor(cfg.CosmosDatabase, cfg.CosmosContainer), nil, &out, &out)
	if err != nil || !strings.Contains(out.String(), "would store 5") || strings.Contains(out.String(), "\r") {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got := ids(t, st); len(got) != 0 {
		t.Errorf("dry run stored %v", got)
	}
}

func TestReplayExitsNonZeroWhenAnEventFails(t *testing.T) {
	_, cfg := emulatortest.Container(t)
	history := `[{"id":"x","eventRequestMessage":{"content":{"action":"push"}},"eventResponseMessage":{"statusCode":"503"}},
	             {"id":"y","eventRequestMessage":{"content":` + string(acrtest.Event("push")) + `},"eventResponseMessage":null}]`
	var out bytes.Buffer
	err := run(context.Background(), []string{"acrsink", "replay"}, envFor(cfg.CosmosDatabase, cfg.CosmosContainer), strings.NewReader(history), &out, &out)
	if err == nil {
		t.Fatalf("replay succeeded with a bad event:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "failed") || !strings.Contains(out.String(), "missing id") || !strings.Contains(out.String(), "stored 1") {
		t.Errorf("output:\n%s", out.String())
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// lines maps each event id that replay printed a line for to its word.
func lines(out string) map[string]string {
	got := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		for _, word := range []string{"would store", "stored", "already present", "failed"} {
			if rest, ok := strings.CutPrefix(line, word+" "); ok {
				got[strings.Fields(rest)[0]] = word
			}
		}
	}
	return got
}

func TestADryRunOverAPartlyStoredHistoryReportsWhatTheRealRunThenDoes(t *testing.T) {
	st, cfg := emulatortest.Container(t)
	env := envFor(cfg.CosmosDatabase, cfg.CosmosContainer)
	const file = "../../internal/history/testdata/list-events.json"
	// Two of the five undelivered events reached the store another way.
	data, _ := os.ReadFile(file)
	var entries []struct {
		EventRequestMessage struct{ Content json.RawMessage }
	}
	_ = json.Unmarshal(data, &entries)
	for _, i := range []int{1, 6} {
		ev, err := acr.Parse(entries[i].EventRequestMessage.Content)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ingest.Event(context.Background(), st, nil, ev, document.SourceEventGrid, ev.Raw, ev.Time()); err != nil {
			t.Fatal(err)
		}
	}

	var dry, real bytes.Buffer
	if err := run(context.Background(), []string{"acrsink", "replay", "-dry-run", "-file", file}, env, nil, &dry, &dry); err != nil {
		t.Fatalf("dry run: %v\n%s", err, dry.String())
	}
	if err := run(context.Background(), []string{"acrsink", "replay", "-file", file}, env, nil, &real, &real); err != nil {
		t.Fatalf("replay: %v\n%s", err, real.String())
	}
	want := lines(real.String())
	for id, word := range want {
		if word == "stored" {
			want[id] = "would store"
		}
	}
	if got := lines(dry.String()); !equal(got, want) || len(got) != 5 {
		t.Errorf("dry run said %v; the real run then did %v", got, lines(real.String()))
	}
	for _, s := range []string{"already present 2", "would store 3", "dry run: looked each event up in " + cfg.CosmosDatabase + "/" + cfg.CosmosContainer} {
		if !strings.Contains(dry.String(), s) {
			t.Errorf("dry run lacks %q:\n%s", s, dry.String())
		}
	}
}

func TestReplayUsesOneWordForAnEventAlreadyStored(t *testing.T) {
	_, cfg := emulatortest.Container(t)
	env := envFor(cfg.CosmosDatabase, cfg.CosmosContainer)
	const file = "../../internal/history/testdata/list-events.json"
	var out bytes.Buffer
	for range 2 {
		out.Reset()
		if err := run(context.Background(), []string{"acrsink", "replay", "-file", file}, env, nil, &out, &out); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(out.String(), "duplicate") || strings.Count(out.String(), "already present") != 6 {
		t.Errorf("want \"already present\" on each of 5 lines and in the summary, never \"duplicate\":\n%s", out.String())
	}
}

func TestReplayWithNothingPipedInSaysWhatItExpects(t *testing.T) {
	// /dev/null is a character device, as a terminal is: what replay
	// checks for to tell that nobody is piping a history in.
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Skip(err)
	}
	defer devNull.Close()
	var errOut bytes.Buffer
	err = run(context.Background(), []string{"acrsink", "replay"}, func(string) string { return "" }, devNull, &bytes.Buffer{}, &errOut)
	if err == nil || !strings.Contains(errOut.String(), "nothing is piped in") || !strings.Contains(errOut.String(), "az acr webhook list-events -r REGISTRY -n WEBHOOK -o json | acrsink replay") {
		t.Errorf("err %v, stderr %q; want what replay expects and the example", err, errOut.String())
	}
}

func TestCtrlCStopsAReplayThatWaitsForItsInput(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var errOut bytes.Buffer
	go func() {
		done <- run(ctx, []string{"acrsink", "replay"}, func(string) string { return "" }, r, &bytes.Buffer{}, &errOut)
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, errInterrupted) || !strings.Contains(errOut.String(), "nothing was replayed") {
			t.Errorf("err %v, stderr %q; want an interruption that says nothing was replayed", err, errOut.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("replay still waits for its input after Ctrl-C")
	}
}

func TestAnUnreachableStoreStopsReplayBeforeTheFirstEventWithOneLine(t *testing.T) {
	// Seconds of the SDK's retries, sharing nothing.
	t.Parallel()
	port := freePort(t) // nothing listens there
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"the emulator named by a connection string", map[string]string{"COSMOS_CONNECTION_STRING": "AccountEndpoint=http://127.0.0.1:" + port + "/;AccountKey=" + emulator.Key + ";"}, "is acrsink dev running"},
	}
	data, _ := os.ReadFile("../../internal/history/testdata/list-events.json")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), []string{"acrsink", "replay"}, func(k string) string { return tt.env[k] }, bytes.NewReader(data), &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err %v, want one line saying %q", err, tt.want)
			}
			if out.Len() != 0 || strings.Contains(errOut.String(), "connection refused") {
				t.Errorf("replay went on per event:\n%s%s", out.String(), errOut.String())
			}
		})
	}
}

func TestWhatToFixIsSaidInOneLineForEachWayTheStoreFails(t *testing.T) {
	emulatorDefault, _ := config.Load(func(string) string { return "" })
	azure, _ := config.Load(func(k string) string {
		if k == "COSMOS_ENDPOINT" {
			return "https://acct.documents.azure.com:443/"
		}
		return ""
	})
	tests := []struct {
		name string
		cfg  config.Config
		err  error
		want string
	}{
		{"no settings and no emulator", emulatorDefault, errors.New("dial tcp 127.0.0.1:8081: connect: connection refused"), "is acrsink dev running?"},
		{"no sign-in", azure, errors.New("DefaultAzureCredential: failed to acquire a token.\nAttempted credentials:\n\tEnvironmentCredential: missing\n\tAzureCLICredential: az not found"), "az login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := storeProblem(tt.err, tt.cfg)
			if got == nil || !strings.Contains(got.Error(), tt.want) || strings.Contains(got.Error(), "\n") {
				t.Errorf("storeProblem = %v, want one line saying %q", got, tt.want)
			}
		})
	}
}

func TestAHistoryEntryThatIsNoDeliveryIsSkippedAndTheRunSucceeds(t *testing.T) {
	_, cfg := emulatortest.Container(t)
	history := `[{"id":"x"},{"id":"y","eventRequestMessage":{"content":` + string(acrtest.Event("push")) + `},"eventResponseMessage":null}]`
	var out bytes.Buffer
	err := run(context.Background(), []string{"acrsink", "replay"}, envFor(cfg.CosmosDatabase, cfg.CosmosContainer), strings.NewReader(history), &out, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"skipped: not a delivery (history entry x: no eventRequestMessage", "skipped (not a delivery) 1, stored 1", "failed 0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "entry x: no answer") || strings.Contains(out.String(), "run the replay again") {
		t.Errorf("an entry that was never sent is reported as lost:\n%s", out.String())
	}
}

func TestOneEventInsteadOfAHistoryIsSaidInOurWords(t *testing.T) {
	err := run(context.Background(), []string{"acrsink", "replay"}, func(string) string { return "" }, bytes.NewReader(acrtest.Event("push")), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "this is one event, not a webhook history") || strings.Contains(err.Error(), "history.wire") {
		t.Errorf("err %v", err)
	}
}

// Each line and the summary use these words; docs/operations.md documents
// them, and scripts read them.
func TestReplayPrintsTheDocumentedWordForEachOutcome(t *testing.T) {
	ops, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		outcome ingest.Outcome
		want    string
	}{
		{ingest.Stored, "stored"},
		{ingest.Duplicate, "already present"},
		{ingest.Ignored, "ignored"},
		{ingest.NotDelivery, "skipped: not a delivery"},
		{ingest.Invalid, "failed"},
		{ingest.WouldStore, "would store"},
		{ingest.Failed, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.outcome.String(), func(t *testing.T) {
			if got := replayWord(tt.outcome); got != tt.want || !strings.Contains(string(ops), tt.want) {
				t.Errorf("replayWord(%v) = %q, want %q, as docs/operations.md says", tt.outcome, got, tt.want)
			}
		})
	}
}

func TestAMissingContainerIsOneLineAndTheDryRunFailsAsTheRealRunDoes(t *testing.T) {
	env := envFor("no-such-database", "no-such-container")
	history := "../../internal/history/testdata/list-events.json"
	for _, args := range [][]string{
		{"query", "SELECT * FROM c"},
		{"replay", "-file", history, "-dry-run"},
		{"replay", "-file", history},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), append([]string{"acrsink"}, args...), env, nil, &out, &errOut)
			if err == nil {
				t.Fatalf("exit 0; printed:\n%s", out.String())
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, "no-such-database/no-such-container is not there (404)") || !strings.Contains(msg, "COSMOS_CONTAINER") {
				t.Errorf("error %q, want one line naming the container, its status and the setting to check", msg)
			}
			if strings.Contains(out.String(), "would store") || strings.Contains(out.String(), "stored") {
				t.Errorf("it reported events as if the store could take them:\n%s", out.String())
			}
		})
	}
}

func TestReplayRefusesInputThatHoldsNothingToReplay(t *testing.T) {
	// A store that answers: each is refused for what it is, not for the store.
	_, cfg := emulatortest.Container(t)
	env := envFor(cfg.CosmosDatabase, cfg.CosmosContainer)
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string
		code  int
	}{
		{"an array of numbers", nil, `[1,2]`, "none of the 2 entries is a delivery", 1},
		{"az acr webhook list's output", nil, `[{"id":"/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/r/webhooks/acrsink","name":"acrsink","status":"enabled","scope":"","actions":["push"]}]`, "none of the 1 entries is a delivery", 1},
		{"a webhook list of commas", []string{"-webhook", ","}, "", `-webhook "," names no webhook`, 2},
		{"no writes in flight", []string{"-concurrency", "0"}, `[]`, "-concurrency 0: want at least 1", 2},
		{"fewer than none in flight", []string{"-concurrency", "-1"}, `[]`, "-concurrency -1: want at least 1", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), append([]string{"acrsink", "replay"}, tt.args...), env, strings.NewReader(tt.stdin), &out, &errOut)
			said := errOut.String()
			if err != nil && !errors.Is(err, errUsage) {
				said += err.Error()
			}
			if code := exitCode(err, false, io.Discard); code != tt.code || !strings.Contains(said, tt.want) {
				t.Errorf("exit %d, said %q; want exit %d saying %q", code, said, tt.code, tt.want)
			}
			if strings.Count(strings.TrimSpace(said), "\n") > 2 || out.Len() != 0 {
				t.Errorf("want a line or three on stderr and nothing else:\n%s%s", out.String(), errOut.String())
			}
		})
	}
}

func TestReplayMarksAndAnnouncesTheWatchedEventsItStoresOnce(t *testing.T) {
	st, cfg := emulatortest.Container(t)
	base := envFor(cfg.CosmosDatabase, cfg.CosmosContainer)
	env := func(k string) string {
		if k == "ACRSINK_WATCH" {
			return "prod/*"
		}
		return base(k)
	}
	digest := "sha256:" + strings.Repeat("cd", 32)
	event := func(id, action, repo string) string {
		return `{"id":"` + id + `","timestamp":"2026-11-30T10:00:00Z","action":"` + action + `","target":{"repository":"` + repo + `","digest":"` + digest + `"}}`
	}
	history := `[{"id":"h1","eventRequestMessage":{"content":` + event("watched-delete", "delete", "prod/api") + `},"eventResponseMessage":{"statusCode":"503"}},
	             {"id":"h2","eventRequestMessage":{"content":` + event("watched-push", "push", "prod/api") + `},"eventResponseMessage":null},
	             {"id":"h3","eventRequestMessage":{"content":` + event("unwatched-delete", "delete", "dev/api") + `},"eventResponseMessage":{"statusCode":"500"}}]`
	wantLine := "watched event: eventId=watched-delete action=delete repository=prod/api digest=" + digest + " source=replay\n"
	for _, tt := range []struct {
		name, summary, stderr string
	}{
		{"the first replay stores three and announces the watched delete", "stored 3, already present 0", wantLine},
		{"a second replay stores nothing and announces nothing", "stored 0, already present 3", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := run(context.Background(), []string{"acrsink", "replay"}, env, strings.NewReader(history), &out, &errOut); err != nil {
				t.Fatalf("%v\n%s%s", err, out.String(), errOut.String())
			}
			if !strings.Contains(out.String(), tt.summary) {
				t.Errorf("summary:\n%s\nwant %q", out.String(), tt.summary)
			}
			if errOut.String() != tt.stderr {
				t.Errorf("stderr %q, want %q", errOut.String(), tt.stderr)
			}
		})
	}
	for id, want := range map[string]bool{"watched-delete": true, "watched-push": false, "unwatched-delete": false} {
		raw, found, err := st.Get(context.Background(), id)
		var d struct{ Watched bool }
		if err != nil || !found || json.Unmarshal(raw, &d) != nil || d.Watched != want {
			t.Errorf("%s: found %v, %v, watched %v; want watched %v", id, found, err, d.Watched, want)
		}
	}
}

func TestReplayWithABadWatchPatternStoresNothingAndSaysWhichInOneLine(t *testing.T) {
	st, cfg := emulatortest.Container(t)
	base := envFor(cfg.CosmosDatabase, cfg.CosmosContainer)
	env := func(k string) string {
		if k == "ACRSINK_WATCH" {
			return "prod/*, prod/[api]"
		}
		return base(k)
	}
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"acrsink", "replay", "-file", "../../internal/history/testdata/list-events.json"}, env, nil, &out, &errOut)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), `ACRSINK_WATCH: pattern "prod/[api]"`) {
		t.Errorf("err %v, want one line naming the bad pattern", err)
	}
	if code := exitCode(err, false, io.Discard); code == 0 {
		t.Errorf("exit status 0")
	}
	if got := ids(t, st); len(got) != 0 || out.Len() != 0 {
		t.Errorf("stored %v, printed %q; want nothing", got, out.String())
	}
}
