// Package monitor turns what Editwatch learns from Extend (list pages, run
// pages, webhooks, backfills, refreshes) into tenant history in the store,
// and tells open pages about it: Ingest and the webhook functions upsert
// snapshots (and their rollups) and publish a change Event; a Broker fans
// events out to subscribers of a tenant, in memory (MemoryBroker) or across
// replicas through PostgreSQL LISTEN/NOTIFY (PGBroker); the Refresher
// polls the runs someone is watching while they process, once per run
// however many watch; the Janitor applies retention; Seed writes synthetic
// history. There is no HTTP and no HTML in here.
package monitor
