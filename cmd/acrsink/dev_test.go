package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/emulator"
	"github.com/acrsink/acrsink/internal/testenv/acrtest"
	"github.com/acrsink/acrsink/internal/testenv/syncbuf"
)

func freePort(t *testing.T) string {
	t.Helper()
	p, err := emulator.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(p)
}

// TestDevRunsTheSinkThatTheReadmePromises follows the README: start dev,
// post the printed curl's sample with the printed key, query what was
// stored, stop, and find the data again on the next start.
func TestDevRunsTheSinkThatTheReadmePromises(t *testing.T) {
	data := t.TempDir()
	cosmosPort := freePort(t)
	start := func() (stdout *syncbuf.Buffer, stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		stdout, stderr := &syncbuf.Buffer{}, &syncbuf.Buffer{}
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"acrsink", "dev", "-port", freePort(t), "-cosmos-port", cosmosPort, "-data", data}, func(string) string { return "" }, nil, stdout, stderr)
		}()
		deadline := time.Now().Add(2 * time.Minute)
		for !strings.Contains(stdout.String(), "Function key") {
			select {
			case err := <-done:
				t.Fatalf("dev ended early: %v\n%s", err, stderr.String())
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("dev printed nothing:\n%s", stderr.String())
			}
		}
		return stdout, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("dev stopped with %v", err)
			}
		}
	}

	out, stop := start()
	url, key := field(out.String(), "Webhook URL"), field(out.String(), "Function key")
	for _, s := range []string{"curl -i -X POST '" + url + "'", "x-functions-key: " + key, "push.json", "acrsink query"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("dev's banner lacks %q:\n%s", s, out)
		}
	}
	// The curl's file is one a user can post from where they ran dev.
	if m := regexp.MustCompile(`--data-binary @(\S+)`).FindStringSubmatch(out.String()); m == nil {
		t.Errorf("dev's curl posts no file:\n%s", out)
	} else if _, err := os.Stat(m[1]); err != nil {
		t.Errorf("dev's curl posts %s, which is not there: %v", m[1], err)
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(acrtest.Event("push")))
	req.Header.Set("x-functions-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("posting the sample: %d %s", resp.StatusCode, body)
	}
	stop()
	if _, err := os.Stat(filepath.Join(data, "cosmium.json")); err != nil {
		t.Fatalf("no data kept after stop: %v", err)
	}

	_, stop = start()
	defer stop()
	var got bytes.Buffer
	env := func(name string) string {
		if name == "COSMOS_CONNECTION_STRING" {
			return "AccountEndpoint=http://127.0.0.1:" + cosmosPort + "/;AccountKey=" + emulator.Key + ";"
		}
		return ""
	}
	err = run(context.Background(), []string{"acrsink", "query", "-jsonl", "-param", "@repo=hello-world", "SELECT c.image FROM c WHERE c.repository = @repo"}, env, nil, &got, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(got.Bytes(), &doc); err != nil || doc["image"] != "myregistry.azurecr.io/hello-world:v1" {
		t.Errorf("query after restart printed %q (%v), want the stored push", got.String(), err)
	}
}

func field(banner, label string) string {
	sc := bufio.NewScanner(strings.NewReader(banner))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), label); ok {
			return strings.Fields(rest)[0]
		}
	}
	return ""
}

func TestQueryRefusesAMalformedParam(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"acrsink", "query", "-param", "repo=x", "SELECT * FROM c"}, func(string) string { return "" }, nil, io.Discard, &stderr)
	if err == nil || !strings.Contains(stderr.String(), "@name=value") {
		t.Errorf("err %v, stderr %q; want a usage error naming @name=value", err, stderr.String())
	}
}

func TestAnUnknownCommandIsAUsageError(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"acrsink", "nope"}, func(string) string { return "" }, nil, io.Discard, &stderr)
	if exitCode(err, false, io.Discard) != 2 || stderr.String() != "acrsink: unknown command \"nope\"\nsee 'acrsink help'\n" {
		t.Errorf("err %v, stderr %q", err, stderr.String())
	}
}

// startDev runs acrsink dev with args until it prints its banner.
func startDev(t *testing.T, args ...string) (stdout, stderr *syncbuf.Buffer, stop func()) {
	t.Helper()
	return startDevIn(t, func(string) string { return "" }, args...)
}

// startDevIn is startDev in a shell whose environment is getenv.
func startDevIn(t *testing.T, getenv func(string) string, args ...string) (stdout, stderr *syncbuf.Buffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &syncbuf.Buffer{}, &syncbuf.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"acrsink", "dev"}, args...), getenv, nil, stdout, stderr)
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(stdout.String(), "Function key") {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("dev ended early: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("dev printed nothing:\n%s", stderr.String())
		}
	}
	var once bool
	return stdout, stderr, func() {
		if once {
			return
		}
		once = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev stopped with %v", err)
		}
	}
}

