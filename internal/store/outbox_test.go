package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// TestClaimOutboxLeases: a claimed message is not handed to another node
// until its lease runs out; the node that holds it gets it back when it asks
// for its leftovers (it has nothing in flight, so a message it still holds
// was left behind by sends that failed half-way), and not otherwise (its
// sends may still be under way).
func TestClaimOutboxLeases(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
		for i := range 3 {
			err := s.InsertOutbox(ctx, store.OutboxMessage{ID: fmt.Sprintf("m%d", i), Recipient: "15550001000", Type: "text",
				Body: []byte(`{}`), ScheduledAt: t0, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
		}
		const lease = 30 * time.Second
		claim := func(owner string, at time.Duration, ownLeftovers ...bool) int {
			t.Helper()
			msgs, err := s.ClaimOutbox(ctx, owner, t0.Add(at), lease, 10, len(ownLeftovers) > 0)
			if err != nil {
				t.Fatal(err)
			}
			return len(msgs)
		}
		if n := claim("node-a", time.Second); n != 3 {
			t.Fatalf("first claim got %d messages, want 3", n)
		}
		if n := claim("node-b", 2*time.Second); n != 0 {
			t.Fatalf("another node claimed %d leased messages", n)
		}
		if n := claim("node-a", 2*time.Second); n != 0 {
			t.Fatalf("with sends under way the holder claimed %d of its own leased messages again", n)
		}
		if n := claim("node-a", 2*time.Second, true); n != 3 {
			t.Fatalf("the holder took back %d of its own 3 leftovers", n)
		}
		if n := claim("node-b", 2*time.Second+lease); n != 3 {
			t.Fatalf("after the lease ran out another node claimed %d messages, want 3", n)
		}
	})
}
