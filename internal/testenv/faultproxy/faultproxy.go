// Package faultproxy stands between the handler and the Cosmos emulator and
// misbehaves on demand: it throttles, fails, fails the first write of each
// document, hangs, or goes down, so tests can show what acrsink does when
// its store does (cosmium itself never throttles or fails).
//
// The SDK reads the account document at GET / and then talks to the
// addresses listed there; the proxy rewrites them to itself, or the SDK
// would go around it after the first request.
//
// It also stands in for the network between an app and Cosmos DB in Azure
// (Options): a fixed delay on every request, and HTTPS, so that a new
// connection costs a TLS handshake and a bearer token may be sent. It
// counts the connections opened to it.
package faultproxy

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type mode int

const (
	pass mode = iota
	failing
	hanging
)

// Proxy is a running fault injector.
type Proxy struct {
	target   *url.URL
	addr     string
	rp       *httputil.ReverseProxy
	mu       sync.Mutex
	mode     mode
	status   int
	throttle int
	retryMs  int
	release  chan struct{}
	srv      *http.Server
	faults   atomic.Int64
	creates  atomic.Int64
	reads    atomic.Int64
	conns    atomic.Int64
	opts     Options
	cert     tls.Certificate
	certPEM  []byte
	// first, when not nil, is how the first create of each id is failed.
	first *firstCreates
}

// firstCreates fails the first create of each document id.
type firstCreates struct {
	status int
	// forward passes the create on to the store before answering status:
	// the write is done and its answer lost.
	forward bool
	seen    map[string]bool
}

// Options make the proxy a stand-in for Azure's network.
type Options struct {
	// Delay is added to every request before it is passed on: the latency
	// of each request to a store that far away.
	Delay time.Duration
	// TLS serves HTTPS with a self-signed certificate for 127.0.0.1
	// (CertPEM), as Cosmos DB does.
	TLS bool
}

// Start listens on a free loopback port and forwards to target (for example
// http://127.0.0.1:8081/).
func Start(target string) (*Proxy, error) { return StartWith(target, Options{}) }

// StartWith is Start with options.
func StartWith(target string, o Options) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: u, addr: ln.Addr().String(), release: make(chan struct{}), opts: o}
	if o.TLS {
		if p.cert, p.certPEM, err = selfSigned(); err != nil {
			ln.Close()
			return nil, err
		}
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = u.Host
		},
		ModifyResponse: p.rewriteAccount,
	}
	p.serve(ln)
	return p, nil
}

func (p *Proxy) serve(ln net.Listener) {
	p.srv = &http.Server{
		Handler: http.HandlerFunc(p.handle),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				p.conns.Add(1)
			}
		},
	}
	if p.opts.TLS {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{p.cert}})
	}
	go func() { _ = p.srv.Serve(ln) }()
}

func (p *Proxy) scheme() string {
	if p.opts.TLS {
		return "https"
	}
	return "http"
}

// Endpoint is the proxy's account endpoint.
func (p *Proxy) Endpoint() string { return p.scheme() + "://" + p.addr + "/" }

// CertPEM is the certificate it serves with TLS, for a client to trust.
func (p *Proxy) CertPEM() []byte { return p.certPEM }

// Connections is the connections opened to the proxy so far.
func (p *Proxy) Connections() int64 { return p.conns.Load() }

// Faults counts the requests answered with a fault.
func (p *Proxy) Faults() int64 { return p.faults.Load() }

// Creates is the document creates (POST .../docs) that reached the proxy.
func (p *Proxy) Creates() int64 { return p.creates.Load() }

// Reads is the point reads (GET .../docs/{id}) that reached the proxy.
func (p *Proxy) Reads() int64 { return p.reads.Load() }

// Throttle answers the next n document writes 429 with x-ms-retry-after-ms.
func (p *Proxy) Throttle(n, retryAfterMs int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.throttle, p.retryMs = n, retryAfterMs
}

// FailFirstCreates answers the first create (POST .../docs) of each
// document id from now on with status, without passing it on, and lets
// every later create of that id through, until Heal: a store that refuses
// a write once, as Cosmos DB's 503 says it did ("the write was not
// processed").
func (p *Proxy) FailFirstCreates(status int) { p.failFirst(status, false) }

