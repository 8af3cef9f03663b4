package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store/storetest"
	"github.com/google/go-cmp/cmp"
)

func TestSessionLifecycle(t *testing.T) {
	life := SessionLifetime{Idle: time.Hour, Max: 5 * time.Hour}
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		clock := storetest.NewClock(testStart)
		s := openMigrated(t, dsn, WithClock(clock.Now), WithSealer(newTestSealer(t)))

		created, err := s.CreateSession(ctx, "ada@example.com", []byte("values v1"), life)
		if err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		if len(created.ID) != 43 {
			t.Errorf("session ID %q has %d characters, want 43 (32 bytes base64url)", created.ID, len(created.ID))
		}
		got, err := s.GetSession(ctx, created.ID)
		if err != nil {
			t.Fatalf("GetSession: %v", err)
		}
		want := Session{
			ID: created.ID, Identity: "ada@example.com", Values: []byte("values v1"),
			CreatedAt: testStart, LastSeenAt: testStart, ExpiresAt: testStart.Add(time.Hour),
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("GetSession (-want +got):\n%s", diff)
		}

		clock.Advance(50 * time.Minute)
		if err := s.SaveSessionValues(ctx, created.ID, []byte("values v2"), life); err != nil {
			t.Fatalf("SaveSessionValues: %v", err)
		}
		got, err = s.GetSession(ctx, created.ID)
		if err != nil {
			t.Fatalf("GetSession after save: %v", err)
		}
		if string(got.Values) != "values v2" || !got.LastSeenAt.Equal(testStart.Add(50*time.Minute)) ||
			!got.ExpiresAt.Equal(testStart.Add(110*time.Minute)) {
			t.Fatalf("after save: values %q, last seen %s, expires %s", got.Values, got.LastSeenAt, got.ExpiresAt)
		}

		if err := s.DeleteSession(ctx, created.ID); err != nil {
			t.Fatalf("DeleteSession: %v", err)
		}
		if _, err := s.GetSession(ctx, created.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetSession after delete: err = %v, want ErrNotFound", err)
		}
		if err := s.DeleteSession(ctx, created.ID); err != nil {
			t.Fatalf("DeleteSession twice: %v", err)
		}
		if err := s.TouchSession(ctx, created.ID, life); !errors.Is(err, ErrNotFound) {
			t.Fatalf("TouchSession after delete: err = %v, want ErrNotFound", err)
		}
	})
}

func TestSessionExpiry(t *testing.T) {
	life := SessionLifetime{Idle: time.Hour, Max: 3 * time.Hour}
	type step struct {
		advance time.Duration
		touch   bool
		alive   bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"alive just before the idle timeout", []step{{advance: 59 * time.Minute, alive: true}}},
		{"ends at the idle timeout", []step{{advance: time.Hour, alive: false}}},
		{"touch pushes the idle timeout", []step{
			{advance: 45 * time.Minute, touch: true, alive: true},
			{advance: 45 * time.Minute, alive: true},
			{advance: 15 * time.Minute, alive: false},
		}},
		{"activity cannot outlive the absolute lifetime", []step{
			{advance: 50 * time.Minute, touch: true, alive: true},
			{advance: 50 * time.Minute, touch: true, alive: true},
			{advance: 50 * time.Minute, touch: true, alive: true},
			{advance: 29 * time.Minute, touch: true, alive: true},
			{advance: time.Minute, touch: true, alive: false},
		}},
		{"an expired session cannot be revived", []step{
			{advance: 61 * time.Minute, touch: true, alive: false},
			{advance: 0, alive: false},
		}},
	}
	forEachBackend(t, func(t *testing.T, dsn string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := context.Background()
				clock := storetest.NewClock(testStart)
				s := openMigrated(t, dsn, WithClock(clock.Now), WithSealer(newTestSealer(t)))
				sess, err := s.CreateSession(ctx, "", nil, life)
				if err != nil {
					t.Fatal(err)
				}
				for i, st := range tt.steps {
					clock.Advance(st.advance)
					if st.touch {
						err := s.TouchSession(ctx, sess.ID, life)
						if st.alive && err != nil {
							t.Fatalf("step %d: TouchSession: %v", i, err)
						}
						if !st.alive && !errors.Is(err, ErrNotFound) {
							t.Fatalf("step %d: TouchSession on an expired session: err = %v, want ErrNotFound", i, err)
						}
					}
					_, err := s.GetSession(ctx, sess.ID)
					if alive := err == nil; alive != st.alive {
						t.Fatalf("step %d (at +%s): GetSession err = %v, want alive=%v", i, clock.Now().Sub(testStart), err, st.alive)
					}
					if err != nil && !errors.Is(err, ErrNotFound) {
						t.Fatalf("step %d: err = %v, want ErrNotFound", i, err)
					}
				}
			})
		}
	})
}

