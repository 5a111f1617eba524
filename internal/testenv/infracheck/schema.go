package infracheck

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Schemas indexes the ARM resource schemas by type and API version, from
// each definition's own type and apiVersion enums (file names do not always
// say which types a file holds). It is safe for concurrent use.
type Schemas struct {
	dir   string
	mu    sync.Mutex                // guards files, which $refs fill in
	files map[string]map[string]any // path relative to dir → document
	defs  map[string]schemaRef      // lower(type)@version → definition
}

type schemaRef struct {
	file   string
	schema map[string]any
}

// LoadSchemas reads every schema under dir.
func LoadSchemas(dir string) (*Schemas, error) {
	s := &Schemas{dir: dir, files: map[string]map[string]any{}, defs: map[string]schemaRef{}}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		doc, err := s.load(rel)
		if err != nil {
			return err
		}
		for _, section := range []string{"resourceDefinitions", "definitions"} {
			defs, _ := doc[section].(map[string]any)
			for _, d := range defs {
				def, _ := d.(map[string]any)
				props, _ := def["properties"].(map[string]any)
				types := enum(props["type"])
				versions := enum(props["apiVersion"])
				for _, t := range types {
					for _, v := range versions {
						if strings.Contains(t, "/") {
							s.defs[strings.ToLower(t)+"@"+v] = schemaRef{rel, def}
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(s.defs) == 0 {
		return nil, fmt.Errorf("no resource schemas under %s", dir)
	}
	return s, nil
}

func (s *Schemas) load(rel string) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if doc, ok := s.files[rel]; ok {
		return doc, nil
	}
	data, err := os.ReadFile(filepath.Join(s.dir, rel))
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	s.files[rel] = doc
	return doc, nil
}

func enum(v any) []string {
	m, _ := v.(map[string]any)
	list, _ := m["enum"].([]any)
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// resolve follows $ref (in the same file, or into another schema of dir,
// such as common/definitions.json). It returns nil for what it cannot find,
// which then goes unchecked.
func (s *Schemas) resolve(file string, schema map[string]any) (string, map[string]any) {
	for range 20 {
		ref, ok := schema["$ref"].(string)
		if !ok {
			return file, schema
		}
		target, pointer, _ := strings.Cut(ref, "#")
		if target != "" {
			target = strings.TrimPrefix(target, "https://schema.management.azure.com/schemas/")
			target = strings.TrimPrefix(target, "http://schema.management.azure.com/schemas/")
			file = filepath.ToSlash(target)
		}
		doc, err := s.load(file)
		if err != nil {
			return file, nil
		}
		var node any = doc
		for _, part := range strings.Split(strings.Trim(pointer, "/"), "/") {
			m, _ := node.(map[string]any)
			node = m[part]
		}
		schema, ok = node.(map[string]any)
		if !ok {
			return file, nil
		}
	}
	return file, nil
}

// objectShape is the union of the named properties an object may have, and
// whether it also takes any other keys (a map).
type objectShape struct {
	props map[string]schemaRef
	open  bool
	known bool
}

func (s *Schemas) shape(file string, schema map[string]any) objectShape {
	sh := objectShape{props: map[string]schemaRef{}}
	s.eachVariant(file, schema, func(file string, schema map[string]any) {
		if props, ok := schema["properties"].(map[string]any); ok {
			sh.known = true
			for k, v := range props {
				if m, ok := v.(map[string]any); ok {
					sh.props[k] = schemaRef{file, m}
				}
			}
		}
		if ap, ok := schema["additionalProperties"]; ok && ap != false {
			sh.open = true
		}
	})
	return sh
}

// items is the schema of an array's elements.
func (s *Schemas) items(file string, schema map[string]any) (string, map[string]any) {
	var found map[string]any
	var foundFile string
	s.eachVariant(file, schema, func(file string, schema map[string]any) {
		if it, ok := schema["items"].(map[string]any); ok && found == nil {
			found, foundFile = it, file
		}
	})
	return foundFile, found
}

// eachVariant calls fn with schema and with every schema it combines
// through oneOf, anyOf and allOf, $refs resolved: ARM schemas wrap most
// properties in a oneOf of the real shape and an expression.
func (s *Schemas) eachVariant(file string, schema map[string]any, fn func(file string, schema map[string]any)) {
	var visit func(file string, schema map[string]any, depth int)
	visit = func(file string, schema map[string]any, depth int) {
		if schema == nil || depth > 10 {
			return
		}
		file, schema = s.resolve(file, schema)
		if schema == nil {
			return
		}
		fn(file, schema)
		for _, key := range []string{"oneOf", "anyOf", "allOf"} {
			list, _ := schema[key].([]any)
			for _, x := range list {
				if m, ok := x.(map[string]any); ok {
					visit(file, m, depth+1)
				}
			}
		}
	}
	visit(file, schema, 0)
}

// bicepKeys are keys of a resource body that Bicep adds to the ARM
// resource; the schemas do not list them.
var bicepKeys = map[string]bool{"parent": true, "scope": true, "dependsOn": true}

// Problem is one finding.
type Problem struct {
	File string
	Row  int
	Msg  string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Row, p.Msg) }

// Check compares one resource with its schema: the type and API version
// must exist, and every key of its body, recursively where the schema
// describes the object, must be a property the schema names.
func (s *Schemas) Check(r Resource) []Problem {
	key := strings.ToLower(r.Type) + "@" + r.APIVersion
	def, ok := s.defs[key]
	if !ok {
		var versions []string
		for k := range s.defs {
			if t, v, _ := strings.Cut(k, "@"); t == strings.ToLower(r.Type) {
				versions = append(versions, v)
			}
		}
		sort.Strings(versions)
		msg := fmt.Sprintf("resource %s: no schema for %s@%s", r.Symbol, r.Type, r.APIVersion)
		if len(versions) > 0 {
			msg += " (schemas have " + strings.Join(versions, ", ") + ")"
		} else {
			msg += " (unknown type)"
		}
		return []Problem{{r.File.Path, r.Row, msg}}
	}
	var problems []Problem
	s.checkObject(r.File, r.Body, def.file, def.schema, r.Symbol, true, &problems)
	return problems
}

func (s *Schemas) checkObject(f *File, obj *Node, file string, schema map[string]any, path string, top bool, problems *[]Problem) {
	sh := s.shape(file, schema)
	if !sh.known || sh.open {
		return
	}
	for _, p := range Properties(f, obj) {
		if top && bicepKeys[p.Key] {
			continue
		}
		sub, ok := sh.props[p.Key]
		if !ok {
			*problems = append(*problems, Problem{f.Path, p.Row, fmt.Sprintf("%s: property %q is not in the schema (known: %s)", path, p.Key, strings.Join(keys(sh.props), ", "))})
			continue
		}
		s.checkValue(f, p.Value, sub.file, sub.schema, path+"."+p.Key, problems)
	}
}

func (s *Schemas) checkValue(f *File, v *Node, file string, schema map[string]any, path string, problems *[]Problem) {
	switch v.Type {
	case "object":
		s.checkObject(f, v, file, schema, path, false, problems)
	case "array":
		ifile, item := s.items(file, schema)
		if item == nil {
			return
		}
		for i, c := range v.Children {
			s.checkValue(f, c, ifile, item, fmt.Sprintf("%s[%d]", path, i), problems)
		}
	}
}

func keys(m map[string]schemaRef) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
