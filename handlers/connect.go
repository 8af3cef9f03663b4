package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// connectForm is GET /connect.
func (a *dashboard) connectForm(c echo.Context) error {
	return a.renderConnect(c, http.StatusOK, c.QueryParam(views.FieldWorkspaceID), "", "")
}

func (a *dashboard) renderConnect(c echo.Context, status int, workspaceID, deployment, msg string) error {
	b, err := a.base(c, "Connect", views.NavConnect)
	if err != nil {
		return err
	}
	if notice, ok := endedNotice(c); ok && b.Flash.Message == "" {
		b.Flash = notice
	}
	conns, err := a.connections(c)
	if err != nil {
		return err
	}
	page := views.ConnectPage{Base: b, WorkspaceID: workspaceID, Error: msg, Next: a.nextParam(c),
		Deployments: views.DefaultDeployments(orDefault(deployment, a.Connector.Region()))}
	if d, ok := a.Connector.Fixed(); ok {
		page.CustomURL = d.BaseURL
	}
	if a.Sandbox != nil {
		page.SandboxKey = a.Sandbox.Key
		if page.WorkspaceID == "" {
			page.WorkspaceID = a.Sandbox.Workspace
		}
		page.CustomURL = "the embedded sandbox (" + a.path("_sandbox/") + ")"
	}
	for _, conn := range conns {
		page.Connected = append(page.Connected, views.ConnectedWorkspace{
			ID: conn.Ref(), Label: conn.Label(), Deployment: conn.Deployment, KeyLast4: conn.KeyLast4,
			ConnectedAt: conn.CreatedAt, Current: conn.Ref() == b.CurrentWorkspace,
			OpenURL: views.RunsURL(a.BasePath, conn.Ref(), views.RunsFilter{}, ""),
		})
	}
	return a.render(c, status, views.ConnectView(page))
}

// connect is POST /connect: check the key with a live call, then keep it
// (sealed) in a fresh session.
func (a *dashboard) connect(c echo.Context) error {
	key := strings.TrimSpace(c.FormValue(views.FieldAPIKey))
	ws := strings.TrimSpace(c.FormValue(views.FieldWorkspaceID))
	deploymentValue := c.FormValue(views.FieldDeployment)
	fail := func(msg string) error {
		return a.renderConnect(c, http.StatusUnprocessableEntity, ws, deploymentValue, msg)
	}
	switch {
	case key == "":
		return fail("Enter an API key.")
	case ws != "" && !store.ValidWorkspaceID(ws):
		// Only Extend's own shape may name a workspace's history, so a
		// typed ID can never take the name of a key's history (store.KeyRef).
		return fail("That workspace ID does not look right: Extend's start with ws_ and then letters and digits, like ws_AbC123. " +
			"Leave it empty for a key of one workspace.")
	}
	dep, err := a.Connector.Choose(deploymentValue)
	if err != nil {
		return fail("Choose one of the listed deployments.")
	}
	// A person waits at the form: one retry at most, not the usual budget.
	cl, err := a.Connector.Client(extendapi.APIKey(key), dep.BaseURL, ws, extendapi.WithRetryPolicy(extendapi.RetryPolicy{MaxAttempts: 2}))
	if err != nil {
		if errors.Is(err, extendapi.ErrInvalidAPIKey) || errors.Is(err, extendapi.ErrMissingAPIKey) {
			return fail("That is not a usable API key: check that you copied all of it, without spaces.")
		}
		return fail("That workspace ID cannot be used: " + strings.TrimPrefix(err.Error(), "extendapi: "))
	}
	if _, err := cl.ListEditRuns(c.Request().Context(), extendapi.ListEditRunsParams{MaxPageSize: 1}); err != nil {
		if msg, ok := connectFailure(err, ws, hostOf(dep.BaseURL)); ok {
			a.Logger.InfoContext(c.Request().Context(), "connect refused", "request_id", middleware.RequestIDOf(c),
				"deployment", dep.Name, "workspace", ws, "err", err.Error())
			return fail(msg)
		}
		return err
	}

	ref := ws
	if ref == "" {
		ref = a.Connector.KeyRef(key)
	}
	tenant := store.TenantFor(dep.Name, ws, ref)
	if err := a.regenerateSession(c); err != nil {
		return err
	}
	conn, err := a.Store.AddConnection(c.Request().Context(), store.NewConnection{
		SessionID: middleware.SessionID(middleware.SessionOf(c)), Deployment: dep.Name, BaseURL: dep.BaseURL,
		WorkspaceID: ws, Tenant: tenant, Key: key,
	})
	if err != nil {
		return err
	}
	c.Set(ctxConnections, nil) // the list changed
	a.afterConnect(c, connection{conn}, cl)
	if err := a.audit(c, store.AuditConnect, tenant, ref, fmt.Sprintf("key …%s on %s", conn.KeyLast4, dep.Name)); err != nil {
		return err
	}
	middleware.SessionOf(c).Values[sessWorkspace] = ref
	label := connection{conn}.Label()
	if err := a.setFlash(c, views.FlashSuccess, "Connected "+label+". The key is stored encrypted; only its last 4 characters are ever shown."); err != nil {
		return err
	}
	if next := a.nextParam(c); next != "" {
		return redirect(c, next)
	}
	return redirect(c, views.RunsURL(a.BasePath, ref, views.RunsFilter{}, ""))
}

