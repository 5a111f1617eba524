// Package functionshost stands in for the Azure Functions host in tests,
// since Core Tools cannot be installed here. It does what the host does for
// a custom handler (REFERENCE.md §3): read host.json and every
// <folder>/function.json of the app, start the executable with
// FUNCTIONS_CUSTOMHANDLER_PORT, wait until GET / answers, and forward each
// request on a declared route and method to the handler as raw HTTP, with
// its path, query string and headers, plus X-Azure-Functions-InvocationId.
// Like func start, it does not check keys: the handler must. A timer
// function is invoked on request (Invoke) with the protocol the host uses
// for every trigger that is not raw HTTP.
package functionshost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/acrsink/acrsink/internal/testenv/syncbuf"
)

// HostJSON is the part of host.json the host reads for a custom handler.
type HostJSON struct {
	Version       string `json:"version"`
	CustomHandler struct {
		Description struct {
			DefaultExecutablePath string   `json:"defaultExecutablePath"`
			WorkingDirectory      string   `json:"workingDirectory"`
			Arguments             []string `json:"arguments"`
		} `json:"description"`
		EnableProxyingHttpRequest   bool `json:"enableProxyingHttpRequest"`
		EnableForwardingHttpRequest bool `json:"enableForwardingHttpRequest"`
	} `json:"customHandler"`
	Extensions struct {
		HTTP struct {
			RoutePrefix *string `json:"routePrefix"`
		} `json:"http"`
	} `json:"extensions"`
}

// Binding is one entry of function.json's bindings.
type Binding struct {
	Type      string   `json:"type"`
	Direction string   `json:"direction"`
	Name      string   `json:"name"`
	AuthLevel string   `json:"authLevel"`
	Methods   []string `json:"methods"`
	Route     string   `json:"route"`
	// Schedule is a timerTrigger's NCRONTAB expression, or a %SETTING%
	// binding expression the host resolves from the app settings.
	Schedule string `json:"schedule"`
}

// Function is one function folder.
type Function struct {
	Name     string
	Bindings []Binding `json:"bindings"`
}

// App is a Functions app folder as the host reads it.
type App struct {
	Root      string
	Host      HostJSON
	Functions []Function
}

// LoadApp reads host.json and the function folders under root, with the
// host's rules: a function is a direct subfolder with a function.json; a
// function.json anywhere else is never read.
func LoadApp(root string) (App, error) {
	app := App{Root: root}
	data, err := os.ReadFile(filepath.Join(root, "host.json"))
	if err != nil {
		return app, err
	}
	if err := json.Unmarshal(data, &app.Host); err != nil {
		return app, fmt.Errorf("host.json: %w", err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return app, err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, e.Name(), "function.json"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return app, err
		}
		f := Function{Name: e.Name()}
		if err := json.Unmarshal(data, &f); err != nil {
			return app, fmt.Errorf("%s/function.json: %w", e.Name(), err)
		}
		app.Functions = append(app.Functions, f)
	}
	return app, nil
}

// RawHTTP reports whether the host forwards this function's requests as raw
// HTTP: exactly one httpTrigger input and one http output, nothing else,
// and a forwarding flag in host.json.
func (a App) RawHTTP(f Function) bool {
	if !a.Host.CustomHandler.EnableProxyingHttpRequest && !a.Host.CustomHandler.EnableForwardingHttpRequest {
		return false
	}
	in, out := 0, 0
	for _, b := range f.Bindings {
		switch {
		case b.Type == "httpTrigger" && b.Direction == "in":
			in++
		case b.Type == "http" && b.Direction == "out":
			out++
		default:
			return false
		}
	}
	return in == 1 && out == 1
}

// Timer reports whether f is a timer function: one timerTrigger input and
// nothing else.
func (f Function) Timer() bool {
	return len(f.Bindings) == 1 && f.Bindings[0].Type == "timerTrigger" && f.Bindings[0].Direction == "in"
}

// route is what the host listens for on behalf of one function.
type route struct {
	path    string
	methods []string
}

func (a App) routes() ([]route, error) {
	prefix := "api"
	if p := a.Host.Extensions.HTTP.RoutePrefix; p != nil {
		prefix = *p
	}
	var rs []route
	for _, f := range a.Functions {
		if f.Timer() {
			continue
		}
		if !a.RawHTTP(f) {
			return nil, fmt.Errorf("function %s: neither raw HTTP (one httpTrigger in and one http out) nor a timer (one timerTrigger in)", f.Name)
		}
		for _, b := range f.Bindings {
			if b.Type != "httpTrigger" {
				continue
			}
			r := b.Route
			if r == "" {
				r = f.Name
			}
			p := "/" + strings.Trim(strings.Trim(prefix, "/")+"/"+strings.Trim(r, "/"), "/")
			var ms []string
			for _, m := range b.Methods {
				ms = append(ms, strings.ToUpper(m))
			}
			rs = append(rs, route{path: p, methods: ms})
		}
	}
	return rs, nil
}

