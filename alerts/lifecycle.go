package alerts

import (
	"time"

	"github.com/editwatch/editwatch/store"
)

// Notification kinds.
const (
	NotifyFiring   = "firing"
	NotifyRepeat   = "repeat"
	NotifyResolved = "resolved"
	NotifyTest     = "test"
)

// advance walks one rule's lifecycle by one evaluation: it returns the
// new state, the state changes to store, and the notification to send
// ("" for none). It is pure, so a test can drive it through any story.
//
//   - ok → pending when the condition holds; pending → firing once it
//     has held for the rule's "for" (at once when "for" is 0);
//   - firing notifies once, then again every "repeat" while it holds;
//   - firing → ok (resolved, notified) once the condition has stayed
//     false for "resolve_after", so a flapping condition notifies once;
//   - while silenced nothing is notified; a firing that was never
//     notified is not notified as resolved either.
func advance(st store.AlertState, r Rule, m Measurement, now time.Time) (store.AlertState, []store.AlertEvent, string) {
	st.Rule, st.Tenant, st.Value = r.Name, r.Tenant(), m.Value
	if st.Status == "" {
		st.Status = store.AlertOK
	}
	silenced := st.Silenced(now)
	var events []store.AlertEvent
	event := func(status, detail string) {
		events = append(events, store.AlertEvent{Rule: r.Name, Tenant: r.Tenant(), At: now, Status: status,
			FiringID: st.FiringID, Value: m.Value, Detail: detail})
	}
	notify := ""
	fire := func() {
		st.Status, st.FiredAt, st.ClearSince = store.AlertFiring, now, time.Time{}
		st.FiringID, st.Notified = newID("fir_"), false
		event(store.AlertFiring, m.Summary)
		if !silenced {
			notify, st.Notified, st.LastNotifiedAt = NotifyFiring, true, now
		}
	}
	switch st.Status {
	case store.AlertOK:
		if !m.Holds {
			break
		}
		st.PendingSince = now
		if r.For <= 0 {
			fire()
		} else {
			st.Status = store.AlertPending
			event(store.AlertPending, m.Summary)
		}
	case store.AlertPending:
		switch {
		case !m.Holds:
			st.Status, st.PendingSince = store.AlertOK, time.Time{}
			event(store.AlertOK, "the condition stopped holding before "+r.For.String())
		case now.Sub(st.PendingSince) >= r.For:
			fire()
		}
	case store.AlertFiring:
		if m.Holds {
			st.ClearSince = time.Time{}
			switch {
			case silenced:
			case !st.Notified:
				// Fired while silenced, and still holding now the
				// silence is over.
				notify, st.Notified, st.LastNotifiedAt = NotifyFiring, true, now
			case now.Sub(st.LastNotifiedAt) >= r.Repeat:
				notify, st.LastNotifiedAt = NotifyRepeat, now
			}
			break
		}
		if st.ClearSince.IsZero() {
			st.ClearSince = now
		}
		if now.Sub(st.ClearSince) < r.ResolveAfter {
			break
		}
		event(store.AlertResolved, m.Summary)
		if st.Notified && !silenced {
			notify = NotifyResolved
		}
		st.Status, st.PendingSince, st.ClearSince, st.Notified = store.AlertOK, time.Time{}, time.Time{}, false
	}
	return st, events, notify
}
