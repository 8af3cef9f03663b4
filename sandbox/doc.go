// Package sandbox is an offline, Extend-compatible Edit API server that
// really fills PDF forms.
//
// It serves the contract of the Extend Edit API (version 2026-02-09) over
// plain HTTP with the wire types of package extendapi: files with presigned
// download URLs, asynchronous and synchronous edit runs, run listing with
// keyset cursors, edit templates, form detection, webhook endpoints with
// signed and retried deliveries, workspace-scoped API keys, credit budgets,
// rate limits and fault injection. The PDF work (field detection, filling,
// locking) is done by Engine on pdfcpu, so an edited file downloaded from the
// sandbox opens as the really filled form.
//
// Server is an http.Handler: `editwatch sandbox` runs it alone and the
// dashboard mounts it under a prefix (strip the prefix before calling it and
// set Options.BasePath or Options.PublicURL so presigned URLs are absolute).
// Routes under /_sandbox/ are the sandbox's own (presigned downloads, fault
// injection, webhook delivery log) and are not part of Extend's contract.
package sandbox
