package handlers

import (
	"context"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/editwatch/editwatch/middleware"
)

func TestStreamRegistryCaps(t *testing.T) {
	r := newStreamRegistry(2, 3)
	a, _ := r.open("s1", "ana")
	b, _ := r.open("s1", "ana")
	c, err := r.open("s1", "ana") // the third tab of s1 takes a's place
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.evicted:
	default:
		t.Fatal("the oldest stream of the session was not evicted")
	}
	for _, s := range []*openStream{b, c} {
		select {
		case <-s.evicted:
			t.Fatal("a newer stream was evicted")
		default:
		}
	}
	if ns, ni := r.counts("s1", "ana"); ns != 2 || ni != 2 {
		t.Fatalf("after eviction: %d streams in the session, %d for the identity; want 2 and 2", ns, ni)
	}
	r.close(a) // the evicted stream's handler returns: nothing to release twice
	if _, err := r.open("s2", "ana"); err != nil {
		t.Fatalf("third stream of the identity: %v", err)
	}
	if _, err := r.open("s3", "ana"); err == nil {
		t.Fatal("a fourth stream of the identity was accepted")
	}
	if _, err := r.open("s3", "ben"); err != nil {
		t.Fatalf("another identity is refused: %v", err)
	}
	r.close(b)
	r.close(c)
	if ns, ni := r.counts("s1", "ana"); ns != 0 || ni != 1 {
		t.Fatalf("after closing: %d streams in the session, %d for the identity; want 0 and 1", ns, ni)
	}
}

// TestStreamsNPlusOneTabs opens one tab more than the session may stream
// to: the oldest tab is told "paused" and its stream ends, the others keep
// theirs, and the registry counts only the open ones.
func TestStreamsNPlusOneTabs(t *testing.T) {
	const perSession = 3
	env := newLiveEnv(t, envOptions{}).withOptions(func(o *Options) { o.StreamsPerSession = perSession })
	env.connect(demoKey, demoWS)
	tabs := make([]*eventStream, perSession+1)
	for i := range tabs {
		tabs[i] = env.openStream(t, "events?ws="+demoWS) // waits for its ready event
	}
	ev, ok := tabs[0].next(t, sseEventPaused, 10*time.Second)
	if !ok {
		t.Fatal("the oldest tab was not told its stream is paused")
	}
	if ev.Data == "" {
		t.Error("the paused event carries no reason")
	}
	if _, open := <-tabs[0].C; open {
		t.Error("the oldest tab's stream stayed open after paused")
	}
	sid := currentSessionID(t, env)
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, _ := env.app.streams.counts(sid, "")
		if n == perSession {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d streams registered for the session, want %d", n, perSession)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i, tab := range tabs[1:] {
		select {
		case ev, open := <-tab.C:
			if !open || ev.Name == sseEventPaused {
				t.Errorf("tab %d lost its stream (%q)", i+1, ev.Name)
			}
		default:
		}
	}
}

// TestStreamsPerIdentityRefused: past the identity's cap, across sessions,
// a new stream is a 429 with Retry-After.
func TestStreamsPerIdentityRefused(t *testing.T) {
	env := newLiveEnv(t, envOptions{identity: middleware.IdentityConfig{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		IdentityHeader: "X-Forwarded-Email",
	}}).withOptions(func(o *Options) { o.StreamsPerIdentity = 2 })
	env.headers.Set("X-Forwarded-Email", "ana@example.com")
	env.connect(demoKey, demoWS)
	other := env.secondUser()
	other.headers = env.headers
	other.connect(demoKey, demoWS)
	for _, e := range []*testEnv{env, other} {
		e.openStream(t, "events?ws="+demoWS) // waits for its ready event
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.url("events?ws="+demoWS), nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("X-Forwarded-Email", "ana@example.com")
	resp, err := (&http.Client{Jar: env.client.Jar}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third stream of the identity: %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
