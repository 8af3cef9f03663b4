package views

import "testing"

// An empty live list keeps its table hidden, with the rows that new runs
// join, so the first run started elsewhere can appear without a reload;
// a list that is not live shows only its empty state.
func TestEmptyLiveRunsListKeepsItsTable(t *testing.T) {
	b := testBase(NavRuns)
	b.LiveUpdates, b.CurrentWorkspace = true, "ws_1"
	live := RunsPage{Base: b}
	_, d := render(t, RunsView(live))
	if d.Find(`[data-testid=runs-empty]`).Length() != 1 {
		t.Error("no empty state")
	}
	table := d.Find(`[data-live-empty-table]`)
	if _, hidden := table.Attr("hidden"); table.Length() != 1 || !hidden {
		t.Fatalf("an empty live list has no hidden table (found %d)", table.Length())
	}
	if table.Find(`tbody[sse-swap=`+LiveEventCreated+`][data-live-new-rows]`).Length() != 1 {
		t.Error("the hidden table has no rows for new runs to join")
	}

	b.LiveUpdates = false
	_, d = render(t, RunsView(RunsPage{Base: b}))
	if d.Find(`[data-testid=runs-table]`).Length() != 0 {
		t.Error("an empty list that is not live renders a table")
	}
}