func TestASecondDevNamesThePortThatIsTakenAndStartsNothing(t *testing.T) {
	port, cosmosPort := freePort(t), freePort(t)
	_, _, stop := startDev(t, "-port", port, "-cosmos-port", cosmosPort, "-data", t.TempDir())
	defer stop()
	tests := []struct {
		name       string
		args       []string
		want, flag string
	}{
		{"the same ports", []string{"-port", port, "-cosmos-port", cosmosPort}, "the handler's port " + port + " is taken by ", "-port"},
		{"another handler port, as the old hint said", []string{"-port", freePort(t), "-cosmos-port", cosmosPort}, "the emulator's port " + cosmosPort + " is taken by cosmium", "-cosmos-port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), append([]string{"acrsink", "dev", "-data", t.TempDir()}, tt.args...), func(string) string { return "" }, nil, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.flag) {
				t.Errorf("err %v, want one naming %q and %s", err, tt.want, tt.flag)
			}
			if out.Len() != 0 || strings.Contains(errOut.String(), "panic") {
				t.Errorf("the second dev started something or claimed the first one's emulator:\n%s%s", out.String(), errOut.String())
			}
		})
	}
}

func TestDevLogsJSONWhenNoPersonReadsItAndKeepsItsDataAsAPlainFile(t *testing.T) {
	data := t.TempDir()
	out, errOut, stop := startDev(t, "-port", freePort(t), "-cosmos-port", freePort(t), "-data", data)
	url, key := field(out.String(), "Webhook URL"), field(out.String(), "Function key")
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(acrtest.Event("push")))
	req.Header.Set("x-functions-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	stop()
	var logged map[string]any
	for _, line := range strings.Split(errOut.String(), "\n") {
		if strings.Contains(line, `"msg":"request"`) {
			if err := json.Unmarshal([]byte(line), &logged); err != nil {
				t.Errorf("a log line that is not JSON: %q", line)
			}
		}
	}
	if logged["eventId"] == nil {
		t.Errorf("no JSON request line in dev's log (not a terminal):\n%s", errOut.String())
	}
	st, err := os.Stat(filepath.Join(data, "cosmium.json"))
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode&0o111 != 0 || mode&0o644 != 0o644 {
		t.Errorf("cosmium.json has mode %v, want a data file's 0644", mode)
	}
}

func TestDevRefusesAKeyThatHoldsNoKey(t *testing.T) {
	for _, key := range []string{" ", ",", " , "} {
		t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), []string{"acrsink", "dev", "-key", key, "-data", t.TempDir()}, func(string) string { return "" }, nil, &out, &errOut)
			if exitCode(err, false, io.Discard) != 2 || !strings.HasPrefix(errOut.String(), "acrsink dev: -key holds no key") || out.Len() != 0 {
				t.Errorf("err %v, stdout %q, stderr %q; want a usage error and nothing started", err, out.String(), errOut.String())
			}
		})
	}
}

func TestDevsCurlWorksWithSeveralKeys(t *testing.T) {
	out, _, stop := startDev(t, "-port", freePort(t), "-cosmos-port", freePort(t), "-data", t.TempDir(), "-key", "first-key, second-key")
	defer stop()
	banner := out.String()
	m := regexp.MustCompile(`-H 'x-functions-key: ([^']*)'`).FindStringSubmatch(banner)
	if m == nil || m[1] != "first-key" {
		t.Fatalf("the curl's key header is %v, want first-key alone:\n%s", m, banner)
	}
	url := field(banner, "Webhook URL")
	for _, tt := range []struct {
		key  string
		want int
	}{{m[1], http.StatusCreated}, {"second-key", http.StatusOK}, {"", http.StatusUnauthorized}} {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(acrtest.Event("push")))
		if tt.key != "" {
			req.Header.Set("x-functions-key", tt.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("key %q: %d, want %d", tt.key, resp.StatusCode, tt.want)
		}
	}
}

func TestASecondDevOnTheSameDataIsRefusedNamingTheFirst(t *testing.T) {
	data, port := t.TempDir(), freePort(t)
	_, _, stop := startDev(t, "-port", port, "-cosmos-port", freePort(t), "-data", data)
	defer stop()
	// Bounded: a second dev that starts runs until its context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"acrsink", "dev", "-port", freePort(t), "-cosmos-port", freePort(t), "-data", data}, func(string) string { return "" }, nil, &out, &errOut)
	want := fmt.Sprintf("another acrsink dev (pid %d, handler on port %s, ", os.Getpid(), port)
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "-data") || strings.Contains(err.Error(), "\n") {
		t.Errorf("err %v, want one line with %q and -data", err, want)
	}
	if out.Len() != 0 {
		t.Errorf("the second dev started:\n%s", out.String())
	}
}

