package upstream

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// The grant rule asks a newcomer's key to read one of the tenant's newest
// stored runs. A run deleted upstream behind Editwatch's back must not lock
// everyone out, yet a key that reads none of them stays refused.
func TestDecideGrantToleratesRunsDeletedUpstream(t *testing.T) {
	env := newTestEnv(t, false)
	ctx := context.Background()
	var obs []store.RunObservation
	for i, id := range []string{"edr_old", "edr_mid", "edr_new"} {
		obs = append(obs, store.RunObservation{RunID: id, Via: store.ViaList, RunFacts: store.RunFacts{
			Status: store.StatusProcessed, CreatedAt: time.Now().Add(time.Duration(i-5) * time.Minute)}})
	}
	if _, err := env.st.UpsertRuns(ctx, demoTenant, obs); err != nil {
		t.Fatal(err)
	}
	apiErr := func(status int) error { return &extendapi.APIError{StatusCode: status} }
	cases := []struct {
		name    string
		answers map[string]error // run ID -> error; absent: the run is readable
		want    GrantDecision
		asked   int
	}{
		{"newest readable", nil, GrantAllowed, 1},
		{"newest deleted upstream", map[string]error{"edr_new": apiErr(http.StatusNotFound)}, GrantAllowed, 2},
		{"all unknown to the key", map[string]error{"edr_new": apiErr(404), "edr_mid": apiErr(404), "edr_old": apiErr(404)}, GrantRefused, 3},
		{"forbidden", map[string]error{"edr_new": apiErr(http.StatusForbidden)}, GrantRefused, 1},
		{"Extend failing", map[string]error{"edr_new": apiErr(http.StatusBadGateway)}, GrantUndecided, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			asked := 0
			fetch := func(_ context.Context, id string) (*extendapi.EditRun, error) {
				asked++
				if err, ok := tc.answers[id]; ok {
					return nil, err
				}
				return &extendapi.EditRun{ID: id}, nil
			}
			got, _ := DecideGrant(ctx, env.st, demoTenant, fetch)
			if got != tc.want || asked != tc.asked {
				t.Errorf("decision %v after %d calls, want %v after %d", got, asked, tc.want, tc.asked)
			}
		})
	}
}
