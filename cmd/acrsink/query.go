package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/acrsink/acrsink/internal/store"
)

// params collects repeated -param @name=value flags.
type params map[string]any

func (p params) String() string { return "" }

// Set takes @name=value; a value that is JSON (a number, true, "quoted") is
// used as such, anything else as a string.
func (p params) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || !strings.HasPrefix(name, "@") || len(name) < 2 {
		return errors.New("want @name=value")
	}
	var v any
	if err := json.Unmarshal([]byte(value), &v); err != nil {
		v = value
	}
	p[name] = v
	return nil
}

var queryCmd = &command{
	name:    "query",
	summary: "run a Cosmos DB SQL query against the configured container and print the results",
	usage:   `acrsink query [-param @name=value]... [-jsonl] 'SELECT ...'`,
	long: `acrsink query runs one Cosmos DB SQL query against the container the handler writes to and prints the documents it returns.

It asks COSMOS_CONNECTION_STRING or COSMOS_ENDPOINT (default: the local
emulator that acrsink dev starts) in COSMOS_DATABASE/COSMOS_CONTAINER. Use
double quotes or -param for strings. Every @name in the query needs a -param,
and every -param a use. Flags may also follow the query. Against Azure,
queries go through the gateway, which cannot run ORDER BY, TOP, GROUP BY or
DISTINCT across partitions; use Data Explorer for those.`,
	example: `acrsink query -param @repo=hello-world 'SELECT c.tag, c.timestamp FROM c WHERE c.repository = @repo'`,
	flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		ps := params{}
		fs.Var(ps, "param", "query parameter `@name=value` (repeatable)")
		lines := fs.Bool("jsonl", false, "print one compact JSON document per line instead of an indented array")
		return func(ctx context.Context, e *env, args []string) error { return runQuery(ctx, e, ps, *lines, args) }
	},
}

func runQuery(ctx context.Context, e *env, ps params, lines bool, rest []string) error {
	stdout, stderr := e.stdout, e.stderr
	if len(rest) != 1 {
		return badUsage("want one query, got %d arguments (quote the whole query)", len(rest))
	}
	sql := rest[0]
	shape, err := readSQL(sql)
	if err == nil {
		err = checkParams(shape.params, ps)
	}
	if err != nil {
		return fmt.Errorf("query not sent: %w", err)
	}

	az, err := loadAzure(e.getenv)
	if err != nil {
		return err
	}
	cfg := az.cfg
	var opts store.Options
	var detector *fallbackDetector
	if localEmulator(cfg) {
		if len(shape.singleQuoted) > 0 {
			return fmt.Errorf("query not sent: the local emulator (cosmium v0.1.20) matches nothing with a single-quoted string (%s); use double quotes or -param", strings.Join(shape.singleQuoted, ", "))
		}
		if fns := unknownToCosmium(shape.funcs); len(fns) > 0 {
			fmt.Fprintf(stderr, "warning: the local emulator (cosmium v0.1.20) has no %s: it runs the query only up to there and drops the rest, so these results can differ from Azure's\n", strings.Join(fns, ", "))
		}
		detector = &fallbackDetector{next: &http.Client{}}
		opts.Transport = detector
	}
	st, err := az.openStore(opts)
	if err != nil {
		return err
	}

	// Nothing reaches stdout before the first document: a query that fails
	// at once prints no "[]" that could pass for an empty answer.
	n := 0
	err = st.Query(ctx, sql, ps, func(doc json.RawMessage) error {
		var out []byte
		var err error
		if lines {
			out, err = json.Marshal(doc)
			out = append(out, '\n')
		} else {
			out, err = json.MarshalIndent(doc, "  ", "  ")
			prefix := ",\n  "
			if n == 0 {
				prefix = "[\n  "
			}
			out = append([]byte(prefix), out...)
		}
		n++
		if err != nil {
			return err
		}
		_, err = stdout.Write(out)
		return err
	})
	if !lines && (n > 0 || err == nil) {
		if n > 0 {
			fmt.Fprintln(stdout, "\n]")
		} else {
			fmt.Fprintln(stdout, "[]")
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "interrupted after %d result(s)\n", n)
		return errInterrupted
	case detector != nil && detector.fellBack.Load():
		return errors.New("the local emulator (cosmium) could not parse this query: it answered with every document instead of an error, so nothing is printed; the acrsink dev terminal shows where its parser stopped")
	case store.StatusCode(err) == http.StatusBadRequest:
		msg := err.Error()
		if m := serverMessage(err); m != "" {
			msg += ": " + m
		}
		if !localEmulator(cfg) && needsQueryEngine(sql) {
			msg += " (the Cosmos gateway cannot run ORDER BY, TOP, GROUP BY, DISTINCT or aggregates across partitions; run such queries in Data Explorer)"
		}
		return errors.New(msg)
	default:
		if p := storeProblem(err, cfg); p != nil {
			return p
		}
		// Where the container cannot be read, that is the cause, in the
		// store's own status: cosmium answers a query in a missing
		// container 500 "Unknown error", Azure 404.
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		cerr := st.Check(cctx)
		cancel()
		if p := storeProblem(cerr, cfg); p != nil {
			return p
		}
		return err
	}
	fmt.Fprintf(stderr, "%d result(s) from %s/%s\n", n, cfg.CosmosDatabase, cfg.CosmosContainer)
	return nil
}

// needsQueryEngine reports whether sql uses what the Cosmos gateway cannot
// run across partitions.
func needsQueryEngine(sql string) bool {
	up := strings.ToUpper(sql)
	for _, kw := range []string{"ORDER BY", "TOP ", "GROUP BY", "DISTINCT", "COUNT(", "SUM(", "AVG(", "MIN(", "MAX(", "OFFSET "} {
		if strings.Contains(up, kw) {
			return true
		}
	}
	return false
}
