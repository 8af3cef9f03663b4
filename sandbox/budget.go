package sandbox

import (
	"fmt"

	"github.com/editwatch/editwatch/extendapi"
)

// creditEpsilon absorbs float rounding when comparing credit sums.
const creditEpsilon = 1e-9

// checkBudgetLocked refuses new runs once a workspace has spent its budget:
// 402 USAGE_BLOCKED at creation (§4.2).
func (s *Server) checkBudgetLocked(wd *workspaceData) error {
	if s.opts.Credits > 0 && wd.CreditsUsed >= s.opts.Credits-creditEpsilon {
		return errUsageBlocked(s.opts.Credits)
	}
	return nil
}

// creditFailureLocked fails a finished run whose cost exceeds what the
// workspace has left (OUT_OF_CREDITS). Results are applied one at a time in
// arrival order, so the budget is never overspent.
func (s *Server) creditFailureLocked(wd *workspaceData, cost float64) *Failure {
	if s.opts.Credits <= 0 {
		return nil
	}
	left := s.opts.Credits - wd.CreditsUsed
	if cost <= left+creditEpsilon {
		return nil
	}
	return &Failure{Reason: extendapi.ReasonOutOfCredits,
		Message: fmt.Sprintf("the run needs %g credits and the workspace has %g left of its %g", cost, max(left, 0), s.opts.Credits)}
}

// runUsage is a run's usage (§3.5): one breakdown entry for the run itself,
// charged per page by CreditsForPages.
func runUsage(object, id, product string, pages int, credits float64) *extendapi.RunUsage {
	pageNumbers := make([]int, pages)
	for i := range pageNumbers {
		pageNumbers[i] = i + 1
	}
	total := credits
	return &extendapi.RunUsage{
		Credits:      credits,
		TotalCredits: &total,
		Breakdown: []extendapi.UsageBreakdownEntry{{
			Object: object, ID: id, Credits: credits,
			Charges: []extendapi.UsageCharge{{Product: product, Unit: "page", Quantity: float64(pages), Credits: credits, Pages: pageNumbers}},
		}},
	}
}
