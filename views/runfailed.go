package views

// noUsageText says why a run's credits are missing: a failed run is done,
// so it is never "still processing".
func noUsageText(status string) string {
	switch status {
	case StatusFailed:
		return "Credits: not reported for failed runs."
	case StatusProcessing:
		return "No usage yet: the run is still processing."
	}
	return "No usage reported: the run predates usage reporting, or the organization is on legacy billing."
}

// sameReasonURL lists the workspace's other runs that failed for the same
// reason (from history).
func (p RunPage) sameReasonURL() string {
	return RunsURL(p.BasePath, p.Workspace, RunsFilter{Status: StatusFailed, Reason: p.FailureReason}, "")
}
