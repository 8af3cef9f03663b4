package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// ErrUnavailable reports a database that did not answer or refused the
// work (down, restarting, locked by another program, full), which a person
// can only wait out, as opposed to a mistake in a query. Errors matching
// it wrap the driver's error, whose message they keep.
var ErrUnavailable = errors.New("store: database unavailable")

// unavailableError marks a driver error as ErrUnavailable while keeping it
// (and its message) in the chain.
type unavailableError struct{ cause error }

func (e *unavailableError) Error() string        { return e.cause.Error() }
func (e *unavailableError) Unwrap() error        { return e.cause }
func (e *unavailableError) Is(target error) bool { return target == ErrUnavailable }

// SQLite primary result codes that mean the database could not be used
// right now, as opposed to a mistake in a query.
var sqliteUnavailableCodes = map[int]bool{
	5:  true, // SQLITE_BUSY: another connection (a backup?) holds the lock past the busy timeout
	6:  true, // SQLITE_LOCKED
	8:  true, // SQLITE_READONLY: the file or its directory turned read-only
	10: true, // SQLITE_IOERR
	13: true, // SQLITE_FULL: the disk is full
	14: true, // SQLITE_CANTOPEN
	15: true, // SQLITE_PROTOCOL
}

// isUnavailable reports whether a driver error means the database did not
// answer rather than that a query was wrong.
func isUnavailable(err error) bool {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err != nil
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		return sqliteUnavailableCodes[sqliteErr.Code()&0xff]
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 08: connection exception; 53: insufficient resources (too many
		// connections, disk full); 57: operator intervention (shutdown,
		// terminated, cannot connect now); 58: system error (I/O).
		for _, class := range []string{"08", "53", "57", "58"} {
			if strings.HasPrefix(pgErr.Code, class) {
				return true
			}
		}
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	// Failed before anything reached PostgreSQL (dial, TLS, a dead pool
	// connection).
	return pgconn.SafeToRetry(err)
}

// classify wraps err in ErrUnavailable when the database did not answer;
// any other error (driver.ErrSkip and io.EOF included, which database/sql
// compares by identity) is returned as it is.
func classify(err error) error {
	if err == nil || err == driver.ErrSkip || err == io.EOF || !isUnavailable(err) {
		return err
	}
	var already *unavailableError
	if errors.As(err, &already) {
		return err
	}
	return &unavailableError{cause: err}
}

// openClassified opens a pool of driverName whose every error passes
// through classify, so each method of the Store reports an unanswering
// database as ErrUnavailable whichever statement, scan or commit met it.
func openClassified(driverName, dsn string) (*sql.DB, error) {
	probe, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, err
	}
	drv := probe.Driver()
	probe.Close()
	var inner driver.Connector = dsnConnector{drv: drv, dsn: dsn}
	if dc, ok := drv.(driver.DriverContext); ok {
		if inner, err = dc.OpenConnector(dsn); err != nil {
			return nil, err
		}
	}
	return sql.OpenDB(classifyingConnector{inner}), nil
}

type dsnConnector struct {
	drv driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.drv }

type classifyingConnector struct{ inner driver.Connector }

func (c classifyingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, classify(err)
	}
	return &classifyingConn{inner: conn}, nil
}

func (c classifyingConnector) Driver() driver.Driver { return c.inner.Driver() }

// classifyingConn forwards to the driver's connection. It implements every
// optional interface database/sql looks for and falls back as database/sql
// itself would when the driver's connection lacks one.
type classifyingConn struct{ inner driver.Conn }

func (c *classifyingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *classifyingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var (
		st  driver.Stmt
		err error
	)
	if p, ok := c.inner.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = c.inner.Prepare(query)
	}
	if err != nil {
		return nil, classify(err)
	}
	return &classifyingStmt{inner: st, conn: c.inner}, nil
}

func (c *classifyingConn) Close() error { return classify(c.inner.Close()) }

func (c *classifyingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *classifyingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var (
		tx  driver.Tx
		err error
	)
	if b, ok := c.inner.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		if opts.Isolation != 0 || opts.ReadOnly {
			return nil, errors.New("store: driver does not support transaction options")
		}
		tx, err = c.inner.Begin() //nolint:staticcheck // the fallback database/sql itself uses
	}
	if err != nil {
		return nil, classify(err)
	}
	return classifyingTx{tx}, nil
}

func (c *classifyingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.inner.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	res, err := e.ExecContext(ctx, query, args)
	return res, classify(err)
}

func (c *classifyingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.inner.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	rows, err := q.QueryContext(ctx, query, args)
	if err != nil {
		return nil, classify(err)
	}
	return classifyingRows{rows}, nil
}

func (c *classifyingConn) Ping(ctx context.Context) error {
	if p, ok := c.inner.(driver.Pinger); ok {
		return classify(p.Ping(ctx))
	}
	return nil
}

// ResetSession passes the driver's answer through untouched: database/sql
// discards the connection on driver.ErrBadConn.
func (c *classifyingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *classifyingConn) IsValid() bool {
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *classifyingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := c.inner.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

type classifyingTx struct{ inner driver.Tx }

func (t classifyingTx) Commit() error   { return classify(t.inner.Commit()) }
func (t classifyingTx) Rollback() error { return classify(t.inner.Rollback()) }

type classifyingStmt struct {
	inner driver.Stmt
	conn  driver.Conn
}

func (s *classifyingStmt) Close() error  { return classify(s.inner.Close()) }
func (s *classifyingStmt) NumInput() int { return s.inner.NumInput() }

func (s *classifyingStmt) Exec(args []driver.Value) (driver.Result, error) {
	res, err := s.inner.Exec(args) //nolint:staticcheck // only for drivers without StmtExecContext
	return res, classify(err)
}

func (s *classifyingStmt) Query(args []driver.Value) (driver.Rows, error) {
	rows, err := s.inner.Query(args) //nolint:staticcheck // only for drivers without StmtQueryContext
	if err != nil {
		return nil, classify(err)
	}
	return classifyingRows{rows}, nil
}

func (s *classifyingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	e, ok := s.inner.(driver.StmtExecContext)
	if !ok {
		values, err := namedToValues(args)
		if err != nil {
			return nil, err
		}
		return s.Exec(values)
	}
	res, err := e.ExecContext(ctx, args)
	return res, classify(err)
}

func (s *classifyingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := s.inner.(driver.StmtQueryContext)
	if !ok {
		values, err := namedToValues(args)
		if err != nil {
			return nil, err
		}
		return s.Query(values)
	}
	rows, err := q.QueryContext(ctx, args)
	if err != nil {
		return nil, classify(err)
	}
	return classifyingRows{rows}, nil
}

// CheckNamedValue asks the statement, then its connection, as database/sql
// does when a statement has no checker of its own.
func (s *classifyingStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := s.inner.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	if n, ok := s.conn.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func namedToValues(args []driver.NamedValue) ([]driver.Value, error) {
	values := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, errors.New("store: driver does not support named parameters")
		}
		values[i] = a.Value
	}
	return values, nil
}

type classifyingRows struct{ driver.Rows }

func (r classifyingRows) Next(dest []driver.Value) error { return classify(r.Rows.Next(dest)) }
func (r classifyingRows) Close() error                   { return classify(r.Rows.Close()) }
