package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acrsink/acrsink/internal/emulator"
	"github.com/acrsink/acrsink/internal/reconcile"
	"github.com/acrsink/acrsink/internal/repo"
	"github.com/acrsink/acrsink/internal/server"
	"github.com/acrsink/acrsink/internal/store"
)

var devCmd = &command{
	name:    "dev",
	summary: "run the sink locally on the cosmium emulator, with a fresh key",
	usage:   "acrsink dev [-port N] [-cosmos-port N] [-data DIR] [-key KEY]",
	long: `acrsink dev runs the sink locally: it starts the cosmium emulator and the handler with a fresh key, and prints the webhook URL, the key and a curl to try.

Ctrl-C stops both; the emulator's data is kept in -data across runs. It logs
text to a terminal and JSON lines (the handler's format in Azure) otherwise.`,
	example: "go run ./cmd/acrsink dev -port 7072 -cosmos-port 8082",
	flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		var o devOptions
		fs.IntVar(&o.port, "port", 7071, "port for the handler (7071 is func start's)")
		fs.IntVar(&o.cosmosPort, "cosmos-port", 8081, "port for the emulator (8081 is the Cosmos DB emulator's, which acrsink query uses by default)")
		fs.StringVar(&o.dataDir, "data", ".acrsink", "folder for the emulator's data, kept across runs (relative to the repository root)")
		fs.StringVar(&o.key, "key", "", "function key to accept (default: a fresh random one)")
		return func(ctx context.Context, e *env, args []string) error { return runDev(ctx, e, o, args) }
	},
}

// devOptions are dev's flags.
type devOptions struct {
	port, cosmosPort int
	dataDir, key     string
}

