package store

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"time"

	"github.com/wabiz/wabiz/internal/metrics"
)

// Group commit: concurrent writers on the hot paths (accepting a send,
// queueing a callback, the worker's and the event handler's per-message
// writes) share one transaction, so a burst costs one durable commit (one
// fsync on SQLite) instead of one each. There is no timer: a caller that
// finds fewer flushes under way than the engine allows (one on SQLite)
// starts a flusher that commits everything queued, round after round, until
// the queue is empty; every caller, that first one included, waits for its
// own round only. Under light load a group holds one write and costs what a
// plain transaction did; under load groups grow by themselves. Every caller
// is answered only after its own write is durable.

// maxGroup bounds one transaction, so a huge burst does not hold the write
// lock for long.
const maxGroup = 512

// groupTimeout bounds one group's transaction, so a database that stops
// answering cannot hold the flush (and every write queued behind it) for
// ever. Callers give up earlier, on their own context.
const groupTimeout = 30 * time.Second

// serverFlushers is how many groups may commit at once on PostgreSQL and
// MySQL, which run transactions side by side (each statement of a group is
// a round trip, so one flusher at a time would cap every write of the
// process at one connection's pace). SQLite has one writer: one flusher.
const serverFlushers = 4

type groupCommitter struct {
	mu       sync.Mutex
	queue    []*groupedWrite
	flushers int // flushes under way
}

type groupedWrite struct {
	caller context.Context
	write  func(ctx context.Context, tx *sql.Tx) error
	done   chan error
	// outbox, when set, is the one row write inserts: a group writes all
	// of its accepted messages in multi-row INSERTs instead (write stays
	// for the retry of a failed group, write by write).
	outbox *OutboxMessage
}

// grouped runs write in a transaction shared with concurrent callers and
// returns once it is committed. write must be safe to run twice (a group
// that fails is retried write by write, so one bad write fails only its own
// caller), must use only tx (another transaction would wait for the write
// lock the group holds) and the context it is given: that of the flush,
// which a caller who goes away does not cancel, so one impatient caller
// cannot fail the writes of the others.
func (s *Store) grouped(ctx context.Context, write func(ctx context.Context, tx *sql.Tx) error) error {
	return s.groupedWrite(ctx, &groupedWrite{write: write})
}

// groupedWrite is grouped for a write built by the caller.
func (s *Store) groupedWrite(ctx context.Context, w *groupedWrite) error {
	w.caller, w.done = ctx, make(chan error, 1)
	g := &s.group
	g.mu.Lock()
	g.queue = append(g.queue, w)
	lead := g.flushers < s.maxFlushers()
	if lead {
		g.flushers++
	}
	g.mu.Unlock()
	if lead {
		// The flush serves other callers too: it must not stop because this
		// caller went away, nor keep this caller once its own write is done
		// (under a steady load the queue may never be empty).
		go s.flushGroups(context.WithoutCancel(ctx))
	}
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		// The write may still be committed; the caller's request is gone.
		return ctx.Err()
	}
}

func (s *Store) maxFlushers() int {
	if s.dialect == SQLite {
		return 1
	}
	return serverFlushers
}

func (s *Store) flushGroups(ctx context.Context) {
	g := &s.group
	for {
		g.mu.Lock()
		n := min(len(g.queue), maxGroup)
		if n == 0 {
			g.flushers--
			g.mu.Unlock()
			return
		}
		batch := g.queue[:n:n]
		g.queue = g.queue[n:]
		g.mu.Unlock()
		s.commitGroup(ctx, batch)
	}
}

