package monitor

// holders are the parties keeping a piece of background work going (the
// viewers of a run, the wanters of a workspace's poll), by the ID each was
// given, with a value each brings; the most recent holder's value is the
// one the work uses, so a newer viewer's client replaces an older one's.
// Its owner's mutex guards it.
type holders[V any] struct {
	byID   map[uint64]V
	latest uint64
}

func newHolders[V any]() holders[V] { return holders[V]{byID: map[uint64]V{}} }

// add records holder id, now the most recent.
func (h *holders[V]) add(id uint64, v V) {
	h.byID[id] = v
	h.latest = id
}

// remove lets holder id go and reports whether none is left, when the
// work stops.
func (h *holders[V]) remove(id uint64) (empty bool) {
	delete(h.byID, id)
	if h.latest == id {
		h.latest = 0
		for other := range h.byID {
			h.latest = max(h.latest, other)
		}
	}
	return len(h.byID) == 0
}

// current is the most recent holder's value (the zero value when none).
func (h *holders[V]) current() V { return h.byID[h.latest] }
