package extendapi

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

func sum(ds []time.Duration) time.Duration {
	var total time.Duration
	for _, d := range ds {
		total += d
	}
	return total
}

func TestLimiterPacesEachCategory(t *testing.T) {
	clock := newFakeClock()
	l := NewLimiter(LimiterConfig{GET: 10, WRITE: 2, RUN: -1, Burst: 1, Clock: clock})
	ctx := context.Background()
	for range 5 {
		if err := l.Wait(ctx, CategoryGET); err != nil {
			t.Fatal(err)
		}
	}
	if got := sum(clock.Sleeps()); got < 390*time.Millisecond || got > 410*time.Millisecond {
		t.Errorf("5 GETs at 10/s waited %v, want 400ms", got)
	}
	// RUN is unlimited and WRITE has its own bucket: neither waits for GET.
	before := len(clock.Sleeps())
	for range 50 {
		if err := l.Wait(ctx, CategoryRUN); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Wait(ctx, CategoryWRITE); err != nil {
		t.Fatal(err)
	}
	if extra := clock.Sleeps()[before:]; len(extra) != 0 {
		t.Errorf("unlimited RUN or fresh WRITE waited: %v", extra)
	}
	if err := l.Wait(ctx, CategoryWRITE); err != nil {
		t.Fatal(err)
	}
	if last := clock.Sleeps()[len(clock.Sleeps())-1]; last < 490*time.Millisecond {
		t.Errorf("second WRITE at 2/s waited %v, want 500ms", last)
	}
	if l.Rate(CategoryGET) != 10 || !math.IsInf(l.Rate(CategoryRUN), 1) {
		t.Errorf("rates = %v %v", l.Rate(CategoryGET), l.Rate(CategoryRUN))
	}
}

func TestLimiterDefaultsArePAYG(t *testing.T) {
	l := NewLimiter(LimiterConfig{})
	for _, cat := range Categories() {
		if got := l.Rate(cat); got != PAYGRate {
			t.Errorf("%s rate = %v, want %v", cat, got, PAYGRate)
		}
	}
}

func TestLimiterIsSharedByClients(t *testing.T) {
	clock := newFakeClock()
	shared := NewLimiter(LimiterConfig{GET: 10, Burst: 1, Clock: clock})
	api := newFakeAPI(t, clock, reply{Body: bodyRunOK})
	a := newTestClient(t, api, WithLimiter(shared))
	b := a.WithWorkspace("ws_other")
	other := newTestClient(t, api, WithLimiter(shared))
	ctx := context.Background()
	for _, c := range []*Client{a, b, other, a, b, other} {
		if _, err := c.GetEditRun(ctx, "edr_1"); err != nil {
			t.Fatal(err)
		}
	}
	if got := sum(clock.Sleeps()); got < 490*time.Millisecond {
		t.Errorf("6 GETs through one 10/s limiter waited %v in total, want 500ms", got)
	}
	if b.Workspace() != "ws_other" || a.Workspace() != "" || b.Limiter() != a.Limiter() {
		t.Errorf("WithWorkspace must copy, not mutate, and share the limiter")
	}
}

func TestA429PausesEveryUserOfTheLimiter(t *testing.T) {
	clock := newFakeClock()
	shared := NewLimiter(LimiterConfig{GET: -1, Clock: clock})
	limited := newFakeAPI(t, clock, reply{Status: 429, Header: map[string]string{"Retry-After": "5"}, Body: bodyRateLimited})
	a := newTestClient(t, limited, WithLimiter(shared), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	if _, err := a.GetEditRun(context.Background(), "edr_1"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("err = %v", err)
	}
	hitAt := limited.Requests()[0].At

	fine := newFakeAPI(t, clock, reply{Body: bodyRunOK})
	b := newTestClient(t, fine, WithLimiter(shared))
	if _, err := b.GetEditRun(context.Background(), "edr_1"); err != nil {
		t.Fatal(err)
	}
	if gap := fine.Requests()[0].At.Sub(hitAt); gap < 5*time.Second {
		t.Errorf("the other client went %v after the 429, want at least 5s", gap)
	}
	// Other categories are not held.
	if err := shared.Wait(context.Background(), CategoryRUN); err != nil {
		t.Fatal(err)
	}
}

func TestLimiterRespectsContext(t *testing.T) {
	l := NewLimiter(LimiterConfig{GET: 0.1, Burst: 1})
	ctx := context.Background()
	if err := l.Wait(ctx, CategoryGET); err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := l.Wait(dctx, CategoryGET); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a wait that cannot fit the deadline should fail at once, took %v", d)
	}
	cctx, cancelNow := context.WithCancel(ctx)
	cancelNow()
	if err := l.Wait(cctx, CategoryGET); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want Canceled", err)
	}
	if err := l.Wait(ctx, Category("BOGUS")); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("unknown category: %v", err)
	}
	var nilLimiter *Limiter
	if err := nilLimiter.Wait(ctx, CategoryGET); err != nil {
		t.Errorf("nil limiter: %v", err)
	}
}

func TestLimiterRegistry(t *testing.T) {
	clock := newFakeClock()
	r := NewLimiterRegistry(LimiterConfig{Clock: clock})
	a1, a2, b := r.For("sk_key_a_0000000000"), r.For("sk_key_a_0000000000"), r.For("sk_key_b_0000000000")
	if a1 != a2 || a1 == b || r.Len() != 2 {
		t.Fatalf("one limiter per key: %p %p %p, len %d", a1, a2, b, r.Len())
	}
	_ = clock.Sleep(context.Background(), 2*time.Hour)
	r.For("sk_key_c_0000000000")
	if r.Len() != 1 {
		t.Errorf("idle limiters should be dropped, len = %d", r.Len())
	}
	if r.For("sk_key_a_0000000000") == a1 {
		t.Errorf("an evicted key gets a fresh limiter")
	}
}
