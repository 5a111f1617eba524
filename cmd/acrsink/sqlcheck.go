package main

import (
	"fmt"
	"slices"
	"strings"
)

// sqlShape is what query needs to know about a statement before sending
// it: the parameters it names, the functions it calls, its single-quoted
// strings. It comes from reading the text as Cosmos SQL's tokens (strings,
// comments, identifiers, brackets), not from a grammar: it must never refuse
// a query Cosmos runs, so it only refuses what no Cosmos query can be.
type sqlShape struct {
	params       []string // @names outside string literals, in order, once each
	funcs        []string // names called as name(...), in order, once each
	singleQuoted []string // single-quoted string literals, quotes included
	// wrongLocally names the constructs the query uses that cosmium v0.1.20
	// answers differently from Azure Cosmos DB (see cosmiumWrong).
	wrongLocally []string
}

// cosmiumWrong says, for each construct cosmium v0.1.20 is known to answer
// differently from Azure, how, and what to write instead. Each was seen
// against cosmium v0.1.20 (TestQueryWarnsOfWhatTheEmulatorAnswersWrongly,
// which fails when one stops being wrong); Azure's side is the documented
// rule that a comparison with undefined is undefined and matches nothing
// (learn.microsoft.com/azure/cosmos-db/nosql/query/equality-comparison-operators).
var cosmiumWrong = map[string]string{
	"integer": "an integer literal compared (c.size = 524 matches nothing where 524.0 matches; write 524.0 or -param @n:number=524)",
	"between": "BETWEEN (matches nothing; write >= and <=)",
	"<>":      "<> (matches nothing; write !=)",
	"not":     "NOT (matches every document or none)",
	"null":    "IS_NULL or = null (a missing field counts as null)",
	"!=":      "!= (also matches documents without the field)",
}

// readSQL reads sql as Cosmos SQL tokens and says what makes it no query
// at all: not starting with SELECT, a string left open, brackets that do
// not pair.
func readSQL(sql string) (sqlShape, error) {
	var (
		s     sqlShape
		open  []rune // brackets waiting for their close
		first string
		prev  rune // last significant character outside strings
	)
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	rs := []rune(sql)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '"' || r == '\'':
			j := i + 1
			for ; j < len(rs) && rs[j] != r; j++ {
				if rs[j] == '\\' {
					j++
				}
			}
			if j >= len(rs) {
				return s, fmt.Errorf("the string that starts at %s is never closed (a %c is missing)", clipAt(rs, i), r)
			}
			if r == '\'' {
				s.singleQuoted = appendOnce(s.singleQuoted, string(rs[i:j+1]))
			}
			if first == "" {
				first = string(rs[i : j+1])
			}
			i, prev = j, r
		case r == '-' && i+1 < len(rs) && rs[i+1] == '-':
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
		case r == '@':
			j := i + 1
			for j < len(rs) && isIdent(rs[j]) {
				j++
			}
			if j == i+1 {
				return s, fmt.Errorf("an @ with no parameter name after it, at %s", clipAt(rs, i))
			}
			s.params = appendOnce(s.params, string(rs[i:j]))
			i, prev = j-1, 'a'
		case isIdent(r):
			j := i
			for j < len(rs) && isIdent(rs[j]) {
				j++
			}
			word := string(rs[i:j])
			if first == "" {
				first = word
			}
			k := j
			for k < len(rs) && isSpace(rs[k]) {
				k++
			}
			compared := strings.ContainsRune("=<>", prev) || k < len(rs) && strings.ContainsRune("=<>!", rs[k])
			switch up := strings.ToUpper(word); {
			case up == "BETWEEN":
				s.wrongLocally = appendOnce(s.wrongLocally, "between")
			case up == "NOT":
				s.wrongLocally = appendOnce(s.wrongLocally, "not")
			case up == "IS_NULL" || up == "NULL" && compared:
				s.wrongLocally = appendOnce(s.wrongLocally, "null")
			case isInteger(word) && prev != '.' && (j >= len(rs) || rs[j] != '.') && compared:
				s.wrongLocally = appendOnce(s.wrongLocally, "integer")
			}
			// A name right before "(" is a call, unless it is a keyword
			// ("IN (", "AND (") or a method after a dot (udf.name()).
			if k < len(rs) && rs[k] == '(' && prev != '.' && !sqlKeywords[strings.ToUpper(word)] && !isDigit(rs[i]) {
				s.funcs = appendOnce(s.funcs, word)
			}
			i, prev = j-1, 'a'
		case r == '(' || r == '[' || r == '{':
			open = append(open, r)
			prev = r
		case pairs[r] != 0:
			if len(open) == 0 || open[len(open)-1] != pairs[r] {
				return s, fmt.Errorf("the %c at %s closes nothing", r, clipAt(rs, i))
			}
			open = open[:len(open)-1]
			prev = r
		case isSpace(r):
		case r == '<' && i+1 < len(rs) && rs[i+1] == '>':
			s.wrongLocally = appendOnce(s.wrongLocally, "<>")
			i, prev = i+1, '>'
		case r == '!' && i+1 < len(rs) && rs[i+1] == '=':
			s.wrongLocally = appendOnce(s.wrongLocally, "!=")
			i, prev = i+1, '='
		default:
			if first == "" {
				first = string(r)
			}
			prev = r
		}
	}
	if len(open) > 0 {
		return s, fmt.Errorf("a %c is never closed", open[len(open)-1])
	}
	if !strings.EqualFold(first, "SELECT") {
		if first == "" {
			return s, fmt.Errorf("the query is empty")
		}
		return s, fmt.Errorf("a Cosmos DB query starts with SELECT, not %q", first)
	}
	return s, nil
}