// checkTimers does what the host does with timer functions before it
// starts: a %SETTING% schedule must resolve from the app settings, to six
// NCRONTAB fields, and the host's storage must be set, since timers keep
// their schedule state there (Core Tools refuses to start without
// AzureWebJobsStorage for any trigger but HTTP and a few others, REFERENCE.md
// §6; in Azure, AzureWebJobsStorage__accountName does).
func (a App) checkTimers(env []string) error {
	setting := func(name string) string {
		for _, kv := range env {
			if k, v, ok := strings.Cut(kv, "="); ok && strings.EqualFold(k, name) {
				return v
			}
		}
		return ""
	}
	for _, f := range a.Functions {
		if !f.Timer() {
			continue
		}
		if setting("AzureWebJobsStorage") == "" && setting("AzureWebJobsStorage__accountName") == "" {
			return fmt.Errorf("function %s: Missing value for AzureWebJobsStorage. This is required for all triggers other than httptrigger", f.Name)
		}
		schedule := f.Bindings[0].Schedule
		if name, ok := strings.CutPrefix(schedule, "%"); ok && strings.HasSuffix(name, "%") {
			name = strings.TrimSuffix(name, "%")
			if schedule = setting(name); schedule == "" {
				return fmt.Errorf("function %s: '%%%s%%' does not resolve to a value", f.Name, name)
			}
		}
		if len(strings.Fields(schedule)) != 6 {
			return fmt.Errorf("function %s: schedule %q is not a six-field NCRONTAB expression", f.Name, schedule)
		}
	}
	return nil
}

// Host is a running stand-in host with its handler.
type Host struct {
	URL     string // where to send requests, as to the Functions host
	Port    int    // the handler's own port
	cmd     *exec.Cmd
	done    chan error
	front   *httptest.Server
	stdout  *syncbuf.Buffer
	invokes atomic.Int64
	app     App
}

// Options for Start.
type Options struct {
	// Executable overrides host.json's defaultExecutablePath.
	Executable string
	// Env is the handler's environment (the app settings), on top of PATH.
	Env []string
	// Output also receives the handler's stdout and stderr.
	Output io.Writer
}

// Start starts the handler as the host does and waits until it is ready.
func Start(ctx context.Context, app App, o Options) (*Host, error) {
	routes, err := app.routes()
	if err != nil {
		return nil, err
	}
	if err := app.checkTimers(o.Env); err != nil {
		return nil, err
	}
	exe := o.Executable
	if exe == "" {
		exe = filepath.Join(app.Root, app.Host.CustomHandler.Description.DefaultExecutablePath)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	h := &Host{Port: port, done: make(chan error, 1), stdout: &syncbuf.Buffer{}, app: app}
	h.cmd = exec.Command(exe, app.Host.CustomHandler.Description.Arguments...)
	h.cmd.Dir = app.Root
	h.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "FUNCTIONS_CUSTOMHANDLER_PORT=" + strconv.Itoa(port)}, o.Env...)
	var out io.Writer = h.stdout
	if o.Output != nil {
		out = io.MultiWriter(h.stdout, o.Output)
	}
	h.cmd.Stdout, h.cmd.Stderr = out, out
	if err := h.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { h.done <- h.cmd.Wait() }()
	if err := h.waitReady(ctx); err != nil {
		h.kill()
		return nil, err
	}
	backend := &url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(port)}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(backend)
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set("X-Azure-Functions-InvocationId", strconv.FormatInt(h.invokes.Add(1), 10))
			// The older forwarding path copies the body only when
			// Content-Length is positive.
			if pr.In.ContentLength <= 0 {
				pr.Out.Body = http.NoBody
				pr.Out.ContentLength = 0
			}
		},
	}
	h.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, rt := range routes {
			if strings.EqualFold(r.URL.Path, rt.path) {
				if len(rt.methods) > 0 && !slices.Contains(rt.methods, r.Method) {
					http.Error(w, "", http.StatusNotFound)
					return
				}
				proxy.ServeHTTP(w, r)
				return
			}
		}
		http.Error(w, "", http.StatusNotFound)
	}))
	h.URL = h.front.URL
	return h, nil
}

