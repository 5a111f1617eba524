package store_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

	"github.com/acrsink/acrsink/internal/identity"
	"github.com/acrsink/acrsink/internal/store"
	"github.com/acrsink/acrsink/internal/testenv/armtest"
	"github.com/acrsink/acrsink/internal/testenv/emulatortest"
	"github.com/acrsink/acrsink/internal/testenv/faultproxy"
)

// entraAccount is a store reached as in Azure: over HTTPS (a proxy in
// front of a cosmium that takes bearer tokens) with a token from a
// stand-in managed identity endpoint.
func entraAccount(t *testing.T) (*store.Cosmos, *faultproxy.Proxy, *armtest.Identity) {
	t.Helper()
	cfg, p, _ := emulatortest.Entra(t)
	id := armtest.NewIdentity(t)
	id.Setenv(t)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(p.CertPEM())
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	cred, err := identity.Credential(id.Getenv, "", cloud.AzurePublic)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(store.Account{Endpoint: p.Endpoint(), Credential: cred, Database: cfg.CosmosDatabase, Container: cfg.CosmosContainer}, store.Options{Transport: trusting})
	if err != nil {
		t.Fatal(err)
	}
	return s, p, id
}

func TestTheWarmUpLeavesTheFirstEventOnlyItsOwnWrite(t *testing.T) {
	s, p, id := entraAccount(t)
	ctx := context.Background()
	done := make(chan error, 1)
	s.Warm(ctx, 10*time.Second, func(_ time.Duration, err error) { done <- err })
	if err := <-done; err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	if n := len(id.Resources()); n != 1 {
		t.Errorf("the warm-up asked for %d tokens, want 1", n)
	}
	if p.Connections() != 1 {
		t.Errorf("the warm-up opened %d connections to the store, want 1", p.Connections())
	}
	if p.Reads() != 0 || p.Creates() != 0 {
		t.Errorf("the warm-up sent %d document reads and %d creates, want none: each is a round trip in front of the first event", p.Reads(), p.Creates())
	}

	created, err := s.Create(ctx, doc("first", "hello"))
	if err != nil || !created {
		t.Fatalf("first Create = %v, %v; want created", created, err)
	}
	if n := len(id.Resources()); n != 1 {
		t.Errorf("the first event asked for a token of its own (%d in all)", n)
	}
	if p.Connections() != 1 || p.Creates() != 1 {
		t.Errorf("the first event made %d connections and %d creates in all, want 1 and 1", p.Connections(), p.Creates())
	}
	if _, found, err := s.Get(ctx, "acrsink-warm-up"); err != nil || found {
		t.Errorf("a read after the warm-up = found %v, %v; want sent and not found", found, err)
	}
	if p.Reads() != 1 {
		t.Errorf("reads after the warm-up reach the store %d times, want 1", p.Reads())
	}
}

func TestACallDuringTheWarmUpWaitsForItAndStoresItsEvent(t *testing.T) {
	s, p, _ := entraAccount(t)
	ctx := context.Background()
	done := make(chan error, 1)
	s.Warm(ctx, 10*time.Second, func(_ time.Duration, err error) { done <- err })
	created, err := s.Create(ctx, doc("during", "hello"))
	if err != nil || !created {
		t.Fatalf("Create during the warm-up = %v, %v; want created", created, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	if p.Creates() != 1 || p.Reads() != 0 {
		t.Errorf("%d creates and %d reads reached the store, want 1 and 0", p.Creates(), p.Reads())
	}
}
