package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// OutboxMessage is a message the business sent, from acceptance to its last
// status. Times are kept in Unix milliseconds.
type OutboxMessage struct {
	ID          string
	Recipient   string
	Type        string
	Body        []byte
	Status      string // queued, sent, delivered, read, failed
	Attempts    int
	ScheduledAt time.Time
	CreatedAt   time.Time
	ExpiresAt   time.Time
	// The conversation the message was billed to, fixed when it was sent.
	ConversationID        string
	ConversationOrigin    string
	ConversationExpiresAt time.Time
	// ConversationOpened is set on the message that started its conversation
	// (its statuses carry the expiration timestamp).
	ConversationOpened bool
	LastError          string
	UpdatedAt          time.Time
	// Plan is what the accept decided the worker needs besides Body (the
	// core's send plan, JSON); nil for a message accepted before the
	// outbox kept one.
	Plan []byte
}

// Outbox statuses in the order a message moves through them; failed ends it.
const (
	OutboxQueued    = "queued"
	OutboxSent      = "sent"
	OutboxDelivered = "delivered"
	OutboxRead      = "read"
	OutboxFailed    = "failed"
)

// earlierStatuses lists, for each status, the ones a message may move to it
// from: statuses only move forward, and delivered or read messages cannot
// fail any more.
var earlierStatuses = map[string][]string{
	OutboxSent:      {OutboxQueued},
	OutboxDelivered: {OutboxQueued, OutboxSent},
	OutboxRead:      {OutboxQueued, OutboxSent, OutboxDelivered},
	OutboxFailed:    {OutboxQueued, OutboxSent},
}

const outboxColumns = `id, recipient, message_type, body, status, attempts, scheduled_at, created_at, expires_at,
	conversation_id, conversation_origin, conversation_expires_at, conversation_opened, last_error, updated_at, send_plan`

// GetOutbox reads one message; ErrNotFound when absent.
func (s *Store) GetOutbox(ctx context.Context, id string) (OutboxMessage, error) {
	msgs, err := s.outboxRows(ctx, s.db, `SELECT `+outboxColumns+` FROM outbox WHERE id = ?`, id)
	if err != nil {
		return OutboxMessage{}, err
	}
	if len(msgs) == 0 {
		return OutboxMessage{}, ErrNotFound
	}
	return msgs[0], nil
}

// outboxQueue is the outbox as the queue primitive sees it: queued
// messages, due by scheduled_at.
var outboxQueue = queueTable{
	name: "outbox", id: "id", due: "scheduled_at", where: "status = 'queued'",
	order: "scheduled_at, id", columns: outboxColumns,
}

func compareOutbox(a, b OutboxMessage) int {
	if c := a.ScheduledAt.Compare(b.ScheduledAt); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// ClaimOutbox leases up to limit queued messages that are due, oldest first,
// to owner until now+lease. A crashed owner's lease simply runs out and the
// messages are claimed again. With ownLeftovers, messages owner itself still
// holds are claimed too: the caller says it has nothing in flight, so what
// it holds was left behind by sends that failed half-way (the database went
// away) and is due now, not when the lease runs out.
func (s *Store) ClaimOutbox(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int, ownLeftovers bool) ([]OutboxMessage, error) {
	return s.claimOutbox(ctx, claimRequest{owner: owner, now: now, lease: lease, limit: limit, ownLeftovers: ownLeftovers})
}

func (s *Store) claimOutbox(ctx context.Context, c claimRequest) ([]OutboxMessage, error) {
	return claimRows(ctx, s, outboxQueue, c, scanOutbox, compareOutbox, func(m OutboxMessage) any { return m.ID })
}

// RescheduleOutbox puts a claimed message back in the queue for a later
// try; lastError joins the message's error history.
func (s *Store) RescheduleOutbox(ctx context.Context, id string, attempts int, next time.Time, lastError string, now time.Time) error {
	return s.grouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return s.retryRows(ctx, tx, outboxQueue, moveDue, []retry{{id: id, attempts: attempts, at: now, next: next, err: lastError}}, "",
			"last_error = ?, updated_at = ?", func(int) []any { return []any{lastError, now.UnixMilli()} })
	})
}

