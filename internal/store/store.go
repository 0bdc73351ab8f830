// Package store holds all of wabiz's SQL. One Store speaks one of three
// dialects (SQLite, PostgreSQL, MySQL/MariaDB); queries are written once with
// '?' placeholders and rebound for PostgreSQL, and the few statements whose
// syntax differs are chosen per dialect next to each other so they stay in step.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wabiz/wabiz/internal/metrics"
)

// Dialect names the SQL flavour of a Store.
type Dialect string

// The three supported dialects, named as WA_DB_ENGINE names them.
const (
	SQLite   Dialect = "SQLITE"
	Postgres Dialect = "PGSQL"
	MySQL    Dialect = "MYSQL"
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
	ErrConflict = errors.New("store: concurrent update, retry")
)

// Config says where the database is. For SQLite only SQLitePath matters; for
// PostgreSQL and MySQL wabiz connects to the server and creates its database
// <NamePrefix>wabiz when missing, as the official client created its own.
type Config struct {
	Engine          Dialect
	SQLitePath      string
	Host            string
	Port            int
	User            string
	Password        string
	NamePrefix      string
	SSLCA           string
	SSLCert         string
	SSLKey          string
	SSLVerify       bool
	ConnIdleTimeout time.Duration
	MaxOpenConns    int
}

var namePrefixPattern = regexp.MustCompile(`^[A-Za-z0-9_]{0,32}$`)

// DatabaseName is the database wabiz uses on a PostgreSQL or MySQL server.
func (c Config) DatabaseName() string { return c.NamePrefix + "wabiz" }

// Environment returns the WA_DB_* (and WABIZ_SQLITE_PATH) variables that
// point a wabiz process at the database c names.
func (c Config) Environment() []string {
	if c.Engine == SQLite {
		return []string{"WA_DB_ENGINE=SQLITE", "WABIZ_SQLITE_PATH=" + c.SQLitePath}
	}
	env := []string{
		"WA_DB_ENGINE=" + string(c.Engine),
		"WA_DB_HOSTNAME=" + c.Host,
		"WA_DB_USERNAME=" + c.User,
		"WA_DB_PASSWORD=" + c.Password,
		"WA_DB_NAME_PREFIX=" + c.NamePrefix,
	}
	if c.Port > 0 {
		env = append(env, "WA_DB_PORT="+strconv.Itoa(c.Port))
	}
	return env
}

// Store is the handle every other package receives.
type Store struct {
	db      *sql.DB
	dialect Dialect
	name    string // database name or SQLite file, for support output

	rebound sync.Map // query text -> rebound text (PostgreSQL only)
	stmts   stmtCache

	// writer serialises this process's writes on SQLite, which has one
	// writer: waiting here wakes the next writer the moment the last one
	// commits, where waiting on SQLite's busy handler sleeps in steps of up
	// to 100 ms. Other processes on the same file still meet the busy
	// handler.
	writer sync.Mutex
	// writerConn is, on SQLite, the one connection transactions run on
	// (held under writer): SQLite drops a connection's page cache whenever
	// another connection has written since its last transaction, so writes
	// spread over the pool re-read the pages they change from the file on
	// almost every commit, where one connection keeps them cached.
	writerConn *sql.Conn

	// skipLocked is set when the server understands FOR UPDATE SKIP LOCKED
	// (PostgreSQL, MySQL 8, MariaDB 10.6+), so queue claims by several
	// processes pass each other instead of waiting. SQLite has one writer.
	skipLocked bool

	group groupCommitter // the accept path's group commit (groupcommit.go)
}