// LoseFirstCreates passes the first create of each document id from now on
// to the store, then answers it with status instead of the store's answer,
// until Heal: a write that was done but whose answer was lost (a 408 says
// the request may or may not have been processed).
func (p *Proxy) LoseFirstCreates(status int) { p.failFirst(status, true) }

func (p *Proxy) failFirst(status int, forward bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.first = &firstCreates{status: status, forward: forward, seen: map[string]bool{}}
}

// Fail answers every request with status until Heal.
func (p *Proxy) Fail(status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode, p.status = failing, status
}

// Hang holds every request, answering none, until Heal or the client gives
// up.
func (p *Proxy) Hang() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = hanging
}

// Heal passes everything through again and lets hanging requests go on.
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == hanging {
		close(p.release)
		p.release = make(chan struct{})
	}
	p.mode, p.throttle, p.first = pass, 0, nil
}

// Down stops listening and drops every connection: the store is gone.
func (p *Proxy) Down() {
	p.Heal()
	_ = p.srv.Close()
}

// Up listens again on the same address.
func (p *Proxy) Up() error {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.serve(ln)
	return nil
}

// Close stops the proxy.
func (p *Proxy) Close() {
	p.Heal()
	_ = p.srv.Shutdown(context.Background())
}

func (p *Proxy) handle(w http.ResponseWriter, r *http.Request) {
	if p.opts.Delay > 0 {
		select {
		case <-time.After(p.opts.Delay):
		case <-r.Context().Done():
			return
		}
	}
	create := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/docs")
	switch dir, _ := path.Split(r.URL.Path); {
	case create:
		p.creates.Add(1)
	case r.Method == http.MethodGet && strings.HasSuffix(dir, "/docs/"):
		p.reads.Add(1)
	}
	var id string
	if create && p.failingFirst() {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var doc struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(body, &doc)
		id = doc.ID
	}
	p.mu.Lock()
	m, status, release := p.mode, p.status, p.release
	throttled := false
	if m == pass && p.throttle > 0 && create {
		p.throttle--
		throttled = true
	}
	var first *firstCreates
	if m == pass && !throttled && create && p.first != nil && !p.first.seen[id] {
		p.first.seen[id] = true
		first = p.first
	}
	retryMs := p.retryMs
	p.mu.Unlock()
	switch {
	case throttled:
		p.faults.Add(1)
		w.Header().Set("x-ms-retry-after-ms", strconv.Itoa(retryMs))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"code":"TooManyRequests","message":"Request rate is large (fault injected)"}`)
	case first != nil:
		p.faults.Add(1)
		if first.forward {
			// The store does the write; its answer is dropped.
			p.rp.ServeHTTP(discard{header: http.Header{}}, r)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(first.status)
		_, _ = io.WriteString(w, `{"code":"`+strings.ReplaceAll(http.StatusText(first.status), " ", "")+`","message":"first write of this id failed (fault injected)"}`)
	case m == failing:
		p.faults.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"code":"ServiceUnavailable","message":"fault injected"}`)
	case m == hanging:
		p.faults.Add(1)
		// Read the body first: only then does the server notice a client
		// that gives up, and the held request is dropped rather than sent
		// on when the store comes back.
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		select {
		case <-release:
			p.rp.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	default:
		p.rp.ServeHTTP(w, r)
	}
}

// discard is a response nobody reads.
type discard struct{ header http.Header }

func (d discard) Header() http.Header       { return d.header }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

func (p *Proxy) failingFirst() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.first != nil
}

// rewriteAccount points the account document's endpoints at the proxy.
func (p *Proxy) rewriteAccount(resp *http.Response) error {
	if resp.Request.Method != http.MethodGet || resp.Request.URL.Path != "/" {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	for _, from := range []string{p.target.Host, "localhost:" + p.target.Port()} {
		body = bytes.ReplaceAll(body, []byte(p.target.Scheme+"://"+from), []byte(p.scheme()+"://"+p.addr))
		body = bytes.ReplaceAll(body, []byte(from), []byte(p.addr))
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// selfSigned makes a certificate for 127.0.0.1 that signs itself.
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "faultproxy"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pemCert, nil
}
