package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/monitor"
	"github.com/editwatch/editwatch/views"
)

// Event stream tuning.
const (
	// maxWatchedRuns bounds the runs one stream asks the refresher to
	// poll (a runs page has at most maxPageSize rows).
	maxWatchedRuns = maxPageSize
	// sseRetry is the reconnection delay browsers are told to use.
	sseRetry = 3 * time.Second
	// streamBuffer is how many events a stream may fall behind.
	streamBuffer = 256
)

// SSE event names. run and run-<id> carry every change as JSON for
// scripts; pages swap in the fragments the server renders for their
// stream (row-<id>, status-<id>, created: see writeFragment).
const (
	sseEventReady  = "ready"
	sseEventRun    = "run"
	sseEventResync = "resync"
	// sseEventPaused tells a tab that a newer tab of the same session took
	// its stream: it stops reconnecting and refreshes on a timer.
	sseEventPaused = "paused"
)

// sseRunEvent names the event of one run.
func sseRunEvent(runID string) string { return views.LiveRunEvent(runID) }

// streamEvent is the JSON data of run events: a run's state, nothing else
// (never a file name).
type streamEvent struct {
	Kind          string    `json:"kind"`
	RunID         string    `json:"runId"`
	Status        string    `json:"status,omitempty"`
	PrevStatus    string    `json:"prevStatus,omitempty"`
	FailureReason string    `json:"failureReason,omitempty"`
	At            time.Time `json:"at"`
}

// events is GET /events?ws=…[&run=…][&view=runs|run&filters…]: a
// Server-Sent Events stream of the workspace's run changes, for a session
// granted its history. The runs named by run= are watched: while they
// process, the refresher polls them (once per run however many streams
// watch). With view=, the stream also carries the page's fragments,
// rendered for this connection from the stored snapshot (liveView); a
// runs list's stream keeps the workspace's shared poll going, so new runs
// reach it. The stream ends when the client goes or the broker closes
// (shutdown).
func (a *dashboard) events(c echo.Context) error {
	conn, cl, err := a.workspaceClient(c)
	if errors.Is(err, errNoConnection) {
		return &PageError{Status: http.StatusForbidden, Heading: "No workspace connected", Category: "not connected",
			Explanation: "Connect a workspace to receive its live updates."}
	}
	if err != nil {
		return err
	}
	if err := a.ensureGrant(c, conn, cl); err != nil {
		return err
	}
	stream, err := a.streams.open(conn.SessionID, middleware.IdentityOf(c).User)
	if err != nil {
		return err
	}
	defer a.streams.close(stream)
	sub := a.Live.Broker.Subscribe(conn.Tenant, streamBuffer)
	defer sub.Close()
	watched := watchedRuns(c.QueryParams()[views.ParamRun])
	lv := a.newLiveView(c, conn, watched)
	defer a.wantWorkspacePoll(lv, cl)()
	if a.Live.Refresher != nil {
		for _, id := range watched {
			stop := a.Live.Refresher.Watch(conn.Tenant, id, func(ctx context.Context) (*extendapi.EditRun, error) {
				return cl.GetEditRun(ctx, id)
			})
			defer stop()
		}
	}

	w := c.Response()
	rc := http.NewResponseController(w)
	// Streams outlive any write timeout the server may have.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("events: clear write deadline: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: %d\n\n", sseRetry.Milliseconds())
	if err := writeSSE(w, sseEventReady, "{}"); err != nil {
		return nil
	}
	ctx := c.Request().Context()
	if err := a.catchUp(ctx, w, lv); err != nil {
		return nil
	}
	if err := rc.Flush(); err != nil {
		return nil
	}

	heartbeat := time.NewTicker(a.Live.Heartbeat)
	defer heartbeat.Stop()
	var dropped uint64
	for {
		var werr error
		select {
		case <-ctx.Done():
			return nil
		case <-stream.evicted:
			_ = writeSSE(w, sseEventPaused, `{"reason":"another tab of this session opened live updates"}`)
			_ = rc.Flush()
			return nil
		case <-heartbeat.C:
			_, werr = io.WriteString(w, ": heartbeat\n\n")
		case e, open := <-sub.C:
			if !open {
				return nil // the broker closed: shutdown
			}
			werr = a.writeRunEvent(ctx, w, lv, e)
			if d := sub.Dropped(); d != dropped && werr == nil {
				dropped = d
				werr = writeSSE(w, sseEventResync, "{}")
			}
		}
		if werr == nil {
			werr = rc.Flush()
		}
		if werr != nil {
			return nil // the client went away
		}
	}
}

// watchedRuns keeps the valid, distinct run IDs of run=, at most
// maxWatchedRuns.
func watchedRuns(ids []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		if runIDPattern.MatchString(id) && !seen[id] && len(out) < maxWatchedRuns {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// writeRunEvent sends one change: run (all of it), run-<id> (for scripts)
// and the page's fragment (writeFragment).
func (a *dashboard) writeRunEvent(ctx context.Context, w io.Writer, lv liveView, e monitor.Event) error {
	data, err := json.Marshal(streamEvent{Kind: e.Kind, RunID: e.RunID, Status: e.Status, PrevStatus: e.PrevStatus,
		FailureReason: e.FailureReason, At: e.At})
	if err != nil {
		return err
	}
	if err := writeSSE(w, sseEventRun, string(data)); err != nil {
		return err
	}
	if err := writeSSE(w, sseRunEvent(e.RunID), string(data)); err != nil {
		return err
	}
	return a.writeFragment(ctx, w, lv, e)
}

// writeSSE writes one event; data may span lines.
func writeSSE(w io.Writer, event, data string) error {
	var b strings.Builder
	b.WriteString("event: ")
	b.WriteString(event)
	b.WriteByte('\n')
	for line := range strings.SplitSeq(strings.ReplaceAll(data, "\r\n", "\n"), "\n") {
		b.WriteString("data: ")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}
