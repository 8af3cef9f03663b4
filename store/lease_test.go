package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store/storetest"
)

// Two replicas on one PostgreSQL database ask for the same leases.
func TestLeaseOnPostgres(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	one, two := openMigrated(t, dsn), openMigrated(t, dsn)
	try := func(s *Store, name, holder string, ttl time.Duration) bool {
		t.Helper()
		got, err := s.TryLease(ctx, name, holder, ttl)
		if err != nil {
			t.Fatalf("TryLease(%s, %s): %v", name, holder, err)
		}
		return got
	}

	t.Run("one holder at a time", func(t *testing.T) {
		steps := []struct {
			store  *Store
			holder string
			want   bool
		}{
			{one, "a", true},  // free: taken
			{two, "b", false}, // a holds it
			{one, "a", true},  // a renews
			{two, "b", false}, // still a's
			{two, "a", true},  // the holder's name counts, not the connection
		}
		for i, st := range steps {
			if got := try(st.store, "poller", st.holder, time.Minute); got != st.want {
				t.Fatalf("step %d: TryLease(poller, %s) = %v, want %v", i, st.holder, got, st.want)
			}
		}
	})

	t.Run("racing takers", func(t *testing.T) {
		const takers = 8
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []string
			start   = make(chan struct{})
		)
		for i := range takers {
			st := []*Store{one, two}[i%2]
			holder := fmt.Sprintf("taker-%d", i)
			wg.Go(func() {
				<-start
				got, err := st.TryLease(ctx, "race", holder, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if got {
					mu.Lock()
					winners = append(winners, holder)
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("%d takers got the lease (%v), want exactly 1", len(winners), winners)
		}
	})

	t.Run("passes on when the holder stops renewing", func(t *testing.T) {
		if !try(one, "handover", "a", 200*time.Millisecond) {
			t.Fatal("a free lease was refused")
		}
		// a stops renewing: b asks until the lease has expired.
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for !try(two, "handover", "b", time.Minute) {
			select {
			case <-tick.C:
			case <-ctx.Done():
				t.Fatal("the lease never passed on after its holder stopped renewing")
			}
		}
		if try(one, "handover", "a", time.Minute) {
			t.Fatal("the former holder took the lease back from the new one")
		}
	})

	t.Run("release", func(t *testing.T) {
		if !try(one, "released", "a", time.Minute) {
			t.Fatal("a free lease was refused")
		}
		if err := two.ReleaseLease(ctx, "released", "b"); err != nil {
			t.Fatal(err)
		}
		if try(two, "released", "b", time.Minute) {
			t.Fatal("releasing a lease one does not hold freed it")
		}
		if err := one.ReleaseLease(ctx, "released", "a"); err != nil {
			t.Fatal(err)
		}
		if !try(two, "released", "b", time.Minute) {
			t.Fatal("a released lease was refused")
		}
	})
}

// A SQLite store has one process: every lease is granted.
func TestLeaseOnSQLite(t *testing.T) {
	s := openMigrated(t, storetest.SQLiteDSN(t))
	ctx := context.Background()
	for _, holder := range []string{"a", "b"} {
		if got, err := s.TryLease(ctx, "poller", holder, time.Minute); err != nil || !got {
			t.Errorf("TryLease(poller, %s) = %v, %v; want true", holder, got, err)
		}
	}
	if err := s.ReleaseLease(ctx, "poller", "a"); err != nil {
		t.Error(err)
	}
}

func TestLeaseArguments(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		s := openMigrated(t, dsn)
		for _, tt := range []struct {
			name, holder string
			ttl          time.Duration
		}{{"", "a", time.Minute}, {"poller", "", time.Minute}, {"poller", "a", 0}} {
			if _, err := s.TryLease(context.Background(), tt.name, tt.holder, tt.ttl); err == nil {
				t.Errorf("TryLease(%q, %q, %s) gave no error", tt.name, tt.holder, tt.ttl)
			}
		}
	})
}
