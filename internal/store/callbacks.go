package store

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"
)

// The callbacks table is the durable webhook queue (callback_persist=true).
// A row is due when next_attempt_at has passed, and is held by one dispatcher
// (lease_owner) until lease_until: a dispatcher that dies mid-delivery loses
// its lease when the time runs out and another one (or itself, restarted)
// claims the row again. Times are Unix milliseconds.

// Callback is one queued webhook notification.
type Callback struct {
	ID            int64
	Kind          string // statuses, messages, contacts, errors, services, media_items
	Payload       []byte // a whole JSON object, as POSTed when sent alone
	Attempts      int    // failed deliveries so far
	NextAttemptAt time.Time
	CreatedAt     time.Time
	LastError     string
}

// Inserts are split so that one statement stays well under MySQL 5.7's
// default max_allowed_packet (4 MiB) and PostgreSQL's 65535 parameters.
const (
	callbackInsertRows  = 500
	callbackInsertBytes = 1 << 20
	idsPerStatement     = 500 // ids in one IN (...) list, for any table
)

// EnqueueCallbacks inserts cbs in one transaction: either all are queued or
// none. ID, Attempts and LastError of the arguments are ignored.
func (s *Store) EnqueueCallbacks(ctx context.Context, cbs []Callback) error {
	if len(cbs) == 0 {
		return nil
	}
	// Grouped with concurrent callers: the core queues a callback for
	// nearly every status, from several senders at once.
	return s.grouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for start := 0; start < len(cbs); {
			end, size := start, 0
			for end < len(cbs) && end-start < callbackInsertRows && (end == start || size+len(cbs[end].Payload) <= callbackInsertBytes) {
				size += len(cbs[end].Payload)
				end++
			}
			var b strings.Builder
			b.WriteString("INSERT INTO callbacks (kind, payload, attempts, next_attempt_at, created_at) VALUES ")
			args := make([]any, 0, 5*(end-start))
			for i, cb := range cbs[start:end] {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?, 0, ?, ?)")
				args = append(args, cb.Kind, string(cb.Payload), cb.NextAttemptAt.UnixMilli(), cb.CreatedAt.UnixMilli())
			}
			if _, err := s.txExec(ctx, tx, b.String(), args...); err != nil {
				return err
			}
			start = end
		}
		return nil
	})
}

const callbackColumns = "id, kind, payload, attempts, next_attempt_at, created_at, last_error"

