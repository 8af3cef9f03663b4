package handlers

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// Session value keys.
const (
	sessFlash     = "ew.flash"     // "kind\x00message"
	sessWorkspace = "ew.workspace" // the workspace ref last opened
	sessRevealed  = "ew.revealed"  // see reveal.go
)

// plainBase is the layout's model from what cannot fail: no store access.
func (a *dashboard) plainBase(c echo.Context, title string) views.Base {
	id := middleware.IdentityOf(c)
	return views.Base{
		Title:             title,
		BasePath:          a.BasePath,
		User:              id.User,
		SingleUserWarning: a.SingleUserWarning,
		SandboxBanner:     a.Sandbox != nil,
		CSRFToken:         middleware.MaskCSRFToken(a.csrf.Token(c)), // fresh bytes per response (BREACH)
		CSPNonce:          middleware.NonceOf(c),
		Assets:            a.Assets,
		ReadOnly:          a.Identity.ReadOnly,
		CanAct:            id.CanAct,
		RequestID:         middleware.RequestIDOf(c),
		Now:               a.Now(),
		PollInterval:      a.PollInterval,
		LiveUpdates:       a.Live != nil,
		Alerts:            a.Alerts != nil,
		Upstream:          a.upstreamStatus(c),
	}
}

// base is the layout's model of a full page: the workspaces in the
// header, and the flash message, which it consumes.
func (a *dashboard) base(c echo.Context, title, nav string) (views.Base, error) {
	b := a.plainBase(c, title)
	b.NavActive = nav
	conns, err := a.connections(c)
	if err != nil {
		return b, err
	}
	b.Workspaces, b.CurrentWorkspace = workspaceOptions(conns, currentWorkspaceRef(c))
	flash, err := a.popFlash(c)
	if err != nil {
		return b, err
	}
	b.Flash = flash
	return b, nil
}

// workspaceOptions fills the header's switcher.
func workspaceOptions(conns []connection, current string) ([]views.WorkspaceOption, string) {
	opts := make([]views.WorkspaceOption, 0, len(conns))
	found := false
	for _, conn := range conns {
		ref := conn.Ref()
		opts = append(opts, views.WorkspaceOption{
			ID: ref, Label: conn.Label(), Deployment: conn.Deployment, Current: ref == current,
		})
		found = found || ref == current
	}
	if !found {
		current = ""
		if len(opts) > 0 {
			current = opts[0].ID
			opts[0].Current = true
		}
	}
	return opts, current
}

// render writes a page completely rendered in memory: a failing template
// becomes a clean 500, never half a page.
func (a *dashboard) render(c echo.Context, status int, page templ.Component) error {
	var buf bytes.Buffer
	ctx := views.WithZone(c.Request().Context(), TimeZoneOf(c.Request()))
	if err := views.Render(ctx, &buf, page); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(status, echo.MIMETextHTMLCharsetUTF8, buf.Bytes())
}

// saveSession writes the session and its cookie.
func (a *dashboard) saveSession(c echo.Context) error {
	sess := middleware.SessionOf(c)
	if sess == nil {
		return nil
	}
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	return nil
}

// setFlash keeps a one-time message for the next page and saves.
func (a *dashboard) setFlash(c echo.Context, kind views.FlashKind, msg string) error {
	sess := middleware.SessionOf(c)
	if sess == nil {
		return nil
	}
	sess.Values[sessFlash] = string(kind) + "\x00" + msg
	return a.saveSession(c)
}

// popFlash returns the pending message and forgets it.
func (a *dashboard) popFlash(c echo.Context) (views.Flash, error) {
	sess := middleware.SessionOf(c)
	if sess == nil {
		return views.Flash{}, nil
	}
	raw, ok := sess.Values[sessFlash].(string)
	if !ok {
		return views.Flash{}, nil
	}
	delete(sess.Values, sessFlash)
	if err := a.saveSession(c); err != nil {
		return views.Flash{}, err
	}
	kind, msg, _ := strings.Cut(raw, "\x00")
	return views.Flash{Kind: views.FlashKind(kind), Message: msg}, nil
}

// redirect answers 303 See Other (after a POST) or 302, to a path that
// already carries the base path.
func redirect(c echo.Context, to string) error {
	code := http.StatusFound
	if c.Request().Method != http.MethodGet && c.Request().Method != http.MethodHead {
		code = http.StatusSeeOther
	}
	return c.Redirect(code, to)
}

// audit appends an entry to the audit log, attributed to the request's
// identity and session.
func (a *dashboard) audit(c echo.Context, action, tenant, target, detail string) error {
	actor := middleware.IdentityOf(c).User
	if actor == "" {
		actor = store.AuditActorSingleUser
	}
	sid := ""
	if sess := middleware.SessionOf(c); sess != nil {
		sid = middleware.SessionID(sess)
	}
	_, err := a.Store.AppendAudit(c.Request().Context(), store.AuditEntry{
		Actor: actor, SessionID: sid, Action: action, Tenant: tenant, Target: target, Detail: detail,
		RequestID: middleware.RequestIDOf(c),
	})
	return err
}
