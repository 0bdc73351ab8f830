package store_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// recipientsOfShards returns one recipient per shard among count.
func recipientsOfShards(count int) []string {
	out := make([]string, count)
	found := 0
	for i := 0; found < count; i++ {
		to := "1555" + strconv.Itoa(3000000+i)
		if shard := store.ShardOf(store.ServerShard(to), count); out[shard] == "" {
			out[shard] = to
			found++
		}
	}
	return out
}

// TestMigrationShardsQueuedMessages: schema version 15 gives every queued
// message its recipient's server shard; finished ones keep -1. A claim
// narrowed to some shards takes only their messages, and the range that
// starts at 0 takes the messages without a shard too (those an older node
// wrote during a rolling upgrade).
func TestMigrationShardsQueuedMessages(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		t.Parallel()
		ctx := context.Background()
		s, err := store.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.MigrateTo(ctx, 14); err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC).UnixMilli()
		to := recipientsOfShards(4)
		insert := func(id, recipient, status string) {
			t.Helper()
			if err := s.ExecRaw(ctx, `INSERT INTO outbox (id, recipient, message_type, body, status, attempts, scheduled_at, created_at, expires_at, updated_at)
				VALUES (?, ?, 'text', '{}', ?, 0, ?, ?, ?, ?)`, id, recipient, status, t0, t0, t0+3600000, t0); err != nil {
				t.Fatal(err)
			}
		}
		for i, r := range to {
			insert("q"+strconv.Itoa(i), r, store.OutboxQueued)
		}
		insert("done", to[3], store.OutboxRead)
		if applied, err := s.Migrate(ctx); err != nil || !slices.Contains(applied, 15) {
			t.Fatalf("migrate: %v %v", applied, err)
		}
		for i, r := range to {
			shard, err := s.OutboxShardOf(ctx, "q"+strconv.Itoa(i))
			if err != nil {
				t.Fatal(err)
			}
			if shard != store.ServerShard(r) {
				t.Fatalf("q%d: shard %d, want %d", i, shard, store.ServerShard(r))
			}
		}
		if shard, err := s.OutboxShardOf(ctx, "done"); err != nil || shard != -1 {
			t.Fatalf("a finished message: shard %d (%v), want -1", shard, err)
		}
		// A message an older node wrote after the upgrade has no shard.
		insert("old-node", to[2], store.OutboxQueued)

		now := time.UnixMilli(t0).Add(time.Second)
		ids := func(msgs []store.OutboxMessage) []string {
			var out []string
			for _, m := range msgs {
				out = append(out, m.ID)
			}
			slices.Sort(out)
			return out
		}
		got, err := s.ClaimOutboxIn(ctx, "node-b", now, time.Minute, 10, false, []store.ShardRange{store.RangeOfShard(1, 4), store.RangeOfShard(2, 4)})
		if err != nil || !slices.Equal(ids(got), []string{"q1", "q2"}) {
			t.Fatalf("shards 1 and 2: %v %v", ids(got), err)
		}
		if got, err = s.ClaimOutboxIn(ctx, "node-b", now, time.Minute, 10, false, []store.ShardRange{}); err != nil || len(got) != 0 {
			t.Fatalf("no shard: %v %v", ids(got), err)
		}
		if got, err = s.ClaimOutboxIn(ctx, "node-a", now, time.Minute, 10, false, []store.ShardRange{store.RangeOfShard(0, 4)}); err != nil || !slices.Equal(ids(got), []string{"old-node", "q0"}) {
			t.Fatalf("shard 0: %v %v", ids(got), err)
		}
		if got, err = s.ClaimOutboxIn(ctx, "node-c", now, time.Minute, 10, false, nil); err != nil || !slices.Equal(ids(got), []string{"q3"}) {
			t.Fatalf("every shard: %v %v", ids(got), err)
		}
		// Shard 1 is busy for anyone but node-b while node-b holds q1.
		for owner, want := range map[string]bool{"node-a": true, "node-b": false} {
			if busy, err := s.ShardBusy(ctx, store.RangeOfShard(1, 4), owner, now); err != nil || busy != want {
				t.Fatalf("shard 1 busy for %s: %v %v, want %v", owner, busy, err, want)
			}
		}
		if busy, err := s.ShardBusy(ctx, store.RangeOfShard(1, 4), "node-a", now.Add(time.Minute)); err != nil || busy {
			t.Fatalf("shard 1 once node-b's lease ran out: busy %v %v", busy, err)
		}
		// New messages carry their shard from the accept on.
		if err := s.InsertOutbox(ctx, store.OutboxMessage{ID: "new", Recipient: to[3], Type: "text", Body: []byte(`{}`),
			ScheduledAt: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if shard, err := s.OutboxShardOf(ctx, "new"); err != nil || shard != store.ServerShard(to[3]) {
			t.Fatalf("an accepted message: shard %d (%v), want %d", shard, err, store.ServerShard(to[3]))
		}
	})
}
