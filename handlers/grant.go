package handlers

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/extendapi"
	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/upstream"
)

// Session values of grants: the tenants whose history this session may
// read and write, and the refusals to remember for a while (each check
// costs an upstream call).
const (
	sessGrants  = "ew.grants"  // tenants, "\n"-joined
	sessRefused = "ew.refused" // "tenant\x00unix seconds" lines
)

// grantRetryAfter is how long a refused grant is not asked again.
const grantRetryAfter = 5 * time.Minute

// errNotGranted: the session has not proven it may read the tenant's
// history.
var errNotGranted = errors.New("history of this workspace not granted to this session")

func sessionList(c echo.Context, key string) []string {
	sess := middleware.SessionOf(c)
	if sess == nil {
		return nil
	}
	raw, _ := sess.Values[key].(string)
	if raw == "" {
		return nil
	}
	return strings.Split(raw, "\n")
}

func setSessionList(c echo.Context, key string, list []string) {
	if sess := middleware.SessionOf(c); sess != nil {
		sess.Values[key] = strings.Join(list, "\n")
	}
}

// granted reports whether the session holds a grant for tenant.
func granted(c echo.Context, tenant string) bool {
	return slices.Contains(sessionList(c, sessGrants), tenant)
}

func (a *dashboard) recentlyRefused(c echo.Context, tenant string) bool {
	for _, line := range sessionList(c, sessRefused) {
		t, at, _ := strings.Cut(line, "\x00")
		sec, _ := strconv.ParseInt(at, 10, 64)
		if t == tenant && a.Now().Sub(time.Unix(sec, 0)) < grantRetryAfter {
			return true
		}
	}
	return false
}

// grantAfterLiveCall decides, right after a successful live call with the
// connection's key, whether the session is granted the connection's
// tenant, and remembers the answer in the session.
func (a *dashboard) grantAfterLiveCall(c echo.Context, conn connection, cl *extendapi.Client) (bool, error) {
	if granted(c, conn.Tenant) {
		return true, nil
	}
	if a.recentlyRefused(c, conn.Tenant) {
		return false, nil
	}
	ctx := c.Request().Context()
	decision, err := upstream.DecideGrant(ctx, a.Store, conn.Tenant, cl.GetEditRun)
	switch decision {
	case upstream.GrantAllowed:
		setSessionList(c, sessGrants, append(sessionList(c, sessGrants), conn.Tenant))
		return true, a.saveSession(c)
	case upstream.GrantRefused:
		a.Logger.WarnContext(ctx, "history not granted: the key cannot read the workspace's stored runs",
			"request_id", middleware.RequestIDOf(c), "tenant", conn.Tenant)
		kept := []string{conn.Tenant + "\x00" + strconv.FormatInt(a.Now().Unix(), 10)}
		for _, line := range sessionList(c, sessRefused) {
			if t, _, _ := strings.Cut(line, "\x00"); t != conn.Tenant {
				kept = append(kept, line)
			}
		}
		setSessionList(c, sessRefused, kept)
		return false, a.saveSession(c)
	}
	return false, err
}

// ensureGrant makes sure the session is granted the connection's tenant,
// making the live call itself when it is not yet: for pages that read
// history only (settings, deliveries).
func (a *dashboard) ensureGrant(c echo.Context, conn connection, cl *extendapi.Client) error {
	if granted(c, conn.Tenant) {
		return nil
	}
	if _, err := cl.ListEditRuns(c.Request().Context(), extendapi.ListEditRunsParams{MaxPageSize: 1}); err != nil {
		return err
	}
	ok, err := a.grantAfterLiveCall(c, conn, cl)
	if err != nil {
		return err
	}
	if !ok {
		return &PageError{Status: http.StatusForbidden, Heading: "History not available to this key", Category: "not granted",
			Explanation: "Editwatch keeps history of this workspace, but your key could not read one of its stored runs, so that history stays closed to it. Connect with a key of this workspace.",
			Err:         errNotGranted}
	}
	return nil
}

// forgetGrant drops the session's grant of tenant (disconnect, or a new
// key for the workspace, which must prove itself again).
func forgetGrant(c echo.Context, tenant string) {
	list := sessionList(c, sessGrants)
	setSessionList(c, sessGrants, slices.DeleteFunc(list, func(t string) bool { return t == tenant }))
}
