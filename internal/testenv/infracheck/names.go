package infracheck

import (
	"fmt"
	"regexp"
	"strings"
)

// NameProblem checks a name Azure would give a resource of r's type
// against the rule the ARM schema publishes for that type's names
// (pattern, minLength, maxLength); "" when the name keeps it or the schema
// states none. An ACR webhook's, for one: 5 to 50 letters and digits.
func (s *Schemas) NameProblem(r Resource, name string) string {
	def, ok := s.defs[strings.ToLower(r.Type)+"@"+r.APIVersion]
	if !ok {
		return fmt.Sprintf("no schema for %s@%s", r.Type, r.APIVersion)
	}
	props, _ := def.schema["properties"].(map[string]any)
	rule, _ := props["name"].(map[string]any)
	// The schema offers the name rule and, as an alternative, an ARM
	// expression ("[...]", from common/definitions.json), which Bicep has
	// already evaluated away: the name must keep one of the rest.
	var problems []string
	kept := false
	s.eachVariant(def.file, rule, func(file string, v map[string]any) {
		if t, _ := v["type"].(string); t != "string" || strings.HasPrefix(file, "common/") {
			return
		}
		if p := keepsRule(r.Type, name, v); p != "" {
			problems = append(problems, p)
		} else {
			kept = true
		}
	})
	if kept || len(problems) == 0 {
		return ""
	}
	return problems[0]
}

// keepsRule checks name against one string schema's pattern and lengths.
func keepsRule(typ, name string, v map[string]any) string {
	if p, ok := v["pattern"].(string); ok {
		re, err := regexp.Compile(p)
		if err != nil {
			return fmt.Sprintf("the schema's name pattern %q does not compile: %v", p, err)
		}
		if !re.MatchString(name) {
			return fmt.Sprintf("name %q does not match %s, the schema's rule for %s names", name, p, typ)
		}
	}
	n := len([]rune(name))
	if min, ok := v["minLength"].(float64); ok && n < int(min) {
		return fmt.Sprintf("name %q is shorter than %d characters, the schema's minimum for %s", name, int(min), typ)
	}
	if max, ok := v["maxLength"].(float64); ok && n > int(max) {
		return fmt.Sprintf("name %q is longer than %d characters, the schema's maximum for %s", name, int(max), typ)
	}
	return ""
}