// sqlKeywords are the words of Cosmos SQL that can stand before "(".
var sqlKeywords = map[string]bool{
	"SELECT": true, "FROM": true, "WHERE": true, "AND": true, "OR": true, "NOT": true,
	"IN": true, "BETWEEN": true, "LIKE": true, "ESCAPE": true, "AS": true, "VALUE": true,
	"TOP": true, "DISTINCT": true, "BY": true, "JOIN": true, "OFFSET": true, "LIMIT": true,
	"ASC": true, "DESC": true, "ON": true, "EXISTS": true, "ARRAY": true,
}

func isIdent(r rune) bool {
	return r == '_' || r == '$' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || isDigit(r) || r > 127
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// isInteger reports whether word is all digits.
func isInteger(word string) bool {
	return word != "" && strings.Trim(word, "0123456789") == ""
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// clipAt quotes the query from position i on, short, to point at a spot.
func clipAt(rs []rune, i int) string {
	end := min(len(rs), i+20)
	more := ""
	if end < len(rs) {
		more = "..."
	}
	return fmt.Sprintf("%q", string(rs[i:end])+more)
}

// checkParams compares the @names the query uses with the -param values
// given: a name without a value makes Cosmos compare with undefined and
// match nothing, a value the query never uses is a typo; neither is sent.
func checkParams(used []string, given params) error {
	var problems []string
	for _, name := range used {
		if _, ok := given[name]; !ok {
			problems = append(problems, fmt.Sprintf("%s has no value (add -param %s=...)", name, name))
		}
	}
	var names []string
	for name := range given {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(used, name) {
			problems = append(problems, fmt.Sprintf("-param %s is not used by the query", name))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// cosmiumFunctions are the functions cosmium v0.1.20's query grammar knows
// (its parsers/nosql/nosql.peg), upper-cased. Meeting any other, cosmium
// runs the query only up to it and drops the rest, without an error.
var cosmiumFunctions = map[string]bool{}

func init() {
	for _, f := range strings.Fields(`ABS ACOS ATN2 LOG10 ARRAY_CONCAT ARRAY_CONTAINS ARRAY_CONTAINS_ALL
		ARRAY_CONTAINS_ANY ARRAY_LENGTH ARRAY_SLICE ASIN ATAN AVG CEILING CONCAT CONTAINS COS
		COT COUNT DEGREES ENDSWITH EXP FLOOR INDEX_OF IS_ARRAY IS_BOOL IS_DEFINED
		IS_FINITE_NUMBER IS_INTEGER IS_NULL IS_NUMBER IS_OBJECT IS_PRIMITIVE IS_STRING INTADD
		INTBITAND INTBITLEFTSHIFT INTBITNOT INTBITOR INTBITRIGHTSHIFT INTBITXOR INTDIV INTMOD
		INTMUL INTSUB LEFT LENGTH LOG LOWER LTRIM MAX MIN NUMBERBIN PI POWER RADIANS RAND
		REPLACE REPLICATE REVERSE RIGHT ROUND RTRIM SIGN SIN SQRT SQUARE STARTSWITH
		STRINGEQUALS SUBSTRING SUM SETINTERSECT SETUNION TAN TOSTRING TRIM TRUNC UPPER`) {
		cosmiumFunctions[f] = true
	}
}

// unknownToCosmium lists the functions of funcs that cosmium lacks.
func unknownToCosmium(funcs []string) []string {
	var out []string
	for _, f := range funcs {
		if !cosmiumFunctions[strings.ToUpper(f)] {
			out = append(out, f)
		}
	}
	return out
}
