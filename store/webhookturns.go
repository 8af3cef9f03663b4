package store

import (
	"hash/fnv"
	"slices"
)

// Deliveries of one webhook event take turns. Extend delivers an event
// again when the first delivery was not acknowledged in time, which is
// when storing it was slow, so on PostgreSQL the redelivery can reach
// another replica while the first delivery's transaction is still open.
// The two transactions then insert the same event row, and they lock
// runs, rollup rows and the endpoint row in different orders around it:
// the batch pipeline locks its runs before inserting its events, the
// other paths insert first. Each could wait for the other, a deadlock
// that PostgreSQL breaks only after its deadlock_timeout (a second by
// default). So every path first takes a transaction-scoped advisory lock
// per event, in one order: a second delivery of an event waits there,
// holding nothing else, until the first commits or rolls back, and then
// finds the event stored (a duplicate). Deliveries of different events
// never wait for each other here. SQLite has one writer and needs none.
//
// The locks use PostgreSQL's two-key form: webhookEventTurnClass, which
// keeps them apart from any other advisory locks in the database, and a
// 32-bit hash of the endpoint and event IDs. Two events whose hashes
// collide only take turns needlessly.
const webhookEventTurnClass int32 = 0x45570001

// webhookEventTurnKey is the second key of an event's advisory lock.
func webhookEventTurnKey(endpointID, eventID string) int32 {
	h := fnv.New32a()
	h.Write([]byte(endpointID))
	h.Write([]byte{0})
	h.Write([]byte(eventID))
	return int32(h.Sum32())
}

// webhookEventTurnKeys is the keys of the events of deliveries todo, in
// the one order every transaction takes them in, each once.
func webhookEventTurnKeys(ds []WebhookDelivery, todo []int) []int32 {
	keys := make([]int32, 0, len(todo))
	for _, i := range todo {
		keys = append(keys, webhookEventTurnKey(ds[i].Event.EndpointID, ds[i].Event.EventID))
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// webhookEventTurnsSQL takes the advisory locks of a batch's events
// ($2, sorted): unnest returns them in order, and the aggregate takes
// each in that order.
const webhookEventTurnsSQL = `SELECT count(pg_advisory_xact_lock($1, k)) FROM unnest($2::int4[]) AS k`
