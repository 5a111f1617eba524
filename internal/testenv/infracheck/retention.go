package infracheck

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Cosmos DB's container TTL, defaultTtl, in seconds: absent or null turns
// TTL off, -1 turns it on with items that never expire, n > 0 expires an
// item n seconds after its last write; the largest value is 2,147,483,647
// (learn.microsoft.com, cosmos-db/time-to-live).
const (
	ttlNeverExpires = -1
	maxTTLSeconds   = math.MaxInt32
	secondsPerDay   = 86400
)

// RetentionProblems checks the retention parameter from end to end: main
// declares retentionDays with a default that keeps every event, bounded so
// that no allowed value overflows Cosmos DB's TTL; main.parameters.json
// fills it from an azd environment value (so azd env set, then azd
// provision, changes it); main passes it to the Cosmos DB module; and the
// module sets the container's defaultTtl from it, in seconds, with 0
// meaning never expire. defaultTtl is evaluated for every bound and a few
// values between, not read as text.
func RetentionProblems(main, cosmos *File, paramsJSON []byte) []string {
	var problems []string
	decl, decorators := paramDecl(main, "retentionDays")
	if decl == nil {
		return []string{main.Path + ": no retentionDays parameter"}
	}
	if len(decl.Children) < 3 || main.Text(decl.Children[1]) != "int" || main.Text(decl.Children[2]) != "0" {
		problems = append(problems, fmt.Sprintf("%s:%d: retentionDays is %s, want int = 0 (keep every event unless asked)", main.Path, decl.Row, main.Text(decl)))
	}
	lo, hi := bound(main, decorators, "minValue"), bound(main, decorators, "maxValue")
	switch {
	case lo != 0:
		problems = append(problems, fmt.Sprintf("%s:%d: retentionDays has @minValue %v, want 0", main.Path, decl.Row, lo))
	case hi <= 0 || hi*secondsPerDay > maxTTLSeconds:
		problems = append(problems, fmt.Sprintf("%s:%d: retentionDays has @maxValue %v: want one whose seconds fit Cosmos DB's largest TTL, %d", main.Path, decl.Row, hi, maxTTLSeconds))
	}

	var doc struct {
		Parameters map[string]struct {
			Value any `json:"value"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(paramsJSON, &doc); err != nil {
		problems = append(problems, "main.parameters.json: "+err.Error())
	} else if v, _ := doc.Parameters["retentionDays"].Value.(string); !strings.HasPrefix(v, "${ACRSINK_RETENTION_DAYS=") || !strings.HasSuffix(v, "}") {
		// azd substitutes ${NAME=default} from the environment, and turns a
		// string that parses as an integer into a number for a number
		// parameter (Azure/azure-dev, bicep_provider.go,
		// armParameterFileValue).
		problems = append(problems, fmt.Sprintf("main.parameters.json: retentionDays is %q, want ${ACRSINK_RETENTION_DAYS=...}, which azd env set fills", v))
	} else if d := strings.TrimSuffix(strings.TrimPrefix(v, "${ACRSINK_RETENTION_DAYS="), "}"); d != "0" {
		problems = append(problems, fmt.Sprintf("main.parameters.json: retentionDays defaults to %q, want 0 (keep every event)", d))
	}

	if m := moduleCall(main, "cosmos.bicep"); m == nil || textOf(main, m.Args["retentionDays"]) != "retentionDays" {
		problems = append(problems, main.Path+": module cosmos is not passed retentionDays: retentionDays")
	}

	if d, _ := paramDecl(cosmos, "retentionDays"); d == nil {
		problems = append(problems, cosmos.Path+": no retentionDays parameter")
	}
	rs, errs := AllResources([]*File{cosmos})
	problems = append(problems, errs...)
	found := false
	for _, r := range rs {
		if !strings.EqualFold(r.Type, "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers") {
			continue
		}
		found = true
		at := fmt.Sprintf("%s:%d: %s", r.File.Path, r.Row, r.Symbol)
		ttl := Lookup(cosmos, r.Body, "properties", "resource", "defaultTtl")
		if ttl == nil {
			problems = append(problems, at+": no defaultTtl: the retention parameter reaches nothing")
			continue
		}
		for _, days := range []float64{0, 1, 30, 365, hi} {
			want := days * secondsPerDay
			if days == 0 {
				want = ttlNeverExpires
			}
			got, err := Eval(cosmos, ttl, Env{"retentionDays": days})
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: defaultTtl: %v", at, err))
				break
			}
			if n, ok := got.(float64); !ok || n != want || n > maxTTLSeconds {
				problems = append(problems, fmt.Sprintf("%s: defaultTtl %s is %v for retentionDays=%s, want %v", at, cosmos.Text(ttl), got, strconv.FormatFloat(days, 'f', -1, 64), want))
			}
		}
	}
	if !found {
		problems = append(problems, cosmos.Path+": no Cosmos DB container")
	}
	return problems
}

// paramDecl is f's declaration of parameter name and the decorators just
// before it.
func paramDecl(f *File, name string) (decl, decorators *Node) {
	var prev *Node
	for _, n := range f.Root.Children {
		if n.Type == "parameter_declaration" && len(n.Children) > 0 && f.Text(n.Children[0]) == name {
			if prev != nil && prev.Type == "decorators" {
				decorators = prev
			}
			return n, decorators
		}
		prev = n
	}
	return nil, nil
}

// bound is the number a decorator such as @maxValue(n) gives, or -1.
func bound(f *File, decorators *Node, name string) float64 {
	if decorators == nil {
		return -1
	}
	for _, d := range decorators.Children {
		if len(d.Children) != 1 || d.Children[0].Type != "call_expression" {
			continue
		}
		call := d.Children[0]
		var fn string
		var args *Node
		for _, c := range call.Children {
			switch c.Field {
			case "function":
				fn = f.Text(c)
			case "arguments":
				args = c
			}
		}
		if fn != name || args == nil || len(args.Children) != 1 {
			continue
		}
		if v, err := strconv.ParseFloat(f.Text(args.Children[0]), 64); err == nil {
			return v
		}
	}
	return -1
}
