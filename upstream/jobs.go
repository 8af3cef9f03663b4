package upstream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// Background jobs keep their state in the store (store.Job), so the
// replica that serves a progress page need not be the one doing the work.
// What follows is shared by bulk re-runs, bulk deletes and history syncs.

// Job kinds in the store.
const (
	jobKindRerun    = "rerun"
	jobKindDelete   = "delete"
	jobKindBackfill = "backfill"
)

// jobBeat is how often a worker renews its job's heartbeat, well within
// store.JobLostAfter so a slow call to Extend does not look like a
// dead worker.
const jobBeat = 15 * time.Second

func newJobID(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// beatJob renews job id's heartbeat for worker every jobBeat until ctx
// ends.
func beatJob(ctx context.Context, st *store.Store, id, worker string, logger *slog.Logger) {
	t := time.NewTicker(jobBeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := st.BeatJob(ctx, id, worker, ""); err != nil && ctx.Err() == nil {
				logger.Warn("background job: heartbeat not written", "job", id, "err", err)
			}
		}
	}
}

// storedError is an error as a job row keeps it: enough of its type that
// the page reading it (on any replica) explains it as it would have
// explained the original.
type storedError struct {
	Kind string              `json:"kind"` // logout, said, api, network, timeout, text
	Text string              `json:"text"`
	API  *extendapi.APIError `json:"api,omitempty"`
	Net  *storedNetworkError `json:"net,omitempty"`
}

type storedNetworkError struct {
	Method, Path string
	Timeout      bool
}

// encodeJobError is err as a job row keeps it ("" for nil).
func encodeJobError(err error) string {
	if err == nil {
		return ""
	}
	se := storedError{Kind: "text", Text: err.Error()}
	var (
		said   RerunError
		apiErr *extendapi.APIError
		netErr *extendapi.NetworkError
	)
	switch {
	case errors.Is(err, ErrStoppedAtLogout):
		se.Kind = "logout"
	case errors.As(err, &said):
		se.Kind, se.Text = "said", string(said)
	case errors.As(err, &apiErr):
		se.Kind, se.API = "api", apiErr
	case errors.As(err, &netErr):
		se.Kind, se.Net = "network", &storedNetworkError{Method: netErr.Method, Path: netErr.Path, Timeout: netErr.Timeout}
		if netErr.Err != nil {
			se.Text = netErr.Err.Error()
		}
	case errors.Is(err, context.DeadlineExceeded):
		se.Kind = "timeout"
	}
	b, mErr := json.Marshal(se)
	if mErr != nil {
		return `{"kind":"text","text":"` + hex.EncodeToString([]byte(err.Error())) + `"}`
	}
	return string(b)
}

// decodeJobError is the error encodeJobError kept (nil for "").
func decodeJobError(s string) error {
	if s == "" {
		return nil
	}
	var se storedError
	if err := json.Unmarshal([]byte(s), &se); err != nil {
		return errors.New(s)
	}
	switch se.Kind {
	case "logout":
		return ErrStoppedAtLogout
	case "said":
		return RerunError(se.Text)
	case "api":
		if se.API != nil {
			return se.API
		}
	case "network":
		if se.Net != nil {
			return &extendapi.NetworkError{Method: se.Net.Method, Path: se.Net.Path, Timeout: se.Net.Timeout, Err: errors.New(se.Text)}
		}
	case "timeout":
		return &timeoutError{se.Text}
	}
	return errors.New(se.Text)
}

// timeoutError is a stored context.DeadlineExceeded, with its first text.
type timeoutError struct{ text string }

func (e *timeoutError) Error() string { return e.text }
func (e *timeoutError) Unwrap() error { return context.DeadlineExceeded }
