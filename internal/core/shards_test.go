package core

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network/sandbox"
	"github.com/wabiz/wabiz/internal/store"
)

// TestClaimFollowsTheShards: a core the cluster never told claims every
// message; told no shard it claims none; told some it claims only theirs;
// once its leases ran out by its clock it claims none and warns once a
// minute, not at every claim.
func TestClaimFollowsTheShards(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := &testClock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	st, sets := sqliteWithSettings(t, clk)
	var logs bytes.Buffer
	c := New(Options{Store: st, Network: sandbox.New(st, clk.now), Settings: sets, Log: slog.New(slog.NewTextHandler(&logs, nil)), Now: clk.now})
	// One message per shard of two.
	to := map[int]string{}
	for i := 0; len(to) < 2; i++ {
		r := "1555" + strconv.Itoa(5000000+i)
		if s := store.ShardOf(store.ServerShard(r), 2); to[s] == "" {
			to[s] = r
			if err := st.InsertOutbox(ctx, store.OutboxMessage{ID: "m" + r, Recipient: r, Type: "text", Body: []byte(`{}`),
				ScheduledAt: clk.now(), CreatedAt: clk.now(), ExpiresAt: clk.now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	claim := func() []string {
		t.Helper()
		msgs, err := c.claimOutbox(ctx, 10, true)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range msgs {
			ids = append(ids, m.ID)
		}
		if _, err := st.ReleaseLeases(ctx, c.node); err != nil { // back for the next look
			t.Fatal(err)
		}
		return ids
	}
	if got := claim(); len(got) != 2 {
		t.Fatalf("never told: claimed %v, want both", got)
	}
	c.ClaimShards([]store.ShardRange{}, clk.now().Add(time.Minute))
	if got := claim(); len(got) != 0 {
		t.Fatalf("told no shard: claimed %v", got)
	}
	c.ClaimShards([]store.ShardRange{store.RangeOfShard(1, 2)}, clk.now().Add(time.Minute))
	if got := claim(); len(got) != 1 || got[0] != "m"+to[1] {
		t.Fatalf("told shard 1: claimed %v, want m%s", got, to[1])
	}
	clk.advance(time.Minute)
	for range 3 {
		if got := claim(); len(got) != 0 {
			t.Fatalf("leases ran out: claimed %v", got)
		}
	}
	if n := strings.Count(logs.String(), "shard leases ran out"); n != 1 {
		t.Fatalf("%d warnings for three refused claims, want 1:\n%s", n, logs.String())
	}
}
