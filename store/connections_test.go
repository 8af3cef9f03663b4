package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store/storetest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var testLifetime = SessionLifetime{Idle: time.Hour, Max: 24 * time.Hour}

func TestConnections(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		clock := storetest.NewClock(testStart)
		s := openMigrated(t, dsn, WithClock(clock.Now), WithSealer(newTestSealer(t)))
		mine, err := s.CreateSession(ctx, "", nil, testLifetime)
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.CreateSession(ctx, "", nil, testLifetime)
		if err != nil {
			t.Fatal(err)
		}

		demo, err := s.AddConnection(ctx, NewConnection{
			SessionID: mine.ID, Deployment: "us", BaseURL: "https://api.extend.ai",
			WorkspaceID: "ws_demo", Tenant: "us/ws_demo", Key: "sk_first_key_1234",
		})
		if err != nil {
			t.Fatalf("AddConnection: %v", err)
		}
		clock.Advance(time.Second)
		eu, err := s.AddConnection(ctx, NewConnection{
			SessionID: mine.ID, Deployment: "eu1", BaseURL: "https://api.eu1.extend.ai",
			Tenant: "eu1/key:abc", Key: "sk_second_key_9876",
		})
		if err != nil {
			t.Fatalf("AddConnection: %v", err)
		}
		theirs, err := s.AddConnection(ctx, NewConnection{SessionID: other.ID, Tenant: "us/ws_demo", Key: "sk_their_key_0000"})
		if err != nil {
			t.Fatal(err)
		}

		got, err := s.ListConnections(ctx, mine.ID)
		if err != nil {
			t.Fatalf("ListConnections: %v", err)
		}
		want := []Connection{
			{SessionID: mine.ID, Deployment: "us", BaseURL: "https://api.extend.ai", WorkspaceID: "ws_demo",
				Tenant: "us/ws_demo", KeyLast4: "1234", CreatedAt: testStart},
			{SessionID: mine.ID, Deployment: "eu1", BaseURL: "https://api.eu1.extend.ai",
				Tenant: "eu1/key:abc", KeyLast4: "9876", CreatedAt: testStart.Add(time.Second)},
		}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Connection{}, "ID")); diff != "" {
			t.Fatalf("ListConnections (-want +got):\n%s", diff)
		}
		if got[0].ID != demo.ID || got[1].ID != eu.ID {
			t.Fatalf("ListConnections IDs = %s, %s; want %s, %s", got[0].ID, got[1].ID, demo.ID, eu.ID)
		}

		keys := []struct {
			name    string
			session string
			conn    string
			want    string
			wantErr error
		}{
			{"own connection", mine.ID, demo.ID, "sk_first_key_1234", nil},
			{"own second connection", mine.ID, eu.ID, "sk_second_key_9876", nil},
			{"another session's connection", mine.ID, theirs.ID, "", ErrNotFound},
			{"unknown connection", mine.ID, "conn_missing", "", ErrNotFound},
		}
		for _, k := range keys {
			key, err := s.ConnectionKey(ctx, k.session, k.conn)
			if key != k.want || !errors.Is(err, k.wantErr) {
				t.Errorf("%s: ConnectionKey = %q, %v; want %q, %v", k.name, key, err, k.want, k.wantErr)
			}
		}

		// Reconnecting a tenant replaces its connection and key.
		replaced, err := s.AddConnection(ctx, NewConnection{SessionID: mine.ID, Tenant: "us/ws_demo", WorkspaceID: "ws_demo", Key: "sk_rotated_key_5555"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConnectionKey(ctx, mine.ID, demo.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("replaced connection's key still readable: %v", err)
		}
		if key, err := s.ConnectionKey(ctx, mine.ID, replaced.ID); err != nil || key != "sk_rotated_key_5555" {
			t.Errorf("replacement key = %q, %v", key, err)
		}

		if err := s.DeleteConnection(ctx, mine.ID, theirs.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleting another session's connection: err = %v, want ErrNotFound", err)
		}
		if err := s.DeleteConnection(ctx, mine.ID, eu.ID); err != nil {
			t.Fatalf("DeleteConnection: %v", err)
		}
		if _, err := s.ConnectionKey(ctx, mine.ID, eu.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("key readable after disconnect: %v", err)
		}
		n, err := s.DeleteSessionConnections(ctx, mine.ID)
		if err != nil || n != 1 {
			t.Fatalf("DeleteSessionConnections = %d, %v; want 1", n, err)
		}
		if left, _ := s.ListConnections(ctx, other.ID); len(left) != 1 {
			t.Fatalf("other session's connections = %d, want 1 untouched", len(left))
		}

		clock.Advance(2 * time.Hour)
		if _, err := s.AddConnection(ctx, NewConnection{SessionID: mine.ID, Tenant: "t", Key: "sk_late_key_0000"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("AddConnection to an expired session: err = %v, want ErrNotFound", err)
		}
	})
}

// A sealed key copied onto another connection row must not decrypt.
func TestConnectionKeyBoundToRow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openMigrated(t, dsn, WithSealer(newTestSealer(t)))
		sess, err := s.CreateSession(ctx, "", nil, testLifetime)
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.AddConnection(ctx, NewConnection{SessionID: sess.ID, Tenant: "a", Key: "sk_key_of_a_1111"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.AddConnection(ctx, NewConnection{SessionID: sess.ID, Tenant: "b", Key: "sk_key_of_b_2222"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.exec(ctx, `UPDATE connections SET key_sealed = (SELECT key_sealed FROM connections WHERE id = ?) WHERE id = ?`, a.ID, b.ID); err != nil {
			t.Fatal(err)
		}
		if key, err := s.ConnectionKey(ctx, sess.ID, b.ID); !errors.Is(err, ErrUndecryptable) {
			t.Fatalf("ConnectionKey with a swapped ciphertext = %q, %v; want ErrUndecryptable", key, err)
		}
	})
}

// The canary key and session values must never reach the SQLite files
// (database, WAL) in plaintext.
func TestCanaryKeyNotStoredInPlaintext(t *testing.T) {
	ctx := context.Background()
	path := storetest.SQLiteDSN(t)
	s, err := Open(ctx, path, nil, WithSealer(newTestSealer(t)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const canaryKey = "sk_live_CANARY_7f3c9a1e5b2d4c6e8f0a"
	const canaryValue = "CANARY_SESSION_VALUE_41b7"
	sess, err := s.CreateSession(ctx, "", []byte(canaryValue), testLifetime)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := s.AddConnection(ctx, NewConnection{SessionID: sess.ID, Tenant: "us/ws_demo", Key: canaryKey})
	if err != nil {
		t.Fatal(err)
	}
	if key, err := s.ConnectionKey(ctx, sess.ID, conn.ID); err != nil || key != canaryKey {
		t.Fatalf("ConnectionKey = %q, %v", key, err)
	}

	grep := func(when string) {
		t.Helper()
		files, err := filepath.Glob(path + "*")
		if err != nil || len(files) == 0 {
			t.Fatalf("no database files at %s: %v", path, err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, canary := range []string{canaryKey, canaryValue, canaryKey[len(canaryKey)-12:]} {
				if bytes.Contains(data, []byte(canary)) {
					t.Errorf("%s: %s holds %q in plaintext", when, filepath.Base(f), canary)
				}
			}
		}
	}
	grep("while open")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	grep("after close")
	// The grep must be looking at the rows: the tenant is stored in clear.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("us/ws_demo")) {
		t.Fatal("the database file does not hold the tenant either: the grep is not looking at the data")
	}
}
