// Package upstream is how Editwatch works against Extend outside a single
// page's call: one way to build a client for a connection or a service key
// (Connector), the one resolver of a deployment's base URL, upstream health
// (Health), the grant rule (DecideGrant), background keys (Keys), history
// backfill (Backfills) and bulk re-run jobs (RerunJobs). Its services take
// plain values (a store.Connection, a session ID, a tenant) and return plain
// Go types: the pages turn them into view models. It never calls back into
// the pages, and imports none of Editwatch's packages but store and
// extendapi.
package upstream