// Open connects (creating the database on a server engine when it does not
// exist yet) and checks the connection. It does not migrate: call Migrate.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if !namePrefixPattern.MatchString(cfg.NamePrefix) {
		return nil, fmt.Errorf("store: database name prefix %q may only hold letters, digits and underscores (at most 32)", cfg.NamePrefix)
	}
	var (
		db   *sql.DB
		name string
		err  error
	)
	switch cfg.Engine {
	case SQLite, "":
		cfg.Engine = SQLite
		db, err = openSQLite(cfg)
		name = cfg.SQLitePath
	case Postgres:
		db, err = openPostgres(ctx, cfg)
		name = cfg.DatabaseName()
	case MySQL:
		db, err = openMySQL(ctx, cfg)
		name = cfg.DatabaseName()
	default:
		return nil, fmt.Errorf("store: unknown database engine %q", cfg.Engine)
	}
	if err != nil {
		return nil, err
	}
	if cfg.ConnIdleTimeout > 0 {
		db.SetConnMaxIdleTime(cfg.ConnIdleTimeout)
	}
	if err := ping(ctx, db, cfg.Engine); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s database %s: %w", cfg.Engine, name, err)
	}
	st := &Store{db: db, dialect: cfg.Engine, name: name}
	switch cfg.Engine {
	case Postgres:
		st.skipLocked = true
	case MySQL:
		v, err := st.ServerVersion(ctx)
		if err != nil {
			db.Close()
			return nil, err
		}
		st.skipLocked = mysqlHasSkipLocked(v)
	}
	return st, nil
}

// mysqlHasSkipLocked reads a MySQL or MariaDB version string.
func mysqlHasSkipLocked(version string) bool {
	var major, minor int
	fmt.Sscanf(version, "%d.%d", &major, &minor)
	if strings.Contains(strings.ToLower(version), "mariadb") {
		return major > 10 || major == 10 && minor >= 6
	}
	return major >= 8
}

// forUpdate is the row-locking suffix of a claim query.
func (s *Store) forUpdate() string {
	switch {
	case s.dialect == SQLite:
		return ""
	case s.skipLocked:
		return " FOR UPDATE SKIP LOCKED"
	default:
		return " FOR UPDATE"
	}
}

// Close releases the connection pool.
func (s *Store) Close() error {
	s.closeStatements()
	s.writer.Lock()
	if s.writerConn != nil {
		s.writerConn.Close()
		s.writerConn = nil
	}
	s.writer.Unlock()
	return s.db.Close()
}

// beginTx starts a transaction: on SQLite on the writer connection (the
// caller holds writer), elsewhere on any connection of the pool.
func (s *Store) beginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	if s.dialect != SQLite {
		return s.db.BeginTx(ctx, opts)
	}
	if s.writerConn == nil {
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		s.writerConn = conn
	}
	tx, err := s.writerConn.BeginTx(ctx, opts)
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) {
		// The connection broke: the next transaction takes another one.
		s.writerConn.Close()
		s.writerConn = nil
	}
	return tx, err
}

// Dialect reports which engine this store talks to.
func (s *Store) Dialect() Dialect { return s.dialect }

// Name is the database name (server engines) or file (SQLite).
func (s *Store) Name() string { return s.name }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// ServerVersion is the database server's own version string.
func (s *Store) ServerVersion(ctx context.Context) (string, error) {
	var q string
	switch s.dialect {
	case SQLite:
		q = "SELECT sqlite_version()"
	default:
		q = "SELECT version()"
	}
	var v string
	err := s.db.QueryRowContext(ctx, q).Scan(&v)
	return v, err
}

// q rebinds '?' placeholders to '$n' for PostgreSQL. Our SQL never holds a
// literal question mark, so a plain scan is enough; results are cached because
// the same few statements run on every request.
func (s *Store) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	if v, ok := s.rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	out := b.String()
	s.rebound.Store(query, out)
	return out
}

// lockWriter takes the SQLite writer lock (a no-op on the server engines,
// which lock rows, not the database) and returns its release.
func (s *Store) lockWriter() func() {
	if s.dialect != SQLite {
		return func() {}
	}
	s.writer.Lock()
	return s.writer.Unlock
}

func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	metrics.DBStatements.Inc()
	unlock := s.lockWriter()
	defer unlock()
	if st := s.prepared(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return s.db.ExecContext(ctx, s.q(query), args...)
}

