package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// dbNowMillis is the database's clock in Unix milliseconds. Leases go by
// it rather than by each replica's own clock, which may run ahead of the
// others' and take a lease early.
const dbNowMillis = `(EXTRACT(EPOCH FROM statement_timestamp()) * 1000)::bigint`

// TryLease takes the lease name for holder, or renews it if holder has it
// already, until ttl from now, and reports whether holder has it. It is
// how exactly one replica does a piece of work (polling, evaluating): each
// asks again well before ttl runs out, the holder keeps the lease, and
// when the holder stops renewing (it stopped or hangs) another replica
// gets it once ttl has passed. Holders name themselves uniquely (a random
// ID per process).
//
// On SQLite the lease is always granted: one process owns a SQLite file.
func (s *Store) TryLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if name == "" || holder == "" || ttl < time.Millisecond {
		return false, fmt.Errorf("store: lease %q for %q: a name, a holder and a ttl of at least 1ms are needed", name, holder)
	}
	if !s.d.replicas {
		return true, nil
	}
	// One statement: concurrent takers serialize on the primary key, and
	// each sees the row the one before it left.
	var got string
	err := s.write.QueryRowContext(ctx, s.d.rebind(`INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, `+dbNowMillis+` + ?)
		ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
		WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= `+dbNowMillis+`
		RETURNING holder`), name, holder, ttl.Milliseconds()).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // another holder's lease has not expired
	}
	if err != nil {
		return false, fmt.Errorf("store: lease %s: %w", name, err)
	}
	return got == holder, nil
}

// ReleaseLease gives up holder's lease name, so another replica may take
// it at once rather than after its ttl. Releasing a lease one does not
// hold changes nothing.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if !s.d.replicas {
		return nil
	}
	if _, err := s.exec(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("store: release lease %s: %w", name, err)
	}
	return nil
}
