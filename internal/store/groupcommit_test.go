package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// TestGroupCommit: many concurrent accepts all become durable rows, and a
// bad row in a group (a duplicate id) fails only its own caller.
func TestGroupCommit(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
		// Every field differs from row to row: a group writes its rows in
		// multi-row INSERTs, whose values must not shift between rows.
		msg := func(id string) store.OutboxMessage {
			return store.OutboxMessage{ID: id, Recipient: "1555" + id, Type: "text", Body: []byte(`{"n":"` + id + `"}`), Plan: []byte(`{"p":"` + id + `"}`),
				ScheduledAt: t0, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour + time.Duration(len(id))*time.Second)}
		}
		if err := s.InsertOutbox(ctx, msg("dup")); err != nil {
			t.Fatal(err)
		}
		const n = 300
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("m%03d", i)
				if i == 150 {
					id = "dup"
				}
				errs[i] = s.InsertOutbox(ctx, msg(id))
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if (err != nil) != (i == 150) {
				t.Fatalf("insert %d: %v", i, err)
			}
		}
		for i := range n {
			if i == 150 {
				continue
			}
			id := fmt.Sprintf("m%03d", i)
			m, err := s.GetOutbox(ctx, id)
			if err != nil {
				t.Fatalf("row %d: %v", i, err)
			}
			want := msg(id)
			if m.Recipient != want.Recipient || string(m.Body) != string(want.Body) || string(m.Plan) != string(want.Plan) ||
				!m.ExpiresAt.Equal(want.ExpiresAt) || m.Status != store.OutboxQueued {
				t.Fatalf("row %d read back as %+v", i, m)
			}
			if shard, err := s.OutboxShardOf(ctx, id); err != nil || shard != store.ServerShard(want.Recipient) {
				t.Fatalf("row %d: shard %d (%v)", i, shard, err)
			}
		}
		// A caller that gives up does not stop the others' commit.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.InsertOutbox(cctx, msg("late")); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled insert: %v", err)
		}
	})
}

// TestGroupCommitDropsAWriteItsCallerGaveUp: a caller whose context ends
// while its write still waits for a group (the database is stuck) gets an
// error and its write is never committed (a group leaves out the writes of
// callers who already left), so the error it was answered is true. A write already in a group under
// way may still be committed.
func TestGroupCommitDropsAWriteItsCallerGaveUp(t *testing.T) {
	cfg := storetest.Config(t, store.SQLite)
	s := storetest.OpenConfig(t, cfg)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	msg := func(id string) store.OutboxMessage {
		return store.OutboxMessage{ID: id, Recipient: "15550001111", Type: "text", Body: []byte(`{}`),
			ScheduledAt: t0, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	}
	// Another connection holds SQLite's write lock: the database is stuck.
	other, err := sql.Open("sqlite", "file:"+cfg.SQLitePath+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.ExecContext(ctx, "DELETE FROM outbox WHERE id = 'none'"); err != nil {
		t.Fatal(err)
	}

	insert := func(id string) chan error {
		done := make(chan error, 1)
		go func() {
			cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			done <- s.InsertOutbox(cctx, msg(id))
		}()
		return done
	}
	inGroup := insert("in-group") // its group starts, and waits for the lock
	time.Sleep(100 * time.Millisecond)
	queued := insert("queued") // waits behind that group
	for name, done := range map[string]chan error{"in-group": inGroup, "queued": queued} {
		if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: %v, want the caller's deadline", name, err)
		}
	}
	lock.Rollback()
	// Once the stuck group has finished, the withdrawn write is not there.
	if err := s.InsertOutbox(ctx, msg("after")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetOutbox(ctx, "queued"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the withdrawn write: %v, want not found", err)
	}
}
