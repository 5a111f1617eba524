package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/acrsink/acrsink/internal/acr"
	"github.com/acrsink/acrsink/internal/document"
	"github.com/acrsink/acrsink/internal/store"
)

var reportCmd = &command{
	name:    "report",
	summary: "count the events stored per day by action, door and region, the watched ones, and the newest",
	usage:   "acrsink report [-days N] [-json]",
	long: `acrsink report counts the events stored in the configured container per day (UTC) for the last N days, by action, by door and by region, with the watched ones and the newest.

Days are those of receivedAt, when acrsink stored the event: an event that
a replay or the reconciler recovered counts on the day it was stored, and
the newest event is the one stored last, which says whether the pipe still
delivers (an event's own timestamp can be days old, or absent). The door is
the document's source (webhook, eventgrid, replay, reconcile); "none" counts
the events stored with no region. It reads the store alone, with the same
settings as query (COSMOS_CONNECTION_STRING or COSMOS_ENDPOINT,
COSMOS_DATABASE, COSMOS_CONTAINER), and counts on this machine: the Cosmos
gateway cannot count across partitions. It reads five short fields of each
event in the window, once.`,
	example: "acrsink report -days 30\nacrsink report -json | jq '.days[] | {date, events, watched}'",
	flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
		days := fs.Int("days", 7, "how many days to count, today (UTC) included")
		asJSON := fs.Bool("json", false, "print the counts as one JSON object instead of tables")
		return func(ctx context.Context, e *env, args []string) error { return runReport(ctx, e, *days, *asJSON, args) }
	},
}

// maxReportDays bounds -days: ten years of rows.
const maxReportDays = 3650

// noRegion is where the events stored with no region are counted: no Azure
// region has that name.
const noRegion = "none"

// reportQuery reads what report counts, nothing more, of the events stored
// since @since. A projection with a filter is what the Cosmos gateway runs
// across partitions; GROUP BY and COUNT it does not (learn.microsoft.com,
// rest/api/cosmos-db/querying-cosmosdb-resources-using-the-rest-api,
// "Queries that cannot be served by gateway"), and every query here is
// across partitions (the key is /id). So the counting is done here.
// receivedAt is written in document.TimeLayout, fixed width, so comparing
// the strings compares the times.
const reportQuery = "SELECT c.receivedAt, c.action, c.source, c.region, c.watched FROM c WHERE c.receivedAt >= @since"

// tally is the counts of some events.
type tally struct {
	Events   int            `json:"events"`
	Watched  int            `json:"watched"`
	ByAction map[string]int `json:"byAction"`
	BySource map[string]int `json:"bySource"`
	ByRegion map[string]int `json:"byRegion"`
	// Newest is the receivedAt of the event stored last; null when none.
	Newest *string `json:"newest"`
	newest time.Time
}

func newTally() tally {
	t := tally{ByAction: map[string]int{}, BySource: map[string]int{}, ByRegion: map[string]int{}}
	// The actions and doors there are, at zero: a day with none of them
	// says so rather than leaving them out.
	for _, a := range reportActions {
		t.ByAction[a] = 0
	}
	for _, s := range reportSources {
		t.BySource[s] = 0
	}
	return t
}

// reportActions are the actions stored (a ping never is), reportSources
// the doors, in the order the tables show them.
var (
	reportActions = []string{acr.ActionPush, acr.ActionDelete, acr.ActionQuarantine, acr.ActionChartPush, acr.ActionChartDelete}
	reportSources = []string{document.SourceWebhook, document.SourceEventGrid, document.SourceReplay, document.SourceReconcile}
)

func (t *tally) add(action, source, region string, watched bool, at time.Time, receivedAt string) {
	t.Events++
	if watched {
		t.Watched++
	}
	t.ByAction[action]++
	t.BySource[source]++
	if region == "" {
		region = noRegion
	}
	t.ByRegion[region]++
	if t.Newest == nil || at.After(t.newest) {
		t.newest, t.Newest = at, &receivedAt
	}
}

// reportDay is one day's counts.
type reportDay struct {
	Date string `json:"date"`
	tally
}

// reportOut is what report prints, as -json prints it.
type reportOut struct {
	Database  string `json:"database"`
	Container string `json:"container"`
	// From and To are the first and last day counted (UTC).
	From string `json:"from"`
	To   string `json:"to"`
	// NewestBy names the field the days and the newest event are read
	// from.
	NewestBy string      `json:"newestBy"`
	Days     []reportDay `json:"days"`
	Total    tally       `json:"total"`
	// NotCounted is the documents in the window whose receivedAt is no
	// time (none that acrsink wrote).
	NotCounted int `json:"notCounted,omitempty"`
}

