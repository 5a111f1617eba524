package infracheck

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Env binds names to values for Eval: parameters, loop variables and
// members of resources that only Azure knows (key "registry.location").
// Values are string, float64, bool or []any.
type Env map[string]any

// Eval computes a Bicep expression for the bindings in env, so that a rule
// can be checked against what the expression yields (a webhook's name for
// each region) rather than against its text. It knows the few functions
// infra/ uses where a rule applies; anything else is an error, so a rule
// fails rather than passes on what it cannot compute. Variables of f are
// evaluated on demand, for-expressions included.
func Eval(f *File, n *Node, env Env) (any, error) {
	return newEvaluator(f, env).eval(n, 0)
}

func newEvaluator(f *File, env Env) evaluator {
	e := evaluator{f: f, env: env, vars: map[string]*Node{}}
	for _, d := range f.Root.Children {
		if d.Type == "variable_declaration" && len(d.Children) >= 2 {
			e.vars[f.Text(d.Children[0])] = d.Children[len(d.Children)-1]
		}
	}
	return e
}

type evaluator struct {
	f    *File
	env  Env
	vars map[string]*Node
}

func (e evaluator) eval(n *Node, depth int) (any, error) {
	if depth > 50 {
		return nil, fmt.Errorf("%s too deep to evaluate", e.f.Text(n))
	}
	depth++
	switch n.Type {
	case "string":
		// Literal text is read from the source between the quotes: the
		// grammar has no node for some of it (a lone space).
		src := e.f.src[n.Start:n.End]
		if len(src) < 2 || strings.HasPrefix(e.f.Text(n), "'''") {
			return nil, fmt.Errorf("cannot evaluate %s", e.f.Text(n))
		}
		var b strings.Builder
		at := n.Start + 1
		for _, c := range n.Children {
			if c.Type != "interpolation" {
				continue
			}
			b.WriteString(unescape(string(utf16.Decode(e.f.src[at:c.Start]))))
			at = c.End
			if len(c.Children) != 1 {
				return nil, fmt.Errorf("cannot evaluate %s", e.f.Text(c))
			}
			v, err := e.eval(c.Children[0], depth)
			if err != nil {
				return nil, err
			}
			s, err := str(v, e.f.Text(c))
			if err != nil {
				return nil, err
			}
			b.WriteString(s)
		}
		b.WriteString(unescape(string(utf16.Decode(e.f.src[at : n.End-1]))))
		return b.String(), nil
	case "number":
		return strconv.ParseFloat(e.f.Text(n), 64)
	case "array":
		out := []any{}
		for _, c := range n.Children {
			v, err := e.eval(c, depth)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case "parenthesized_expression":
		if len(n.Children) != 1 {
			return nil, fmt.Errorf("cannot evaluate %s", e.f.Text(n))
		}
		return e.eval(n.Children[0], depth)
	case "identifier", "member_expression":
		name := e.f.Text(n)
		if v, ok := e.env[name]; ok {
			return v, nil
		}
		if d, ok := e.vars[name]; ok && n.Type == "identifier" {
			return e.eval(d, depth)
		}
		return nil, fmt.Errorf("%s has no value to evaluate with", name)
	case "ternary_expression":
		if len(n.Children) != 3 {
			return nil, fmt.Errorf("cannot evaluate %s", e.f.Text(n))
		}
		c, err := e.eval(n.Children[0], depth)
		if err != nil {
			return nil, err
		}
		b, ok := c.(bool)
		if !ok {
			return nil, fmt.Errorf("%s is not a condition", e.f.Text(n.Children[0]))
		}
		if b {
			return e.eval(n.Children[1], depth)
		}
		return e.eval(n.Children[2], depth)
	case "for_statement":
		return e.forExpr(n, depth)
	case "subscript_expression":
		if len(n.Children) != 2 {
			return nil, fmt.Errorf("cannot evaluate %s", e.f.Text(n))
		}
		obj, err := e.eval(n.Children[0], depth)
		if err != nil {
			return nil, err
		}
		idx, err := e.eval(n.Children[1], depth)
		if err != nil {
			return nil, err
		}
		list, ok := obj.([]any)
		i, isNum := idx.(float64)
		if !ok || !isNum || int(i) < 0 || int(i) >= len(list) {
			return nil, fmt.Errorf("%s: no such item", e.f.Text(n))
		}
		return list[int(i)], nil
	case "call_expression":
		return e.call(n, depth)
	case "binary_expression":
		return e.binary(n, depth)
	}
	return nil, fmt.Errorf("cannot evaluate %s (%s)", e.f.Text(n), n.Type)
}

// binary evaluates the comparisons and arithmetic infra/ uses: == and !=
// on numbers, strings and bools, <, <=, >, >=, *, + and - on numbers. The
// grammar names no node for the operator: it is the text between the
// operands.
func (e evaluator) binary(n *Node, depth int) (any, error) {
	if len(n.Children) != 2 {
		return nil, fmt.Errorf("cannot evaluate %s", e.f.Text(n))
	}
	l, r := n.Children[0], n.Children[1]
	op := strings.TrimSpace(string(utf16.Decode(e.f.src[l.End:r.Start])))
	lv, err := e.eval(l, depth)
	if err != nil {
		return nil, err
	}
	rv, err := e.eval(r, depth)
	if err != nil {
		return nil, err
	}
	switch op {
	case "==":
		return lv == rv, nil
	case "!=":
		return lv != rv, nil
	}
	a, aok := lv.(float64)
	b, bok := rv.(float64)
	if !aok || !bok {
		return nil, fmt.Errorf("%s: %s takes numbers here", e.f.Text(n), op)
	}
	switch op {
	case "<":
		return a < b, nil
	case "<=":
		return a <= b, nil
	case ">":
		return a > b, nil
	case ">=":
		return a >= b, nil
	case "*":
		return a * b, nil
	case "+":
		return a + b, nil
	case "-":
		return a - b, nil
	}
	return nil, fmt.Errorf("%s: the checks cannot evaluate %s", e.f.Text(n), op)
}

// forExpr evaluates [for x in list: body] and [for (x, i) in list: body].
func (e evaluator) forExpr(n *Node, depth int) (any, error) {
	items, bind, err := e.loop(n, depth)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for i, it := range items {
		v, err := bind(it, i).eval(loopBody(n), depth)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// loop evaluates a for_statement's list and returns its items and how to
// bind its variables for one of them.
func (e evaluator) loop(n *Node, depth int) ([]any, func(item any, i int) evaluator, error) {
	var item, index string
	var list *Node
	for _, c := range n.Children {
		switch {
		case c.Field == "initializer" && c.Type == "identifier":
			item = e.f.Text(c)
		case c.Type == "for_loop_parameters" && len(c.Children) == 2:
			item, index = e.f.Text(c.Children[0]), e.f.Text(c.Children[1])
		case c.Field == "body":
		case list == nil && item != "":
			list = c
		}
	}
	if item == "" || list == nil || loopBody(n) == nil {
		return nil, nil, fmt.Errorf("cannot read the loop %s", e.f.Text(n))
	}
	lv, err := e.eval(list, depth)
	if err != nil {
		return nil, nil, err
	}
	items, ok := lv.([]any)
	if !ok {
		return nil, nil, fmt.Errorf("%s is not an array", e.f.Text(list))
	}
	return items, func(v any, i int) evaluator { return e.with(item, v, index, float64(i)) }, nil
}

func loopBody(n *Node) *Node {
	for _, c := range n.Children {
		if c.Field == "body" {
			return c
		}
	}
	return nil
}

// with is e with a loop's variables bound.
func (e evaluator) with(item string, v any, index string, i float64) evaluator {
	env := maps.Clone(e.env)
	env[item] = v
	if index != "" {
		env[index] = i
	}
	return evaluator{f: e.f, env: env, vars: e.vars}
}

// ForEach calls fn once per copy of r that Azure would make: for each item
// of its for loop, with env plus the loop's variables; once with env when r
// has no loop.
func ForEach(r Resource, env Env, fn func(Env) error) error {
	var loop *Node
	for _, c := range r.decl.Children {
		if c.Type == "for_statement" {
			loop = c
		}
	}
	if loop == nil {
		return fn(env)
	}
	items, bind, err := newEvaluator(r.File, env).loop(loop, 0)
	if err != nil {
		return fmt.Errorf("%s:%d: %s: %w", r.File.Path, r.Row, r.Symbol, err)
	}
	for i, it := range items {
		if err := fn(bind(it, i).env); err != nil {
			return err
		}
	}
	return nil
}

func (e evaluator) call(n *Node, depth int) (any, error) {
	var name string
	var args []any
	for _, c := range n.Children {
		switch c.Field {
		case "function":
			name = e.f.Text(c)
		case "arguments":
			for _, a := range c.Children {
				v, err := e.eval(a, depth)
				if err != nil {
					return nil, err
				}
				args = append(args, v)
			}
		}
	}
	text := e.f.Text(n)
	want := func(k int) error {
		if len(args) != k {
			return fmt.Errorf("%s: %s takes %d arguments here", text, name, k)
		}
		return nil
	}
	switch strings.ToLower(name) {
	case "empty":
		if err := want(1); err != nil {
			return nil, err
		}
		s, err := str(args[0], text)
		if err != nil {
			return nil, err
		}
		return s == "", nil
	case "trim", "tolower":
		if err := want(1); err != nil {
			return nil, err
		}
		s, err := str(args[0], text)
		if err != nil {
			return nil, err
		}
		if strings.ToLower(name) == "trim" {
			return strings.TrimSpace(s), nil
		}
		return strings.ToLower(s), nil
	case "replace":
		if err := want(3); err != nil {
			return nil, err
		}
		s, err := strs(args, text)
		if err != nil {
			return nil, err
		}
		return strings.ReplaceAll(s[0], s[1], s[2]), nil
	case "split":
		if err := want(2); err != nil {
			return nil, err
		}
		s, err := strs(args, text)
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, p := range strings.Split(s[0], s[1]) {
			out = append(out, p)
		}
		return out, nil
	case "take":
		if err := want(2); err != nil {
			return nil, err
		}
		k, ok := args[1].(float64)
		if !ok || k < 0 {
			return nil, fmt.Errorf("%s: take needs a count", text)
		}
		s, err := str(args[0], text)
		if err != nil {
			return nil, err
		}
		return s[:min(int(k), len(s))], nil
	case "join":
		if err := want(2); err != nil {
			return nil, err
		}
		list, ok := args[0].([]any)
		sep, err := str(args[1], text)
		if !ok || err != nil {
			return nil, fmt.Errorf("%s: join needs an array and a separator", text)
		}
		parts, err := strs(list, text)
		if err != nil {
			return nil, err
		}
		return strings.Join(parts, sep), nil
	case "resourceid":
		// resourceId(group, type, name, ...) in the deployment's
		// subscription, as ARM builds it.
		s, err := strs(args, text)
		if err != nil {
			return nil, err
		}
		if len(s) < 3 {
			return nil, fmt.Errorf("%s: resourceId takes a group, a type and names here", text)
		}
		group, typ, names := s[0], s[1], s[2:]
		ns, types, _ := strings.Cut(typ, "/")
		segs := strings.Split(types, "/")
		if len(segs) != len(names) {
			return nil, fmt.Errorf("%s: %d names for type %s", text, len(names), typ)
		}
		sub, ok := e.env["subscription().subscriptionId"].(string)
		if !ok {
			return nil, fmt.Errorf("%s: subscription().subscriptionId has no value to evaluate with", text)
		}
		id := "/subscriptions/" + sub + "/resourceGroups/" + group + "/providers/" + ns
		for i := range segs {
			id += "/" + segs[i] + "/" + names[i]
		}
		return id, nil
	}
	return nil, fmt.Errorf("%s: the checks cannot evaluate %s()", text, name)
}

// unescape reads Bicep's escapes: \\, \', \n, \r, \t, \$.
func unescape(s string) string {
	return strings.NewReplacer(`\\`, `\`, `\'`, `'`, `\n`, "\n", `\r`, "\r", `\t`, "\t", `\$`, `$`).Replace(s)
}

// strs is str of each value.
func strs(vs []any, text string) ([]string, error) {
	out := make([]string, len(vs))
	for i, v := range vs {
		var err error
		if out[i], err = str(v, text); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func str(v any, text string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s is not a string", text)
	}
	return s, nil
}
