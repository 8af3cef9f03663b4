package store

import (
	"strconv"
	"strings"
)

// Sorts of the runs list (RunFilter.Sort). The zero value is by creation
// time ("at"); the others sort by a measurement, runs without one (a
// failed run has no processing time) counting as -1: first ascending,
// last descending. Each has an index on (tenant, key, id) (migration
// 00011), so a page costs the same deep in history whatever the sort.
const (
	SortCreated    = ""
	SortProcessing = "processing"
	SortCredits    = "credits"
	SortFilled     = "filled"
)

// runSort is one sort's SQL key and how to read it off a row.
type runSort struct {
	name string
	// expr is the key as the index spells it.
	expr string
	// float: the key is REAL (its cursor value is a float), else INTEGER.
	float bool
	key   func(RunSnapshot) (int64, float64)
}

var runSorts = map[string]runSort{
	SortCreated: {name: "created", expr: "at", key: func(r RunSnapshot) (int64, float64) { return millis(r.At), 0 }},
	SortProcessing: {name: SortProcessing, expr: "COALESCE(processing_ms, -1)", float: true,
		key: func(r RunSnapshot) (int64, float64) { return 0, floatOr(r.ProcessingMs) }},
	SortCredits: {name: SortCredits, expr: "COALESCE(credits, -1)", float: true,
		key: func(r RunSnapshot) (int64, float64) { return 0, floatOr(r.Credits) }},
	SortFilled: {name: SortFilled, expr: "COALESCE(fields_filled, -1)",
		key: func(r RunSnapshot) (int64, float64) {
			if r.FieldsFilled == nil {
				return -1, 0
			}
			return *r.FieldsFilled, 0
		}},
}

func floatOr(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}

// ValidRunSort reports whether s names a sort of the runs list.
func ValidRunSort(s string) bool {
	_, ok := runSorts[s]
	return ok
}

// isDefaultSort: newest first by creation, the list's historical shape
// (and cursor format).
func isDefaultSort(f RunFilter) bool { return f.Sort == SortCreated && !f.Ascending }

// sortOf is f's sort (created when unknown).
func sortOf(f RunFilter) runSort {
	if s, ok := runSorts[f.Sort]; ok {
		return s
	}
	return runSorts[SortCreated]
}

// orderSQL is the ORDER BY of f's sort, ties broken by id the same way.
func orderSQL(f RunFilter) string {
	dir := " DESC"
	if f.Ascending {
		dir = " ASC"
	}
	return ` ORDER BY ` + sortOf(f).expr + dir + `, id` + dir
}

// encodeSortedCursor names the row after which the next page of a
// non-default sort starts: "<sort>-<dir>:<key>:<id>", so a cursor made for
// another sort or direction is refused rather than misread.
func encodeSortedCursor(f RunFilter, r RunSnapshot) string {
	s := sortOf(f)
	i, fl := s.key(r)
	key := strconv.FormatInt(i, 10)
	if s.float {
		key = strconv.FormatFloat(fl, 'g', -1, 64)
	}
	return sortCursorPrefix(f) + ":" + key + ":" + strconv.FormatInt(r.ID, 10)
}

func sortCursorPrefix(f RunFilter) string {
	dir := "desc"
	if f.Ascending {
		dir = "asc"
	}
	return sortOf(f).name + "-" + dir
}

// sortedCursorCond is the keyset condition of a non-default sort's
// cursor: the rows after the cursor's in the sort's order.
func sortedCursorCond(f RunFilter, cursor string) (string, []any, error) {
	prefix, rest, ok := strings.Cut(cursor, ":")
	if !ok || prefix != sortCursorPrefix(f) {
		return "", nil, ErrInvalidCursor
	}
	keyText, idText, ok := strings.Cut(rest, ":")
	if !ok {
		return "", nil, ErrInvalidCursor
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		return "", nil, ErrInvalidCursor
	}
	s := sortOf(f)
	var key any
	if s.float {
		v, err := strconv.ParseFloat(keyText, 64)
		if err != nil {
			return "", nil, ErrInvalidCursor
		}
		key = v
	} else {
		v, err := strconv.ParseInt(keyText, 10, 64)
		if err != nil {
			return "", nil, ErrInvalidCursor
		}
		key = v
	}
	cmp := " < "
	if f.Ascending {
		cmp = " > "
	}
	return "(" + s.expr + cmp + "? OR (" + s.expr + " = ? AND id" + cmp + "?))", []any{key, key, id}, nil
}
