package middleware

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/editwatch/editwatch/store"
)

// DefaultSessionCookieName names the session cookie unless configured.
const DefaultSessionCookieName = "editwatch_session"

// MinSessionKeyLength is the shortest accepted cookie signing key.
const MinSessionKeyLength = 32

// SessionStoreOptions configures NewSessionStore.
type SessionStoreOptions struct {
	// CookieName defaults to DefaultSessionCookieName.
	CookieName string
	// Path is the base path the dashboard is mounted under; "/" by default.
	Path string
	// KeyPairs are the --session-key values: one HMAC signing key each (at
	// least 32 bytes). The first signs, all verify, so keys can rotate. The
	// cookie is only signed, not encrypted: it holds nothing but a random
	// session ID.
	KeyPairs [][]byte
	// Idle ends a session this long after it was last used; MaxAge ends it
	// this long after it was created, however active.
	Idle   time.Duration
	MaxAge time.Duration
	// Identity returns who the trusted SSO proxy says made the request; nil
	// (or "") means single-user mode. A session is bound to the identity
	// that created it.
	Identity func(*http.Request) string
	// Now defaults to the store's clock; give the same clock as the store.
	Now func() time.Time
	// SecureFunc reports whether the request reached us over https (after
	// trusting the proxy's headers); by default, whether r.TLS is set.
	SecureFunc func(*http.Request) bool
	// Logger defaults to discarding.
	Logger *slog.Logger
}

// SessionStore is a gorilla/sessions Store whose sessions live in the
// database: the cookie carries only the signed session ID, and the values
// are gob-encoded and sealed server side.
type SessionStore struct {
	st         *store.Store
	codecs     []securecookie.Codec
	cookieName string
	path       string
	life       store.SessionLifetime
	touchEvery time.Duration
	identity   func(*http.Request) string
	now        func() time.Time
	secure     func(*http.Request) bool
	logger     *slog.Logger
}

var _ sessions.Store = (*SessionStore)(nil)

