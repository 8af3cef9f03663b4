package sandbox

// CreditsPerPage is what one page of an edit or form detection run costs in
// the sandbox. Extend does not publish its edit rate (❓ in the contract), so
// the sandbox picks the simplest rule that makes credit charts meaningful.
const CreditsPerPage = 1.0

// CreditsForPages is the sandbox's documented billing rule: one credit per
// page of the input PDF, for edit runs and form detection runs alike. A
// document of 0 pages (which the engine never produces) costs nothing.
func CreditsForPages(pageCount int) float64 {
	if pageCount <= 0 {
		return 0
	}
	return float64(pageCount) * CreditsPerPage
}
