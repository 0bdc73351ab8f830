package store

import (
	"cmp"
	"context"
	"database/sql"
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
	// FailedAt is when the attempt LastError describes failed, as a
	// reschedule records it in the row's error history; zero when unknown.
	// Claims leave it zero.
	FailedAt time.Time
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

// callbacksQueue is the webhook queue as the queue primitive sees it.
var callbacksQueue = queueTable{
	name: "callbacks", id: "id", due: "next_attempt_at", order: "next_attempt_at, id", columns: callbackColumns,
}

func compareCallbacks(a, b Callback) int {
	if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// ClaimCallbacks leases up to limit callbacks that are due at now and not
// held by a live lease, oldest due first, to owner until now+lease. Rows
// whose lease ran out are claimed again: that is how the work of a crashed
// dispatcher is recovered. Concurrent claimers never receive the same row.
func (s *Store) ClaimCallbacks(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Callback, error) {
	return claimRows(ctx, s, callbacksQueue, claimRequest{owner: owner, now: now, lease: lease, limit: limit},
		scanCallback, compareCallbacks, func(cb Callback) any { return cb.ID })
}

// scanCallback reads one row of callbackColumns.
func scanCallback(rows rowScanner) (Callback, error) {
	var (
		cb            Callback
		payload       string
		next, created int64
		lastError     sql.NullString
	)
	if err := rows.Scan(&cb.ID, &cb.Kind, &payload, &cb.Attempts, &next, &created, &lastError); err != nil {
		return Callback{}, err
	}
	cb.Payload = []byte(payload)
	cb.NextAttemptAt = time.UnixMilli(next).UTC()
	cb.CreatedAt = time.UnixMilli(created).UTC()
	cb.LastError = lastError.String
	return cb, nil
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
		if _, err := s.execGrouped(ctx, `DELETE FROM callbacks WHERE id IN (`+placeholders(len(chunk))+`)`, args...); err != nil {
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
			WHERE lease_owner = ? AND lease_until IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return released, err
		}
		n, _ := res.RowsAffected()
		released += n
	}
	return released, nil
}

// RescheduleCallbacks records failed attempts in one transaction: each
// callback's Attempts, NextAttemptAt and LastError are written (LastError
// also joins its error history) and its lease is released, so it is
// claimable again when NextAttemptAt comes.
func (s *Store) RescheduleCallbacks(ctx context.Context, cbs []Callback) error {
	if len(cbs) == 0 {
		return nil
	}
	retries := make([]retry, len(cbs))
	for i, cb := range cbs {
		retries[i] = retry{id: cb.ID, attempts: cb.Attempts, at: cb.FailedAt, next: cb.NextAttemptAt, err: cb.LastError}
	}
	return s.grouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return s.retryRows(ctx, tx, callbacksQueue, moveDue, retries, "", "last_error = ?", func(i int) []any {
			if cbs[i].LastError == "" {
				return []any{nil}
			}
			return []any{cbs[i].LastError}
		})
	})
}

// CountCallbacks is the number of queued callbacks, leased or not.
func (s *Store) CountCallbacks(ctx context.Context) (int64, error) {
	var n int64
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM callbacks`).Scan(&n)
	return n, err
}

// CallbacksAtLeast reports whether n or more callbacks are queued, leased
// or not. It counts at most n rows, so its cost is bounded by n whatever the
// queue holds: a node that does not deliver asks it instead of keeping a
// counter of its own.
func (s *Store) CallbacksAtLeast(ctx context.Context, n int) (bool, error) {
	var got int64
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM callbacks LIMIT ?) AS bounded`, n).Scan(&got)
	return got >= int64(n), err
}
