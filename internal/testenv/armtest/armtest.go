// Package armtest stands in, for tests, for the two Azure services the
// reconciler talks to, in their wire formats: Resource Manager's ACR webhook
// API (listEvents with nextLink pages, ping, a GET of the webhook; over HTTPS, because azcore
// sends no bearer token over plain HTTP) and App Service's managed identity
// endpoint (IDENTITY_ENDPOINT, IDENTITY_HEADER), so the real SDK and
// credential run against them.
package armtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Identity is a stand-in managed identity endpoint, as App Service and
// Functions provide it: GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&
// resource=R with header X-IDENTITY-HEADER answers {"access_token",
// "expires_on", "resource", "token_type"} (REFERENCE.md §6).
type Identity struct {
	URL, Header, Token string

	srv       *httptest.Server
	mu        sync.Mutex
	resources []string
}

// NewIdentity starts one for the test.
func NewIdentity(t testing.TB) *Identity {
	id := StartIdentity(0)
	t.Cleanup(id.Close)
	return id
}

// Close stops it.
func (id *Identity) Close() { id.srv.Close() }

// StartIdentity starts one that takes delay to answer each token request
// (the bench's stand-in for the real endpoint's latency); Close stops it.
func StartIdentity(delay time.Duration) *Identity {
	id := &Identity{Header: random(), Token: "token-" + random()}
	id.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		q := r.URL.Query()
		if r.Header.Get("X-IDENTITY-HEADER") != id.Header || q.Get("api-version") != "2019-08-01" || q.Get("resource") == "" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"statusCode":400,"message":"bad request"}`))
			return
		}
		id.mu.Lock()
		id.resources = append(id.resources, q.Get("resource"))
		id.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"access_token": id.Token,
			"expires_on":   strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10),
			"resource":     q.Get("resource"),
			"token_type":   "Bearer",
		})
	}))
	id.URL = id.srv.URL + "/msi/token"
	return id
}

// Env is the environment that points a credential at it.
func (id *Identity) Env() []string {
	return []string{"IDENTITY_ENDPOINT=" + id.URL, "IDENTITY_HEADER=" + id.Header}
}

// Getenv is Env as a command's getenv, for identity.Credential.
func (id *Identity) Getenv(name string) string {
	switch name {
	case "IDENTITY_ENDPOINT":
		return id.URL
	case "IDENTITY_HEADER":
		return id.Header
	}
	return ""
}

// Setenv points this process's credentials at it for the test: the
// Azure SDK's managed identity credential reads IDENTITY_ENDPOINT and
// IDENTITY_HEADER from the process itself (MSAL's managedidentity.GetSource),
// whatever getenv identity.Credential was given.
func (id *Identity) Setenv(t testing.TB) {
	t.Setenv("IDENTITY_ENDPOINT", id.URL)
	t.Setenv("IDENTITY_HEADER", id.Header)
}

// Resources are the token audiences asked for so far.
func (id *Identity) Resources() []string {
	id.mu.Lock()
	defer id.mu.Unlock()
	return append([]string(nil), id.resources...)
}

// Fault is how a webhook's API misbehaves.
type Fault struct {
	Status     int    // the answer, with an ARM error body
	Code       string // the ARM error code
	RetryAfter string // a Retry-After header, with 429
	Hang       bool   // never answer
	// Times is how many calls get the fault before the webhook behaves;
	// 0 means every call.
	Times int
}

// Hook is one webhook's history and behaviour.
type Hook struct {
	// Entries are the history's entries in the order Resource Manager
	// returns them (see Entry): that order is not documented, and
	// Microsoft's examples show the newest first, as Ping adds them here.
	Entries []json.RawMessage
	// PageSize is the entries on each page; 0 means all on one.
	PageSize int
	Fault    Fault
	// Delay is how long each request to the webhook waits before it is
	// answered (Resource Manager's latency; a page takes hundreds of
	// milliseconds in Azure). A caller that gives up ends the wait.
	Delay time.Duration
	// OnPing, when set, makes the delivery of a ping and returns its
	// history entry; Ping adds it to the history.
	OnPing func(eventID string) json.RawMessage

	// Status, Actions and Scope are the webhook's configuration, as its
	// GET answers it. The zero values answer what infra/ deploys:
	// "enabled", all five actions, an empty scope (the whole registry).
	// NoActions answers an empty action list instead of all five.
	Status    string
	Actions   []string
	NoActions bool
	Scope     string
	// ConfigFault is how the GET misbehaves; Fault and Delay are the
	// history's and the ping's only.
	ConfigFault Fault

	faults, configFaults int
}

// Server is a stand-in Resource Manager for ACR webhooks.
type Server struct {
	URL      string
	CertFile string // the server's certificate, PEM, for SSL_CERT_FILE
	Token    string // the bearer token it accepts

	srv   *httptest.Server
	mu    sync.Mutex
	hooks map[string]*Hook
	calls []string
}

// New starts a stand-in that accepts only token as a bearer token.
func New(t testing.TB, token string) *Server {
	s := &Server{Token: token, hooks: map[string]*Hook{}}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	s.CertFile = filepath.Join(t.TempDir(), "arm.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	if err := os.WriteFile(s.CertFile, cert, 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// Client is an HTTP client that trusts the stand-in.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Add serves h as the webhook with resource id.
func (s *Server) Add(id string, h *Hook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks[strings.ToLower(id)] = h
}

// Calls are the requests served so far, "METHOD path".
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls = append(s.calls, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		armError(w, http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed.")
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		armError(w, http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return
	}
	id, action, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/webhooks/")
	name, action, _ := strings.Cut(action, "/")
	id = "/" + id + "/webhooks/" + name
	s.mu.Lock()
	h, ok := s.hooks[strings.ToLower(id)]
	if ok && action == "" && r.Method == http.MethodGet {
		f := h.ConfigFault
		fault := f.Status > 0 && (f.Times == 0 || h.configFaults < f.Times)
		if fault {
			h.configFaults++
		}
		s.mu.Unlock()
		if fault {
			armError(w, f.Status, f.Code, "stand-in fault")
			return
		}
		s.get(w, id, h)
		return
	}
	fault := ok && h.Fault.Status+boolInt(h.Fault.Hang) > 0 && (h.Fault.Times == 0 || h.faults < h.Fault.Times)
	if fault {
		h.faults++
	}
	s.mu.Unlock()
	if ok && h.Delay > 0 {
		select {
		case <-time.After(h.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if !ok {
		armError(w, http.StatusNotFound, "ResourceNotFound", "The Resource 'Microsoft.ContainerRegistry/registries/webhooks' under resource group was not found.")
		return
	}
	if fault {
		if h.Fault.Hang {
			<-r.Context().Done()
			return
		}
		if h.Fault.RetryAfter != "" {
			w.Header().Set("Retry-After", h.Fault.RetryAfter)
		}
		armError(w, h.Fault.Status, h.Fault.Code, "stand-in fault")
		return
	}
	switch {
	case action == "listEvents" && (r.Method == http.MethodPost || r.Method == http.MethodGet):
		s.listEvents(w, r, h)
	case action == "ping" && r.Method == http.MethodPost:
		eventID := random()
		if h.OnPing != nil {
			entry := h.OnPing(eventID)
			s.mu.Lock()
			h.Entries = append([]json.RawMessage{entry}, h.Entries...)
			s.mu.Unlock()
		}
		writeJSON(w, map[string]string{"id": eventID})
	default:
		armError(w, http.StatusNotFound, "NotFound", "no such operation")
	}
}

// get answers a GET of the webhook as Resource Manager does
// (azure-rest-api-specs, Microsoft.ContainerRegistry/stable/2023-07-01/
// examples/WebhookGet.json): id, name, type, location, tags and properties
// {status, scope, actions, provisioningState}; no serviceUri, which only
// getCallbackConfig returns.
func (s *Server) get(w http.ResponseWriter, id string, h *Hook) {
	s.mu.Lock()
	status, actions, scope := h.Status, h.Actions, h.Scope
	if status == "" {
		status = "enabled"
	}
	if actions == nil && !h.NoActions {
		actions = []string{"push", "delete", "quarantine", "chart_push", "chart_delete"}
	}
	if actions == nil {
		actions = []string{}
	}
	s.mu.Unlock()
	_, name, _ := strings.Cut(id, "/webhooks/")
	writeJSON(w, map[string]any{
		"id":       id,
		"name":     name,
		"type":     "Microsoft.ContainerRegistry/registries/webhooks",
		"location": "westeurope",
		"tags":     map[string]string{},
		"properties": map[string]any{
			"status":            status,
			"scope":             scope,
			"actions":           actions,
			"provisioningState": "Succeeded",
		},
	})
}

// listEvents answers one page: {"value": [...], "nextLink": "..."}, the
// next page named by a $skipToken, as Resource Manager pages do.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, h *Hook) {
	s.mu.Lock()
	entries := append([]json.RawMessage(nil), h.Entries...)
	s.mu.Unlock()
	start, _ := strconv.Atoi(r.URL.Query().Get("$skipToken"))
	size := h.PageSize
	if size <= 0 {
		size = len(entries) + 1
	}
	end := min(start+size, len(entries))
	page := map[string]any{"value": entries[min(start, end):end]}
	if end < len(entries) {
		q := r.URL.Query()
		q.Set("$skipToken", strconv.Itoa(end))
		page["nextLink"] = s.URL + r.URL.Path + "?" + q.Encode()
	}
	writeJSON(w, page)
}

// Entry is one history entry as Resource Manager returns it: the event as
// the request's content, the headers ACR sent, and the answer (status 0:
// none, as for a delivery that timed out).
func Entry(deliveryID string, event json.RawMessage, headers map[string]string, status int) json.RawMessage {
	req := map[string]any{
		"content":    event,
		"headers":    headers,
		"method":     "POST",
		"requestUri": "https://app.azurewebsites.net/images/push",
		"version":    "1.1",
	}
	e := map[string]any{"id": deliveryID, "eventRequestMessage": req}
	if status != 0 {
		e["eventResponseMessage"] = map[string]any{
			"content":      "",
			"headers":      map[string]string{"Content-Type": "application/json; charset=utf-8"},
			"reasonPhrase": http.StatusText(status),
			"statusCode":   strconv.Itoa(status),
			"version":      "1.1",
		}
	}
	b, _ := json.Marshal(e)
	return b
}

func armError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("x-ms-failure-cause", "gateway")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func random() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// WebhookID is a well-formed webhook resource id for tests.
func WebhookID(registry, webhook string) string {
	return fmt.Sprintf("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/registry-rg/providers/Microsoft.ContainerRegistry/registries/%s/webhooks/%s", registry, webhook)
}
