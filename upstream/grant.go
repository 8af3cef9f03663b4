package upstream

import (
	"context"
	"errors"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// GrantDecision is the outcome of the grant rule for one tenant: whether a
// session may read and write the tenant's history.
type GrantDecision int

const (
	GrantUndecided GrantDecision = iota // an upstream error: ask again later
	GrantAllowed
	GrantRefused
)

// proofAttempts is how many of the tenant's newest stored runs a
// newcomer's key may try: a run deleted upstream behind Editwatch's back
// (in Extend's dashboard, say) must not lock everyone out of the history,
// yet a key of another workspace costs only a few calls to refuse.
const proofAttempts = 3

// DecideGrant applies the grant rule once a live call with the session's
// own key (carrying the workspace header, when there is one) succeeded:
// when the tenant already has history that came from Extend, one of its
// newest such runs must be fetched with that key too; synthetic runs never
// count (store.ProofRunIDs skips them). A run the key gets 404 for may have
// been deleted upstream, so the next is tried; it is not marked deleted,
// since the key asking may be one that cannot see it. A key connected
// without a workspace ID names its own tenant, so the same rule applies
// unchanged.
func DecideGrant(ctx context.Context, st *store.Store, tenant string, fetch func(ctx context.Context, id string) (*extendapi.EditRun, error)) (GrantDecision, error) {
	proofs, err := st.ProofRunIDs(ctx, tenant, proofAttempts)
	if errors.Is(err, store.ErrNotFound) {
		return GrantAllowed, nil
	}
	if err != nil {
		return GrantUndecided, err
	}
	for _, proof := range proofs {
		run, err := fetch(ctx, proof)
		switch {
		case err == nil && run != nil && run.ID == proof:
			return GrantAllowed, nil
		case errors.Is(err, extendapi.ErrNotFound):
			continue
		case errors.Is(err, extendapi.ErrForbidden), errors.Is(err, extendapi.ErrUnauthorized), err == nil:
			return GrantRefused, nil
		default:
			return GrantUndecided, err
		}
	}
	return GrantRefused, nil
}
