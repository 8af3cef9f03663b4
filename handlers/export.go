package handlers

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/views"
)

// exportColumns are the export's columns, in the runs table's order.
var exportColumns = []string{
	"run_id", "file_name", "status", "failure_reason", "failure_message", "source",
	"pages", "fields_filled", "fields_detected", "processing_ms", "credits", "created_at", "updated_at",
}

// exportFlushEvery is how many rows go out between flushes: the download
// starts at once and nothing piles up in memory.
const exportFlushEvery = 500

// exportPageSize is the page size of the walk (history or Extend).
const exportPageSize = 500

// exportWriteWindow is how long a whole export may take to write: longer
// than the server's write timeout, which is for pages.
const exportWriteWindow = 30 * time.Minute

func (a *dashboard) exportCSV(c echo.Context) error    { return a.export(c, "csv") }
func (a *dashboard) exportNDJSON(c echo.Context) error { return a.export(c, "ndjson") }

// export is GET /runs/export.{csv,ndjson}: every run the runs list shows
// for its filter (all pages), streamed as it is read, from history once
// it is synced, else from Extend's list.
func (a *dashboard) export(c echo.Context, format string) error {
	conn, cl, err := a.workspaceClient(c)
	if err != nil {
		return err
	}
	// Without a grant the export holds what the key lists live, as the
	// runs list does, and nothing of the stored history.
	tenant, err := a.historyTenant(c, conn, cl)
	if err != nil && !errors.Is(err, errNotGranted) {
		return err
	}
	var hs historyState
	if err == nil {
		if hs, err = a.historyStateOf(c, tenant); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	rq := parseRunsQuery(c.QueryParams())
	now := a.Now()
	var rows iter.Seq2[views.RunListItem, error]
	if hs.Synced {
		rq.Filter.Range = parseTimeRange(c.QueryParams(), now, "", false)
		threshold, err := a.Store.StuckThreshold(ctx, tenant, now)
		if err != nil {
			return err
		}
		f := historyFilter(tenant, rq.Filter, threshold, now)
		f.Limit = exportPageSize
		rows = func(yield func(views.RunListItem, error) bool) {
			for r, err := range a.Store.RunsSeq(ctx, f) {
				if !yield(snapshotItem(r, conn.Ref()), err) || err != nil {
					return
				}
			}
		}
	} else {
		params := rq.params()
		params.MaxPageSize, params.NextPageToken = 100, ""
		rows = extendRows(ctx, cl, params, conn.Ref())
	}
	name := fmt.Sprintf("runs-%s-%s.%s", safeFileToken(conn.Ref()), now.UTC().Format("20060102-150405"), format)
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	switch format {
	case "csv":
		h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	default:
		h.Set(echo.HeaderContentType, "application/x-ndjson; charset=utf-8")
	}
	_ = http.NewResponseController(c.Response().Writer).SetWriteDeadline(now.Add(exportWriteWindow))
	c.Response().WriteHeader(http.StatusOK)
	var werr error
	if format == "csv" {
		werr = writeRunsCSV(c.Response(), rows)
	} else {
		werr = writeRunsNDJSON(c.Response(), rows)
	}
	if werr != nil {
		// The status is sent: the file ends with a line saying it is
		// incomplete, and the log has the cause.
		a.Logger.WarnContext(ctx, "export ended early", "request_id", middleware.RequestIDOf(c), "format", format, "err", werr)
	}
	return nil
}

// extendRows walks Extend's list page by page (inside the key's rate
// budget: the client waits on its limiter).
func extendRows(ctx context.Context, cl *extendapi.Client, params extendapi.ListEditRunsParams, ws string) iter.Seq2[views.RunListItem, error] {
	return func(yield func(views.RunListItem, error) bool) {
		for {
			list, err := cl.ListEditRuns(ctx, params)
			if err != nil {
				yield(views.RunListItem{}, err)
				return
			}
			for _, run := range list.Data {
				if !yield(listItem(run, ws), nil) {
					return
				}
			}
			if list.NextPageToken == "" {
				return
			}
			params.NextPageToken = list.NextPageToken
		}
	}
}

// safeFileToken keeps a workspace ref usable in a file name.
func safeFileToken(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// csvCell guards a text cell against spreadsheet formula injection: a
// cell that starts with =, +, -, @, a tab or a carriage return is
// prefixed with an apostrophe, which spreadsheets show as text.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// exportRecord is one run as the export writes it; nil means unknown.
type exportRecord struct {
	RunID          string   `json:"run_id"`
	FileName       string   `json:"file_name"`
	Status         string   `json:"status"`
	FailureReason  string   `json:"failure_reason,omitempty"`
	FailureMessage string   `json:"failure_message,omitempty"`
	Source         string   `json:"source,omitempty"`
	Pages          *int     `json:"pages"`
	FieldsFilled   *int     `json:"fields_filled"`
	FieldsDetected *int     `json:"fields_detected"`
	ProcessingMs   *float64 `json:"processing_ms"`
	Credits        *float64 `json:"credits"`
	CreatedAt      *string  `json:"created_at"`
	UpdatedAt      *string  `json:"updated_at"`
}

func recordOf(r views.RunListItem) exportRecord {
	ts := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		s := t.UTC().Format(time.RFC3339Nano)
		return &s
	}
	return exportRecord{
		RunID: r.ID, FileName: r.FileName, Status: r.Status, FailureReason: r.FailureReason,
		FailureMessage: r.FailureMessage, Source: r.Source, Pages: r.Pages, FieldsFilled: r.FieldsFilled,
		FieldsDetected: r.FieldsDetected, ProcessingMs: r.ProcessingMs, Credits: r.Credits,
		CreatedAt: ts(r.CreatedAt), UpdatedAt: ts(r.UpdatedAt),
	}
}

func (e exportRecord) cells() []string {
	num := func(p *int) string {
		if p == nil {
			return ""
		}
		return strconv.Itoa(*p)
	}
	flt := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', -1, 64)
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return []string{
		csvCell(e.RunID), csvCell(e.FileName), csvCell(e.Status), csvCell(e.FailureReason), csvCell(e.FailureMessage),
		csvCell(e.Source), num(e.Pages), num(e.FieldsFilled), num(e.FieldsDetected), flt(e.ProcessingMs), flt(e.Credits),
		str(e.CreatedAt), str(e.UpdatedAt),
	}
}

// flusher is what an http.ResponseWriter offers to push bytes out.
type flusher interface{ Flush() }

func flushOut(w io.Writer) {
	if f, ok := w.(flusher); ok {
		f.Flush()
	}
}

// errExportIncomplete marks a file that ends with an error line.
var errExportIncomplete = errors.New("export incomplete")

// writeRunsCSV writes the header and one record per run, flushing as it
// goes; on an error it ends with a line saying the file is incomplete.
func writeRunsCSV(w io.Writer, rows iter.Seq2[views.RunListItem, error]) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write(exportColumns); err != nil {
		return err
	}
	n := 0
	for r, err := range rows {
		if err != nil {
			_ = cw.Write([]string{"# export incomplete: " + err.Error()})
			cw.Flush()
			_ = bw.Flush()
			return fmt.Errorf("%w: %w", errExportIncomplete, err)
		}
		if err := cw.Write(recordOf(r).cells()); err != nil {
			return err
		}
		if n++; n%exportFlushEvery == 0 {
			cw.Flush()
			if err := bw.Flush(); err != nil {
				return err
			}
			flushOut(w)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// writeRunsNDJSON writes one JSON object per line; on an error the last
// line is {"error": …}.
func writeRunsNDJSON(w io.Writer, rows iter.Seq2[views.RunListItem, error]) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	for r, err := range rows {
		if err != nil {
			_ = enc.Encode(map[string]string{"error": "export incomplete: " + err.Error()})
			_ = bw.Flush()
			return fmt.Errorf("%w: %w", errExportIncomplete, err)
		}
		if err := enc.Encode(recordOf(r)); err != nil {
			return err
		}
		if n++; n%exportFlushEvery == 0 {
			if err := bw.Flush(); err != nil {
				return err
			}
			flushOut(w)
		}
	}
	return bw.Flush()
}
