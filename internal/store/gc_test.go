package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// TestGCDeletesInBatches: deletions honour the limit and the condition, and
// the counts see the result, on every engine.
func TestGCDeletesInBatches(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		s := storetest.OpenConfig(t, cfg)
		ctx := context.Background()
		now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
		old := now.Add(-8 * 24 * time.Hour)
		for i, status := range []string{store.OutboxDelivered, store.OutboxRead, store.OutboxFailed, store.OutboxQueued} {
			id := "m" + string(rune('a'+i))
			if err := s.InsertOutbox(ctx, store.OutboxMessage{ID: id, Recipient: "1555", Type: "text", Body: []byte(`{}`), ScheduledAt: old, CreatedAt: old, ExpiresAt: now}); err != nil {
				t.Fatal(err)
			}
			if status != store.OutboxQueued {
				if _, _, err := s.AdvanceOutbox(ctx, id, status, "", old); err != nil {
					t.Fatal(err)
				}
			}
		}
		counts, err := s.CountOutboxByStatus(ctx)
		if err != nil || counts["delivered"] != 1 || counts["queued"] != 1 {
			t.Fatalf("counts %v %v", counts, err)
		}
		if n, err := s.DeleteFinishedOutbox(ctx, now.Add(-7*24*time.Hour), 2); n != 2 || err != nil {
			t.Fatalf("first batch: %d %v", n, err)
		}
		if n, err := s.DeleteFinishedOutbox(ctx, now.Add(-7*24*time.Hour), 2); n != 1 || err != nil {
			t.Fatalf("second batch: %d %v", n, err)
		}
		if _, err := s.GetOutbox(ctx, "md"); err != nil {
			t.Fatalf("queued message deleted: %v", err)
		}
		if _, err := s.InsertInbound(ctx, store.InboundMessage{ID: "in", Sender: "1555", Type: "text", Body: []byte(`{}`), ReceivedAt: old}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeleteInboundBefore(ctx, old, 10); n != 0 || err != nil {
			t.Fatalf("inbound at the cutoff: %d %v", n, err)
		}
		if n, err := s.DeleteInboundBefore(ctx, now, 10); n != 1 || err != nil {
			t.Fatalf("inbound: %d %v", n, err)
		}
		rows, err := s.CountTableRows(ctx)
		if err != nil || rows["outbox"] != 1 || rows["inbound_messages"] != 0 {
			t.Fatalf("rows %v %v", rows, err)
		}
	})
}
