package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/emulator"
	"github.com/acrsink/acrsink/internal/testenv/acrtest"
	"github.com/acrsink/acrsink/internal/testenv/emulatortest"
)

// TestTenThousandEventsAtConcurrency64AreAllStored runs the real program
// in-process (so that its goroutines can be counted) against cosmium. It
// is not parallel: the parallel tests wait, parked, until every serial one
// has run (testing.T.Parallel), so nothing else changes the count.
func TestTenThousandEventsAtConcurrency64AreAllStored(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	st, cfg := emulatortest.Container(t)
	port, err := emulator.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"ACRSINK_FUNCTION_KEYS":        "load-key",
		"FUNCTIONS_CUSTOMHANDLER_PORT": strconv.Itoa(port),
		"COSMOS_CONNECTION_STRING":     emulatortest.Server().ConnectionString(),
		"COSMOS_DATABASE":              cfg.CosmosDatabase,
		"COSMOS_CONTAINER":             cfg.CosmosContainer,
		"ACRSINK_LOG_LEVEL":            "warn",
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"handler"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/images/push"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		if resp, err := client.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("never ready")
		}
	}
	template := acrtest.Event("push")
	send := func(from, n int) (ok, bad int64) {
		var next atomic.Int64
		next.Store(int64(from))
		var wg sync.WaitGroup
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= int64(from+n) {
						return
					}
					body := bytes.Replace(template, []byte("cb8c3971-9adc-488b-bdd8-43cbb4974ff5"), []byte(fmt.Sprintf("load-%06d", i)), 1)
					req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
					req.Header.Set("x-functions-key", "load-key")
					resp, err := client.Do(req)
					if err != nil {
						atomic.AddInt64(&bad, 1)
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode >= 200 && resp.StatusCode < 300 {
						atomic.AddInt64(&ok, 1)
					} else {
						atomic.AddInt64(&bad, 1)
					}
				}
			}()
		}
		wg.Wait()
		return ok, bad
	}
	// Warm up at full concurrency, so that connection pools are full before
	// the goroutines are counted.
	if ok, bad := send(0, 1000); bad != 0 || ok != 1000 {
		t.Fatalf("warm-up: %d ok, %d failed", ok, bad)
	}
	settle := func() int {
		client.CloseIdleConnections()
		time.Sleep(200 * time.Millisecond)
		return runtime.NumGoroutine()
	}
	before := settle()
	ok, bad := send(1000, 10000)
	if ok != 10000 || bad != 0 {
		t.Errorf("%d answered 2xx, %d not, want all 10000 2xx", ok, bad)
	}
	after := settle()
	if after > before+16 {
		t.Errorf("goroutines grew from %d to %d over the run", before, after)
	}
	var stored int
	err = st.Query(context.Background(), "SELECT VALUE COUNT(1) FROM c", nil, func(raw json.RawMessage) error {
		return json.Unmarshal(raw, &stored)
	})
	if err != nil || stored != 11000 {
		t.Errorf("%d documents stored (%v), want 11000", stored, err)
	}
}