// MarkOutboxSent records that the network accepted queued messages and the
// conversation each belongs to, in one grouped write; statuses[i] is
// "sent", or "delivered" when the network's answer already reported the
// delivery. moved[i] is false if msgs[i] had already moved on (another
// process sent it, or it failed).
func (s *Store) MarkOutboxSent(ctx context.Context, msgs []OutboxMessage, statuses []string, now time.Time) ([]bool, error) {
	if len(statuses) != len(msgs) {
		return nil, errors.New("store: one status per message sent")
	}
	for _, status := range statuses {
		if status != OutboxSent && status != OutboxDelivered {
			return nil, errors.New("store: a message leaves the queue as sent or delivered, not " + status)
		}
	}
	moved := make([]bool, len(msgs))
	err := s.grouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for i, m := range msgs {
			res, err := s.txExec(ctx, tx, `UPDATE outbox SET status = ?, attempts = ?, conversation_id = ?, conversation_origin = ?,
				conversation_expires_at = ?, conversation_opened = ?, lease_owner = '', lease_until = 0, updated_at = ?
				WHERE id = ? AND status = 'queued'`,
				statuses[i], m.Attempts, m.ConversationID, m.ConversationOrigin, m.ConversationExpiresAt.UnixMilli(), boolToInt(m.ConversationOpened), now.UnixMilli(), m.ID)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			// A group that fails is retried write by write: the result is
			// set by the run that commits.
			moved[i] = n > 0
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return moved, nil
}

// AdvanceOutbox moves a message to status if that is forward from where it
// is, and returns the message as it now stands and whether it moved.
func (s *Store) AdvanceOutbox(ctx context.Context, id, status, lastError string, now time.Time) (OutboxMessage, bool, error) {
	moved, err := s.advanceOutbox(ctx, id, status, lastError, now)
	if err != nil {
		return OutboxMessage{}, false, err
	}
	m, err := s.GetOutbox(ctx, id)
	return m, moved, err
}

// AdvanceOutboxFrom is AdvanceOutbox for a message the caller has just read
// as m: when it moves, the result is m with its new status, without reading
// the row again (the event handler does this for every report).
func (s *Store) AdvanceOutboxFrom(ctx context.Context, m OutboxMessage, status, lastError string, now time.Time) (OutboxMessage, bool, error) {
	moved, err := s.advanceOutbox(ctx, m.ID, status, lastError, now)
	if err != nil {
		return OutboxMessage{}, false, err
	}
	if !moved {
		cur, err := s.GetOutbox(ctx, m.ID)
		return cur, false, err
	}
	m.Status, m.LastError, m.UpdatedAt = status, lastError, now.Truncate(time.Millisecond).UTC()
	return m, true, nil
}

func (s *Store) advanceOutbox(ctx context.Context, id, status, lastError string, now time.Time) (bool, error) {
	from := earlierStatuses[status]
	if len(from) == 0 {
		return false, errors.New("store: unknown outbox status " + status)
	}
	quoted := make([]string, len(from))
	for i, f := range from {
		quoted[i] = "'" + f + "'"
	}
	n, err := s.execGrouped(ctx, `UPDATE outbox SET status = ?, last_error = ?, lease_owner = '', lease_until = 0, updated_at = ?
		WHERE id = ? AND status IN (`+strings.Join(quoted, ", ")+`)`, status, lastError, now.UnixMilli(), id)
	return n > 0, err
}

// ExpiredOutbox lists sent messages whose time to live ran out before they
// were delivered.
func (s *Store) ExpiredOutbox(ctx context.Context, now time.Time, limit int) ([]OutboxMessage, error) {
	return s.outboxRows(ctx, s.db, `SELECT `+outboxColumns+` FROM outbox WHERE status = 'sent' AND expires_at <= ? ORDER BY expires_at LIMIT ?`,
		now.UnixMilli(), limit)
}

// NextOutboxDue is when the earliest queued message falls due.
func (s *Store) NextOutboxDue(ctx context.Context) (time.Time, bool, error) {
	var due sql.NullInt64
	if err := s.queryRow(ctx, `SELECT MIN(scheduled_at) FROM outbox WHERE status = 'queued'`).Scan(&due); err != nil {
		return time.Time{}, false, err
	}
	if !due.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(due.Int64).UTC(), true, nil
}

// queryer is what *sql.DB and *sql.Tx share for reading.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) outboxRows(ctx context.Context, q queryer, query string, args ...any) ([]OutboxMessage, error) {
	rows, err := s.queryOn(ctx, q, query, args...)
	if err != nil {
		return nil, err
	}
	return collectRows(rows, scanOutbox)
}

// scanOutbox reads one row of outboxColumns.
func scanOutbox(rows rowScanner) (OutboxMessage, error) {
	var (
		m                                             OutboxMessage
		body                                          string
		lastErr, plan                                 sql.NullString
		scheduled, created, expires, convExp, updated int64
		opened                                        int
	)
	if err := rows.Scan(&m.ID, &m.Recipient, &m.Type, &body, &m.Status, &m.Attempts, &scheduled, &created, &expires,
		&m.ConversationID, &m.ConversationOrigin, &convExp, &opened, &lastErr, &updated, &plan); err != nil {
		return OutboxMessage{}, err
	}
	m.Body, m.LastError, m.ConversationOpened = []byte(body), lastErr.String, opened != 0
	if plan.Valid {
		m.Plan = []byte(plan.String)
	}
	m.ScheduledAt, m.CreatedAt, m.ExpiresAt = time.UnixMilli(scheduled).UTC(), time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC()
	m.ConversationExpiresAt, m.UpdatedAt = time.UnixMilli(convExp).UTC(), time.UnixMilli(updated).UTC()
	return m, nil
}

// SeedFinishedOutbox stores n messages that were read long ago (ids
// prefixed with idPrefix), in large transactions: the benchmark measures a
// server whose database already holds a history of this size.
func (s *Store) SeedFinishedOutbox(ctx context.Context, idPrefix, recipient string, n int, at time.Time) error {
	const rowsPerStmt, stmtsPerTx = 400, 25
	body := `{"to":"` + recipient + `","type":"text","text":{"body":"An earlier message"}}`
	ms := at.UnixMilli()
	for done := 0; done < n; {
		var next int
		err := s.tx(ctx, func(tx *sql.Tx) error {
			next = done // a retried transaction starts over
			for range stmtsPerTx {
				rows := min(rowsPerStmt, n-next)
				if rows == 0 {
					return nil
				}
				var b strings.Builder
				b.WriteString(`INSERT INTO outbox (id, recipient, message_type, body, status, attempts, scheduled_at, created_at, expires_at, updated_at) VALUES `)
				args := make([]any, 0, rows*7)
				for i := range rows {
					if i > 0 {
						b.WriteString(", ")
					}
					b.WriteString("(?, ?, 'text', ?, 'read', 1, ?, ?, ?, ?)")
					args = append(args, fmt.Sprintf("%s%09d", idPrefix, next+i), recipient, body, ms, ms, ms+int64(30*24*time.Hour/time.Millisecond), ms)
				}
				if _, err := s.txExec(ctx, tx, b.String(), args...); err != nil {
					return err
				}
				next += rows
			}
			return nil
		})
		if err != nil {
			return err
		}
		done = next
	}
	return nil
}