func TestDeleteExpiredSessionsCascades(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		clock := storetest.NewClock(testStart)
		s := openMigrated(t, dsn, WithClock(clock.Now), WithSealer(newTestSealer(t)))
		short, err := s.CreateSession(ctx, "", nil, SessionLifetime{Idle: time.Minute, Max: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		long, err := s.CreateSession(ctx, "", nil, SessionLifetime{Idle: time.Hour, Max: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{short.ID, long.ID} {
			if _, err := s.AddConnection(ctx, NewConnection{SessionID: id, Tenant: "us/ws_1", Key: "sk_test_key_for_" + id}); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(2 * time.Minute)
		n, err := s.DeleteExpiredSessions(ctx, clock.Now())
		if err != nil || n != 1 {
			t.Fatalf("DeleteExpiredSessions = %d, %v; want 1", n, err)
		}
		var sessions, conns int
		if err := s.queryRow(ctx, `SELECT (SELECT COUNT(*) FROM sessions), (SELECT COUNT(*) FROM connections)`).
			Scan(&sessions, &conns); err != nil {
			t.Fatal(err)
		}
		if sessions != 1 || conns != 1 {
			t.Fatalf("after purge: %d sessions, %d connections; want 1 and 1 (the expired session's connection cascades)", sessions, conns)
		}
		if _, err := s.GetSession(ctx, long.ID); err != nil {
			t.Fatalf("live session was purged: %v", err)
		}
	})
}

// Sealed values are bound to their session: copying one session's sealed
// values onto another row must not decrypt.
func TestSessionValuesBoundToRow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		life := SessionLifetime{Idle: time.Hour, Max: time.Hour}
		s := openMigrated(t, dsn, WithSealer(newTestSealer(t)))
		a, err := s.CreateSession(ctx, "a", []byte("a's values"), life)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.CreateSession(ctx, "b", []byte("b's values"), life)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.exec(ctx, `UPDATE sessions SET values_sealed = (SELECT values_sealed FROM sessions WHERE id = ?) WHERE id = ?`, a.ID, b.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetSession(ctx, b.ID); !errors.Is(err, ErrUndecryptable) {
			t.Fatalf("GetSession with swapped values: err = %v, want ErrUndecryptable", err)
		}
	})
}

func TestSessionMethodsNeedSealerAndLifetime(t *testing.T) {
	ctx := context.Background()
	s := openMigrated(t, storetest.SQLiteDSN(t))
	if _, err := s.CreateSession(ctx, "", nil, SessionLifetime{Idle: time.Hour, Max: time.Hour}); !errors.Is(err, ErrNoSealer) {
		t.Errorf("CreateSession without sealer: err = %v, want ErrNoSealer", err)
	}
	withSealer := openMigrated(t, storetest.SQLiteDSN(t), WithSealer(newTestSealer(t)))
	if _, err := withSealer.CreateSession(ctx, "", nil, SessionLifetime{Idle: time.Hour}); err == nil {
		t.Error("CreateSession accepted a zero absolute lifetime")
	}
}