func runReport(ctx context.Context, e *env, days int, asJSON bool, rest []string) error {
	if len(rest) != 0 {
		return badUsage("takes no arguments (got %q); say how many days with -days", rest[0])
	}
	if days < 1 || days > maxReportDays {
		return badUsage("-days %d: want 1 to %d", days, maxReportDays)
	}
	az, err := loadAzure(e.getenv)
	if err != nil {
		return err
	}
	cfg := az.cfg
	st, detector, err := az.openQueryStore()
	if err != nil {
		return err
	}
	now := time.Now
	if e.now != nil {
		now = e.now
	}
	today := now().UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(days - 1))
	out := reportOut{
		Database: cfg.CosmosDatabase, Container: cfg.CosmosContainer,
		From: first.Format(time.DateOnly), To: today.Format(time.DateOnly),
		NewestBy: "receivedAt", Total: newTally(),
	}
	byDate := map[string]*tally{}
	for d := first; !d.After(today); d = d.AddDate(0, 0, 1) {
		t := newTally()
		byDate[d.Format(time.DateOnly)] = &t
	}

	// store.Query is one NewQueryItemsPager with an empty partition key
	// (azcosmos.NewPartitionKey()): azcosmos v1.5.0 then sends no
	// partition key header (cosmos_headers_policy.go) and, by default,
	// x-ms-documentdb-query-enablecrosspartition: true
	// (cosmos_query_request_options.go), and sends the query to the
	// gateway as it is, asking for no query plan (cosmos_container.go,
	// NewQueryItemsPager, whose doc says the gateway runs "simple
	// projections and filtering" across partitions and may answer empty
	// pages with a continuation: store.Query reads pages until there is
	// none). Each page is counted and let go: memory holds the counts.
	since := first.Format(document.TimeLayout)
	err = st.Query(ctx, reportQuery, map[string]any{"@since": since}, func(raw json.RawMessage) error {
		var d struct {
			ReceivedAt, Action, Source, Region string
			Watched                            any
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return fmt.Errorf("a document the report read is not what acrsink writes: %w", err)
		}
		at, perr := time.Parse(time.RFC3339, d.ReceivedAt)
		date := at.UTC().Format(time.DateOnly)
		if perr != nil || date < out.From {
			out.NotCounted++
			return nil
		}
		t := byDate[date]
		if t == nil {
			// Stored after today by this machine's clock: counted on its
			// own day, not dropped.
			nt := newTally()
			t = &nt
			byDate[date] = t
		}
		action, source, region := acr.Clip(d.Action), acr.Clip(d.Source), acr.Clip(d.Region)
		watched := d.Watched == true
		t.add(action, source, region, watched, at, d.ReceivedAt)
		out.Total.add(action, source, region, watched, at, d.ReceivedAt)
		return nil
	})
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(e.stderr, "interrupted; nothing is reported")
		return errInterrupted
	case detector.fellBack():
		return errors.New("the local emulator (cosmium) could not parse the report's query; nothing is reported")
	case store.StatusCode(err) == http.StatusBadRequest:
		return errors.New(refusal(err))
	default:
		return queryFailure(ctx, st, cfg, err)
	}

	dates := make([]string, 0, len(byDate))
	for date := range byDate {
		dates = append(dates, date)
	}
	slices.Sort(dates)
	for _, date := range dates {
		out.Days = append(out.Days, reportDay{Date: date, tally: *byDate[date]})
	}
	if out.NotCounted > 0 {
		fmt.Fprintf(e.stderr, "warning: %d document(s) since %s have a receivedAt that is no time; not counted\n", out.NotCounted, out.From)
	}
	if asJSON {
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", b)
		return err
	}
	return printReport(e.stdout, &out)
}

// printReport is the report as tables: one row a day, then the total.
func printReport(w io.Writer, r *reportOut) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "events stored in %s/%s per day (UTC, by receivedAt), %s to %s\n\n", r.Database, r.Container, r.From, r.To)
	fmt.Fprintln(tw, "DAY\tEVENTS\tWATCHED\tNEWEST")
	for _, d := range r.Days {
		newest := "none"
		if d.Newest != nil {
			newest = d.newest.UTC().Format(time.TimeOnly)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", d.Date, d.Events, d.Watched, newest)
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%s\n", r.Total.Events, r.Total.Watched, orNone(r.Total.Newest))

	section := func(title string, known []string, get func(*tally) map[string]int, last string) {
		cols := slices.Clone(known)
		var extra []string
		for k := range get(&r.Total) {
			if !slices.Contains(cols, k) && k != last {
				extra = append(extra, k)
			}
		}
		slices.Sort(extra)
		cols = append(cols, extra...)
		if last != "" {
			cols = append(cols, last)
		}
		fmt.Fprintf(tw, "\n%s", title)
		for _, c := range cols {
			fmt.Fprintf(tw, "\t%s", label(c))
		}
		fmt.Fprintln(tw)
		row := func(name string, t *tally) {
			fmt.Fprint(tw, name)
			for _, c := range cols {
				fmt.Fprintf(tw, "\t%d", get(t)[c])
			}
			fmt.Fprintln(tw)
		}
		for i := range r.Days {
			row(r.Days[i].Date, &r.Days[i].tally)
		}
		row("total", &r.Total)
	}
	section("BY ACTION", reportActions, func(t *tally) map[string]int { return t.ByAction }, "")
	section("BY DOOR", reportSources, func(t *tally) map[string]int { return t.BySource }, "")
	section("BY REGION", nil, func(t *tally) map[string]int { return t.ByRegion }, noRegion)
	fmt.Fprintf(tw, "\nnewest event: %s (receivedAt: when acrsink stored it)\n", orNone(r.Total.Newest))
	return tw.Flush()
}

func orNone(s *string) string {
	if s == nil {
		return "none"
	}
	return label(*s)
}

// label is a value from the store as a column heading: quoted when it is
// empty or holds what would break the table (a space, a tab, a newline).
func label(s string) string {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return strconv.Quote(s)
	}
	return s
}
