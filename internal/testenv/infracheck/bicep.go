// Package infracheck checks infra/ where no Bicep compiler can run: the
// syntax (the tree-sitter Bicep grammar, through node), every resource's
// type, API version and property names (the published ARM schemas), and
// the contract between the app settings infra sets and the settings the
// handler reads.
package infracheck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf16"
)

// Node is a named node of the tree-sitter parse tree.
type Node struct {
	Type     string  `json:"type"`
	Field    string  `json:"field"`
	Start    int     `json:"start"`
	End      int     `json:"end"`
	Row      int     `json:"row"`
	Children []*Node `json:"children"`
}

// SyntaxError is where the grammar could not parse.
type SyntaxError struct {
	Row    int    `json:"row"`
	Column int    `json:"column"`
	Kind   string `json:"kind"`
}

// File is one parsed Bicep file.
type File struct {
	Path   string
	Errors []SyntaxError
	Root   *Node
	src    []uint16 // tree-sitter's web binding counts UTF-16 units
}

// Text is the source of n.
func (f *File) Text(n *Node) string { return string(utf16.Decode(f.src[n.Start:n.End])) }

// Parser is one run of infra/check/parse.js, which parses files on request:
// node and the grammar start once (about half a second on a 2-core machine)
// however many files are parsed. It is safe for concurrent use; requests take turns.
type Parser struct {
	mu     sync.Mutex
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr bytes.Buffer
	err    error // set once the run has ended
}

// StartParser starts node on infra/check/parse.js. checkDir is
// infra/check, with its node_modules installed (see EnsureNodeModules).
// Close stops it.
func StartParser(checkDir string) (*Parser, error) {
	p := &Parser{cmd: exec.Command("node", "parse.js")}
	p.cmd.Dir = checkDir
	// Kept for the error of the call node fails (read only after Wait).
	p.cmd.Stderr = &p.stderr
	in, err := p.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("parse.js: %w", err)
	}
	p.in, p.out = in, bufio.NewReader(out)
	return p, nil
}

// Parse parses files (names relative to the working directory, as os.Open
// takes them).
func (p *Parser) Parse(files ...string) ([]*File, error) {
	abs := make([]string, len(files))
	for i, f := range files {
		a, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		abs[i] = a
	}
	req, err := json.Marshal(abs)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return nil, p.err
	}
	if _, err := p.in.Write(append(req, '\n')); err != nil {
		return nil, p.end(err)
	}
	line, err := p.out.ReadBytes('\n')
	if err != nil {
		return nil, p.end(err)
	}
	var answer struct {
		Error string `json:"error"`
		Files map[string]struct {
			Errors []SyntaxError `json:"errors"`
			Tree   *Node         `json:"tree"`
		} `json:"files"`
	}
	if err := json.Unmarshal(line, &answer); err != nil {
		return nil, fmt.Errorf("parse.js: %w", err)
	}
	if answer.Error != "" {
		return nil, fmt.Errorf("parse.js: %s", answer.Error)
	}
	var result []*File
	for i, path := range files {
		r, ok := answer.Files[abs[i]]
		if !ok {
			return nil, fmt.Errorf("parse.js said nothing of %s", path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		result = append(result, &File{Path: path, Errors: r.Errors, Root: r.Tree, src: utf16.Encode([]rune(string(data)))})
	}
	return result, nil
}

// end closes node's stdin, waits for it to exit and keeps why it ended
// (cause, or what it printed on failing) for every later call. p.mu held.
func (p *Parser) end(cause error) error {
	if p.err != nil {
		return p.err
	}
	p.in.Close()
	switch err := p.cmd.Wait(); {
	case err != nil:
		p.err = fmt.Errorf("parse.js: %v\n%s", err, p.stderr.String())
	case cause != nil:
		p.err = fmt.Errorf("parse.js: %v\n%s", cause, p.stderr.String())
	default:
		p.err = errors.New("parse.js: closed")
		return nil
	}
	return p.err
}

// Close ends the parse.js run: it exits when its stdin closes.
func (p *Parser) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.end(nil)
}

