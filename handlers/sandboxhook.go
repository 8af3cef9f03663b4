package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/store"
)

// sandboxEndpointCreator names who made the sandbox-mode endpoint.
const sandboxEndpointCreator = "editwatch (sandbox mode)"

// RegisterSandboxEndpoint makes live updates work in --sandbox mode with
// no setup: the dashboard registers its own webhook endpoint with the
// embedded sandbox, for the demo workspace, delivering to dashboardURL
// (the dashboard's own address, base path included). It is idempotent
// across restarts: the stored endpoint is reused, its URL updated when the
// port changed, and re-registered only when the sandbox lost it.
func (a *App) RegisterSandboxEndpoint(ctx context.Context, dashboardURL string) (store.WebhookEndpoint, error) {
	sb := a.Sandbox
	if sb == nil || a.Live == nil {
		return store.WebhookEndpoint{}, errors.New("handlers: sandbox endpoint: not in sandbox mode with live updates")
	}
	tenant := store.TenantFor(SandboxDeployment, sb.Workspace, "")
	cl, err := a.newClient(extendapi.APIKey(sb.Key), sb.InternalURL, sb.Workspace)
	if err != nil {
		return store.WebhookEndpoint{}, err
	}
	eps, err := a.Store.ListWebhookEndpoints(ctx, tenant)
	if err != nil {
		return store.WebhookEndpoint{}, err
	}
	var ep store.WebhookEndpoint
	for _, e := range eps {
		if e.Origin == store.EndpointSandbox {
			ep = e
		}
	}
	hookURL := func(id string) string { return strings.TrimRight(dashboardURL, "/") + "/" + routeWebhookPrefix + id }
	if ep.ID == "" {
		id, err := store.NewWebhookEndpointID()
		if err != nil {
			return ep, err
		}
		if ep, err = a.Store.CreateWebhookEndpointWithID(ctx, id, store.NewWebhookEndpoint{Tenant: tenant, URL: hookURL(id),
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
			if err := a.Store.UpdateWebhookEndpoint(ctx, ep.ID, "", want, enabled); err != nil {
				return ep, err
			}
			ep.URL, ep.Status = want, enabled
			return ep, nil
		case !errors.Is(err, extendapi.ErrNotFound):
			return ep, fmt.Errorf("look up sandbox endpoint %s: %w", ep.ExtendID, err)
		}
	}
	created, err := cl.CreateWebhookEndpoint(ctx, &extendapi.CreateWebhookEndpointRequest{URL: want, Name: "Editwatch (sandbox mode)",
		EnabledEvents: webhookEventsWanted})
	if err != nil {
		return ep, fmt.Errorf("register sandbox endpoint: %w", err)
	}
	if err := a.Store.SetWebhookSecrets(ctx, ep.ID, []string{created.SigningSecret}); err != nil {
		return ep, err
	}
	if err := a.Store.UpdateWebhookEndpoint(ctx, ep.ID, created.ID, want, enabled); err != nil {
		return ep, err
	}
	ep.ExtendID, ep.URL, ep.Status = created.ID, want, enabled
	return ep, nil
}
