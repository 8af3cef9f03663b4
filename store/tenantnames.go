package store

import (
	"context"
	"fmt"
)

// TenantNames lists up to limit tenants, in name order, for per-tenant
// metrics (a bounded walk on every scrape).
func (s *Store) TenantNames(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.query(ctx, `SELECT tenant FROM tenants ORDER BY tenant LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: tenant names: %w", err)
	}
	var names []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: tenant names: %w", err)
		}
		names = append(names, t)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("store: tenant names: %w", err)
	}
	return names, nil
}