func runDev(ctx context.Context, e *env, o devOptions, rest []string) error {
	stdout, stderr, getenv := e.stdout, e.stderr, e.getenv
	if len(rest) != 0 {
		return badUsage("takes no arguments (got %q)", rest[0])
	}
	// -key takes what ACRSINK_FUNCTION_KEYS takes, and is read the same
	// way (comma-separated, blanks left out): a -key with no key in it would
	// turn key checking off without a word. -key "" is the fresh key.
	keys := strings.FieldsFunc(o.key, func(r rune) bool { return r == ',' })
	keys = slices.DeleteFunc(keys, func(k string) bool { return strings.TrimSpace(k) == "" })
	if o.key != "" && len(keys) == 0 {
		return badUsage("-key holds no key (blank, or only commas): give a key, several comma-separated, or leave -key out for a fresh one")
	}
	if o.port == o.cosmosPort {
		return badUsage("-port and -cosmos-port are both %d: the handler and the emulator need a port each", o.port)
	}
	// Both ports before anything starts: a taken one is one line naming
	// it, not cosmium's panic, and never someone else's emulator taken
	// for ours.
	for _, p := range []struct {
		port       int
		what, flag string
	}{{o.port, "the handler's", "-port"}, {o.cosmosPort, "the emulator's", "-cosmos-port"}} {
		if err := emulator.PortFree(p.port); err != nil {
			return fmt.Errorf("%s %v: stop it, or choose another port with %s", p.what, err, p.flag)
		}
	}
	root, err := repo.Root()
	if err != nil {
		return err
	}
	if o.key == "" {
		o.key = rand.Text()
	}
	dir := o.dataDir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	persist := filepath.Join(dir, "cosmium.json")
	// cosmium loads its file when it starts and writes it back whole when
	// it stops: a second emulator on the same file would overwrite the
	// first's events, answered 201, with its own. One dev per data folder.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	release, heldBy, err := lockData(persist+".lock", fmt.Sprintf("pid %d, handler on port %d, emulator on port %d", os.Getpid(), o.port, o.cosmosPort))
	if err != nil {
		return fmt.Errorf("cannot lock the data folder %s: %w", dir, err)
	}
	if release == nil {
		return fmt.Errorf("another acrsink dev (%s) keeps its data in %s: stop it, or give this one its own folder with -data", strings.TrimSpace(heldBy), dir)
	}
	defer release()
	bin, err := emulator.Binary(ctx, root, stderr)
	if err != nil {
		return err
	}
	cosmium, err := emulator.Start(ctx, bin, emulator.Options{Port: o.cosmosPort, Persist: persist, Output: stderr})
	if err != nil {
		return err
	}
	defer func() {
		if err := cosmium.Stop(); err != nil {
			fmt.Fprintln(stderr, "acrsink dev:", err)
		}
	}()

	// The handler's own settings, with the emulator and the key filled in;
	// COSMOS_DATABASE and COSMOS_CONTAINER are honoured as in Azure.
	az, err := loadAzure(func(name string) string {
		switch name {
		case "COSMOS_CONNECTION_STRING":
			return cosmium.ConnectionString()
		case "COSMOS_ENDPOINT", "FUNCTIONS_CUSTOMHANDLER_PORT", "FUNCTIONS_HTTPWORKER_PORT":
			return ""
		case "PORT":
			return strconv.Itoa(o.port)
		case "ACRSINK_FUNCTION_KEYS":
			return o.key
		}
		return getenv(name)
	})
	if err != nil {
		return err
	}
	cfg := az.cfg
	if err := cfg.CheckAuth(); err != nil {
		return err
	}
	st, err := az.openStore(store.Options{})
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := st.EnsureContainer(sctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", cfg.Port))
	if err != nil {
		return fmt.Errorf("the handler's port was taken while the emulator started: %w; choose another with -port", err)
	}
	url := "http://" + ln.Addr().String() + "/images/push"
	sample, _ := filepath.Rel(mustWd(), filepath.Join(root, "internal", "testenv", "acrtest", "testdata", "push.json"))
	fmt.Fprintf(stdout, `acrsink is running locally. Ctrl-C stops it.

  Webhook URL   %s
  Function key  %s
  Cosmos        %s (cosmium; data kept in %s)
                database %s, container %s

Post the documented ACR push example:

  curl -i -X POST '%s' \
    -H 'Content-Type: application/json' \
    -H 'x-functions-key: %s' \
    --data-binary @%s

See what was stored (in another terminal):

  %sgo run ./cmd/acrsink query 'SELECT * FROM c ORDER BY c.timestamp DESC'

`, url, keyLine(cfg.Keys), cosmium.Endpoint(), persist, cfg.CosmosDatabase, cfg.CosmosContainer, url, cfg.Keys[0], sample, queryEnv(cosmium.ConnectionString(), o.cosmosPort, getenv))

	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	// A person at a terminal reads text; anything else (a file, a log
	// shipper) gets the JSON lines the handler writes under the host.
	var handler slog.Handler = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	if isTerminal(stderr) {
		handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	}
	log := slog.New(handler)
	// A reconciler as cmd/handler has one, so that with no
	// ACRSINK_RECONCILE_WEBHOOKS a POST /reconcile answers 200 with nothing
	// to do, as the handler does, not 503. dev builds less than the
	// handler: no ACRSINK_WATCH list, no drift check, no store warm-up.
	rec := &reconcile.Reconciler{Webhooks: az.arm.Webhooks, Store: st, Logger: log}
	if len(az.arm.Webhooks) > 0 {
		if rec.Lister, err = az.openARM(e.arm); err != nil {
			return err
		}
	}
	err = server.Serve(ctx, log, ln, cfg.RequestTimeout, server.New(server.Options{
		Logger: log, Store: st, Keys: cfg.Keys, Timeout: cfg.RequestTimeout,
		Reconciler: rec, Shutdown: ctx,
	}))
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// queryEnv is what the banner's query command needs in front of it to
// reach this instance: query's default is the emulator on 8081 with the
// default database and container, so another port, a Cosmos setting of the
// shell's that dev overrode, or a COSMOS_DATABASE or COSMOS_CONTAINER dev
// was given, is said. The connection string holds
// only the emulator's public, well-known key.
func queryEnv(conn string, cosmosPort int, getenv func(string) string) string {
	var env string
	// dev overrides the shell's COSMOS_CONNECTION_STRING and COSMOS_ENDPOINT;
	// the query, run from the same shell, must too.
	if cosmosPort != 8081 || strings.TrimSpace(getenv("COSMOS_CONNECTION_STRING")) != "" {
		env += "COSMOS_CONNECTION_STRING='" + conn + "' "
	}
	if strings.TrimSpace(getenv("COSMOS_ENDPOINT")) != "" {
		env += "COSMOS_ENDPOINT='' "
	}
	for _, name := range []string{"COSMOS_DATABASE", "COSMOS_CONTAINER"} {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			env += name + "='" + v + "' "
		}
	}
	return env
}

// keyLine is the banner's keys: the first, which the curl sends, then any
// others -key named.
func keyLine(keys []string) string {
	if len(keys) == 1 {
		return keys[0]
	}
	return keys[0] + " (also accepted: " + strings.Join(keys[1:], ", ") + ")"
}

func mustWd() string {
	wd, err := filepath.Abs(".")
	if err != nil {
		return "."
	}
	return wd
}
