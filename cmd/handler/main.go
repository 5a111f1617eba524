// Command handler is the Azure Functions custom handler: the host starts it
// with FUNCTIONS_CUSTOMHANDLER_PORT and forwards HTTP requests to it. It also
// runs on its own for local work (see acrsink dev).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/arm"
	"github.com/acrsink/acrsink/internal/config"
	"github.com/acrsink/acrsink/internal/gcpolicy"
	"github.com/acrsink/acrsink/internal/identity"
	"github.com/acrsink/acrsink/internal/ingest"
	"github.com/acrsink/acrsink/internal/reconcile"
	"github.com/acrsink/acrsink/internal/server"
	"github.com/acrsink/acrsink/internal/store"
	"github.com/acrsink/acrsink/internal/watch"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "handler:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet(args[0], flag.ContinueOnError)
	flags.SetOutput(stderr)
	port := flags.String("port", "", "port for a standalone run (default: FUNCTIONS_CUSTOMHANDLER_PORT, else PORT, else 8080)")
	host := flags.String("host", "127.0.0.1", "address to listen on")
	if err := flags.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	armCfg, err := arm.ParseSettings(cfg.ReconcileWebhooks, cfg.ARMEndpoint)
	if err != nil {
		return err
	}
	watched, err := watch.Parse(cfg.Watch)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	expect, err := reconcile.NewExpected(cfg.WebhookActions, cfg.WebhookScope)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if *port != "" && getenv("FUNCTIONS_CUSTOMHANDLER_PORT") == "" && getenv("FUNCTIONS_HTTPWORKER_PORT") == "" {
		cfg.Port = *port
	}
	if err := cfg.CheckAuth(); err != nil {
		return err
	}
	log := newLogger(stdout, cfg.LogLevel)
	gc := gcpolicy.Apply(getenv)
	log.Info("garbage collector", slog.Int("gogc", gc.Percent), slog.Bool("gogcFromEnv", gc.FromEnv), slog.Int64("memoryLimit", gc.MemoryLimit))
	if len(cfg.Keys) == 0 {
		log.Warn("ACRSINK_INSECURE_NO_AUTH is set: accepting requests with no function key; never do this where the port is reachable")
	}
	if cfg.UsesEmulatorDefault() {
		log.Info("no COSMOS_CONNECTION_STRING or COSMOS_ENDPOINT: using the local emulator at 127.0.0.1:8081")
	}
	// One credential, the app's identity in the configured cloud, for the
	// store and Resource Manager alike; made only where one of them signs
	// in, and with no I/O until the first token.
	var cred azcore.TokenCredential
	if cfg.CosmosEndpoint != "" || len(armCfg.Webhooks) > 0 {
		if cred, err = identity.Credential(getenv, cfg.AzureClientID, armCfg.Cloud); err != nil {
			return fmt.Errorf("no credential for Azure (COSMOS_ENDPOINT, Resource Manager): %w", err)
		}
	}
	st, err := store.Open(store.Account{
		Endpoint:         cfg.CosmosEndpoint,
		Credential:       cred,
		ConnectionString: cfg.CosmosConnection,
		Database:         cfg.CosmosDatabase,
		Container:        cfg.CosmosContainer,
	}, store.Options{})
	if err != nil {
		return err
	}
	var w *ingest.Watch
	if !watched.Empty() {
		w = &ingest.Watch{List: watched, Logger: log}
		log.Info("watching deletes and quarantines (ACRSINK_WATCH)", slog.Int("patterns", watched.Len()))
	}
	rec := &reconcile.Reconciler{Webhooks: armCfg.Webhooks, Store: st, Logger: log, Watch: w, Expect: expect}
	if len(armCfg.Webhooks) > 0 {
		c := arm.New(armCfg.Cloud, cred, arm.Options{})
		rec.Lister, rec.Checker = c, c
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, cfg.Port))
	if err != nil {
		return err
	}
	// On a cold start the host forwards the waiting event as soon as GET /
	// answers, inside ACR's 5 seconds: start the client's lazy work now,
	// beside readiness rather than before it.
	st.Warm(ctx, warmUpLimit, func(d time.Duration, err error) {
		if err != nil {
			log.Warn("store warm-up failed; the first event tries again", slog.Duration("took", d), slog.String("error", acr.Clip(err.Error())))
			return
		}
		log.Info("store warmed up", slog.Duration("took", d))
	})
	return server.Serve(ctx, log, ln, cfg.RequestTimeout, server.New(server.Options{
		Logger:     log,
		Store:      st,
		Watch:      w,
		Keys:       cfg.Keys,
		Timeout:    cfg.RequestTimeout,
		Reconciler: rec,
		Shutdown:   ctx,
	}))
}

// warmUpLimit bounds the store's warm-up: past ACR's 5 seconds, an event
// waiting on it is lost anyway.
const warmUpLimit = 4 * time.Second

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
