package store

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Migrate applies the pending migrations of the Store's dialect. On
// PostgreSQL it holds a session advisory lock while it runs, so several
// replicas may start (and migrate) at once: one applies, the others wait
// and then find nothing to do.
func (s *Store) Migrate(ctx context.Context) error {
	provider, err := s.migrationProvider(ctx)
	if err != nil {
		return err
	}
	// provider.Close would close the Store's pool, so it is not called.
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", s.d.name, err)
	}
	for _, r := range results {
		s.logger.InfoContext(ctx, "store: applied migration",
			"dialect", string(s.d.name), "version", r.Source.Version, "duration", r.Duration)
	}
	if err := s.d.names.migrate(ctx, s); err != nil {
		return err
	}
	return s.prepareHot(ctx)
}

// SchemaVersion reports the applied and the newest embedded migration
// versions, for `editwatch migrate` and readiness output.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	provider, err := s.migrationProvider(ctx)
	if err != nil {
		return 0, 0, err
	}
	current, latest, err = provider.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("store: schema version: %w", err)
	}
	return current, latest, nil
}

func (s *Store) migrationProvider(ctx context.Context) (*goose.Provider, error) {
	files, err := fs.Sub(migrationFiles, "migrations/"+string(s.d.name))
	if err != nil {
		return nil, fmt.Errorf("store: migrations for %s: %w", s.d.name, err)
	}
	opts := []goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true),
	}
	if s.d.name == DialectPostgres {
		lockID, err := s.migrationLockID(ctx)
		if err != nil {
			return nil, err
		}
		locker, err := lock.NewPostgresSessionLocker(
			lock.WithLockID(lockID),
			// Poll every second (the default is 5 s) for up to 5 minutes, so a
			// replica waiting on another's migrations starts soon after.
			lock.WithLockTimeout(1, 300),
		)
		if err != nil {
			return nil, fmt.Errorf("store: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	provider, err := goose.NewProvider(s.d.goose, s.write, files, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: migration provider: %w", err)
	}
	return provider, nil
}

// migrationLockID derives the advisory lock from the schema the
// migrations go into: replicas sharing a schema share the lock, while
// stores in different schemas of one database (tests, several
// installations) do not wait for each other.
func (s *Store) migrationLockID(ctx context.Context) (int64, error) {
	var schema string
	if err := s.queryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return 0, fmt.Errorf("store: current schema: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte(schema))
	return lock.DefaultLockID ^ int64(h.Sum64()&0x7fffffffffffffff), nil
}
