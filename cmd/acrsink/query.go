package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"

	"github.com/acrsink/acrsink/internal/store"
)

// params collects repeated -param flags: @name=value binds the string
// value, as typed (an all-digit tag is a string, and 1.10 stays 1.10);
// @name:number=, @name:bool= and @name:null bind those types, refused
// unless the value is one.
type params map[string]any

func (p params) String() string { return "" }

func (p params) Set(s string) error {
	name, value, hasValue := strings.Cut(s, "=")
	name, typ, typed := strings.Cut(name, ":")
	if !strings.HasPrefix(name, "@") || len(name) < 2 {
		return errors.New("want @name=value (a string), or @name:number=N, @name:bool=true|false, @name:null")
	}
	if _, dup := p[name]; dup {
		return fmt.Errorf("%s is given twice", name)
	}
	switch {
	case !typed && hasValue:
		p[name] = value
	case typ == "string" && hasValue:
		p[name] = value
	case typ == "number" && hasValue:
		// json.Number keeps the digits as typed: the query gets 524 or
		// 524.0, whichever was written.
		var n json.Number
		if err := json.Unmarshal([]byte(value), &n); err != nil || strings.TrimSpace(value) != value {
			return fmt.Errorf("%s:number: %q is not a number", name, value)
		}
		p[name] = n
	case typ == "bool" && hasValue && (value == "true" || value == "false"):
		p[name] = value == "true"
	case typ == "bool" && hasValue:
		return fmt.Errorf("%s:bool: %q is neither true nor false", name, value)
	case typ == "null" && !hasValue:
		p[name] = nil
	case typed && typ != "string" && typ != "number" && typ != "bool" && typ != "null":
		return fmt.Errorf("%s:%s: the types are string (the default), number, bool and null", name, typ)
	default:
		return errors.New("want @name=value (a string), or @name:number=N, @name:bool=true|false, @name:null")
	}
	return nil
}

var queryCmd = &command{
	name:    "query",
	summary: "run a Cosmos DB SQL query against the configured container and print the results",
	usage:   `acrsink query [-param @name=value]... [-jsonl] 'SELECT ...'`,
	long: `acrsink query runs one Cosmos DB SQL query against the container the handler writes to and prints the documents it returns.

It asks COSMOS_CONNECTION_STRING or COSMOS_ENDPOINT (default: the local
emulator that acrsink dev starts) in COSMOS_DATABASE/COSMOS_CONTAINER. Use
double quotes or -param for strings. -param @name=value binds the string
value exactly as typed (-param @tag=2 is the tag "2"); -param @name:number=N,
@name:bool=true|false and @name:null bind a number, a boolean or null. Every
@name in the query needs a -param, and every -param a use. Flags may also follow the query. Against Azure,
queries go through the gateway, which cannot run ORDER BY, TOP, GROUP BY or
DISTINCT across partitions; use Data Explorer for those.`,
	example: `acrsink query -param @repo=hello-world 'SELECT c.tag, c.timestamp FROM c WHERE c.repository = @repo'`,
	flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		ps := params{}
		fs.Var(ps, "param", "query parameter `@name=value`, a string; @name:number=N, @name:bool=B or @name:null for other types (repeatable)")
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
	if localEmulator(cfg) {
		if len(shape.singleQuoted) > 0 {
			return fmt.Errorf("query not sent: the local emulator (cosmium v0.1.20) matches nothing with a single-quoted string (%s); use double quotes or -param", strings.Join(shape.singleQuoted, ", "))
		}
		if len(shape.wrongLocally) > 0 {
			var what []string
			for _, w := range shape.wrongLocally {
				what = append(what, cosmiumWrong[w])
			}
			fmt.Fprintf(stderr, "warning: the local emulator (cosmium v0.1.20) answers these differently from Azure, so these results can be wrong: %s\n", strings.Join(what, "; "))
		}
		if fns := unknownToCosmium(shape.funcs); len(fns) > 0 {
			fmt.Fprintf(stderr, "warning: the local emulator (cosmium v0.1.20) has no %s: it runs the query only up to there and drops the rest, so these results can differ from Azure's\n", strings.Join(fns, ", "))
		}
	}
	st, detector, err := az.openQueryStore()
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
	case detector.fellBack():
		return errors.New("the local emulator (cosmium) could not parse this query: it answered with every document instead of an error, so nothing is printed; the acrsink dev terminal shows where its parser stopped")
	case store.StatusCode(err) == http.StatusBadRequest:
		msg := refusal(err)
		if !localEmulator(cfg) && needsQueryEngine(sql) {
			msg += " (the Cosmos gateway cannot run ORDER BY, TOP, GROUP BY, DISTINCT or aggregates across partitions; run such queries in Data Explorer)"
		}
		return errors.New(msg)
	default:
		return queryFailure(ctx, st, cfg, err)
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
