package store

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/editwatch/editwatch/store/storetest"
)

var testStart = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// forEachBackend runs fn as a subtest per backend, each on its own empty
// database.
func forEachBackend(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, b.NewDSN(t))
		})
	}
}

// openMigrated opens dsn, migrates it, and closes it when t ends.
func openMigrated(t *testing.T, dsn string, opts ...Option) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, dsn, nil, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func randomKeys(t *testing.T, n int) [][]byte {
	t.Helper()
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = make([]byte, SealerKeySize)
		if _, err := rand.Read(keys[i]); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func newTestSealer(t *testing.T) *Sealer {
	t.Helper()
	s, err := NewSealer(randomKeys(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
