package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store"
)

// Helpers of the database-outage and kill fault tests
// (faults_store_test.go, faults_kill_test.go).

// faultTenant is where the fault tests' webhook endpoint delivers: a
// workspace of the embedded sandbox's deployment (so signed payload URLs
// may be plain http) that no page ingests into.
var faultTenant = store.TenantFor("sandbox", "ws_faults", "")

// faultDatabase is a database a fault test owns: it may take it away.
type faultDatabase struct {
	dsn string
	// outage makes the database stop answering the Editwatch under test
	// until restore is called.
	outage func(t *testing.T) (restore func())
	// failsFast: during the outage every statement fails at once and
	// reads fail too (SQLite's writers wait out the busy timeout; its
	// readers go on).
	failsFast bool
}

// faultBackends runs fn on SQLite and, when EDITWATCH_TEST_POSTGRES is
// set, on a PostgreSQL database created for the test.
func faultBackends(t *testing.T, fn func(t *testing.T, db faultDatabase)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, sqliteFaultDatabase(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, postgresFaultDatabase(t)) })
}

// sqliteFaultDatabase is a file in t.TempDir(). Its outage is another
// connection holding BEGIN EXCLUSIVE: writers wait out the store's busy
// timeout and fail; readers go on (WAL).
func sqliteFaultDatabase(t *testing.T) faultDatabase {
	path := t.TempDir() + "/editwatch.db"
	return faultDatabase{dsn: path, outage: func(t *testing.T) func() {
		t.Helper()
		locker, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(60000)")
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		conn, err := locker.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Waits for the writer's current transaction, then shuts it out.
		if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
			t.Fatalf("lock the database: %v", err)
		}
		var once sync.Once
		restore := func() {
			once.Do(func() {
				if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
					t.Errorf("unlock the database: %v", err)
				}
				conn.Close()
				locker.Close()
			})
		}
		t.Cleanup(restore)
		return restore
	}}
}

// postgresFaultDatabase creates a database of its own next to the one of
// EDITWATCH_TEST_POSTGRES, dropped at the end. Its outage refuses new
// connections and terminates the open ones, as a database restart or a
// failover does.
func postgresFaultDatabase(t *testing.T) faultDatabase {
	base := os.Getenv("EDITWATCH_TEST_POSTGRES")
	if base == "" {
		// Like store/storetest: .ci/run sets it whenever PostgreSQL answers.
		t.Skip("PostgreSQL fault tests skipped: set EDITWATCH_TEST_POSTGRES, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := "ew_fault_" + faultRandomHex(t, 6)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return faultDatabase{dsn: u.String(), failsFast: true, outage: func(t *testing.T) func() {
		t.Helper()
		ctx := context.Background()
		if _, err := admin.ExecContext(ctx, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS false"); err != nil {
			t.Fatalf("refuse connections: %v", err)
		}
		if _, err := admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = $1 AND pid <> pg_backend_pid()`, name); err != nil {
			t.Fatalf("terminate connections: %v", err)
		}
		var once sync.Once
		restore := func() {
			once.Do(func() {
				if _, err := admin.ExecContext(ctx, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true"); err != nil {
					t.Errorf("allow connections again: %v", err)
				}
			})
		}
		t.Cleanup(restore)
		return restore
	}}
}

func faultRandomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// faultKey is a base64 key for --session-key and --encryption-key.
func faultKey(t testing.TB) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// openFaultStore opens (and migrates) the database with the key the
// process under test uses.
func openFaultStore(t testing.TB, dsn, key string) *store.Store {
	t.Helper()
	raw, _ := base64.StdEncoding.DecodeString(key)
	sealer, err := store.NewSealer([][]byte{raw})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, nil, store.WithSealer(sealer))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// addFaultEndpoint registers a webhook endpoint of faultTenant the way a
// pasted secret does, and returns its ID and secret.
func addFaultEndpoint(t testing.TB, st *store.Store) (id, secret string) {
	t.Helper()
	secret = "wss_fault_" + faultRandomHex(t, 16)
	ep, err := st.CreateWebhookEndpoint(context.Background(), store.NewWebhookEndpoint{
		Tenant: faultTenant, Origin: store.EndpointPasted, Status: store.EndpointEnabled,
		Secrets: []string{secret}, CreatedBy: "fault test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return ep.ID, secret
}

// waitNothingPending waits until every stored event is applied (events
// fetched from signed URLs are applied after the answer).
func waitNothingPending(t *testing.T, st *store.Store) {
	t.Helper()
	faultWait(t, "no webhook event pending", func() bool {
		pending, err := st.PendingWebhookEvents(context.Background(), 0, 10)
		return err == nil && len(pending) == 0
	})
}

// faultWait polls cond (a count, not a time) with a generous deadline.
func faultWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
