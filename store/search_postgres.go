package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// postgresNameSearch finds file names with the ILIKE condition itself,
// which a pg_trgm GIN index on run_snapshots.file_name serves: PostgreSQL
// keeps the index in step with the column, so writes have nothing to do.
type postgresNameSearch struct{}

// A pg_trgm GIN index answers with a bitmap of every match before any
// LIMIT applies, so a probe would cost as much as a common term's
// matches: PostgreSQL goes to the window first (see ListRuns).
func (postgresNameSearch) probe(string) (string, []any) { return "", nil }

// restrict adds nothing: the name condition is what reads the index.
func (postgresNameSearch) restrict(string) (string, []any) { return "", nil }

func (postgresNameSearch) reindex(context.Context, *Store, *sql.Tx, int64, string, string) error {
	return nil
}

func (postgresNameSearch) indexNew(context.Context, *sql.Tx, []RunSnapshot, int64) error { return nil }

func (postgresNameSearch) forget(context.Context, *sql.Tx, []any) error { return nil }

func (postgresNameSearch) hotQueries() []string { return nil }

// migrate gives run_snapshots the pg_trgm index that serves file-name
// substring search. Installing pg_trgm may need a superuser: without it
// the index is missing, search still answers (scanning, see ListRuns) and
// a warning says how to fix it; the next Migrate after someone ran CREATE
// EXTENSION builds the index.
func (postgresNameSearch) migrate(ctx context.Context, s *Store) error {
	var exists bool
	if err := s.queryRow(ctx, `SELECT to_regclass('run_snapshots_file_name_trgm') IS NOT NULL`).Scan(&exists); err != nil {
		return fmt.Errorf("store: trigram index: %w", err)
	}
	if exists {
		return nil
	}
	schema, err := s.trigramSchema(ctx)
	if err != nil {
		return err
	}
	if schema == "" {
		// The extension goes into public, shared by every schema of the
		// database, rather than into a schema that may be dropped.
		var hasPublic bool
		if err := s.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public')`).Scan(&hasPublic); err != nil {
			return fmt.Errorf("store: trigram index: %w", err)
		}
		stmt := `CREATE EXTENSION IF NOT EXISTS pg_trgm`
		if hasPublic {
			stmt += ` SCHEMA public`
		}
		if _, err := s.write.ExecContext(ctx, stmt); err != nil {
			// Another replica may have won a race; look again before giving up.
			if schema, _ = s.trigramSchema(ctx); schema == "" {
				s.logger.WarnContext(ctx, "store: pg_trgm is not installed, so file-name search scans instead of using an index; "+
					"ask a superuser to run `CREATE EXTENSION pg_trgm SCHEMA public;` in this database, then run `editwatch migrate`",
					"err", err)
				return nil
			}
		}
		if schema, err = s.trigramSchema(ctx); err != nil || schema == "" {
			return errors.Join(err, errors.New("store: trigram index: pg_trgm missing right after CREATE EXTENSION"))
		}
	}
	stmt := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS run_snapshots_file_name_trgm ON run_snapshots USING gin (file_name %s.gin_trgm_ops)`,
		quoteIdent(schema))
	if _, err := s.write.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("store: trigram index: %w", err)
	}
	return nil
}

// trigramSchema is the schema pg_trgm is installed in, "" when it is not.
func (s *Store) trigramSchema(ctx context.Context) (string, error) {
	var schema sql.NullString
	err := s.queryRow(ctx, `SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
		WHERE e.extname = 'pg_trgm'`).Scan(&schema)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: trigram index: %w", err)
	}
	return schema.String, nil
}

// indexed reports whether pg_trgm could be installed and the index built.
func (postgresNameSearch) indexed(ctx context.Context, s *Store) (bool, error) {
	var exists bool
	if err := s.queryRow(ctx, `SELECT to_regclass('run_snapshots_file_name_trgm') IS NOT NULL`).Scan(&exists); err != nil {
		return false, fmt.Errorf("store: search index: %w", err)
	}
	return exists, nil
}

func quoteIdent(s string) string {
	out := []byte{'"'}
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			out = append(out, '"')
		}
		out = append(out, s[i])
	}
	return string(append(out, '"'))
}