// ClaimCallbacks leases up to limit callbacks that are due at now and not
// held by a live lease, oldest due first, to owner until now+lease. Rows
// whose lease ran out are claimed again: that is how the work of a crashed
// dispatcher is recovered. Concurrent claimers never receive the same row.
func (s *Store) ClaimCallbacks(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Callback, error) {
	if limit <= 0 {
		return nil, nil
	}
	nowMs, until := now.UnixMilli(), now.Add(lease).UnixMilli()
	var out []Callback
	err := s.claimTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out = out[:0]
		if s.dialect == MySQL {
			return s.claimCallbacksMySQL(ctx, tx, owner, nowMs, until, limit, &out)
		}
		// One statement: the subquery picks and locks (SKIP LOCKED on
		// PostgreSQL; SQLite's write transaction is the lock), the update
		// leases, RETURNING hands the rows back.
		rows, err := s.txQuery(ctx, tx, `UPDATE callbacks SET lease_owner = ?, lease_until = ?
			WHERE id IN (SELECT id FROM callbacks WHERE next_attempt_at <= ? AND lease_until <= ?
				ORDER BY next_attempt_at, id LIMIT ?`+s.forUpdate()+`)
			RETURNING `+callbackColumns, owner, until, nowMs, nowMs, limit)
		if err != nil {
			return err
		}
		return scanCallbacks(rows, &out)
	})
	if err != nil {
		return nil, err
	}
	// RETURNING gives no order guarantee.
	slices.SortFunc(out, func(a, b Callback) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// claimCallbacksMySQL selects and locks, then leases: MySQL and MariaDB have
// no UPDATE ... RETURNING. Without SKIP LOCKED (MySQL 5.7, MariaDB < 10.6) a
// second claimer waits for the first one's commit and then re-reads the rows,
// whose lease now excludes them.
func (s *Store) claimCallbacksMySQL(ctx context.Context, tx *sql.Tx, owner string, nowMs, until int64, limit int, out *[]Callback) error {
	rows, err := tx.QueryContext(ctx, `SELECT `+callbackColumns+` FROM callbacks
		WHERE next_attempt_at <= ? AND lease_until <= ?
		ORDER BY next_attempt_at, id LIMIT ?`+s.forUpdate(), nowMs, nowMs, limit)
	if err != nil {
		return err
	}
	if err := scanCallbacks(rows, out); err != nil || len(*out) == 0 {
		return err
	}
	ids := make([]any, 0, len(*out)+2)
	ids = append(ids, owner, until)
	for _, cb := range *out {
		ids = append(ids, cb.ID)
	}
	_, err = tx.ExecContext(ctx, `UPDATE callbacks SET lease_owner = ?, lease_until = ? WHERE id IN (`+sqlMarks(len(*out))+`)`, ids...)
	return err
}

func scanCallbacks(rows *sql.Rows, out *[]Callback) error {
	defer rows.Close()
	for rows.Next() {
		var (
			cb            Callback
			payload       string
			next, created int64
			lastError     sql.NullString
		)
		if err := rows.Scan(&cb.ID, &cb.Kind, &payload, &cb.Attempts, &next, &created, &lastError); err != nil {
			return err
		}
		cb.Payload = []byte(payload)
		cb.NextAttemptAt = time.UnixMilli(next).UTC()
		cb.CreatedAt = time.UnixMilli(created).UTC()
		cb.LastError = lastError.String
		*out = append(*out, cb)
	}
	return rows.Err()
}

// DeleteCallbacks removes delivered (or dropped) callbacks. Ids that are
// already gone are not an error: another dispatcher may have delivered a row
// whose lease had run out.
func (s *Store) DeleteCallbacks(ctx context.Context, ids []int64) error {
	for start := 0; start < len(ids); start += idsPerStatement {
		chunk := ids[start:min(start+idsPerStatement, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		if _, err := s.execGrouped(ctx, `DELETE FROM callbacks WHERE id IN (`+sqlMarks(len(chunk))+`)`, args...); err != nil {
			return err
		}
	}
	return nil
}

// ReleaseCallbackClaims gives back the callbacks owner holds under the given
// lease ends: the claims a dispatcher saw fail but the database may have
// committed (the reply lost when the connection broke). A dispatcher makes
// each claim's lease end unique, so only those claims' rows are released.
func (s *Store) ReleaseCallbackClaims(ctx context.Context, owner string, untils []time.Time) (int64, error) {
	var released int64
	for start := 0; start < len(untils); start += idsPerStatement {
		chunk := untils[start:min(start+idsPerStatement, len(untils))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, owner)
		for _, u := range chunk {
			args = append(args, u.UnixMilli())
		}
		res, err := s.exec(ctx, `UPDATE callbacks SET lease_owner = '', lease_until = 0
			WHERE lease_owner = ? AND lease_until IN (`+sqlMarks(len(chunk))+`)`, args...)
		if err != nil {
			return released, err
		}
		n, _ := res.RowsAffected()
		released += n
	}
	return released, nil
}

// RescheduleCallbacks records failed attempts in one transaction: each
// callback's Attempts, NextAttemptAt and LastError are written and its lease
// is released, so it is claimable again when NextAttemptAt comes.
func (s *Store) RescheduleCallbacks(ctx context.Context, cbs []Callback) error {
	if len(cbs) == 0 {
		return nil
	}
	return s.grouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, s.q(`UPDATE callbacks SET attempts = ?, next_attempt_at = ?, last_error = ?,
			lease_owner = '', lease_until = 0 WHERE id = ?`))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, cb := range cbs {
			var lastError any
			if cb.LastError != "" {
				lastError = cb.LastError
			}
			if _, err := stmt.ExecContext(ctx, cb.Attempts, cb.NextAttemptAt.UnixMilli(), lastError, cb.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// CountCallbacks is the number of queued callbacks, leased or not.
func (s *Store) CountCallbacks(ctx context.Context) (int64, error) {
	var n int64
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM callbacks`).Scan(&n)
	return n, err
}

// sqlMarks returns "?, ?, ..." with n marks (rebound by s.q on PostgreSQL).
func sqlMarks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
