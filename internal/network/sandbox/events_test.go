package sandbox

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

func messageIDs(evs []network.Event) []string {
	var ids []string
	for _, e := range evs {
		if e.Message != nil {
			ids = append(ids, e.Message.ID)
		}
	}
	return ids
}

// TestEventsAreLeasedToOneNode: two sandboxes on one database (two core
// nodes) never both receive one event; a user's later message waits while
// another node holds the earlier one; once that node's lease runs out (it
// crashed) the other node takes its events over, in order, and an event
// given back after a failure waits for its retry time.
func TestEventsAreLeasedToOneNode(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		st := storetest.OpenConfig(t, cfg)
		now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		a, b := New(st, clock), New(st, clock)
		send := func(user string) string {
			t.Helper()
			id, err := a.UserSends(ctx, user, UserMessage{Type: "text", Content: []byte(`{"text":{"body":"hi"}}`)})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		x1, x2, y1 := send("15550000001"), send("15550000001"), send("15550000002")
		first, err := a.Events(ctx, "node-a", 1)
		if err != nil || !slices.Equal(messageIDs(first), []string{x1}) {
			t.Fatalf("node-a: %v %v", messageIDs(first), err)
		}
		other, err := b.Events(ctx, "node-b", 10)
		if err != nil || !slices.Equal(messageIDs(other), []string{y1}) {
			t.Fatalf("node-b: %v %v, want only the other user's message", messageIDs(other), err)
		}
		if err := b.Ack(ctx, []string{other[0].ID}); err != nil {
			t.Fatal(err)
		}
		// node-a asks again with nothing in flight: it gets its own back.
		if mine, _ := a.Events(ctx, "node-a", 1); !slices.Equal(messageIDs(mine), []string{x1}) {
			t.Fatalf("node-a's own leftover: %v", messageIDs(mine))
		}
		if none, _ := b.Events(ctx, "node-b", 10); len(none) != 0 {
			t.Fatalf("node-b got %v while node-a holds that user's first message", messageIDs(none))
		}
		now = now.Add(network.EventLease)
		took, err := b.Events(ctx, "node-b", 10)
		if err != nil || !slices.Equal(messageIDs(took), []string{x1, x2}) {
			t.Fatalf("after node-a's lease: %v %v", messageIDs(took), err)
		}
		if none, _ := a.Events(ctx, "node-a", 10); len(none) != 0 {
			t.Fatalf("node-a got %v back while node-b holds them", messageIDs(none))
		}
		// node-b fails on x1 and gives back x2 untried: both wait.
		retry := now.Add(time.Second)
		if err := b.Retry(ctx, "node-b", []network.Retry{{ID: took[0].ID, Until: retry, Reason: "boom"}, {ID: took[1].ID, Until: retry}}); err != nil {
			t.Fatal(err)
		}
		if none, _ := a.Events(ctx, "node-a", 10); len(none) != 0 {
			t.Fatalf("events handed out before their retry time: %v", messageIDs(none))
		}
		now = retry
		back, err := a.Events(ctx, "node-a", 10)
		if err != nil || !slices.Equal(messageIDs(back), []string{x1, x2}) || back[0].Attempts != 1 || back[1].Attempts != 0 {
			t.Fatalf("after the retry time: %+v %v", back, err)
		}
		if err := a.Ack(ctx, []string{back[0].ID, back[1].ID}); err != nil {
			t.Fatal(err)
		}
		if left, _ := st.DueSandboxEvents(ctx, now, 10); len(left) != 0 {
			t.Fatalf("left after ack: %+v", left)
		}
	})
}