// execRetry is exec for a single statement the server may pick as a
// deadlock victim (an insert beside queue claims).
func (s *Store) execRetry(ctx context.Context, query string, args ...any) (sql.Result, error) {
	for attempt := 0; ; attempt++ {
		res, err := s.exec(ctx, query, args...)
		if err == nil || attempt == 4 || !retryable(err) || ctx.Err() != nil {
			return res, err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
}

func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	metrics.DBStatements.Inc()
	if st := s.prepared(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.db.QueryRowContext(ctx, s.q(query), args...)
}

func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	metrics.DBStatements.Inc()
	if st := s.prepared(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.db.QueryContext(ctx, s.q(query), args...)
}

// onDuplicateDoNothing returns the statement suffix that makes an INSERT a
// no-op when the key exists, so RowsAffected tells whether it inserted.
// keyColumns is the primary key ("id", or "pack_id, sticker_index").
func (s *Store) onDuplicateDoNothing(keyColumns string) string {
	if s.dialect == MySQL {
		first, _, _ := strings.Cut(keyColumns, ",")
		return " ON DUPLICATE KEY UPDATE " + first + " = " + first
	}
	return " ON CONFLICT (" + keyColumns + ") DO NOTHING"
}

// tx runs fn in a transaction, committing when it returns nil. On MySQL the
// transaction reads committed data (InnoDB's default REPEATABLE READ takes gap
// locks on queue claims that stall concurrent inserts). A deadlock or lock
// timeout chosen by the server is retried a few times: fn must be safe to run
// again.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var opts *sql.TxOptions
	if s.dialect == MySQL {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	for attempt := 0; ; attempt++ {
		err := s.txOnce(ctx, opts, fn)
		if err == nil || attempt == 4 || !retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
}

func (s *Store) txOnce(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	unlock := s.lockWriter()
	defer unlock()
	tx, err := s.beginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// retryable reports a failure the database asks the client to retry:
// deadlocks and lock timeouts (MySQL), serialization failures and deadlocks
// (PostgreSQL), a busy SQLite file.
func retryable(err error) bool {
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		return my.Number == 1213 || my.Number == 1205
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40001" || pg.Code == "40P01"
	}
	return strings.Contains(err.Error(), "SQLITE_BUSY")
}

// Released counts the rows ReleaseLeases gave back, queue by queue.
type Released struct {
	Messages, Callbacks, SandboxEvents, CloudEvents int64
}

// Total is the number of rows given back.
func (r Released) Total() int64 { return r.Messages + r.Callbacks + r.SandboxEvents + r.CloudEvents }

// ReleaseLeases gives back every row of every queue (outbox messages,
// callbacks, sandbox and Cloud events) that owner had claimed. A process
// calls it at start with its own node id: what its previous run held when
// it crashed is due again at once instead of when the leases run out.
// Events held back after a failed handling stay held: that is a retry
// delay, not a lease.
func (s *Store) ReleaseLeases(ctx context.Context, owner string) (Released, error) {
	var r Released
	for _, q := range []struct {
		table string
		count *int64
	}{{"outbox", &r.Messages}, {"callbacks", &r.Callbacks}, {"sandbox_events", &r.SandboxEvents}, {"cloud_events", &r.CloudEvents}} {
		cond := ""
		if q.table == "outbox" {
			// Only queued messages are ever leased: the status index
			// spares a scan of the whole history.
			cond = outboxQueue.where
		}
		n, err := s.releaseLeases(ctx, q.table, owner, cond)
		if err != nil {
			return r, err
		}
		*q.count = n
	}
	return r, nil
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ping checks the connection. Switching a new SQLite file to WAL needs a
// moment of exclusive access that SQLite does not wait for on its own, so two
// processes opening the same new file can see SQLITE_BUSY once: retry briefly.
func ping(ctx context.Context, db *sql.DB, engine Dialect) error {
	delay := 10 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := db.PingContext(ctx)
		if err == nil || engine != SQLite || attempt == 50 || !strings.Contains(err.Error(), "SQLITE_BUSY") {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// placeholders is "?, ?, ?" for n arguments: an IN list or a VALUES row,
// rebound for PostgreSQL like every other query.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// collectRows scans every row with scan and closes rows.
func collectRows[T any](rows *sql.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
