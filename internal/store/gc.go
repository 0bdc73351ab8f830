package store

import (
	"context"
	"time"
)

// Garbage collection and the counts behind the stats. Deletions go in
// batches: the ids are selected first and deleted by id with the condition
// repeated, because MySQL allows neither LIMIT in an IN subquery nor a
// subquery on the table being deleted from, and a row that moved on in
// between (a late status) must stay.

// finishedOutbox is the condition of outbox rows that will not change any
// more: a late status for them is ignored anyway.
const finishedOutbox = `status IN ('delivered', 'read', 'failed')`

// DeleteFinishedOutbox deletes up to limit delivered, read or failed
// outbound messages whose last change is older than before. It returns how
// many went.
func (s *Store) DeleteFinishedOutbox(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.deleteBatch(ctx, "outbox", finishedOutbox+` AND updated_at < ?`, `updated_at`, []any{before.UnixMilli()}, limit)
}

// DeletePassThroughOutbox is pass_through's sweep: read and failed messages
// go at once; delivered ones once their last change is older than
// deliveredBefore, so that a read receipt arriving soon after delivery still
// finds the message it belongs to.
func (s *Store) DeletePassThroughOutbox(ctx context.Context, deliveredBefore time.Time, limit int) (int64, error) {
	return s.deleteBatch(ctx, "outbox", `(status IN ('read', 'failed') OR (status = 'delivered' AND updated_at < ?))`, `updated_at`,
		[]any{deliveredBefore.UnixMilli()}, limit)
}

// DeleteInboundBefore deletes up to limit inbound messages received before
// before.
func (s *Store) DeleteInboundBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.deleteBatch(ctx, "inbound_messages", `received_at < ?`, `received_at`, []any{before.UnixMilli()}, limit)
}

func (s *Store) deleteBatch(ctx context.Context, table, where, order string, args []any, limit int) (int64, error) {
	rows, err := s.query(ctx, `SELECT id FROM `+table+` WHERE `+where+` ORDER BY `+order+`, id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return 0, err
	}
	ids, err := collectRows(rows, func(r rowScanner) (any, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	res, err := s.execRetry(ctx, `DELETE FROM `+table+` WHERE id IN (`+placeholders(len(ids))+`) AND `+where,
		append(ids, args...)...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// CountOutboxByStatus counts the outbound messages per status.
func (s *Store) CountOutboxByStatus(ctx context.Context) (map[string]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT status, COUNT(*) FROM outbox GROUP BY status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var status string
		var n int64
		if err := rows.Scan(&status, &n); err != nil {
			return nil, err
		}
		out[status] = n
	}
	return out, rows.Err()
}

// CountInbound counts the stored inbound messages.
func (s *Store) CountInbound(ctx context.Context) (int64, error) {
	var n int64
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM inbound_messages`).Scan(&n)
	return n, err
}

// countedTables are the tables /v1/stats/db reports: the ones that grow with
// traffic.
var countedTables = []string{"outbox", "inbound_messages", "contacts", "conversations", "callbacks", "media", "contact_identities", "tokens", "users"}

// CountTableRows counts the rows of each table that grows with traffic.
func (s *Store) CountTableRows(ctx context.Context) (map[string]int64, error) {
	out := make(map[string]int64, len(countedTables))
	for _, t := range countedTables {
		var n int64
		if err := s.queryRow(ctx, `SELECT COUNT(*) FROM `+t).Scan(&n); err != nil {
			return nil, err
		}
		out[t] = n
	}
	return out, nil
}
