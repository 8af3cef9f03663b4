// Package monitor turns what Editwatch learns from Extend (list pages, run
// pages, webhooks, backfills, refreshes) into tenant history in the store,
// and tells open pages about it: Ingest and the webhook functions upsert
// snapshots (and their rollups) and publish a change Event; a Broker fans
// events out to subscribers of a tenant, in memory (MemoryBroker) or across
// replicas through PostgreSQL LISTEN/NOTIFY (PGBroker); the Refresher
// polls the runs someone is watching while they process, once per run
// however many watch; the WorkspacePoller lists a watched workspace's
// first page to learn of runs started elsewhere, once per workspace (and
// on one replica) however many watch; Live holds these for the pages and runs background
// work under the process's lifetime; the Reconciler settles runs whose
// webhook never came; the Janitor is the one retention loop (history,
// deliveries, audit, expired sessions); Seed writes synthetic history.
// There is no HTTP and no HTML in here, and it imports none of Editwatch's
// packages but store and extendapi.
package monitor
