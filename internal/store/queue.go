package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The durable queue primitive. Every queue of wabiz (the outbox, the
// callbacks, the sandbox's and the Cloud bridge's events) is a table whose
// rows carry the same bookkeeping columns:
//
//	<due column>  BIGINT   the row may be claimed once it is <= now (Unix ms)
//	attempts      INTEGER  failed tries so far
//	lease_owner   VARCHAR  the node that holds the row ('' nobody)
//	lease_until   BIGINT   when that hold ends
//	error_history TEXT     the last few failures, a JSON array (queueError)
//
// A row's state follows from them: waiting (due in the future), available,
// leased (lease_until in the future), held back after a failure (leased to
// nobody until the retry time). Finished rows leave the queue: callbacks
// and events are deleted, outbox messages move to another status (the
// outbox's extra condition is status = 'queued').
//
// A claim hands out up to limit available rows in the queue's order and
// leases them to the claimer, in one statement where the engine allows it:
// UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING on
// PostgreSQL; the same without the lock clause on SQLite, whose immediate
// write transaction is the lock (and which joins the group commit, see
// claimTx); on MySQL and MariaDB, which have no UPDATE ... RETURNING, a
// locking SELECT then an UPDATE in one transaction (SKIP LOCKED where the
// server has it: MySQL 8, MariaDB 10.6, detected at Open). A lease that
// runs out makes the row claimable again by anyone: that is how the work
// of a crashed node is recovered; a node gives back its own leases when it
// starts (ReleaseLeases).

// queueTable describes one queue's table to the primitive.
type queueTable struct {
	name string
	id   string // the key column
	due  string // the due-time column; "" when every row is due at once
	// where is a fixed condition every claimable row meets (no arguments),
	// e.g. the outbox's status = 'queued'; "" for none.
	where string
	// order lists the columns rows are claimed in (ORDER BY), ending with
	// a unique one so the order is total.
	order string
	// columns are what a claim returns, in the order the queue's scan
	// function reads them.
	columns string
	// key is an optional ordering-key column: rows sharing a key are
	// handled in order, so none of them is claimable while another row of
	// the key is held by a different owner or held back after a failure.
	// Rows whose key is '' are not ordered.
	key string
}

// claimRequest is one claim's parameters.
type claimRequest struct {
	owner string
	now   time.Time
	lease time.Duration
	limit int
	// ownLeftovers makes rows the owner itself still holds claimable: the
	// owner says it has nothing in flight, so what it holds was left over
	// (a send that failed half-way, an event it did not acknowledge).
	ownLeftovers bool
	// filter narrows the claim to the rows a caller may take (for example
	// the shards a node holds): a condition with '?' placeholders, ANDed
	// with the rest, and its arguments.
	filter     string
	filterArgs []any
}

// candidates is the SELECT that picks the rows a claim takes, with its
// arguments: due, not held by someone else, meeting the queue's condition
// and the caller's filter, not behind a held row of the same key.
func (s *Store) candidates(q queueTable, c claimRequest, columns string) (string, []any) {
	nowMs := c.now.UnixMilli()
	var b strings.Builder
	var args []any
	b.WriteString("SELECT " + columns + " FROM " + q.name + " c WHERE ")
	if q.due != "" {
		b.WriteString(q.due + " <= ? AND ")
		args = append(args, nowMs)
	}
	if c.ownLeftovers {
		b.WriteString("(lease_until <= ? OR lease_owner = ?)")
		args = append(args, nowMs, c.owner)
	} else {
		b.WriteString("lease_until <= ?")
		args = append(args, nowMs)
	}
	if q.where != "" {
		b.WriteString(" AND " + q.where)
	}
	if c.filter != "" {
		b.WriteString(" AND (" + c.filter + ")")
		args = append(args, c.filterArgs...)
	}
	if q.key != "" {
		// The subquery reads without locking on every engine (a locking
		// clause applies to the outer query's own table only).
		b.WriteString(" AND (c." + q.key + " = '' OR NOT EXISTS (SELECT 1 FROM " + q.name + " b WHERE b." + q.key + " = c." + q.key +
			" AND b." + q.id + " <> c." + q.id + " AND b.lease_until > ? AND b.lease_owner <> ?))")
		args = append(args, nowMs, c.owner)
	}
	b.WriteString(" ORDER BY " + q.order + " LIMIT ?")
	args = append(args, c.limit)
	return b.String() + s.forUpdate(), args
}

// claimRows claims rows of q for c.owner and returns them in q's order;
// scan reads one row of q.columns, compare orders two of them as q.order
// does (RETURNING promises no order).
func claimRows[T any](ctx context.Context, s *Store, q queueTable, c claimRequest,
	scan func(rowScanner) (T, error), compare func(a, b T) int, id func(T) any) ([]T, error) {
	if c.limit <= 0 {
		return nil, nil
	}
	until := c.now.Add(c.lease).UnixMilli()
	var out []T
	err := s.claimTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out = nil
		if s.dialect == MySQL {
			pick, args := s.candidates(q, c, q.columns)
			rows, err := s.txQuery(ctx, tx, pick, args...)
			if err != nil {
				return err
			}
			if out, err = collectRows(rows, scan); err != nil || len(out) == 0 {
				return err
			}
			ids := make([]any, 0, len(out)+2)
			ids = append(ids, c.owner, until)
			for _, v := range out {
				ids = append(ids, id(v))
			}
			_, err = s.txExec(ctx, tx, "UPDATE "+q.name+" SET lease_owner = ?, lease_until = ? WHERE "+q.id+" IN ("+placeholders(len(out))+")", ids...)
			return err
		}
		pick, args := s.candidates(q, c, q.id)
		rows, err := s.txQuery(ctx, tx, "UPDATE "+q.name+" SET lease_owner = ?, lease_until = ? WHERE "+q.id+" IN ("+pick+") RETURNING "+q.columns,
			append([]any{c.owner, until}, args...)...)
		if err != nil {
			return err
		}
		out, err = collectRows(rows, scan)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, compare)
	return out, nil
}

