package middleware

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/sessions"

	"github.com/editwatch/editwatch/store"
)

func TestSessionBinding(t *testing.T) {
	withLogin := IdentityConfig{LoginHeader: "X-Login-Id"}
	bind := func(cfg IdentityConfig, user, login string) string {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if login != "" {
			r.Header.Set("X-Login-Id", login)
		}
		return cfg.SessionBinding(r, user)
	}
	tests := []struct {
		name     string
		a, b     string
		wantSame bool
	}{
		{"no login header configured: the user alone", bind(IdentityConfig{}, "ada", "s1"), bind(IdentityConfig{}, "ada", "s2"), true},
		{"the same login", bind(withLogin, "ada", "s1"), bind(withLogin, "ada", "s1"), true},
		{"a new login of the same user", bind(withLogin, "ada", "s1"), bind(withLogin, "ada", "s2"), false},
		{"the header gone", bind(withLogin, "ada", "s1"), bind(withLogin, "ada", ""), false},
		{"another user, same login value", bind(withLogin, "ada", "s1"), bind(withLogin, "bob", "s1"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if same := tt.a == tt.b; same != tt.wantSame {
				t.Errorf("%q and %q: same %v, want %v", tt.a, tt.b, same, tt.wantSame)
			}
		})
	}
	if got := bind(withLogin, "ada", "secret-session-value"); strings.Contains(got, "secret-session-value") {
		t.Errorf("the binding %q keeps the header's value in clear", got)
	}
	if got := bind(withLogin, "", "s1"); got != "" {
		t.Errorf("no user bound as %q", got)
	}
}

// A new login at the proxy ends the Editwatch session of the old one, with
// its connected keys, even for the same user.
func TestSessionNewLoginEndsSession(t *testing.T) {
	cfg := IdentityConfig{LoginHeader: "X-Login-Id"}
	forEachSessionBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		// The fixture passes one identity string: "user|login".
		f := newSessionFixture(t, dsn, func(o *SessionStoreOptions) {
			o.Identity = func(r *http.Request) string {
				user, login, _ := strings.Cut(r.Header.Get(testIdentityHeader), "|")
				r = r.Clone(r.Context())
				r.Header.Set("X-Login-Id", login)
				return cfg.SessionBinding(r, user)
			}
		})
		first, cookie := f.visit(t, nil, "ada@example.com|login-1", func(s *sessions.Session) { s.Values["workspace"] = "ws_1" })
		conn, err := f.st.AddConnection(ctx, store.NewConnection{SessionID: first.ID, Tenant: "us/ws_1", Key: "sk_live_ada_key_1234"})
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := f.visit(t, cookie, "ada@example.com|login-1", nil); s.ID != first.ID {
			t.Fatal("the same login did not get its session")
		}
		next, _ := f.visit(t, cookie, "ada@example.com|login-2", nil)
		if !next.IsNew || next.ID == first.ID {
			t.Fatalf("a new login got session %q (IsNew %v), want a fresh one", next.ID, next.IsNew)
		}
		if _, err := f.st.ConnectionKey(ctx, first.ID, conn.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the old login's key survived: %v", err)
		}
	})
}
