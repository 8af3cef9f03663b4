package alerts

import (
	"context"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store"
)

// TestMeasureEveryKind checks each kind against history made for it,
// and that runs outside the window do not count.
func TestMeasureEveryKind(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		clk := &clock{t: testStart}
		st := openStore(t, dsn, clk.Now)
		const tenant = "us/ws_demo"
		now := clk.Now()
		old := now.Add(-2 * time.Hour) // outside every window below
		addRuns(t, st, tenant, 50, old, store.StatusFailed, "OUT_OF_CREDITS")
		addRuns(t, st, tenant, 3, now.Add(-time.Minute), store.StatusFailed, "OUT_OF_CREDITS")
		addRuns(t, st, tenant, 1, now.Add(-time.Minute), store.StatusFailed, "CORRUPT_FILE")
		addRuns(t, st, tenant, 4, now.Add(-time.Minute), store.StatusProcessed, "")
		addRuns(t, st, tenant, 2, now.Add(-30*time.Minute), store.StatusProcessing, "") // stuck for 30 min
		addRuns(t, st, tenant, 1, now.Add(-time.Minute), store.StatusProcessing, "")    // just started

		base := Rule{Name: "r", Deployment: "us", Workspace: "ws_demo", Window: 5 * time.Minute, MinRuns: 1, AtLeast: 1}
		for _, tc := range []struct {
			name  string
			edit  func(*Rule)
			value float64
			holds bool
		}{
			{"failure_rate", func(r *Rule) { r.Kind, r.Above, r.MinRuns = KindFailureRate, 0.4, 5 }, 0.5, true},
			{"failure_rate below min_runs", func(r *Rule) { r.Kind, r.Above, r.MinRuns = KindFailureRate, 0.4, 9 }, 0.5, false},
			{"failure_rate of one reason", func(r *Rule) { r.Kind, r.Above, r.Reasons = KindFailureRate, 0.2, []string{"CORRUPT_FILE"} }, 0.125, false},
			{"reason", func(r *Rule) { r.Kind, r.Reason, r.AtLeast = KindReason, "OUT_OF_CREDITS", 3 }, 3, true},
			{"reason short", func(r *Rule) { r.Kind, r.Reason, r.AtLeast = KindReason, "OUT_OF_CREDITS", 4 }, 3, false},
			{"stuck", func(r *Rule) { r.Kind, r.LongerThan = KindStuck, 20*time.Minute }, 2, true},
			{"stuck longer", func(r *Rule) { r.Kind, r.LongerThan = KindStuck, time.Hour }, 0, false},
			{"slow", func(r *Rule) { r.Kind, r.Above = KindSlow, 1000 }, 1200, true},
			{"not slow", func(r *Rule) { r.Kind, r.Above = KindSlow, 1500 }, 1200, false},
			{"credits", func(r *Rule) { r.Kind, r.Above = KindCredits, 15 }, 18, true}, // 9 runs × 2 created in the window
			{"silence", func(r *Rule) { r.Kind = KindSilence }, 60, false},
			{"silence in its hours", func(r *Rule) { r.Kind, r.Window = KindSilence, 30*time.Second }, 60, true},
			{"silence outside its hours", func(r *Rule) {
				r.Kind, r.Window, r.Hours = KindSilence, 30*time.Second, HourRange{From: 22, To: 6}
			}, 60, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := base
				tc.edit(&r)
				m, err := Measure(context.Background(), st, r, now)
				if err != nil {
					t.Fatal(err)
				}
				if m.Value != tc.value || m.Holds != tc.holds {
					t.Errorf("value %v holds %v, want %v %v (%s)", m.Value, m.Holds, tc.value, tc.holds, m.Summary)
				}
			})
		}
	})
}
