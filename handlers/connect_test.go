package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
	"github.com/editwatch/editwatch/views"
)

func TestConnectFailuresSayWhatHappened(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	unreachable := newTestEnv(t, envOptions{extendURL: "http://127.0.0.1:1"})
	tests := []struct {
		name     string
		env      *testEnv
		key, ws  string
		wantText string
	}{
		{"bad key", env, "sk_wrong_key_0123456789", "", "Extend rejected this key (401)"},
		{"unreachable host", unreachable, demoKey, demoWS, "cannot reach 127.0.0.1:1: dial tcp 127.0.0.1:1"},
		{"organization key without workspace", env, orgKey, "", "This is an organization key: add a workspace ID"},
		{"foreign workspace", env, demoKey, otherWS, "This key cannot reach workspace ws_other (403)"},
		{"empty key", env, "", demoWS, "Enter an API key."},
		{"malformed workspace", env, demoKey, "ws demo", "That workspace ID does not look right"},
		// An organization key reaches any workspace ID Extend accepts; only
		// Extend's shape may name a workspace's history, so nobody can
		// take the name of a key's history (or anything else).
		{"key-shaped workspace (old key name)", env, orgKey, "key_0123456789abcdef0123", "Extend's start with ws_"},
		{"key-shaped workspace (key name)", env, orgKey, store.KeyRefPrefix + "0123456789abcdef0123", "Extend's start with ws_"},
		{"workspace without ws_", env, orgKey, "acme", "Extend's start with ws_"},
		{"ws_ alone", env, orgKey, "ws_", "Extend's start with ws_"},
		{"workspace with a dot", env, orgKey, "ws_a.b", "Extend's start with ws_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.env.post("connect", url.Values{views.FieldAPIKey: {tt.key}, views.FieldWorkspaceID: {tt.ws}})
			if r.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", r.StatusCode, errorText(r))
			}
			msg := testid(r.doc(t), "connect-error").Text()
			if !strings.Contains(msg, tt.wantText) {
				t.Errorf("connect error %q does not contain %q", msg, tt.wantText)
			}
			if tt.key != "" && strings.Contains(r.body, tt.key) {
				t.Error("the page sent the key back")
			}
			// Nothing was kept.
			if conns := connectionsOf(t, tt.env); len(conns) != 0 {
				t.Errorf("a refused key left %d connections", len(conns))
			}
		})
	}
}

func TestConnectSuccessOpensRunsAndAudits(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	tests := []struct {
		name, key, ws string
		wantWS        string // "" means a key ref
	}{
		{"workspace key", demoKey, demoWS, demoWS},
		{"organization key with workspace", orgKey, otherWS, otherWS},
		{"workspace key without workspace ID", otherKey, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.post("connect", url.Values{views.FieldAPIKey: {tt.key}, views.FieldWorkspaceID: {tt.ws}})
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %d, want 303: %s", r.StatusCode, errorText(r))
			}
			loc, _ := url.Parse(location(t, r))
			if loc.Path != testBase+"runs" {
				t.Errorf("redirect to %s, want the runs list", loc)
			}
			ws := loc.Query().Get("ws")
			if tt.wantWS != "" && ws != tt.wantWS {
				t.Errorf("redirect names ws %q, want %q", ws, tt.wantWS)
			}
			if tt.wantWS == "" && !store.IsKeyRef(ws) {
				t.Errorf("a key without workspace opens ws %q, want a key ref", ws)
			}
			page := env.get(loc.String())
			if page.StatusCode != http.StatusOK {
				t.Fatalf("runs: %d %s", page.StatusCode, errorText(page))
			}
			d := page.doc(t)
			if flash := testid(d, "flash").Text(); !strings.Contains(flash, "Connected") {
				t.Errorf("flash %q", flash)
			}
			if strings.Contains(page.body, tt.key) {
				t.Error("the runs page contains the key")
			}
			entries, _, err := env.st.ListAudit(context.Background(), store.AuditFilter{Action: store.AuditConnect, Target: ws})
			if err != nil || len(entries) != 1 {
				t.Fatalf("audit connect entries for %s: %v %v", ws, entries, err)
			}
		})
	}
	// All three are connected in one session, and the header offers them.
	d := env.get("connect").doc(t)
	if n := testid(d, "connected-workspace").Length(); n != 3 {
		t.Errorf("%d connected workspaces listed, want 3", n)
	}
	if n := d.Find(`#ws-select-desktop option`).Length(); n != 3 {
		t.Errorf("switcher offers %d workspaces, want 3", n)
	}
	if last4 := d.Find(`[data-workspace="ws_demo"] [data-testid="key-last4"]`).Text(); last4 != "…demo" {
		t.Errorf("key hint %q, want …demo", last4)
	}
}