// connectFailure says in the person's terms why a key was refused. ok is
// false for errors that are not about the key (they become error pages).
func connectFailure(err error, ws, host string) (msg string, ok bool) {
	var apiErr *extendapi.APIError
	var netErr *extendapi.NetworkError
	switch {
	case errors.As(err, &netErr):
		return "cannot reach " + host + ": " + networkCause(netErr) + ". Check the deployment and this server's network access.", true
	case errors.Is(err, context.DeadlineExceeded):
		return host + " did not answer in time. Try again in a moment.", true
	case !errors.As(err, &apiErr):
		return "", false
	}
	switch {
	case errors.Is(err, extendapi.ErrUnauthorized):
		return "Extend rejected this key (401). Check that you copied all of it and that it has not been revoked, and that the deployment is the one the key was made in.", true
	case errors.Is(err, extendapi.ErrForbidden) && ws != "":
		return "This key cannot reach workspace " + ws + " (403). Use a key of that workspace, or an organization key that includes it.", true
	case errors.Is(err, extendapi.ErrForbidden):
		return "Extend refused this key (403): it may lack access to edit runs.", true
	case errors.Is(err, extendapi.ErrInvalidRequest) && ws == "":
		return "This is an organization key: add a workspace ID so Editwatch knows which workspace to open.", true
	case errors.Is(err, extendapi.ErrInvalidRequest):
		return "Extend refused workspace " + ws + " (" + apiErr.Code + "): " + clip(apiErr.Message, 200), true
	case errors.Is(err, extendapi.ErrPaymentRequired):
		return "Extend blocked usage for this organization (402). Ask your Extend administrator.", true
	case errors.Is(err, extendapi.ErrRateLimited):
		return "Extend is rate limiting this key (429). Try again in a few seconds.", true
	case errors.Is(err, extendapi.ErrServer):
		return fmt.Sprintf("Extend answered with a server error (%d). Try again in a moment.", apiErr.StatusCode), true
	}
	return fmt.Sprintf("Extend answered HTTP %d while checking the key.", apiErr.StatusCode), true
}

// regenerateSession gives the session a new ID before it gains a key, so
// an ID planted or seen before connecting is worth nothing afterwards. The
// session's existing connections move to the new ID; the old session is
// deleted.
func (a *dashboard) regenerateSession(c echo.Context) error {
	sess := middleware.SessionOf(c)
	if sess == nil {
		return errors.New("connect: no session")
	}
	ctx := c.Request().Context()
	oldID := middleware.SessionID(sess)
	type kept struct {
		conn connection
		key  string
	}
	var carry []kept
	if oldID != "" {
		conns, err := a.connections(c)
		if err != nil {
			return err
		}
		for _, conn := range conns {
			key, err := a.Store.ConnectionKey(ctx, oldID, conn.ID)
			if errors.Is(err, store.ErrUndecryptable) {
				continue // sealed with a retired key: it goes with the old session
			}
			if err != nil {
				return fmt.Errorf("carry connection %s: %w", conn.Ref(), err)
			}
			carry = append(carry, kept{conn, key})
		}
	}
	sess.ID = "" // Save creates a new session with the same values
	if err := a.saveSession(c); err != nil {
		return err
	}
	for _, k := range carry {
		_, err := a.Store.AddConnection(ctx, store.NewConnection{
			SessionID: middleware.SessionID(sess), Deployment: k.conn.Deployment, BaseURL: k.conn.BaseURL,
			WorkspaceID: k.conn.WorkspaceID, Tenant: k.conn.Tenant, Key: k.key,
		})
		if err != nil {
			return fmt.Errorf("carry connection %s: %w", k.conn.Ref(), err)
		}
	}
	if oldID != "" {
		if err := a.Store.DeleteSession(ctx, oldID); err != nil {
			return err
		}
	}
	return nil
}

// disconnect is POST /disconnect: the key is deleted at once.
func (a *dashboard) disconnect(c echo.Context) error {
	ref := c.FormValue(views.ParamWorkspace)
	conns, err := a.connections(c)
	if err != nil {
		return err
	}
	for _, conn := range conns {
		if conn.Ref() != ref {
			continue
		}
		if err := a.Store.DeleteConnection(c.Request().Context(), conn.SessionID, conn.ID); err != nil {
			return err
		}
		c.Set(ctxConnections, nil)
		forgetGrant(c, conn.Tenant)
		if err := a.audit(c, store.AuditDisconnect, conn.Tenant, ref, "key …"+conn.KeyLast4+" deleted"); err != nil {
			return err
		}
		if sess := middleware.SessionOf(c); sess != nil && sess.Values[sessWorkspace] == ref {
			delete(sess.Values, sessWorkspace)
		}
		if err := a.setFlash(c, views.FlashSuccess, "Disconnected "+conn.Label()+": its key is deleted from the server."); err != nil {
			return err
		}
		return redirect(c, views.ConnectURL(a.BasePath, ""))
	}
	if err := a.setFlash(c, views.FlashWarning, "Workspace "+ref+" was not connected."); err != nil {
		return err
	}
	return redirect(c, views.ConnectURL(a.BasePath, ""))
}

// endedNotice is what the connect page says about a session that just
// ended (middleware.EndedSessions says which).
func endedNotice(c echo.Context) (views.Flash, bool) {
	msg, ok := middleware.EndedSessionNotice(c)
	return views.Flash{Kind: views.FlashWarning, Message: msg}, ok
}
