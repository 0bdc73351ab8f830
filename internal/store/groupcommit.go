package store

import (
	"context"
	"database/sql"
	"sync"
)

// Group commit for the accept path: concurrent InsertOutbox calls share one
// transaction, so a burst of sends costs one durable commit (one fsync on
// SQLite) instead of one each. There is no timer: the first caller to find
// no flush under way becomes the flusher and commits everything queued,
// round after round, until the queue is empty; callers arriving meanwhile
// simply wait for their round. Under light load a batch holds one message
// and costs what a plain insert did; under heavy load batches grow by
// themselves. Every caller is answered only after its own row is durable.

// maxGroup bounds one transaction, so a huge burst does not hold the write
// lock for long.
const maxGroup = 512

type groupCommitter struct {
	mu       sync.Mutex
	queue    []*pendingInsert
	flushing bool
}

type pendingInsert struct {
	m    OutboxMessage
	done chan error
}

const insertOutboxSQL = `INSERT INTO outbox (id, recipient, message_type, body, status, attempts, scheduled_at, created_at, expires_at, updated_at)
	VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`

func outboxArgs(m OutboxMessage) []any {
	return []any{m.ID, m.Recipient, m.Type, string(m.Body), OutboxQueued, m.ScheduledAt.UnixMilli(), m.CreatedAt.UnixMilli(),
		m.ExpiresAt.UnixMilli(), m.CreatedAt.UnixMilli()}
}

// InsertOutbox durably accepts a message; it returns once the row is
// committed (grouped with concurrent ones).
func (s *Store) InsertOutbox(ctx context.Context, m OutboxMessage) error {
	p := &pendingInsert{m: m, done: make(chan error, 1)}
	g := &s.group
	g.mu.Lock()
	g.queue = append(g.queue, p)
	lead := !g.flushing
	if lead {
		g.flushing = true
	}
	g.mu.Unlock()
	if lead {
		// The flush serves other callers too: it must not stop because this
		// caller went away.
		s.flushGroups(context.WithoutCancel(ctx))
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		// The row may still be committed; the caller's request is gone.
		return ctx.Err()
	}
}

func (s *Store) flushGroups(ctx context.Context) {
	g := &s.group
	for {
		g.mu.Lock()
		n := min(len(g.queue), maxGroup)
		if n == 0 {
			g.flushing = false
			g.mu.Unlock()
			return
		}
		batch := g.queue[:n:n]
		g.queue = g.queue[n:]
		g.mu.Unlock()
		s.commitGroup(ctx, batch)
	}
}

// commitGroup writes a batch in one transaction. If the transaction fails
// (one bad row aborts it), each row is written on its own, so every caller
// gets its own answer and one failure does not sink the others.
func (s *Store) commitGroup(ctx context.Context, batch []*pendingInsert) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, s.q(insertOutboxSQL))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, p := range batch {
			if _, err := stmt.ExecContext(ctx, outboxArgs(p.m)...); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for _, p := range batch {
			p.done <- err
		}
		return
	}
	for _, p := range batch {
		_, err := s.execRetry(ctx, insertOutboxSQL, outboxArgs(p.m)...)
		p.done <- err
	}
}