func TestConnectRegeneratesSessionAndKeepsWorkspaces(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	first := sessionCookie(t, env)
	firstID := currentSessionID(t, env)
	env.connect(otherKey, otherWS)
	second := sessionCookie(t, env)
	if first == second {
		t.Fatal("the session cookie did not change when connecting")
	}
	if _, err := env.st.GetSession(context.Background(), firstID); err == nil {
		t.Error("the old session still exists after connecting")
	}
	conns := connectionsOf(t, env)
	if len(conns) != 2 {
		t.Fatalf("%d connections after the second connect, want both", len(conns))
	}
	// The first workspace still works under the new session.
	if r := env.get("runs?ws=" + demoWS); r.StatusCode != http.StatusOK {
		t.Errorf("runs of the first workspace: %d %s", r.StatusCode, errorText(r))
	}
}

func TestDisconnectDeletesTheKeyAtOnce(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	env.connect(demoKey, demoWS)
	env.connect(otherKey, otherWS)
	r := env.post("disconnect", url.Values{views.ParamWorkspace: {demoWS}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("disconnect: %d %s", r.StatusCode, errorText(r))
	}
	conns := connectionsOf(t, env)
	if len(conns) != 1 || conns[0].WorkspaceID != otherWS {
		t.Fatalf("connections after disconnect: %+v", conns)
	}
	entries, _, err := env.st.ListAudit(context.Background(), store.AuditFilter{Action: store.AuditDisconnect})
	if err != nil || len(entries) != 1 || entries[0].Target != demoWS {
		t.Fatalf("disconnect audit: %+v %v", entries, err)
	}
	// A link into the disconnected workspace now says to connect it.
	page := env.get("runs?ws=" + demoWS)
	if page.StatusCode != http.StatusForbidden {
		t.Fatalf("runs of a disconnected workspace: %d", page.StatusCode)
	}
	// It comes back here once connected.
	if href, _ := testid(page.doc(t), "error-connect-workspace").Attr("href"); href != views.ConnectURLNext(testBase, demoWS, testBase+"runs?ws="+demoWS) {
		t.Errorf("connect link %q", href)
	}
}

func TestHomeRedirects(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	if loc := location(t, env.get("")); loc != testBase+"connect" {
		t.Errorf("/ without connections goes to %s", loc)
	}
	env.connect(demoKey, demoWS)
	if loc := location(t, env.get("")); loc != testBase+"runs?ws="+demoWS {
		t.Errorf("/ with a connection goes to %s", loc)
	}
	if loc := location(t, env.get("/ew")); loc != testBase {
		t.Errorf("/ew goes to %s", loc)
	}
}

// connectionsOf lists the connections of the env's session (none when the
// session does not exist yet).
func connectionsOf(t *testing.T, env *testEnv) []store.Connection {
	t.Helper()
	id := currentSessionID(t, env)
	if id == "" {
		return nil
	}
	conns, err := env.st.ListConnections(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return conns
}

func sessionCookie(t *testing.T, env *testEnv) string {
	t.Helper()
	u, _ := url.Parse(env.url(""))
	for _, ck := range env.client.Jar.Cookies(u) {
		if ck.Name == middleware.DefaultSessionCookieName {
			return ck.Value
		}
	}
	return ""
}

// currentSessionID decodes the session cookie with the env's session key.
func currentSessionID(t *testing.T, env *testEnv) string {
	t.Helper()
	value := sessionCookie(t, env)
	if value == "" {
		return ""
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(&http.Cookie{Name: middleware.DefaultSessionCookieName, Value: value})
	id := env.app.Sessions.CookieSessionID(r)
	if id == "" {
		t.Fatalf("the session cookie does not verify with the env's session key")
	}
	return id
}

// TestOldKeyRefLinksStillOpen: a link bookmarked before key refs were
// renamed (?ws=key_…) opens the key's workspace.
func TestOldKeyRefLinksStillOpen(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	r := env.post("connect", url.Values{views.FieldAPIKey: {otherKey}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("connect: %d %s", r.StatusCode, errorText(r))
	}
	loc, _ := url.Parse(location(t, r))
	ref := loc.Query().Get("ws")
	old := "key_" + strings.TrimPrefix(ref, store.KeyRefPrefix)
	if !store.IsKeyRef(ref) || old == ref {
		t.Fatalf("key ref %q", ref)
	}
	page := env.get("runs?ws=" + url.QueryEscape(old))
	if page.StatusCode != http.StatusOK {
		t.Fatalf("runs?ws=%s: %d %s", old, page.StatusCode, errorText(page))
	}
}
