package main_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/acrsink/acrsink/internal/testenv/armtest"
	"github.com/acrsink/acrsink/internal/testenv/emulatortest"
)

// In Azure the handler reaches both the store (COSMOS_ENDPOINT) and
// Resource Manager with the app's managed identity: main makes one
// credential and hands it to both clients, and each asks it for a token
// with its own audience. Here the store is cosmium taking bearer tokens
// behind HTTPS, and the identity and Resource Manager are stand-ins.
func TestOneManagedIdentityReachesTheStoreAndResourceManager(t *testing.T) {
	ctx := context.Background()
	cfg, p, keyed := emulatortest.Entra(t)

	id := armtest.NewIdentity(t)
	s := armtest.New(t, id.Token)
	hook := armtest.WebhookID("myregistry", "acrsink")
	s.Add(hook, &armtest.Hook{Entries: []json.RawMessage{armtest.Entry("d-1", event(301), headers("westeurope"), 503)}})
	// The handler trusts both stand-ins' certificates.
	armCert, err := os.ReadFile(s.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(t.TempDir(), "certs.pem")
	if err := os.WriteFile(certs, append(append(armCert, '\n'), p.CertPEM()...), 0o600); err != nil {
		t.Fatal(err)
	}

	h, _ := startHost(t, append([]string{
		"COSMOS_CONNECTION_STRING=",
		"COSMOS_ENDPOINT=" + p.Endpoint(),
		"COSMOS_DATABASE=" + cfg.CosmosDatabase,
		"COSMOS_CONTAINER=" + cfg.CosmosContainer,
		"ACRSINK_RECONCILE_WEBHOOKS=" + hook,
		"ACRSINK_ARM_ENDPOINT=" + s.URL,
		"SSL_CERT_FILE=" + certs,
	}, id.Env()...)...)

	waitForLog(t, h, `"msg":"store warmed up"`)
	if status, body := post(t, h.URL+"/images/push?code=test-key", event(302)); status != http.StatusCreated {
		t.Fatalf("an event through the host: %d %s", status, body)
	}
	if inv := h.Invoke(ctx, "reconcile"); inv.Err != nil {
		t.Fatalf("reconcile: %d %s (%v)", inv.Status, inv.Body, inv.Err)
	}
	for _, docID := range []string{"load-000302", "load-000301"} {
		if _, found, err := keyed.Get(ctx, docID); err != nil || !found {
			t.Errorf("%s: found %v, %v; want it stored through the Entra-authenticated store", docID, found, err)
		}
	}
	// azcosmos v1.5.0 asks for the account's scheme and host, without its
	// port (createScopeFromEndpoint).
	u, err := url.Parse(p.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	account := u.Scheme + "://" + u.Hostname()
	got := id.Resources()
	if !slices.Contains(got, account) || !slices.Contains(got, s.URL) {
		t.Errorf("the managed identity was asked for %q, want the store's audience %s and Resource Manager's %s", got, account, s.URL)
	}
}
