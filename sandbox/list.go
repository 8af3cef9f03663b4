package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/editwatch/editwatch/extendapi"
)

// Page sizes of every list endpoint (upstream bounds are ❓; these are the
// sandbox's, documented in the README).
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// sortKey orders list items: a timestamp, then the ID to break ties, so the
// order is total and a cursor names an exact position.
type sortKey struct {
	at time.Time
	id string
}

func (k sortKey) before(o sortKey) bool {
	if c := k.at.Compare(o.at); c != 0 {
		return c < 0
	}
	return k.id < o.id
}

// pageQuery is a list request's sort, size and cursor.
type pageQuery struct {
	sortBy extendapi.SortBy
	dir    extendapi.SortDir
	size   int
	after  *sortKey // the last item of the previous page
}

// pageToken is the opaque nextPageToken: a keyset cursor (sort key and ID of
// the last item served) plus the sort it belongs to. Unlike an offset, it
// stays correct while runs are created or deleted between pages.
type pageToken struct {
	Version int    `json:"v"`
	SortBy  string `json:"b"`
	SortDir string `json:"d"`
	At      int64  `json:"t"` // Unix nanoseconds
	ID      string `json:"i"`
}

// parsePageQuery reads sortDir, maxPageSize, nextPageToken and, when
// sortable, sortBy. Bad values are 400s.
func parsePageQuery(q url.Values, defaultSort extendapi.SortBy, sortable bool) (pageQuery, error) {
	p := pageQuery{sortBy: defaultSort, dir: extendapi.SortDesc, size: defaultPageSize}
	if sortable {
		switch v := extendapi.SortBy(q.Get("sortBy")); v {
		case "":
		case extendapi.SortByCreatedAt, extendapi.SortByUpdatedAt:
			p.sortBy = v
		default:
			return p, errInvalid("sortBy %q: want createdAt or updatedAt", v)
		}
	}
	switch v := extendapi.SortDir(q.Get("sortDir")); v {
	case "":
	case extendapi.SortAsc, extendapi.SortDesc:
		p.dir = v
	default:
		return p, errInvalid("sortDir %q: want asc or desc", v)
	}
	if v := q.Get("maxPageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return p, errInvalid("maxPageSize %q: want an integer from 1 to %d", v, maxPageSize)
		}
		p.size = n
	}
	if v := q.Get("nextPageToken"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		var tok pageToken
		if err == nil {
			err = json.Unmarshal(raw, &tok)
		}
		if err != nil || tok.Version != 1 || tok.ID == "" {
			return p, errInvalid("nextPageToken is not one this server issued")
		}
		if tok.SortBy != string(p.sortBy) || tok.SortDir != string(p.dir) {
			return p, errInvalid("nextPageToken was issued for sortBy=%s&sortDir=%s; keep the parameters the same between pages", tok.SortBy, tok.SortDir)
		}
		p.after = &sortKey{at: time.Unix(0, tok.At).UTC(), id: tok.ID}
	}
	return p, nil
}

// paginate sorts items, skips to just after the cursor and cuts one page.
// The token is set only when more items follow.
func paginate[T any](items []T, key func(T) sortKey, p pageQuery) ([]T, string) {
	less := func(a, b sortKey) bool {
		if p.dir == extendapi.SortAsc {
			return a.before(b)
		}
		return b.before(a)
	}
	slices.SortFunc(items, func(a, b T) int {
		ka, kb := key(a), key(b)
		switch {
		case less(ka, kb):
			return -1
		case less(kb, ka):
			return 1
		}
		return 0
	})
	start := 0
	if p.after != nil {
		after := *p.after
		start, _ = slices.BinarySearchFunc(items, after, func(item T, target sortKey) int {
			if !less(target, key(item)) { // item at or before the cursor
				return -1
			}
			return 1
		})
	}
	end := min(start+p.size, len(items))
	page := items[start:end]
	if page == nil {
		page = []T{}
	}
	if end >= len(items) {
		return page, ""
	}
	last := key(page[len(page)-1])
	raw, _ := json.Marshal(pageToken{Version: 1, SortBy: string(p.sortBy), SortDir: string(p.dir), At: last.at.UnixNano(), ID: last.id})
	return page, base64.RawURLEncoding.EncodeToString(raw)
}