func (s *Store) commitGroup(ctx context.Context, batch []*groupedWrite) {
	live := batch[:0:0]
	for _, w := range batch {
		if err := w.caller.Err(); err != nil {
			w.done <- err
			continue
		}
		live = append(live, w)
	}
	if batch = live; len(batch) == 0 {
		return
	}
	began := time.Now()
	defer func() {
		metrics.GroupCommitSeconds.Add(time.Since(began).Seconds())
		metrics.GroupCommits.Inc()
	}()
	if s.dialect == SQLite {
		// No deadline on SQLite: with one, the driver starts a goroutine
		// per statement to interrupt it (and database/sql one per
		// transaction), a tenth of the server's allocations under load. A
		// local file's group of short statements has nothing a deadline
		// could cut short (an interrupt stops the virtual machine between
		// steps, never a write or an fsync the disk holds up), and
		// busy_timeout bounds the wait for the lock.
		ctx = context.WithoutCancel(ctx)
	} else {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, groupTimeout)
		defer cancel()
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var accepted []*OutboxMessage
		for _, w := range batch {
			if w.outbox != nil {
				accepted = append(accepted, w.outbox)
			}
		}
		// The accepted messages first, so a claim in the same group
		// (SQLite's) may take them at once.
		if err := s.insertOutboxRows(ctx, tx, accepted); err != nil {
			return err
		}
		for _, w := range batch {
			if w.outbox != nil {
				continue
			}
			if err := w.write(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for _, w := range batch {
			w.done <- err
		}
		return
	}
	for _, w := range batch {
		w.done <- s.tx(ctx, func(tx *sql.Tx) error { return w.write(ctx, tx) })
	}
}

// claimTx runs a queue claim (select due rows, lease them, read them). On
// SQLite it joins the group commit: a transaction of its own would wait for
// the one writer behind the group anyway and cost one more fsync, and the
// claims run dozens of times a second under load. On PostgreSQL and MySQL,
// which run transactions side by side, a claim keeps a transaction of its
// own, so the rows it locks are held no longer than the claim itself.
// fn follows grouped's rules: safe to run twice, only tx and its ctx.
func (s *Store) claimTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if s.dialect == SQLite {
		return s.grouped(ctx, fn)
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return fn(ctx, tx) })
}

// execGrouped runs one statement in the shared group-commit transaction and
// returns how many rows it affected. The worker's and the event handler's
// per-message writes go through it: dozens of senders running at once then
// share one commit (one fsync on SQLite) instead of paying one each.
func (s *Store) execGrouped(ctx context.Context, query string, args ...any) (int64, error) {
	var affected int64
	err := s.grouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.txExec(ctx, tx, query, args...)
		if err != nil {
			return err
		}
		affected, err = res.RowsAffected()
		return err
	})
	return affected, err
}

const (
	insertOutboxColumns = `INSERT INTO outbox (id, recipient, message_type, body, status, attempts, scheduled_at, created_at, expires_at, updated_at, send_plan, shard) VALUES `
	insertOutboxValues  = `(?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)`
	insertOutboxSQL     = insertOutboxColumns + insertOutboxValues
)

// The multi-row INSERTs a group writes its accepted messages with: a few
// fixed sizes, so each is prepared once (statementsAlwaysCached). One
// statement for 32 rows costs the database one parse and one round trip
// where 32 single-row ones cost 32 (the flusher's statements were a third
// of the server's CPU under load).
var insertOutboxBatches = []struct {
	rows int
	sql  string
}{
	{32, insertOutboxColumns + strings.Repeat(insertOutboxValues+", ", 31) + insertOutboxValues},
	{8, insertOutboxColumns + strings.Repeat(insertOutboxValues+", ", 7) + insertOutboxValues},
	{1, insertOutboxSQL},
}

func init() {
	for _, b := range insertOutboxBatches {
		statementsAlwaysCached[b.sql] = true
	}
}

// outboxInsertArgs are the values of one row of insertOutboxValues.
func outboxInsertArgs(args []any, m *OutboxMessage) []any {
	return append(args, m.ID, m.Recipient, m.Type, string(m.Body), OutboxQueued,
		m.ScheduledAt.UnixMilli(), m.CreatedAt.UnixMilli(), m.ExpiresAt.UnixMilli(), m.CreatedAt.UnixMilli(), nullableText(m.Plan), ServerShard(m.Recipient))
}

// insertOutboxRows inserts accepted messages in tx, as few statements as
// the fixed sizes allow.
func (s *Store) insertOutboxRows(ctx context.Context, tx *sql.Tx, rows []*OutboxMessage) error {
	var args []any
	for _, b := range insertOutboxBatches {
		for len(rows) >= b.rows {
			args = args[:0]
			for _, m := range rows[:b.rows] {
				args = outboxInsertArgs(args, m)
			}
			if _, err := s.txExec(ctx, tx, b.sql, args...); err != nil {
				return err
			}
			rows = rows[b.rows:]
		}
	}
	return nil
}

// InsertOutbox durably accepts a message; it returns once the row is
// committed (grouped with concurrent accepts, in one multi-row INSERT).
func (s *Store) InsertOutbox(ctx context.Context, m OutboxMessage) error {
	return s.groupedWrite(ctx, &groupedWrite{outbox: &m, write: func(ctx context.Context, tx *sql.Tx) error {
		return s.insertOutboxRows(ctx, tx, []*OutboxMessage{&m})
	}})
}

// nullableText is b as a TEXT value, NULL when nil.
func nullableText(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
