package handlers

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

// revealTTL is how long a revealed value stays visible on its run's page
// without a new (audited) reveal.
const revealTTL = 15 * time.Minute

// maxRevealed bounds the reveal list kept in the session.
const maxRevealed = 200

// revealState is the session's record of revealed values: those of one
// run at a time, forgotten after revealTTL.
type revealState struct {
	ws, run string
	at      time.Time
	keys    []string
}

func (r revealState) encode() string {
	return r.ws + "\x1f" + r.run + "\x1f" + strconv.FormatInt(r.at.Unix(), 10) + "\x1f" + strings.Join(r.keys, "\x1e")
}

func decodeReveal(s string) (revealState, bool) {
	parts := strings.SplitN(s, "\x1f", 4)
	if len(parts) != 4 {
		return revealState{}, false
	}
	at, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return revealState{}, false
	}
	r := revealState{ws: parts[0], run: parts[1], at: time.Unix(at, 0)}
	if parts[3] != "" {
		r.keys = strings.Split(parts[3], "\x1e")
	}
	return r, true
}

// revealedKeys returns the values of run this session revealed recently.
func (a *dashboard) revealedKeys(c echo.Context, ws, run string) (revealSet, error) {
	sess := middleware.SessionOf(c)
	if sess == nil {
		return nil, nil
	}
	raw, _ := sess.Values[sessRevealed].(string)
	st, ok := decodeReveal(raw)
	if !ok {
		return nil, nil
	}
	if a.Now().Sub(st.at) > revealTTL {
		delete(sess.Values, sessRevealed)
		return nil, a.saveSession(c)
	}
	if st.ws != ws || st.run != run {
		return nil, nil
	}
	set := revealSet{}
	for _, k := range st.keys {
		set[k] = true
	}
	return set, nil
}

// reveal is POST /runs/:id/reveal: shows one personal value of the run,
// after writing who looked at which value to the audit log.
func (a *dashboard) reveal(c echo.Context) error {
	conn, cl, id, err := a.runTarget(c)
	if err != nil {
		return err
	}
	key := c.FormValue(views.ParamField)
	run, err := cl.GetEditRun(c.Request().Context(), id)
	if err != nil {
		return err
	}
	model, err := runPageModel(*run, conn.Ref(), nil)
	if err != nil {
		return err
	}
	if !slices.Contains(revealKeysOf(model), key) {
		return &PageError{Status: http.StatusBadRequest, Heading: "Nothing to reveal", Category: "bad request",
			Explanation: "This run has no hidden value by that name; reload the run's page."}
	}
	if err := a.audit(c, store.AuditReveal, conn.Tenant, id, "revealed "+key); err != nil {
		return err
	}
	if err := a.rememberReveals(c, conn.Ref(), id, key); err != nil {
		return err
	}
	// Back to the card the value is in, not the top of the page.
	anchor := "#config-title"
	if strings.HasPrefix(key, revealValuePrefix) {
		anchor = "#filled-values-title"
	}
	return redirect(c, safeRedirect(a.BasePath, views.RunURL(a.BasePath, conn.Ref(), id)+anchor))
}

// rememberReveals adds keys to the session's revealed values of run ws/id
// (replacing those of another run, or of an expired reveal).
func (a *dashboard) rememberReveals(c echo.Context, ws, id string, keys ...string) error {
	sess := middleware.SessionOf(c)
	raw, _ := sess.Values[sessRevealed].(string)
	st, ok := decodeReveal(raw)
	if !ok || st.ws != ws || st.run != id || a.Now().Sub(st.at) > revealTTL {
		st = revealState{ws: ws, run: id}
	}
	st.at = a.Now()
	for _, key := range keys {
		if !slices.Contains(st.keys, key) && len(st.keys) < maxRevealed {
			st.keys = append(st.keys, key)
		}
	}
	sess.Values[sessRevealed] = st.encode()
	return a.saveSession(c)
}
