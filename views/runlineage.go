package views

// RunLineage links a run to the run it re-ran and to its re-runs, as
// Editwatch recorded them: Extend keeps no such link, so re-runs made
// elsewhere (Extend's dashboard, the API) have none.
type RunLineage struct {
	RerunOf string
	RerunAs []string
}
