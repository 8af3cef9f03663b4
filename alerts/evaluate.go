package alerts

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/editwatch/editwatch/store"
)

// exampleRuns is how many run IDs a notification names.
const exampleRuns = 5

// Measurement is what one evaluation of a rule found.
type Measurement struct {
	Value    float64
	Holds    bool
	Examples []string
	// Status and Reason narrow the runs link (status=..., reason=...);
	// Stuck links to the stuck runs.
	Status, Reason string
	Stuck          bool
	Summary        string
}

// Unit names what a rule's value counts.
func (r Rule) Unit() string {
	switch r.Kind {
	case KindFailureRate:
		return "share"
	case KindReason, KindStuck:
		return "runs"
	case KindSlow:
		return "ms"
	case KindCredits:
		return "credits"
	case KindSilence:
		return "s"
	}
	return ""
}

// Threshold is the value the rule compares against.
func (r Rule) Threshold() float64 {
	switch r.Kind {
	case KindReason:
		return float64(r.AtLeast)
	case KindSilence:
		return r.Window.Seconds()
	case KindStuck:
		return r.LongerThan.Seconds()
	}
	return r.Above
}

// Measure evaluates rule at now from history, with queries bounded by the
// rule's window.
func Measure(ctx context.Context, st *store.Store, r Rule, now time.Time) (Measurement, error) {
	tenant := r.Tenant()
	since, until := now.Add(-r.Window), now.Add(time.Millisecond)
	var m Measurement
	switch r.Kind {
	case KindFailureRate, KindReason:
		o, err := st.AlertOutcomes(ctx, tenant, since, until)
		if err != nil {
			return m, err
		}
		m.Status = store.StatusFailed
		if r.Kind == KindReason {
			m.Reason = r.Reason
			n := o.Failed[r.Reason]
			m.Value, m.Holds = float64(n), n >= r.AtLeast
			m.Summary = fmt.Sprintf("%d runs failed with %s in the last %s (alert at %d).", n, r.Reason, r.Window, r.AtLeast)
			break
		}
		failed := o.FailedTotal()
		if len(r.Reasons) > 0 {
			failed = 0
			for reason, n := range o.Failed {
				if slices.Contains(r.Reasons, reason) {
					failed += n
				}
			}
			if len(r.Reasons) == 1 {
				m.Reason = r.Reasons[0]
			}
		}
		finished := o.Processed + o.FailedTotal()
		if finished > 0 {
			m.Value = float64(failed) / float64(finished)
		}
		m.Holds = finished >= r.MinRuns && m.Value > r.Above
		m.Summary = fmt.Sprintf("%d of %d finished runs failed in the last %s (%.0f%%, alert above %.0f%% with at least %d runs).",
			failed, finished, r.Window, 100*m.Value, 100*r.Above, r.MinRuns)
	case KindStuck:
		threshold := r.LongerThan
		if threshold <= 0 {
			t, err := st.StuckThreshold(ctx, tenant, now)
			if err != nil {
				return m, err
			}
			threshold = t
		}
		n, ids, err := st.AlertStuckRuns(ctx, tenant, now.Add(-threshold), exampleRuns)
		if err != nil {
			return m, err
		}
		m.Value, m.Holds, m.Examples, m.Stuck = float64(n), n > 0, ids, true
		m.Status = store.StatusProcessing
		m.Summary = fmt.Sprintf("%d runs have been processing for longer than %s.", n, threshold)
		return m, nil
	case KindSlow:
		times, err := st.AlertProcessingTimes(ctx, tenant, since, until)
		if err != nil {
			return m, err
		}
		m.Status = store.StatusProcessed
		if len(times) > 0 {
			slices.Sort(times)
			m.Value = times[(len(times)*95+99)/100-1] // nearest rank
		}
		m.Holds = int64(len(times)) >= r.MinRuns && len(times) > 0 && m.Value > r.Above
		m.Summary = fmt.Sprintf("p95 processing time of %d runs in the last %s is %s (alert above %s).", len(times), r.Window,
			time.Duration(m.Value*float64(time.Millisecond)).Round(time.Millisecond), time.Duration(r.Above*float64(time.Millisecond)))
	case KindCredits:
		sum, err := st.AlertCredits(ctx, tenant, since, until)
		if err != nil {
			return m, err
		}
		m.Value, m.Holds = sum, sum > r.Above
		m.Summary = fmt.Sprintf("%.1f credits spent in the last %s (budget %.1f).", sum, r.Window, r.Above)
	case KindSilence:
		last, err := st.AlertLastRunAt(ctx, tenant)
		if err != nil {
			return m, err
		}
		quiet := now.Sub(last)
		if last.IsZero() {
			quiet = r.Window + time.Second
		}
		m.Value = quiet.Seconds()
		m.Holds = r.Hours.Contains(now) && quiet > r.Window
		if last.IsZero() {
			m.Summary = "No run of this workspace is in history."
		} else {
			m.Summary = fmt.Sprintf("No run seen since %s (%s ago; alert after %s).", last.Format("2006-01-02 15:04 UTC"), quiet.Round(time.Second), r.Window)
		}
		return m, nil
	default:
		return m, fmt.Errorf("rule %s: unknown kind %q", r.Name, r.Kind)
	}
	ids, err := st.AlertExampleRuns(ctx, tenant, since, until, m.Status, m.Reason, exampleRuns)
	if err != nil {
		return m, err
	}
	m.Examples = ids
	return m, nil
}

// RunsLink is the runs list filtered to the rule's window and its status
// or reason, under base (the dashboard's public URL or base path).
func RunsLink(base string, r Rule, m Measurement, windowEnd time.Time) string {
	q := url.Values{}
	q.Set("ws", r.Workspace)
	if m.Stuck {
		q.Set("stuck", "1")
	} else if r.Kind != KindSilence {
		const layout = "2006-01-02T15:04" // the runs list's custom range
		start := windowEnd.Add(-r.Window).UTC().Truncate(time.Minute)
		end := windowEnd.UTC().Truncate(time.Minute).Add(time.Minute)
		q.Set("range", "custom")
		q.Set("from", start.Format(layout))
		q.Set("to", end.Format(layout))
	}
	if m.Status != "" && !m.Stuck {
		q.Set("status", m.Status)
	}
	if m.Reason != "" {
		q.Set("reason", m.Reason)
	}
	// slow and credits rules open the list with the costliest runs first:
	// the runs list's history sorts (views.SortProcessing, views.SortCredits;
	// alerts may not import views, so handlers' tests pin the names).
	switch r.Kind {
	case KindSlow:
		q.Set("sort", "processingMs")
		q.Set("dir", "desc")
	case KindCredits:
		q.Set("sort", "credits")
		q.Set("dir", "desc")
	}
	return strings.TrimSuffix(base, "/") + "/runs?" + q.Encode()
}
