package infracheck

import (
	"fmt"
	"regexp"
	"strings"
)

// Checks for the log queries (KQL) infra/ holds and the docs show. No
// KQL parser runs here, so each rule is a simple one over the query text,
// strict on purpose: it may refuse a query Azure would take, never the
// other way round.

// boolCompare is a comparison with a bare true or false on either side.
var boolCompare = regexp.MustCompile(`(?i)(==|!=|=~|!~|<>)\s*(true|false)\b|\b(true|false)\s*(==|!=|=~|!~|<>)`)

// BareBooleanComparisons lists the comparisons in text that have a bare
// true or false on one side. In Application Insights' requests table
// success is a string (the workspace-migration schema table lists "success
// | string | Success | Bool": a string in Application Insights, a bool in
// AppRequests), so success == false is a type error there, and a scheduled
// query rule validates its query when it is created (skipQueryValidation
// defaults to false): the deployment fails. REFERENCE.md §7. A comparison
// that holds for either type compares text: tostring(success) =~ "false".
// The rule refuses every bare boolean, whatever the column: none of
// acrsink's queries needs one.
func BareBooleanComparisons(text string) []string {
	return boolCompare.FindAllString(text, -1)
}

// consoleLacks are columns of Application Insights' traces that a custom
// handler's stdout lines do not fill as a query would expect: the Functions
// host logs each line at Information, in category Host.Function.Console,
// whatever level the JSON line states (so severityLevel cannot find the
// handler's errors); the JSON fields stay inside message, not in
// customDimensions; and console lines carry no operation name or
// invocation id (azure-functions-host, Workers/ProcessManagement/
// WorkerProcess.cs and WorkerConsoleLogService.cs; Azure/Azure-Functions
// #2575; REFERENCE.md §7).
var consoleLacks = regexp.MustCompile(`\b(customDimensions|customMeasurements|severityLevel|operation_Name|operation_Id|operation_ParentId|operation_SyntheticSource)\b`)

// tracesStart is where a tabular expression over traces starts.
var tracesStart = regexp.MustCompile(`(^|[(\s,])traces\s*(\||\)|,|$)`)

// TraceColumnsBeyondMessage lists, for each part of query that reads the
// traces table, the columns it uses that the handler's console lines do not
// carry (consoleLacks): a query for the handler's lines may rely on message
// alone. A part runs from "traces" to the parenthesis that closes it, or
// to a comma at its own depth (the next argument of a union), or to the end.
func TraceColumnsBeyondMessage(query string) []string {
	var out []string
	for _, loc := range tracesStart.FindAllStringSubmatchIndex(query, -1) {
		part := query[loc[3]:] // from "traces" on
		depth := 0
	scan:
		for i, r := range part {
			switch r {
			case '(':
				depth++
			case ')':
				if depth == 0 {
					part = part[:i]
					break scan
				}
				depth--
			case ',':
				if depth == 0 {
					part = part[:i]
					break scan
				}
			}
		}
		for _, col := range consoleLacks.FindAllString(part, -1) {
			out = append(out, fmt.Sprintf("%s (in %q)", col, strings.Join(strings.Fields(part), " ")))
		}
	}
	return out
}

// StringLiteral is one string literal of a Bicep file, multi-line ones
// included, with its text between the quotes.
type StringLiteral struct {
	Row  int
	Text string
}

// Strings lists every string literal of f (an interpolated one once, whole).
func Strings(f *File) []StringLiteral {
	var out []StringLiteral
	var walk func(n *Node)
	walk = func(n *Node) {
		if n.Type == "string" {
			text := strings.TrimSuffix(strings.TrimPrefix(f.Text(n), "'''"), "'''")
			out = append(out, StringLiteral{n.Row, strings.Trim(text, "'")})
			return
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(f.Root)
	return out
}

// MarkdownBlocks is the text of every fenced code block of the given
// language in a Markdown document.
func MarkdownBlocks(doc, lang string) []string {
	var out []string
	fence := "```" + lang + "\n"
	for {
		_, rest, ok := strings.Cut(doc, fence)
		if !ok {
			return out
		}
		block, after, _ := strings.Cut(rest, "```")
		out = append(out, block)
		doc = after
	}
}