// releaseLeases gives back every row of table that owner holds (and that
// meet cond, when not ""). Rows held back after a failure belong to nobody
// and stay held.
func (s *Store) releaseLeases(ctx context.Context, table, owner, cond string) (int64, error) {
	if owner == "" {
		return 0, nil // '' is nobody: those rows are held back, not leased
	}
	if cond != "" {
		cond = " AND " + cond
	}
	// Retried on a deadlock: a node restarting gives back its previous
	// run's rows while the leader gives back the same silent node's and
	// other nodes claim beside them (MySQL picked this statement as the
	// victim, and the restart stopped on it).
	res, err := s.execRetry(ctx, "UPDATE "+table+" SET lease_owner = '', lease_until = 0 WHERE lease_owner = ?"+cond, owner)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// The error history keeps the last errorHistoryLength failures of a row,
// each cut to errorHistoryBytes: enough to see what keeps going wrong,
// never a row that grows with every retry.
const (
	errorHistoryLength = 5
	errorHistoryBytes  = 500
)

// queueError is one failed attempt in a row's error history.
type queueError struct {
	At      int64  `json:"at,omitempty"` // Unix ms; absent when not known
	Attempt int    `json:"attempt"`
	Error   string `json:"error"`
}

// appendError adds one failure to a stored history (nil or "" when none)
// and returns the bounded result. An unreadable history starts over.
func appendError(history sql.NullString, e queueError) string {
	var list []queueError
	if history.Valid && history.String != "" {
		_ = json.Unmarshal([]byte(history.String), &list)
	}
	if len(e.Error) > errorHistoryBytes {
		cut := errorHistoryBytes
		for cut > 0 && !utf8.RuneStart(e.Error[cut]) {
			cut--
		}
		e.Error = e.Error[:cut]
	}
	list = append(list, e)
	if len(list) > errorHistoryLength {
		list = list[len(list)-errorHistoryLength:]
	}
	out, _ := json.Marshal(list)
	return string(out)
}

// retry is one claimed row given back, after a failed attempt or
// unchanged. Its error joins the row's history only when attempts grew:
// a row given back untried (a shutdown) repeats no failure.
type retry struct {
	id       any
	attempts int       // the row's attempts from now on, or oneMoreAttempt, or sameAttempts
	at       time.Time // when the attempt failed; zero when unknown
	next     time.Time // when the row may be claimed again
	err      string
}

// Relative attempt counts for a retry.
const (
	oneMoreAttempt = -1 // one more than the row has
	sameAttempts   = -2 // as the row has (given back untried)
)

// retryMode says how a row given back keeps its place.
type retryMode int

const (
	// moveDue sets the due column to next: the row takes its place in the
	// queue again by its new due time (outbox messages, callbacks).
	moveDue retryMode = iota
	// holdBack leaves the due time and leases the row to nobody until
	// next: it keeps its place in the order, and the later rows of its
	// ordering key wait behind it (network events).
	holdBack
)

// retryRows gives claimed rows back, in tx: attempts and the error history
// are written, and each row is claimable again at its next. set adds
// queue-specific assignments, whose values extra(i) gives for retries[i];
// onlyOwner, when set, leaves alone rows that owner no longer holds (its
// lease ran out and another node took them).
func (s *Store) retryRows(ctx context.Context, tx *sql.Tx, q queueTable, mode retryMode, retries []retry, onlyOwner string,
	set string, extra func(i int) []any) error {
	if len(retries) == 0 {
		return nil
	}
	type stored struct {
		id       string
		attempts int
		history  sql.NullString
	}
	known := map[string]stored{}
	for start := 0; start < len(retries); start += idsPerStatement {
		chunk := retries[start:min(start+idsPerStatement, len(retries))]
		ids := make([]any, len(chunk))
		for i, r := range chunk {
			ids[i] = r.id
		}
		rows, err := s.txQuery(ctx, tx, "SELECT "+q.id+", attempts, error_history FROM "+q.name+" WHERE "+q.id+" IN ("+placeholders(len(ids))+")", ids...)
		if err != nil {
			return err
		}
		found, err := collectRows(rows, func(r rowScanner) (stored, error) {
			var v stored
			return v, r.Scan(&v.id, &v.attempts, &v.history)
		})
		if err != nil {
			return err
		}
		for _, v := range found {
			known[v.id] = v
		}
	}
	var stmt strings.Builder
	stmt.WriteString("UPDATE " + q.name + " SET attempts = ?, error_history = ?, ")
	if mode == moveDue {
		stmt.WriteString(q.due + " = ?, lease_owner = '', lease_until = 0")
	} else {
		stmt.WriteString("lease_owner = '', lease_until = ?")
	}
	if set != "" {
		stmt.WriteString(", " + set)
	}
	stmt.WriteString(" WHERE " + q.id + " = ?")
	if q.where != "" {
		stmt.WriteString(" AND " + q.where)
	}
	if onlyOwner != "" {
		stmt.WriteString(" AND lease_owner = ?")
	}
	query := stmt.String()
	for i, r := range retries {
		row, ok := known[idString(r.id)]
		if !ok {
			continue // gone: delivered or removed meanwhile
		}
		switch r.attempts {
		case oneMoreAttempt:
			r.attempts = row.attempts + 1
		case sameAttempts:
			r.attempts = row.attempts
		}
		var history any
		if row.history.Valid {
			history = row.history.String
		}
		if r.err != "" && r.attempts > row.attempts {
			e := queueError{Attempt: r.attempts, Error: r.err}
			if !r.at.IsZero() {
				e.At = r.at.UnixMilli()
			}
			history = appendError(row.history, e)
		}
		args := []any{r.attempts, history, r.next.UnixMilli()}
		if extra != nil {
			args = append(args, extra(i)...)
		}
		args = append(args, r.id)
		if onlyOwner != "" {
			args = append(args, onlyOwner)
		}
		if _, err := s.txExec(ctx, tx, query, args...); err != nil {
			return err
		}
	}
	return nil
}

// idString is the text form of a queue key (int64 or string), as the
// history lookup scans it.
func idString(id any) string {
	switch v := id.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}

// EventRetry gives back one claimed network event whose handling failed:
// it is held back until Until (keeping its place in the order, with the
// later events of its ordering key waiting behind it), then claimable by
// any node; Reason joins its error history and an attempt is counted.
// Reason "" gives back an event that was not tried (one behind a failed
// event of its key): held as long, with no attempt counted.
type EventRetry struct {
	ID     int64
	Until  time.Time
	Reason string
}

// holdEvents writes retries for the events of q that owner still holds.
func (s *Store) holdEvents(ctx context.Context, q queueTable, owner string, retries []EventRetry, now time.Time) error {
	if len(retries) == 0 {
		return nil
	}
	rs := make([]retry, len(retries))
	for i, r := range retries {
		rs[i] = retry{id: r.ID, attempts: oneMoreAttempt, at: now, next: r.Until, err: r.Reason}
		if r.Reason == "" {
			rs[i].attempts = sameAttempts
		}
	}
	return s.grouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return s.retryRows(ctx, tx, q, holdBack, rs, owner, "", nil)
	})
}

// maxOrderingKey is the width of the ordering_key columns (191 characters
// keeps a utf8mb4 index within InnoDB's oldest limit).
const maxOrderingKey = 191

// storedOrderingKey cuts a key to the column: two long keys that share
// their first 191 bytes are then ordered together, which costs only some
// concurrency.
func storedOrderingKey(key string) string {
	if len(key) <= maxOrderingKey {
		return key
	}
	cut := maxOrderingKey
	for cut > 0 && !utf8.RuneStart(key[cut]) {
		cut--
	}
	return key[:cut]
}
