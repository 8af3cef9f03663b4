package views

// Sorts of the runs list that only history can answer (Extend's list
// sorts by createdAt or updatedAt alone).
const (
	SortProcessing = "processingMs"
	SortCredits    = "credits"
	SortFilled     = "fieldsFilled"
)

// HistorySort reports whether s is a sort only history answers.
func HistorySort(s string) bool {
	return s == SortProcessing || s == SortCredits || s == SortFilled
}

// effectiveSort is the column the list is sorted by: from history,
// created unless a measurement is named; from Extend, updated unless
// created is named (Extend's default).
func (p RunsPage) effectiveSort() string {
	if p.FromHistory {
		if HistorySort(p.Filter.SortBy) {
			return p.Filter.SortBy
		}
		return SortCreated
	}
	if p.Filter.SortBy == SortCreated {
		return SortCreated
	}
	return SortUpdated
}

// sortable reports whether the list can sort by column key here.
func (p RunsPage) sortable(key string) bool {
	if HistorySort(key) {
		return p.FromHistory
	}
	if key == SortUpdated {
		return !p.FromHistory
	}
	return true
}

// sortAscending reports whether the list runs in ascending order.
func (p RunsPage) sortAscending() bool { return p.Filter.SortDir == DirAsc }

// sortURL is the header link of column key: descending first (newest,
// longest, dearest, fullest), the other direction when already sorted by
// it. The filters stay; the page starts again at the first.
func (p RunsPage) sortURL(key string) string {
	f := p.Filter
	dir := DirDesc
	if p.effectiveSort() == key && !p.sortAscending() {
		dir = DirAsc
	}
	f.SortBy, f.SortDir = key, dir
	return RunsURL(p.BasePath, p.CurrentWorkspace, f, "")
}

// ariaSort is the header's aria-sort value ("" when not sorted by it).
func (p RunsPage) ariaSort(key string) string {
	if p.effectiveSort() != key {
		return ""
	}
	if p.sortAscending() {
		return "ascending"
	}
	return "descending"
}

// sortArrow shows the direction beside the sorted column's label.
func (p RunsPage) sortArrow(key string) string {
	switch p.ariaSort(key) {
	case "ascending":
		return "↑"
	case "descending":
		return "↓"
	}
	return ""
}

// moreFiltersSet reports whether a filter behind the "Filters" disclosure
// is set, so the disclosure opens to show it.
func (f RunsFilter) moreFiltersSet() bool {
	return f.Status != "" || f.Source != "" || !f.Range.IsZero() || f.Reason != "" || f.RunIDPrefix != "" || f.Stuck
}

type sortOption struct{ key, label string }

// sortOptions are the sorts the list can do here: history's measurements,
// or Extend's updated time.
func (p RunsPage) sortOptions() []sortOption {
	if p.FromHistory {
		return []sortOption{{SortCreated, "Created"}, {SortProcessing, "Processing time"}, {SortCredits, "Credits"}, {SortFilled, "Fields filled"}}
	}
	return []sortOption{{SortUpdated, "Updated"}, {SortCreated, "Created"}}
}
