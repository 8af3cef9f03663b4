package handlers

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// Context keys of the session's connections, resolved once per request.
const (
	ctxConnections = "ew.connections"
	ctxConnection  = "ew.connection"
)

// connection is a connected workspace of this session.
type connection struct {
	store.Connection
}

// Ref is what links carry in ?ws=: the workspace ID, or the key ref of a
// connection made without one.
func (c connection) Ref() string {
	if c.WorkspaceID != "" {
		return c.WorkspaceID
	}
	return c.Tenant[strings.LastIndexByte(c.Tenant, '/')+1:]
}

// Label is how the header names the connection.
func (c connection) Label() string {
	if c.WorkspaceID != "" {
		return c.WorkspaceID
	}
	if c.KeyLast4 != "" {
		return "key …" + c.KeyLast4
	}
	return "key without workspace"
}

// errNoConnection means the session has connected nothing yet.
var errNoConnection = errors.New("no workspace connected")

// connections lists the session's connections, once per request.
func (a *dashboard) connections(c echo.Context) ([]connection, error) {
	if conns, ok := c.Get(ctxConnections).([]connection); ok {
		return conns, nil
	}
	var conns []connection
	if sess := middleware.SessionOf(c); sess != nil && middleware.SessionID(sess) != "" {
		list, err := a.Store.ListConnections(c.Request().Context(), middleware.SessionID(sess))
		if err != nil {
			return nil, err
		}
		for _, sc := range list {
			conns = append(conns, connection{sc})
		}
		// Reconnecting moves every connection to a new session at once,
		// so creation order means little: a stable, readable order.
		slices.SortFunc(conns, func(x, y connection) int {
			return cmp.Or(cmp.Compare(x.Label(), y.Label()), cmp.Compare(x.Deployment, y.Deployment))
		})
	}
	c.Set(ctxConnections, conns)
	return conns, nil
}

// currentWorkspaceRef is the workspace this request is about: the one
// resolved by workspace(), else ?ws=, else the session's last one.
func currentWorkspaceRef(c echo.Context) string {
	if conn, ok := c.Get(ctxConnection).(connection); ok {
		return conn.Ref()
	}
	if ws := c.QueryParam(views.ParamWorkspace); ws != "" {
		return ws
	}
	if sess := middleware.SessionOf(c); sess != nil {
		if ws, ok := sess.Values[sessWorkspace].(string); ok {
			return ws
		}
	}
	return ""
}

// workspace resolves the request's workspace: ?ws= when given (it must be
// connected, or the page says which workspace to connect), else the last
// one used, else the first connected. It remembers the choice.
func (a *dashboard) workspace(c echo.Context) (connection, error) {
	conns, err := a.connections(c)
	if err != nil {
		return connection{}, err
	}
	if len(conns) == 0 {
		if ws := c.QueryParam(views.ParamWorkspace); ws != "" {
			return connection{}, errNotConnected(ws)
		}
		return connection{}, errNoConnection
	}
	want := c.QueryParam(views.ParamWorkspace)
	explicit := want != ""
	sess := middleware.SessionOf(c)
	if !explicit && sess != nil {
		want, _ = sess.Values[sessWorkspace].(string)
	}
	want = store.CurrentKeyRef(want) // links made before key refs were renamed
	chosen, found := conns[0], false
	for _, conn := range conns {
		if conn.Ref() == want {
			chosen, found = conn, true
			break
		}
	}
	if explicit && !found {
		return connection{}, errNotConnected(want)
	}
	c.Set(ctxConnection, chosen)
	if sess != nil && sess.Values[sessWorkspace] != chosen.Ref() {
		sess.Values[sessWorkspace] = chosen.Ref()
		if err := a.saveSession(c); err != nil {
			return connection{}, err
		}
	}
	return chosen, nil
}

// client opens the connection's key and builds its Extend client.
func (a *dashboard) client(c echo.Context, conn connection) (*extendapi.Client, error) {
	key, err := a.Store.ConnectionKey(c.Request().Context(), conn.SessionID, conn.ID)
	if errors.Is(err, store.ErrUndecryptable) {
		return nil, a.dropUnreadableConnection(c, conn, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open the key of %s: %w", conn.Ref(), err)
	}
	return a.Connector.PageClient(key, conn.Connection)
}

// baseURLOf is where a connection's calls go today (see
// upstream.Connector.BaseURL).
func (a *dashboard) baseURLOf(conn connection) string {
	return a.Connector.ConnectionBaseURL(conn.Connection)
}

// workspaceClient resolves the workspace and its client in one go; with
// no connection at all the caller gets errNoConnection.
func (a *dashboard) workspaceClient(c echo.Context) (connection, *extendapi.Client, error) {
	conn, err := a.workspace(c)
	if err != nil {
		return conn, nil, err
	}
	cl, err := a.client(c, conn)
	return conn, cl, err
}

// toConnect sends a session without any connection to the connect page,
// which comes back to the page asked for once connected.
func (a *dashboard) toConnect(c echo.Context) error {
	return redirect(c, views.ConnectURLNext(a.BasePath, "", a.returnPath(c)))
}

// dropUnreadableConnection handles a connection whose API key was sealed
// with a retired encryption key: it can never be opened again, so it is
// deleted, and the person is asked to connect the workspace again.
func (a *dashboard) dropUnreadableConnection(c echo.Context, conn connection, cause error) error {
	ctx := c.Request().Context()
	a.Logger.WarnContext(ctx, "connection key sealed with a retired encryption key; removing the connection",
		"request_id", middleware.RequestIDOf(c), "workspace", conn.Ref())
	if err := a.Store.DeleteConnection(ctx, conn.SessionID, conn.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	c.Set(ctxConnections, nil)
	c.Set(ctxConnection, nil)
	if err := a.audit(c, store.AuditDisconnect, conn.Tenant, conn.Ref(), "key …"+conn.KeyLast4+" sealed with a retired encryption key; removed"); err != nil {
		return err
	}
	return &PageError{Status: http.StatusForbidden, Heading: "Connect workspace " + conn.Label() + " again", Category: "not connected",
		Explanation: "The API key of " + conn.Label() + " was stored encrypted with a key this Editwatch no longer has: its encryption keys were rotated and the old one retired. " +
			"The unreadable key has been removed; connect the workspace again to continue.",
		ConnectWorkspace: connectableWorkspace(conn.Ref()), Err: cause}
}
