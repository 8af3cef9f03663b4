package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/editwatch/editwatch/middleware"
	"github.com/editwatch/editwatch/store"
)

// TestSignOutEndsTheSession: Sign out deletes the Editwatch session with its
// connected keys (each audited, as Disconnect does) and sends the browser to
// --sign-out-url through the signed-out page (a redirect may not leave the
// origin after a form), or to the connect page without one; the old cookie
// opens nothing afterwards.
func TestSignOutEndsTheSession(t *testing.T) {
	tests := []struct {
		name, signOutURL, wantLocation string
	}{
		{"to the proxy's sign-out", "/oauth2/sign_out?rd=%2F", testBase + "signout"},
		{"Editwatch session only", "", testBase + "connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, envOptions{signOutURL: tt.signOutURL, identity: middleware.IdentityConfig{
				TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
				IdentityHeader: "X-Forwarded-Email",
			}})
			env.headers.Set("X-Forwarded-Email", "ada@example.com")
			env.connect(demoKey, demoWS)
			env.connect(otherKey, otherWS)
			page := env.get("connect")
			if testid(page.doc(t), "sign-out").Length() == 0 {
				t.Fatal("no Sign out button for a user signed in at the proxy")
			}
			oldID := currentSessionID(t, env)
			if conns := connectionsOf(t, env); len(conns) != 2 {
				t.Fatalf("connections before sign-out: %+v", conns)
			}

			r := env.post("signout", url.Values{})
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != tt.wantLocation {
				t.Fatalf("sign out: %d to %q, want 303 to %q (%s)", r.StatusCode, r.Header.Get("Location"), tt.wantLocation, errorText(r))
			}
			ctx := context.Background()
			if _, err := env.st.GetSession(ctx, oldID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the session survives sign-out: %v", err)
			}
			if conns, err := env.st.ListConnections(ctx, oldID); err != nil || len(conns) != 0 {
				t.Errorf("connections after sign-out: %+v %v", conns, err)
			}
			entries, _, err := env.st.ListAudit(ctx, store.AuditFilter{Action: store.AuditDisconnect})
			if err != nil || len(entries) != 2 || !strings.Contains(entries[0].Detail, "sign-out") {
				t.Errorf("sign-out audit: %+v %v", entries, err)
			}
			if sessionCookie(t, env) != "" {
				t.Error("the session cookie is not expired")
			}
			if loc := location(t, env.get("")); loc != testBase+"connect" {
				t.Errorf("after sign-out / goes to %s, want the connect page", loc)
			}

			// The signed-out page sends the browser on to the proxy.
			page = env.get("signout")
			if tt.signOutURL == "" {
				if loc := location(t, page); loc != testBase+"connect" {
					t.Errorf("signed-out page without --sign-out-url goes to %s", loc)
				}
				return
			}
			doc := page.doc(t)
			if href, _ := testid(doc, "continue-sign-out").Attr("href"); page.StatusCode != http.StatusOK || href != tt.signOutURL {
				t.Errorf("signed-out page: %d, continue link %q, want %q", page.StatusCode, href, tt.signOutURL)
			}
			if refresh, _ := doc.Find(`meta[http-equiv=refresh]`).Attr("content"); refresh != "0;url="+tt.signOutURL {
				t.Errorf("signed-out page refresh %q", refresh)
			}
			if testid(doc, "sign-out").Length() != 0 {
				t.Error("the signed-out page offers Sign out again")
			}
		})
	}
}

// TestSignOutHiddenInSingleUserMode: without a proxy there is nobody to
// sign out.
func TestSignOutHiddenInSingleUserMode(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	if testid(env.get("connect").doc(t), "sign-out").Length() != 0 {
		t.Error("Sign out offered in single-user mode")
	}
}
