package store

import (
	"context"
	"database/sql"
	"strings"
	"sync"

	"github.com/wabiz/wabiz/internal/metrics"
)

// Statements are prepared once and reused. Without it every execution
// parses its SQL again: on the embedded SQLite that parsing was a quarter of
// the server's CPU under load, and the MySQL driver spends two extra round
// trips (prepare, close) on each statement with arguments. database/sql
// keeps a prepared statement per connection and hands a transaction the one
// of its own connection (Tx.StmtContext), so the cache holds one *sql.Stmt
// per query text.

// maxCachedStatements bounds the cache; statements built with a variable
// number of placeholders (IN lists, multi-row inserts) are never cached, so
// the bound is only a guard.
const maxCachedStatements = 512

// maxCachedPlaceholders keeps the variable-length statements out.
const maxCachedPlaceholders = 24

type stmtCache struct {
	mu        sync.Mutex
	stmts     map[string]*sql.Stmt
	preparing map[string]bool
}

func (c *stmtCache) lookup(query string) (*sql.Stmt, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.stmts[query]
	return st, ok || len(c.stmts) >= maxCachedStatements
}

// prepared returns the prepared statement for query (written with '?'),
// preparing it if needed, or nil when it is not cached: the caller then runs
// the text as it is, which also reports a bad statement with the database's
// own error. No lock is held while preparing, which waits for a free
// connection.
func (s *Store) prepared(ctx context.Context, query string) *sql.Stmt {
	if !cacheable(query) {
		return nil
	}
	c := &s.stmts
	if st, known := c.lookup(query); st != nil || known {
		return st
	}
	// Prepared outside any caller's deadline: the statement outlives the call.
	st, err := s.db.PrepareContext(context.WithoutCancel(ctx), s.q(query))
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if existing, ok := c.stmts[query]; ok {
		st.Close() // another caller prepared it meanwhile
		return existing
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[query] = st
	return st
}

// preparedInTx is prepared for a statement run inside a transaction, which
// must not wait for a second connection (all of them may be held by
// transactions doing the same): a statement not cached yet runs unprepared
// this time and is prepared in the background for the next.
func (s *Store) preparedInTx(query string) *sql.Stmt {
	if !cacheable(query) {
		return nil
	}
	c := &s.stmts
	if st, known := c.lookup(query); st != nil || known {
		return st
	}
	c.mu.Lock()
	if c.preparing == nil {
		c.preparing = map[string]bool{}
	}
	start := !c.preparing[query]
	c.preparing[query] = true
	c.mu.Unlock()
	if start {
		go func() {
			s.prepared(context.Background(), query)
			c.mu.Lock()
			delete(c.preparing, query)
			c.mu.Unlock()
		}()
	}
	return nil
}

// statementsAlwaysCached are statements with many placeholders that are
// still fixed texts (the multi-row inserts of a few sizes): cached whatever
// their length. Filled at init, read only after.
var statementsAlwaysCached = map[string]bool{}

func cacheable(query string) bool {
	if statementsAlwaysCached[query] {
		return true
	}
	if strings.Count(query, "?") > maxCachedPlaceholders {
		return false
	}
	head := strings.ToUpper(strings.TrimSpace(query[:min(len(query), 16)]))
	for _, verb := range []string{"SELECT", "INSERT", "UPDATE", "DELETE"} {
		if strings.HasPrefix(head, verb) {
			return true
		}
	}
	return false
}

// closeStatements releases the cache (on Close).
func (s *Store) closeStatements() {
	c := &s.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = nil
}

func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	metrics.DBStatements.Inc()
	if st := s.preparedInTx(query); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, s.q(query), args...)
}

func (s *Store) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	metrics.DBStatements.Inc()
	if st := s.preparedInTx(query); st != nil {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, s.q(query), args...)
}

func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	metrics.DBStatements.Inc()
	if st := s.preparedInTx(query); st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, s.q(query), args...)
}

// queryOn and queryRowOn read through the database or a transaction.
func (s *Store) queryOn(ctx context.Context, q queryer, query string, args ...any) (*sql.Rows, error) {
	switch q := q.(type) {
	case *sql.Tx:
		return s.txQuery(ctx, q, query, args...)
	case *sql.DB:
		return s.query(ctx, query, args...)
	default:
		return q.QueryContext(ctx, s.q(query), args...)
	}
}

func (s *Store) queryRowOn(ctx context.Context, q queryer, query string, args ...any) *sql.Row {
	switch q := q.(type) {
	case *sql.Tx:
		return s.txQueryRow(ctx, q, query, args...)
	case *sql.DB:
		return s.queryRow(ctx, query, args...)
	default:
		return q.QueryRowContext(ctx, s.q(query), args...)
	}
}
