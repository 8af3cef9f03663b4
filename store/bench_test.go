package store

import (
	"context"
	"testing"

	"github.com/editwatch/editwatch/store/storetest"
)

// BenchmarkSessionRead is the per-request cost of loading a session.
func BenchmarkSessionRead(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, storetest.SQLiteDSN(b), nil, WithSealer(mustSealer(b)))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	sess, err := s.CreateSession(ctx, "", make([]byte, 256), testLifetime)
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.GetSession(ctx, sess.ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAppendAudit is the cost of one audited action.
func BenchmarkAppendAudit(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, storetest.SQLiteDSN(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.AppendAudit(ctx, AuditEntry{Actor: "ada", Action: AuditReveal, Tenant: "us/ws_1", Target: "edr_1"}); err != nil {
			b.Fatal(err)
		}
	}
}

func mustSealer(b *testing.B) *Sealer {
	key := make([]byte, SealerKeySize)
	s, err := NewSealer([][]byte{key})
	if err != nil {
		b.Fatal(err)
	}
	return s
}
