package store

import (
	"context"
	"strings"
)

// MySQLHasSkipLocked is exported to the external tests.
var MySQLHasSkipLocked = mysqlHasSkipLocked

// The statements every send runs, exported to the external tests.
const (
	LastSandboxSentSQL = lastSandboxSentSQL
	SandboxSendViewSQL = sandboxSendViewSQL
)

// MigrateTo applies the schema versions up to target.
func (s *Store) MigrateTo(ctx context.Context, target int) ([]int, error) {
	return s.migrateTo(ctx, target)
}

// ExecRaw runs one statement as written (placeholders as ?), for tests that
// lay down rows an earlier schema version would have written.
func (s *Store) ExecRaw(ctx context.Context, query string, args ...any) error {
	_, err := s.db.ExecContext(ctx, s.q(query), args...)
	return err
}

// SQLiteQueryPlan is SQLite's EXPLAIN QUERY PLAN of query, one step a line.
func (s *Store) SQLiteQueryPlan(ctx context.Context, query string, args ...any) (string, error) {
	rows, err := s.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "\n"), rows.Err()
}
