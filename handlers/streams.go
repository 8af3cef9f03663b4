package handlers

import (
	"net/http"
	"sync"
	"time"
)

// Default caps of the live-update event streams (--streams-per-session,
// --streams-per-identity). A person rarely has more than a handful of
// tabs open; the caps bound what one session or one person can hold
// (each stream is a goroutine and a broker subscription).
const (
	defaultStreamsPerSession  = 16
	defaultStreamsPerIdentity = 64
)

// identityStreamRetry is how long a person over the identity cap is asked
// to wait: long enough for tabs to be closed.
const identityStreamRetry = 30 * time.Second

// streamRegistry counts the open event streams per session and per proxy
// identity. Past the session cap the session's oldest stream is told to
// close (its tab stops reconnecting and falls back to timed refresh, so
// N+1 tabs do not evict each other in a loop); past the identity cap a
// new stream is refused.
type streamRegistry struct {
	perSession, perIdentity int

	mu         sync.Mutex
	sessions   map[string][]*openStream // oldest first
	identities map[string]int
}

// openStream is one open event stream; evicted closes when a newer stream
// of the same session took its place.
type openStream struct {
	session, identity string
	evicted           chan struct{}
}

func newStreamRegistry(perSession, perIdentity int) *streamRegistry {
	if perSession <= 0 {
		perSession = defaultStreamsPerSession
	}
	if perIdentity <= 0 {
		perIdentity = defaultStreamsPerIdentity
	}
	return &streamRegistry{perSession: perSession, perIdentity: perIdentity,
		sessions: map[string][]*openStream{}, identities: map[string]int{}}
}

// open registers a stream of session, for the proxy identity ("" in
// single-user mode, where only the session cap applies). The caller must
// call close when the stream ends.
func (r *streamRegistry) open(session, identity string) (*openStream, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if identity != "" && r.identities[identity] >= r.perIdentity {
		return nil, &PageError{Status: http.StatusTooManyRequests, Heading: "Too many live-update streams", Category: "rate limited",
			RetryAfter: identityStreamRetry,
			Explanation: "Your tabs and windows hold the most live-update streams Editwatch keeps open for one person. " +
				"Close some Editwatch tabs; this one refreshes on a timer meanwhile."}
	}
	s := &openStream{session: session, identity: identity, evicted: make(chan struct{})}
	open := r.sessions[session]
	for len(open) >= r.perSession {
		oldest := open[0]
		open = open[1:]
		close(oldest.evicted)
		r.release(oldest)
	}
	r.sessions[session] = append(open, s)
	if identity != "" {
		r.identities[identity]++
	}
	return s, nil
}

// close ends s's registration; a stream evicted earlier is already gone.
func (r *streamRegistry) close(s *openStream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	open := r.sessions[s.session]
	for i, o := range open {
		if o == s {
			r.sessions[s.session] = append(open[:i:i], open[i+1:]...)
			if len(r.sessions[s.session]) == 0 {
				delete(r.sessions, s.session)
			}
			r.release(s)
			return
		}
	}
}

// release drops s from the identity count; r.mu is held.
func (r *streamRegistry) release(s *openStream) {
	if s.identity == "" {
		return
	}
	if r.identities[s.identity]--; r.identities[s.identity] <= 0 {
		delete(r.identities, s.identity)
	}
}

// counts reports the streams open for session and identity (tests).
func (r *streamRegistry) counts(session, identity string) (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions[session]), r.identities[identity]
}
