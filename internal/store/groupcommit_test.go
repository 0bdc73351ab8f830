package store_test

import (
	"context"
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
		msg := func(id string) store.OutboxMessage {
			return store.OutboxMessage{ID: id, Recipient: "15550001111", Type: "text", Body: []byte(`{}`),
				ScheduledAt: t0, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
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
			if _, err := s.GetOutbox(ctx, fmt.Sprintf("m%03d", i)); err != nil {
				t.Fatalf("row %d: %v", i, err)
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

// TestStatementsNeverWaitForASecondConnection: a transaction that runs a
// statement for the first time must not wait for another connection to
// prepare it (with every connection inside a transaction, that would wait
// for ever). One connection in the pool makes any such wait a deadlock,
// which the deadline turns into a failure.
func TestStatementsNeverWaitForASecondConnection(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		cfg.MaxOpenConns = 1
		s := storetest.OpenConfig(t, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
		// Twice: the first pass runs the statements unprepared, the second
		// through the statements prepared meanwhile (or still unprepared).
		for round := range 2 {
			id := fmt.Sprintf("gBcache%d", round)
			if _, err := s.BeginCloudSend(ctx, id, t0); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if err := s.FinishCloudSend(ctx, id, store.CloudSent, "wamid."+id, "", t0); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			got, err := s.GetCloudMessage(ctx, id)
			if err != nil || got.WAMID != "wamid."+id || got.State != store.CloudSent {
				t.Fatalf("round %d: %+v, %v", round, got, err)
			}
		}
	})
}
