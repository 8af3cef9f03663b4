package views

// RouteRevealAll (POST) reveals every filled value of a run with one
// audit entry; ParamRevealReason is the optional reason recorded with it.
const (
	RouteRevealAll    = "runs/:id/reveal-all"
	ParamRevealReason = "reveal_reason"
	// MaxRevealReason bounds the reason kept in the audit log.
	MaxRevealReason = 200
)

// RunRevealAllURL is where the Reveal all form posts.
func RunRevealAllURL(basePath, ws, id string) string {
	return withQuery(runPath(basePath, id, "/reveal-all"), wsQuery(ws))
}

// maskedCount is how many filled values are still hidden.
func (p RunPage) maskedCount() int {
	n := 0
	for _, v := range p.FilledValues {
		if v.Value.Masked && v.Value.RevealKey != "" {
			n++
		}
	}
	return n
}
