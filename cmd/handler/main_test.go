package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/emulator"
	"github.com/acrsink/acrsink/internal/testenv/syncbuf"
)

func TestRunRefusesToStart(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"with no key and no opt-out", map[string]string{}, "ACRSINK_FUNCTION_KEYS"},
		{"with a broken setting, naming it but not its value", map[string]string{
			"ACRSINK_FUNCTION_KEYS": "k", "COSMOS_ENDPOINT": "https://x/", "COSMOS_CONNECTION_STRING": "AccountEndpoint=https://x/;AccountKey=s3cret;",
		}, "not both"},
		{"with a connection string that is not one", map[string]string{
			"ACRSINK_FUNCTION_KEYS": "k", "COSMOS_CONNECTION_STRING": "s3cret",
		}, "COSMOS_CONNECTION_STRING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), []string{"handler"}, func(k string) string { return tt.env[k] }, &out, &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one about %s", err, tt.want)
			}
			if strings.Contains(err.Error()+out.String(), "s3cret") {
				t.Errorf("a secret reached the error or output: %v %s", err, out.String())
			}
		})
	}
}

func TestRunWithTheOptOutWarnsAndServesUntilCancelled(t *testing.T) {
	port, err := emulator.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ACRSINK_INSECURE_NO_AUTH": "true", "FUNCTIONS_CUSTOMHANDLER_PORT": strconv.Itoa(port)}
	ctx, cancel := context.WithCancel(context.Background())
	var out syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"handler"}, func(k string) string { return env[k] }, &out, io.Discard)
	}()
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("never ready")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run = %v after cancel, want nil", err)
	}
	if !strings.Contains(out.String(), "ACRSINK_INSECURE_NO_AUTH is set") || !strings.Contains(out.String(), `"msg":"stopped"`) {
		t.Errorf("log:\n%s", out.String())
	}
}
