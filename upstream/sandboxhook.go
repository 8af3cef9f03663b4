package upstream

import (
	"context"
	"errors"
	"fmt"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// sandboxEndpointCreator names who made the sandbox-mode endpoint.
const sandboxEndpointCreator = "editwatch (sandbox mode)"

// WebhookEvents are the events Editwatch registers for: the end of
// every run.
var WebhookEvents = []string{extendapi.EventEditRunProcessed, extendapi.EventEditRunFailed}

// RegisterSandboxEndpoint makes live updates work in --sandbox mode with
// no setup: the dashboard registers its own webhook endpoint with the
// embedded sandbox, for tenant (the demo workspace's), through cl (a
// client of the sandbox with the demo key), delivering to hookURL(the
// endpoint's ID) (the dashboard's own address). It is idempotent across
// restarts: the stored endpoint is reused, its URL updated when the port
// changed, and re-registered only when the sandbox lost it.
func RegisterSandboxEndpoint(ctx context.Context, st *store.Store, cl *extendapi.Client, tenant string, hookURL func(endpointID string) string) (store.WebhookEndpoint, error) {
	eps, err := st.ListWebhookEndpoints(ctx, tenant)
	if err != nil {
		return store.WebhookEndpoint{}, err
	}
	var ep store.WebhookEndpoint
	for _, e := range eps {
		if e.Origin == store.EndpointSandbox {
			ep = e
		}
	}
	if ep.ID == "" {
		id, err := store.NewWebhookEndpointID()
		if err != nil {
			return ep, err
		}
		if ep, err = st.CreateWebhookEndpointWithID(ctx, id, store.NewWebhookEndpoint{Tenant: tenant, URL: hookURL(id),
			Origin: store.EndpointSandbox, Status: store.EndpointPending, CreatedBy: sandboxEndpointCreator}); err != nil {
			return ep, err
		}
	}
	want := hookURL(ep.ID)
	enabled := store.EndpointEnabled
	if ep.ExtendID != "" {
		remote, err := cl.GetWebhookEndpoint(ctx, ep.ExtendID)
		switch {
		case err == nil:
			if remote.URL != want || remote.Status != enabled {
				if _, err := cl.UpdateWebhookEndpoint(ctx, ep.ExtendID, &extendapi.UpdateWebhookEndpointRequest{URL: &want, Status: &enabled}); err != nil {
					return ep, fmt.Errorf("update sandbox endpoint %s: %w", ep.ExtendID, err)
				}
			}
			if err := st.UpdateWebhookEndpoint(ctx, ep.ID, "", want, enabled); err != nil {
				return ep, err
			}
			ep.URL, ep.Status = want, enabled
			return ep, nil
		case !errors.Is(err, extendapi.ErrNotFound):
			return ep, fmt.Errorf("look up sandbox endpoint %s: %w", ep.ExtendID, err)
		}
	}
	created, err := cl.CreateWebhookEndpoint(ctx, &extendapi.CreateWebhookEndpointRequest{URL: want, Name: "Editwatch (sandbox mode)",
		EnabledEvents: WebhookEvents})
	if err != nil {
		return ep, fmt.Errorf("register sandbox endpoint: %w", err)
	}
	if err := st.SetWebhookSecrets(ctx, ep.ID, []string{created.SigningSecret}); err != nil {
		return ep, err
	}
	if err := st.UpdateWebhookEndpoint(ctx, ep.ID, created.ID, want, enabled); err != nil {
		return ep, err
	}
	ep.ExtendID, ep.URL, ep.Status = created.ID, want, enabled
	return ep, nil
}
