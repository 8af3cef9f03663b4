// Package alerts tells a team when runs fail, stall or stop arriving.
//
// Rules (from the --alert-rules file or the settings page) watch one
// workspace of one deployment over a sliding window, measured from the
// store's history with queries bounded by the window, never by calling
// Extend. The Engine evaluates them every interval on the one replica
// that holds the store's lease, walks each rule's lifecycle (pending,
// firing after "for", resolved after "resolve_after", silenced until a
// time), stores every state change, and records each notification before
// a Sender delivers it to a webhook, Slack or e-mail channel and marks it
// sent after.
//
// The package imports store and extendapi only; main wires it.
package alerts
