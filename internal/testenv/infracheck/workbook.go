package infracheck

import "strings"

// Panel is one query panel of the workbook (infra/modules/workbook.bicep's
// panels variable).
type Panel struct {
	Row                         int
	Title, Visualization, Query string
}

// WorkbookPanels lists the items of f's panels variable, an array of
// objects with a title, a visualization and a query. A value that is not a
// plain string literal comes back as its source text.
func WorkbookPanels(f *File) []Panel {
	arr := Variable(f, "panels")
	if arr == nil || arr.Type != "array" {
		return nil
	}
	var out []Panel
	for _, obj := range arr.Children {
		if obj.Type != "object" {
			continue
		}
		out = append(out, Panel{
			Row:           obj.Row,
			Title:         literal(f, Lookup(f, obj, "title")),
			Visualization: literal(f, Lookup(f, obj, "visualization")),
			Query:         literal(f, Lookup(f, obj, "query")),
		})
	}
	return out
}

// literal is the text of a string literal between its quotes (a
// multi-line one's three, or one), with a one-line one's escapes read;
// anything else is its source text.
func literal(f *File, n *Node) string {
	if n == nil {
		return ""
	}
	text := f.Text(n)
	if n.Type != "string" {
		return text
	}
	if strings.HasPrefix(text, "'''") {
		return strings.TrimSuffix(strings.TrimPrefix(text, "'''"), "'''")
	}
	return unescape(strings.TrimSuffix(strings.TrimPrefix(text, "'"), "'"))
}
