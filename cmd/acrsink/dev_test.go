package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/acr/acrtest"
	"github.com/acrsink/acrsink/internal/emulator"
	"github.com/acrsink/acrsink/internal/syncbuf"
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
	if err == nil || !strings.Contains(stderr.String(), `unknown command "nope"`) || !strings.Contains(stderr.String(), "dev") {
		t.Errorf("err %v, stderr %q", err, stderr.String())
	}
}
