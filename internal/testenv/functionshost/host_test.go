package functionshost_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acrsink/acrsink/internal/testenv/functionshost"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

const hostJSON = `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"handler"},"enableProxyingHttpRequest":true},"extensions":{"http":{"routePrefix":""}}}`

func TestTheRepositorysAppIsForwardedAsRawHTTP(t *testing.T) {
	app, err := functionshost.LoadApp("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if app.Host.CustomHandler.Description.DefaultExecutablePath != "handler" || !app.Host.CustomHandler.EnableProxyingHttpRequest ||
		!app.Host.CustomHandler.EnableForwardingHttpRequest || app.Host.Extensions.HTTP.RoutePrefix == nil || *app.Host.Extensions.HTTP.RoutePrefix != "" {
		t.Errorf("host.json: %+v", app.Host)
	}
	found, timer := false, false
	for _, f := range app.Functions {
		if f.Timer() {
			// The reconciler: invoked by the host's timer, never over HTTP.
			timer = f.Name == "reconcile" && f.Bindings[0].Schedule == "%ACRSINK_RECONCILE_SCHEDULE%"
			continue
		}
		if !app.RawHTTP(f) {
			t.Errorf("function %s would not be forwarded as raw HTTP: %+v", f.Name, f.Bindings)
		}
		for _, b := range f.Bindings {
			if b.Type == "httpTrigger" && b.AuthLevel != "function" {
				t.Errorf("function %s: authLevel %q, want function", f.Name, b.AuthLevel)
			}
			if f.Name == "webhook" && b.Type == "httpTrigger" && b.Route == "images/push" {
				found = true
			}
		}
	}
	if !found {
		t.Error("no webhook function on route images/push")
	}
	if !timer {
		t.Error("no reconcile timer function scheduled by %ACRSINK_RECONCILE_SCHEDULE%")
	}
}

func TestLoadAppFollowsTheHostsRules(t *testing.T) {
	tests := []struct {
		name      string
		files     map[string]string
		functions int
		raw       bool
	}{
		{"a function.json at the root is never read", map[string]string{"function.json": `{"bindings":[]}`}, 0, false},
		{"a function folder with trigger and output is raw HTTP", map[string]string{
			"f/function.json": `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"},{"type":"http","direction":"out","name":"res"}]}`,
		}, 1, true},
		{"any other binding turns raw HTTP off", map[string]string{
			"f/function.json": `{"bindings":[{"type":"httpTrigger","direction":"in"},{"type":"http","direction":"out"},{"type":"queue","direction":"out"}]}`,
		}, 1, false},
		{"a folder without function.json is not a function", map[string]string{"lib/x.txt": "x"}, 0, false},
		{"a timer function is not raw HTTP", map[string]string{
			"t/function.json": `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"0 */5 * * * *"}]}`,
		}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "host.json"), hostJSON)
			for p, data := range tt.files {
				write(t, filepath.Join(dir, p), data)
			}
			app, err := functionshost.LoadApp(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(app.Functions) != tt.functions {
				t.Fatalf("%d functions, want %d", len(app.Functions), tt.functions)
			}
			if tt.functions > 0 && app.RawHTTP(app.Functions[0]) != tt.raw {
				t.Errorf("RawHTTP = %v, want %v", !tt.raw, tt.raw)
			}
		})
	}
}

func TestATimerFunctionNeedsItsScheduleAndTheHostsStorage(t *testing.T) {
	const timer = `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"%SCHEDULE%"}]}`
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"no storage", []string{"SCHEDULE=0 */5 * * * *"}, "Missing value for AzureWebJobsStorage"},
		{"a schedule setting that is not set", []string{"AzureWebJobsStorage=UseDevelopmentStorage=true"}, "'%SCHEDULE%' does not resolve to a value"},
		{"a schedule that is not NCRONTAB", []string{"AzureWebJobsStorage=UseDevelopmentStorage=true", "SCHEDULE=every 5 minutes"}, "not a six-field NCRONTAB expression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "host.json"), hostJSON)
			write(t, filepath.Join(dir, "t", "function.json"), timer)
			app, err := functionshost.LoadApp(dir)
			if err != nil {
				t.Fatal(err)
			}
			_, err = functionshost.Start(context.Background(), app, functionshost.Options{Executable: "/nonexistent", Env: tt.env})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
}