// Invocation is how one invocation of a non-HTTP function went.
type Invocation struct {
	Status int
	Body   []byte
	// ReturnValue is the ReturnValue of the handler's answer.
	ReturnValue json.RawMessage
	// Err says why the host would count the invocation as failed: an
	// answer other than 2xx, or a body that is not the JSON it reads.
	Err error
}

// Invoke fires the timer function name as the host does for a trigger that
// is not raw HTTP (azure-functions-host, src/WebJobs.Script/Workers/Http,
// DefaultHttpWorkerService): POST /<name> with {"Data": {<binding>:
// <value>}, "Metadata": {...}}, no function key; a 2xx answer must be
// {"Outputs", "Logs", "ReturnValue"}. The timer's value is shaped as the
// host serializes TimerInfo (Schedule, ScheduleStatus, IsPastDue); its exact
// fields are not confirmed here, and the handler reads none of them.
func (h *Host) Invoke(ctx context.Context, name string) Invocation {
	var fn *Function
	for i := range h.app.Functions {
		if h.app.Functions[i].Name == name && h.app.Functions[i].Timer() {
			fn = &h.app.Functions[i]
		}
	}
	if fn == nil {
		return Invocation{Err: fmt.Errorf("no timer function %s", name)}
	}
	now := time.Now().UTC()
	body, _ := json.Marshal(map[string]any{
		"Data": map[string]any{fn.Bindings[0].Name: map[string]any{
			"Schedule":       map[string]any{"AdjustForDST": true},
			"ScheduleStatus": map[string]any{"Last": now.Add(-10 * time.Minute).Format(time.RFC3339), "Next": now.Add(10 * time.Minute).Format(time.RFC3339), "LastUpdated": now.Format(time.RFC3339)},
			"IsPastDue":      false,
		}},
		"Metadata": map[string]any{"sys": map[string]any{"MethodName": name, "UtcNow": now.Format(time.RFC3339Nano), "RandGuid": strconv.FormatInt(now.UnixNano(), 16)}},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:"+strconv.Itoa(h.Port)+"/"+name, strings.NewReader(string(body)))
	if err != nil {
		return Invocation{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Azure-Functions-InvocationId", strconv.FormatInt(h.invokes.Add(1), 10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Invocation{Err: err}
	}
	defer resp.Body.Close()
	inv := Invocation{Status: resp.StatusCode}
	inv.Body, inv.Err = io.ReadAll(resp.Body)
	if inv.Err != nil {
		return inv
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		inv.Err = fmt.Errorf("the handler answered %d: the host counts a failed invocation", resp.StatusCode)
		return inv
	}
	var result struct {
		Outputs     map[string]json.RawMessage `json:"Outputs"`
		Logs        []string                   `json:"Logs"`
		ReturnValue json.RawMessage            `json:"ReturnValue"`
	}
	if err := json.Unmarshal(inv.Body, &result); err != nil {
		inv.Err = fmt.Errorf("the answer is not the invocation result the host reads: %w", err)
	}
	inv.ReturnValue = result.ReturnValue
	return inv
}

func (h *Host) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get("http://127.0.0.1:" + strconv.Itoa(h.Port) + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case err := <-h.done:
			h.done <- err
			return fmt.Errorf("handler exited before it was ready: %v\n%s", err, h.stdout.String())
		case <-ctx.Done():
			return fmt.Errorf("handler not ready: %w\n%s", ctx.Err(), h.stdout.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Logs is everything the handler has printed so far.
func (h *Host) Logs() string { return h.stdout.String() }

// Signal sends sig to the handler.
func (h *Host) Signal(sig os.Signal) error { return h.cmd.Process.Signal(sig) }

// Wait waits for the handler to exit, at most d.
func (h *Host) Wait(d time.Duration) error {
	select {
	case err := <-h.done:
		h.done <- err
		return err
	case <-time.After(d):
		return errors.New("handler still running")
	}
}

// Stop ends the handler (SIGTERM, as the host does) and the front server.
func (h *Host) Stop() {
	h.front.Close()
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	if h.Wait(10*time.Second) != nil {
		h.kill()
	}
}

func (h *Host) kill() {
	_ = h.cmd.Process.Kill()
	<-h.done
}

// BuildHandler builds ./cmd/handler of the repository at root into dir and
// returns the executable's path.
func BuildHandler(ctx context.Context, root, dir string) (string, error) {
	out := filepath.Join(dir, "handler")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/handler")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/handler: %v\n%s", err, b)
	}
	return out, nil
}