func TestDevsQueryHintReachesThisInstance(t *testing.T) {
	for _, tt := range []struct {
		name  string
		shell map[string]string
	}{
		{"another port", nil},
		{"a shell set for an Azure account and another container", map[string]string{
			"COSMOS_ENDPOINT": "https://someaccount.documents.azure.com:443/", "COSMOS_DATABASE": "db2", "COSMOS_CONTAINER": "c2",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) { queryHintReaches(t, tt.shell) })
	}
}

func queryHintReaches(t *testing.T, shell map[string]string) {
	out, _, stop := startDevIn(t, func(k string) string { return shell[k] }, "-port", freePort(t), "-cosmos-port", freePort(t), "-data", t.TempDir())
	defer stop()
	banner := out.String()
	req, _ := http.NewRequest(http.MethodPost, field(banner, "Webhook URL"), bytes.NewReader(acrtest.Event("push")))
	req.Header.Set("x-functions-key", field(banner, "Function key"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The printed command, as a shell runs it: its NAME='value' words are
	// its environment, and nothing else is.
	m := regexp.MustCompile(`\n  ((?:\w+='[^']*' )*)go run ./cmd/acrsink query '([^']*)'`).FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("no query command in the banner:\n%s", banner)
	}
	env := maps.Clone(shell)
	if env == nil {
		env = map[string]string{}
	}
	for _, kv := range regexp.MustCompile(`(\w+)='([^']*)'`).FindAllStringSubmatch(m[1], -1) {
		env[kv[1]] = kv[2]
	}
	var got bytes.Buffer
	if err := run(context.Background(), []string{"acrsink", "query", "-jsonl", m[2]}, func(k string) string { return env[k] }, nil, &got, io.Discard); err != nil {
		t.Fatalf("the printed query: %v", err)
	}
	if !strings.Contains(got.String(), "hello-world") {
		t.Errorf("the printed query found %q, want the push just posted", got.String())
	}
}

func TestMessagesSayWhatIsWrongNotAGuess(t *testing.T) {
	t.Run("a data file that is cut short is named as such", func(t *testing.T) {
		data := t.TempDir()
		if err := os.WriteFile(filepath.Join(data, "cosmium.json"), []byte(`{"databases":[`), 0o644); err != nil {
			t.Fatal(err)
		}
		err := run(context.Background(), []string{"acrsink", "dev", "-port", freePort(t), "-cosmos-port", freePort(t), "-data", data}, func(string) string { return "" }, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(data, "cosmium.json")+" is not valid JSON") || strings.Contains(err.Error(), "in use") {
			t.Errorf("err %v, want one naming the data file as not JSON", err)
		}
	})
	t.Run("package outside a clone says to run it from one", func(t *testing.T) {
		t.Chdir(t.TempDir())
		err := run(context.Background(), []string{"acrsink", "package"}, func(string) string { return "" }, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "run this from a clone of acrsink") || strings.Contains(err.Error(), "emulator") {
			t.Errorf("err %v, want one saying to run from a clone, and nothing of the emulator", err)
		}
	})
}

func TestDevAnswersAndLogsAsTheHandlerDoes(t *testing.T) {
	out, errOut, stop := startDev(t, "-port", freePort(t), "-cosmos-port", freePort(t), "-data", t.TempDir())
	url, key := field(out.String(), "Webhook URL"), field(out.String(), "Function key")
	post := func(url string, body string) int {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("x-functions-key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(url, `{"id":"x","action":"push"`); got != http.StatusBadRequest {
		t.Errorf("garbage: %d, want 400", got)
	}
	// The Functions host's timer invocation, as the handler's e2e test sends it.
	if got := post(strings.Replace(url, "/images/push", "/reconcile", 1), `{"Data":{"timer":{}},"Metadata":{}}`); got != http.StatusOK {
		t.Errorf("POST /reconcile with no webhooks to read: %d, want the handler's 200", got)
	}
	stop()
	lines := map[string]map[string]any{}
	for line := range strings.Lines(errOut.String()) {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) == nil && l["msg"] == "request" {
			lines[l["path"].(string)] = l
		}
	}
	if l := lines["/images/push"]; l == nil || l["status"] != 400.0 || !strings.Contains(fmt.Sprint(l["error"]), "JSON") {
		t.Errorf("the 400's log line %v, want its reason in error", l)
	}
	if l := lines["/reconcile"]; l == nil || l["level"] != "INFO" || l["status"] != 200.0 {
		t.Errorf("the reconcile's log line %v, want INFO and 200", l)
	}
	if !strings.Contains(errOut.String(), "nothing to do") {
		t.Errorf("dev's log does not say the reconciler has nothing to do:\n%s", errOut.String())
	}
}
