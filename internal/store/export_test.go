package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"
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

// QueueRow is the queue bookkeeping of one row of a queue table.
type QueueRow struct {
	Attempts   int
	Errors     []string // the error history, oldest first
	ErrorTimes []int64  // when each failed (Unix ms; 0 unknown)
	LeaseOwner string
	LeaseUntil int64
}

// QueueRowOf reads the bookkeeping of the row of table whose key is id.
func (s *Store) QueueRowOf(ctx context.Context, table string, id any) (QueueRow, error) {
	var (
		r       QueueRow
		history sql.NullString
	)
	err := s.queryRow(ctx, "SELECT attempts, error_history, lease_owner, lease_until FROM "+table+" WHERE id = ?", id).
		Scan(&r.Attempts, &history, &r.LeaseOwner, &r.LeaseUntil)
	if err != nil {
		return r, err
	}
	var list []queueError
	if history.Valid {
		if err := json.Unmarshal([]byte(history.String), &list); err != nil {
			return r, err
		}
	}
	for _, e := range list {
		r.Errors = append(r.Errors, e.Error)
		r.ErrorTimes = append(r.ErrorTimes, e.At)
	}
	return r, nil
}

// ClaimOutboxTo is ClaimOutbox narrowed by a caller filter to messages for
// recipient: the kind of filter a node claiming only its shards will use.
func (s *Store) ClaimOutboxTo(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int, recipient string) ([]OutboxMessage, error) {
	return s.claimOutbox(ctx, claimRequest{owner: owner, now: now, lease: lease, limit: limit, filter: "recipient = ?", filterArgs: []any{recipient}})
}

// ErrorHistoryLength and ErrorHistoryBytes bound a row's error history.
const (
	ErrorHistoryLength = errorHistoryLength
	ErrorHistoryBytes  = errorHistoryBytes
)

// OutboxShardOf reads the server shard stored with an outbox message.
func (s *Store) OutboxShardOf(ctx context.Context, id string) (int, error) {
	var shard int
	err := s.queryRow(ctx, "SELECT shard FROM outbox WHERE id = ?", id).Scan(&shard)
	return shard, err
}
