package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AppliedMigration is one row of schema_migrations.
type AppliedMigration struct {
	Version   int       `json:"version"`
	Name      string    `json:"name"`
	AppliedAt time.Time `json:"applied_at"`
}

// AppliedMigrations lists the applied schema versions, newest first. A
// database nothing has migrated yet has no schema_migrations table: that
// is an empty list, not an error, so that `wabiz doctor` can say "not
// migrated" instead of failing on a missing table.
func (s *Store) AppliedMigrations(ctx context.Context) ([]AppliedMigration, error) {
	query := `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'schema_migrations'`
	switch s.dialect {
	case SQLite:
		query = `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	case Postgres:
		query = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'`
	}
	var n int
	if err := s.db.QueryRowContext(ctx, query).Scan(&n); err != nil {
		return nil, fmt.Errorf("store: look for schema_migrations: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version DESC")
	if err != nil {
		return nil, err
	}
	return collectRows(rows, func(r rowScanner) (AppliedMigration, error) {
		var m AppliedMigration
		var at int64
		err := r.Scan(&m.Version, &m.Name, &at)
		m.AppliedAt = time.Unix(at, 0).UTC() // applied_at is in seconds, unlike the other tables
		return m, err
	})
}

// DatabaseTime is the database server's clock, for comparing with this
// host's. SQLite runs inside this process, so its clock is the host's and
// the comparison is only meaningful on PostgreSQL and MySQL.
func (s *Store) DatabaseTime(ctx context.Context) (time.Time, error) {
	var (
		raw sql.NullString
		err error
	)
	switch s.dialect {
	case SQLite:
		// Milliseconds since the epoch, computed by SQLite itself.
		err = s.db.QueryRowContext(ctx, "SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)").Scan(&raw)
	case Postgres:
		err = s.db.QueryRowContext(ctx, "SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT)").Scan(&raw)
	default:
		// UNIX_TIMESTAMP(NOW(3)) is in the session's time zone's terms but
		// returns seconds since the epoch whatever the zone.
		err = s.db.QueryRowContext(ctx, "SELECT CAST(FLOOR(UNIX_TIMESTAMP(NOW(3)) * 1000) AS SIGNED)").Scan(&raw)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("store: read the database clock: %w", err)
	}
	ms, err := strconv.ParseInt(strings.TrimSpace(raw.String), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: the database clock answered %q: %w", raw.String, err)
	}
	return time.UnixMilli(ms).UTC(), nil
}