// NewSessionStore validates opts and returns a store of sessions kept in
// st.
func NewSessionStore(st *store.Store, opts SessionStoreOptions) (*SessionStore, error) {
	if st == nil {
		return nil, errors.New("session store: no store")
	}
	if len(opts.KeyPairs) == 0 {
		return nil, errors.New("session store: at least one session key is required")
	}
	if opts.Idle <= 0 || opts.MaxAge <= 0 {
		return nil, fmt.Errorf("session store: idle timeout and absolute lifetime must be positive, got %s and %s", opts.Idle, opts.MaxAge)
	}
	s := &SessionStore{
		st:         st,
		cookieName: opts.CookieName,
		path:       cookiePath(opts.Path),
		life:       store.SessionLifetime{Idle: opts.Idle, Max: opts.MaxAge},
		// Recording every request's activity would make every page view a
		// write; a fraction of the idle timeout is precise enough.
		touchEvery: min(time.Minute, opts.Idle/10),
		identity:   opts.Identity,
		now:        opts.Now,
		secure:     opts.SecureFunc,
		logger:     opts.Logger,
	}
	if s.cookieName == "" {
		s.cookieName = DefaultSessionCookieName
	}
	if s.identity == nil {
		s.identity = func(*http.Request) string { return "" }
	}
	if s.now == nil {
		s.now = st.Now
	}
	if s.secure == nil {
		s.secure = func(r *http.Request) bool { return r.TLS != nil }
	}
	if s.logger == nil {
		s.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for i, key := range opts.KeyPairs {
		if len(key) < MinSessionKeyLength {
			return nil, fmt.Errorf("session store: session key %d is %d bytes, want at least %d", i+1, len(key), MinSessionKeyLength)
		}
		codec := securecookie.New(key, nil)
		codec.SetSerializer(securecookie.NopEncoder{})
		codec.MaxAge(int(opts.MaxAge / time.Second))
		s.codecs = append(s.codecs, codec)
	}
	return s, nil
}

// cookiePath turns a base path into the cookie's Path: "/" or "/sub".
func cookiePath(base string) string {
	base = "/" + strings.Trim(base, "/")
	return base
}

// SessionID returns the server-side ID of a saved session, the key of its
// connections and audit entries; it is "" until a new session is saved.
func SessionID(s *sessions.Session) string { return s.ID }

// Get returns the request's session, loading it once per request.
func (s *SessionStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session named by the request's cookie. An absent, forged,
// expired or unreadable session, or one created for another identity,
// yields a new empty session (IsNew); the error is only for a failing
// database, and comes with a new session too.
func (s *SessionStore) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	sess.Options = s.options(r)
	sess.IsNew = true

	cookie, err := r.Cookie(name)
	if err != nil {
		return sess, nil
	}
	var rawID []byte
	if err := securecookie.DecodeMulti(name, cookie.Value, &rawID, s.codecs...); err != nil {
		// A cookie signed with a retired key or altered on the way is no
		// session; it is replaced on the next Save.
		s.logger.DebugContext(r.Context(), "session cookie rejected", "err", err)
		markEnded(sess, cookieRejection(err))
		return sess, nil
	}
	id := string(rawID)
	ctx := r.Context()
	rec, err := s.st.GetSession(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		markEnded(sess, sessionExpired)
		return sess, nil
	case errors.Is(err, store.ErrUndecryptable):
		s.logger.WarnContext(ctx, "session values sealed with a retired encryption key; ending the session",
			"session", store.SessionFingerprint(id))
		markEnded(sess, sessionKeyRetired)
		return sess, s.endSession(r, id)
	case err != nil:
		return sess, fmt.Errorf("load session: %w", err)
	}
	if identity := s.identity(r); rec.Identity != identity {
		s.logger.InfoContext(ctx, "session used by another identity; ending it",
			"session", store.SessionFingerprint(id), "created_by", rec.Identity, "identity", identity)
		return sess, s.endSession(r, id)
	}
	values, err := decodeSessionValues(rec.Values)
	if err != nil {
		s.logger.WarnContext(ctx, "session values unreadable; ending the session",
			"session", store.SessionFingerprint(id), "err", err)
		markEnded(sess, sessionUnreadable)
		return sess, s.endSession(r, id)
	}
	if s.now().Sub(rec.LastSeenAt) >= s.touchEvery {
		err := s.st.TouchSession(ctx, id, s.life)
		if errors.Is(err, store.ErrNotFound) {
			markEnded(sess, sessionExpired) // expired between the read and the touch
			return sess, nil
		}
		if err != nil {
			return sess, fmt.Errorf("touch session: %w", err)
		}
	}
	sess.ID = id
	sess.Values = values
	sess.IsNew = false
	return sess, nil
}

// endSession deletes a session server side; its connections and their keys
// go with it.
func (s *SessionStore) endSession(r *http.Request, id string) error {
	if err := s.st.DeleteSession(r.Context(), id); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// Save writes the session's values server side and sets the cookie. A
// session whose Options.MaxAge is negative is deleted (logout), together
// with its connections, and its cookie expired.
func (s *SessionStore) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	ctx := r.Context()
	opts := s.options(r)
	if sess.Options != nil && sess.Options.MaxAge < 0 {
		if sess.ID != "" {
			if err := s.endSession(r, sess.ID); err != nil {
				return err
			}
		}
		sess.ID = ""
		opts.MaxAge = -1
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", opts))
		return nil
	}
	values, err := encodeSessionValues(sess.Values)
	if err != nil {
		return err
	}
	if sess.ID != "" {
		err := s.st.SaveSessionValues(ctx, sess.ID, values, s.life)
		if err == nil {
			return s.setCookie(w, sess.Name(), sess.ID, opts)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("save session: %w", err)
		}
		// Ended meanwhile (expired, or logged out in another tab): the
		// values go into a new session, without the old one's connections.
	}
	rec, err := s.st.CreateSession(ctx, s.identity(r), values, s.life)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	sess.ID = rec.ID
	return s.setCookie(w, sess.Name(), sess.ID, opts)
}

func (s *SessionStore) setCookie(w http.ResponseWriter, name, id string, opts *sessions.Options) error {
	signed, err := securecookie.EncodeMulti(name, []byte(id), s.codecs...)
	if err != nil {
		return fmt.Errorf("sign session cookie: %w", err)
	}
	http.SetCookie(w, sessions.NewCookie(name, signed, opts))
	return nil
}

// options are the cookie attributes for a response to r.
func (s *SessionStore) options(r *http.Request) *sessions.Options {
	return &sessions.Options{
		Path:     s.path,
		MaxAge:   int(s.life.Max / time.Second),
		Secure:   s.secure(r),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

func encodeSessionValues(values map[any]any) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(values); err != nil {
		return nil, fmt.Errorf("encode session values (register custom types with gob.Register): %w", err)
	}
	return buf.Bytes(), nil
}

func decodeSessionValues(data []byte) (map[any]any, error) {
	values := make(map[any]any)
	if len(data) == 0 {
		return values, nil
	}
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&values); err != nil {
		return nil, fmt.Errorf("decode session values: %w", err)
	}
	return values, nil
}
