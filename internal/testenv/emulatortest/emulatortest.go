// Package emulatortest gives tests a real Cosmos-compatible server over the
// network: one cosmium per test binary, one fresh container per test.
package emulatortest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acrsink/acrsink/internal/config"
	"github.com/acrsink/acrsink/internal/emulator"
	"github.com/acrsink/acrsink/internal/repo"
	"github.com/acrsink/acrsink/internal/store"
	"github.com/acrsink/acrsink/internal/testenv/faultproxy"
)

var (
	server *emulator.Server
	seq    atomic.Int64
)

// Main starts cosmium, runs the tests and stops it. Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	root, err := repo.Root()
	if err == nil {
		var bin string
		bin, err = emulator.Binary(ctx, root, os.Stderr)
		if err == nil {
			server, err = emulator.Start(ctx, bin, emulator.Options{})
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "emulatortest:", err)
		return 1
	}
	defer server.Stop()
	return m.Run()
}

// Server is the running cosmium.
func Server() *emulator.Server { return server }

// Config is a configuration for a container of its own, named after the
// test, in the running cosmium.
func Config(t testing.TB) config.Config {
	t.Helper()
	cfg, err := config.Load(func(name string) string {
		switch name {
		case "COSMOS_CONNECTION_STRING":
			return server.ConnectionString()
		case "COSMOS_DATABASE":
			return "test"
		case "COSMOS_CONTAINER":
			return fmt.Sprintf("c%d-%s", seq.Add(1), sanitize(t.Name()))
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Account is cfg's container, reached with its connection string's key.
func Account(cfg config.Config) store.Account {
	return store.Account{ConnectionString: cfg.CosmosConnection, Database: cfg.CosmosDatabase, Container: cfg.CosmosContainer}
}

// Container makes a fresh, empty container and a store on it.
func Container(t testing.TB) (*store.Cosmos, config.Config) {
	t.Helper()
	cfg := Config(t)
	s, err := store.Open(Account(cfg), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.EnsureContainer(ctx); err != nil {
		t.Fatal(err)
	}
	return s, cfg
}

func sanitize(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}

// Entra is a container reached as in Azure, where key auth is off: a
// cosmium of its own that takes any bearer token (DisableAuth), behind an
// HTTPS proxy (faultproxy, TLS) whose certificate a client must trust. The
// container is made beforehand with the emulator's key, as infra/ makes it;
// keyed reads it that way, for a test to check what was stored. cfg names
// the container; proxy.Endpoint() is the account a token-authenticated
// client opens.
func Entra(t testing.TB) (cfg config.Config, proxy *faultproxy.Proxy, keyed *store.Cosmos) {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bin, err := emulator.Binary(ctx, root, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := emulator.Start(ctx, bin, emulator.Options{DisableAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	cfg = Config(t)
	cfg.CosmosConnection = srv.ConnectionString()
	if keyed, err = store.Open(Account(cfg), store.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := keyed.EnsureContainer(ctx); err != nil {
		t.Fatal(err)
	}
	if proxy, err = faultproxy.StartWith(srv.Endpoint(), faultproxy.Options{TLS: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	return cfg, proxy, keyed
}
