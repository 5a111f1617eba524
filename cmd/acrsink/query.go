package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/acrsink/acrsink/internal/store"
)

func init() {
	commands["query"] = command{summary: "run a Cosmos DB SQL query against the configured container and print the results", run: runQuery}
}

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

func runQuery(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("acrsink query", flag.ContinueOnError)
	flags.SetOutput(stderr)
	ps := params{}
	flags.Var(ps, "param", "query parameter `@name=value` (repeatable)")
	lines := flags.Bool("jsonl", false, "print one compact JSON document per line instead of an indented array")
	flags.Usage = func() {
		fmt.Fprintln(stderr, `usage: acrsink query [flags] 'SELECT * FROM c WHERE c.repository = "hello-world"'

Runs the query against COSMOS_CONNECTION_STRING or COSMOS_ENDPOINT (default:
the local emulator that acrsink dev starts) in COSMOS_DATABASE/COSMOS_CONTAINER.
Use double quotes or -param for strings. Against Azure, queries go through the
gateway, which cannot run ORDER BY, TOP, GROUP BY or DISTINCT across
partitions; use Data Explorer for those.

Flags:`)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return errUsage
	}
	if flags.NArg() != 1 {
		flags.Usage()
		return errUsage
	}
	st, cfg, err := openStore(getenv)
	if err != nil {
		return err
	}
	n := 0
	if !*lines {
		fmt.Fprint(stdout, "[")
	}
	err = st.Query(ctx, flags.Arg(0), ps, func(doc json.RawMessage) error {
		var out []byte
		var err error
		if *lines {
			out, err = json.Marshal(doc)
			out = append(out, '\n')
		} else {
			out, err = json.MarshalIndent(doc, "  ", "  ")
			prefix := "\n  "
			if n > 0 {
				prefix = ",\n  "
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
	if !*lines {
		if n > 0 {
			fmt.Fprint(stdout, "\n")
		}
		fmt.Fprintln(stdout, "]")
	}
	if err != nil && store.StatusCode(err) == http.StatusBadRequest && !cfg.UsesEmulatorDefault() && needsQueryEngine(flags.Arg(0)) {
		return fmt.Errorf("%w\n(the Cosmos gateway cannot run ORDER BY, TOP, GROUP BY, DISTINCT or aggregates across partitions; run such queries in Data Explorer)", err)
	}
	if err != nil && cfg.UsesEmulatorDefault() {
		return fmt.Errorf("%w\n(no COSMOS_CONNECTION_STRING or COSMOS_ENDPOINT is set, so this asked the local emulator: is acrsink dev running?)", err)
	}
	if err != nil {
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
