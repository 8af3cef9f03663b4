package middleware

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestIdentityLimiterBuckets(t *testing.T) {
	clock := newFakeClock()
	l := newIdentityLimiter(RateLimits{
		Pages:   RateLimit{Rate: 2, Burst: 3},
		Actions: RateLimit{Rate: -1},
		Connect: RateLimit{Rate: rate.Every(6 * time.Second), Burst: 2},
	}, clock.Now)

	for i := range 3 {
		if ok, _ := l.allow("a", classPage); !ok {
			t.Fatalf("page %d of the burst refused", i+1)
		}
	}
	ok, wait := l.allow("a", classPage)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("past the burst: ok %v, wait %v; want refused, 500ms", ok, wait)
	}
	if ok, _ := l.allow("b", classPage); !ok {
		t.Error("another identity shares a's bucket")
	}
	if ok, _ := l.allow("a", classConnect); !ok {
		t.Error("pages used up the connect bucket")
	}
	for range 100 {
		if ok, _ := l.allow("a", classAction); !ok {
			t.Fatal("a class switched off refused a request")
		}
	}
	clock.Advance(499 * time.Millisecond)
	if ok, _ := l.allow("a", classPage); ok {
		t.Error("a token came back early")
	}
	clock.Advance(time.Millisecond)
	if ok, _ := l.allow("a", classPage); !ok {
		t.Error("no token after 500ms at 2 a second")
	}

	// Connect: 2 at once, then one every 6 s.
	l.allow("c", classConnect)
	l.allow("c", classConnect)
	if ok, wait := l.allow("c", classConnect); ok || wait != 6*time.Second {
		t.Errorf("third connect: ok %v, wait %v; want refused, 6s", ok, wait)
	}
}

func TestIdentityLimiterMemoryIsBounded(t *testing.T) {
	clock := newFakeClock()
	l := newIdentityLimiter(RateLimits{Pages: RateLimit{Rate: 1, Burst: 5}, MaxIdentities: 100}, clock.Now)
	for i := range 1000 {
		l.allow(fmt.Sprintf("id-%d", i), classPage)
		if n := l.size(); n > 100 {
			t.Fatalf("%d identities held after %d, bound 100", n, i+1)
		}
	}
	// Refilled buckets are forgotten at the next sweep; one still
	// draining stays.
	for range 5 {
		l.allow("busy", classPage)
	}
	clock.Advance(sweepEvery)
	for range 5 {
		l.allow("busy", classPage)
	}
	if n := l.size(); n != 1 {
		t.Errorf("after a sweep %d identities held, want 1 (the busy one)", n)
	}
	if ok, _ := l.allow("busy", classPage); ok {
		t.Error("the sweep gave the busy identity a fresh bucket")
	}
}

func TestDefaultRateLimits(t *testing.T) {
	if got := formatRate(DefaultRateLimits.Connect.Rate); got != "10 a minute" {
		t.Errorf("default connect rate %s", got)
	}
	if got := formatRate(DefaultRateLimits.Pages.Rate); got != "20 a second" {
		t.Errorf("default page rate %s", got)
	}
}