// EnsureNodeModules installs infra/check's pinned packages when they are
// missing (npm ci: the lock file's exact versions).
func EnsureNodeModules(checkDir string) error {
	installed := true
	for _, pkg := range []string{"web-tree-sitter", "tree-sitter-bicep"} {
		if _, err := os.Stat(filepath.Join(checkDir, "node_modules", pkg, "package.json")); err != nil {
			installed = false
		}
	}
	if installed {
		return nil
	}
	cmd := exec.Command("npm", "ci")
	cmd.Dir = checkDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %v\n%s", checkDir, err, out)
	}
	return nil
}

// Resource is one resource declaration.
type Resource struct {
	File       *File
	Symbol     string
	Type       string
	APIVersion string
	Row        int
	Existing   bool
	Body       *Node // the object literal
	decl       *Node // the resource_declaration
}

// Resources lists f's resource declarations, including child resources
// declared inside a parent's body (their type and API version completed
// from the parent's, as Bicep does) and existing ones.
func Resources(f *File) ([]Resource, error) {
	var out []Resource
	var visit func(n *Node, parent *Resource) error
	visit = func(n *Node, parent *Resource) error {
		r := Resource{File: f, Row: n.Row, decl: n}
		var typeNode *Node
		for _, c := range n.Children {
			switch {
			case c.Type == "identifier" && r.Symbol == "":
				r.Symbol = f.Text(c)
			case c.Type == "string" && typeNode == nil:
				typeNode = c
			case typeNode != nil && r.Body == nil:
				r.Body = firstObject(c)
			}
		}
		if typeNode == nil {
			return fmt.Errorf("%s:%d: resource %s has no type", f.Path, n.Row, r.Symbol)
		}
		typ, ver, hasVersion := strings.Cut(strings.Trim(f.Text(typeNode), "'"), "@")
		switch {
		case parent == nil && !hasVersion:
			return fmt.Errorf("%s:%d: resource %s has no @apiVersion", f.Path, n.Row, r.Symbol)
		case parent != nil && !strings.Contains(typ, "/"):
			// A nested child names only its own segment and may leave out
			// the version, which it then shares with its parent.
			typ = parent.Type + "/" + typ
			if !hasVersion {
				ver = parent.APIVersion
			}
		}
		r.Type, r.APIVersion = typ, ver
		if r.Body == nil {
			return fmt.Errorf("%s:%d: resource %s has no body", f.Path, n.Row, r.Symbol)
		}
		// The grammar has no node for the existing keyword: it sits
		// between the type and the body.
		r.Existing = strings.Contains(string(utf16.Decode(f.src[typeNode.End:r.Body.Start])), "existing")
		out = append(out, r)
		for _, c := range r.Body.Children {
			if c.Type == "object_property" && len(c.Children) == 1 && c.Children[0].Type == "resource_declaration" {
				if err := visit(c.Children[0], &r); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, n := range f.Root.Children {
		if n.Type == "resource_declaration" {
			if err := visit(n, nil); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// AllResources is Resources of every file, with the errors of files it
// could not read as problems.
func AllResources(files []*File) ([]Resource, []string) {
	var out []Resource
	var problems []string
	for _, f := range files {
		rs, err := Resources(f)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		out = append(out, rs...)
	}
	return out, problems
}

// firstObject is n if it is an object, else the body of a for or if.
func firstObject(n *Node) *Node {
	if n.Type == "object" {
		return n
	}
	for _, c := range n.Children {
		if c.Type == "object" {
			return c
		}
	}
	for _, c := range n.Children {
		if o := firstObject(c); o != nil {
			return o
		}
	}
	return nil
}

// Property is one key: value of an object literal.
type Property struct {
	Key   string
	Value *Node
	Row   int
}

// Properties lists the properties of an object node.
func Properties(f *File, obj *Node) []Property {
	var out []Property
	for _, c := range obj.Children {
		if c.Type != "object_property" || len(c.Children) < 2 {
			continue
		}
		out = append(out, Property{Key: strings.Trim(f.Text(c.Children[0]), "'"), Value: c.Children[len(c.Children)-1], Row: c.Row})
	}
	return out
}

// textOf is the source of n, or "nothing" when there is no n, for a
// message or a comparison that must not match anything.
func textOf(f *File, n *Node) string {
	if n == nil {
		return "nothing"
	}
	return f.Text(n)
}

// Params lists the names of the parameters f declares.
func Params(f *File) []string {
	var out []string
	for _, p := range ParamDecls(f) {
		out = append(out, p.Name)
	}
	return out
}

// AppSettings lists the names in every appSettings array of f's resources.
func AppSettings(f *File) []string {
	var out []string
	for _, arr := range appSettingArrays(f) {
		out = append(out, settingNames(f, arr)...)
	}
	return out
}

// appSettingArrays are the values of every appSettings property of f's
// object literals, in source order.
func appSettingArrays(f *File) []*Node {
	var out []*Node
	var walk func(n *Node)
	walk = func(n *Node) {
		if n.Type == "object" {
			for _, p := range Properties(f, n) {
				if p.Key == "appSettings" {
					out = append(out, p.Value)
				}
			}
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(f.Root)
	return out
}

// Param is a parameter declaration.
type Param struct {
	Name       string
	HasDefault bool
}

// ParamDecls lists f's parameters and whether each has a default value
// (identifier, type, then a value when there is one).
func ParamDecls(f *File) []Param {
	var out []Param
	for _, n := range f.Root.Children {
		if n.Type != "parameter_declaration" || len(n.Children) == 0 {
			continue
		}
		out = append(out, Param{Name: f.Text(n.Children[0]), HasDefault: len(n.Children) > 2})
	}
	return out
}

// Module is a module declaration: the file it uses and the params it
// passes.
type Module struct {
	Symbol string
	Path   string
	Row    int
	// Args are the values passed, by parameter name.
	Args map[string]*Node
	// Scope is the module's scope expression, or nil (the caller's).
	Scope *Node
}

// Modules lists f's module declarations.
func Modules(f *File) []Module {
	var out []Module
	for _, n := range f.Root.Children {
		if n.Type != "module_declaration" {
			continue
		}
		m := Module{Row: n.Row, Args: map[string]*Node{}}
		var body *Node
		for _, c := range n.Children {
			switch {
			case c.Type == "identifier" && m.Symbol == "":
				m.Symbol = f.Text(c)
			case c.Type == "string" && m.Path == "":
				m.Path = strings.Trim(f.Text(c), "'")
			case body == nil:
				body = firstObject(c)
			}
		}
		if body != nil {
			m.Scope = Lookup(f, body, "scope")
			for _, p := range Properties(f, body) {
				if p.Key == "params" && p.Value.Type == "object" {
					for _, pp := range Properties(f, p.Value) {
						m.Args[pp.Key] = pp.Value
					}
				}
			}
		}
		out = append(out, m)
	}
	return out
}

// moduleCall is main's module declaration that uses the file named base
// (the last one, should there be several), or nil.
func moduleCall(main *File, base string) *Module {
	var found *Module
	for _, m := range Modules(main) {
		if filepath.Base(m.Path) == base {
			found = &m
		}
	}
	return found
}

// Variable is the value of f's variable name, or nil.
func Variable(f *File, name string) *Node {
	for _, n := range f.Root.Children {
		if n.Type == "variable_declaration" && len(n.Children) == 2 && f.Text(n.Children[0]) == name {
			return n.Children[1]
		}
	}
	return nil
}

// Lookup is the value at path in an object literal (keys compared as
// written, quotes removed), or nil.
func Lookup(f *File, obj *Node, path ...string) *Node {
	n := obj
	for _, key := range path {
		if n == nil || n.Type != "object" {
			return nil
		}
		var next *Node
		for _, p := range Properties(f, n) {
			if p.Key == key {
				next = p.Value
			}
		}
		n = next
	}
	return n
}

// settingNames are the names in an appSettings array literal. A name that
// is not a plain string (a variable, an interpolation) comes back as its
// source text, which matches no setting: a check then fails rather than
// skipping what it cannot read.
func settingNames(f *File, arr *Node) []string {
	if arr == nil || arr.Type != "array" {
		return nil
	}
	var out []string
	for _, item := range arr.Children {
		if item.Type != "object" {
			continue
		}
		if n := Lookup(f, item, "name"); n != nil {
			out = append(out, strings.Trim(f.Text(n), "'"))
		}
	}
	return out
}
