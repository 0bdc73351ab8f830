package cloud_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/cloud"
	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

func inboundIDs(evs []network.Event) []string {
	var ids []string
	for _, e := range evs {
		if e.Message != nil {
			ids = append(ids, e.Message.ID)
		}
	}
	return ids
}

// TestWebhookEventsAreLeasedToOneNode: two bridges on one database (two
// core nodes) never both receive one webhook item; a user's later message
// waits while another node holds the earlier one; when that node's lease
// runs out (it crashed), the other node takes its items over, in order.
func TestWebhookEventsAreLeasedToOneNode(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		g := graphtest.New(t)
		st := storetest.OpenConfig(t, cfg)
		now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		bridge := func() *cloud.Network {
			return cloud.New(cloud.Options{GraphURL: g.GraphURL(), PhoneNumberID: g.PhoneNumberID, WABAID: g.WABAID,
				AccessToken: g.Token, AppSecret: secret, VerifyToken: "vt", Store: st, Now: func() time.Time { return now }})
		}
		a, b := bridge(), bridge()
		msg := func(from, id string) map[string]any {
			return map[string]any{"from": from, "id": id, "timestamp": "1700000100", "type": "text", "text": map[string]any{"body": "oi"}}
		}
		body, sig := g.Delivery(secret, map[string]any{"messages": []any{
			msg("15550001111", "wamid.U1A"), msg("15550001111", "wamid.U1B"), msg("15550002222", "wamid.U2A"),
		}})
		if err := a.HandleWebhook(ctx, body, sig); err != nil {
			t.Fatal(err)
		}
		first, err := a.Events(ctx, "node-a", 1)
		if err != nil || !slices.Equal(inboundIDs(first), []string{"wamid.U1A"}) {
			t.Fatalf("node-a: %v %v", inboundIDs(first), err)
		}
		other, err := b.Events(ctx, "node-b", 10)
		if err != nil || !slices.Equal(inboundIDs(other), []string{"wamid.U2A"}) {
			t.Fatalf("node-b: %v %v, want only the other user's message", inboundIDs(other), err)
		}
		if err := b.Ack(ctx, []string{other[0].ID}); err != nil {
			t.Fatal(err)
		}
		if again, _ := b.Events(ctx, "node-b", 10); len(again) != 0 {
			t.Fatalf("node-b got %v while node-a holds the first of that user's messages", inboundIDs(again))
		}
		// node-a went away: once its lease has run out node-b takes over.
		now = now.Add(network.EventLease)
		took, err := b.Events(ctx, "node-b", 10)
		if err != nil || !slices.Equal(inboundIDs(took), []string{"wamid.U1A", "wamid.U1B"}) || took[0].ID != first[0].ID {
			t.Fatalf("after node-a's lease: %v %v", inboundIDs(took), err)
		}
		if again, _ := a.Events(ctx, "node-a", 10); len(again) != 0 {
			t.Fatalf("node-a got %v back while node-b holds them", inboundIDs(again))
		}
	})
}

// TestFailedWebhookItemIsHeldBack: an item given back after a failed
// handling is handed to no node before its retry time, then comes back
// with its attempt counted.
func TestFailedWebhookItemIsHeldBack(t *testing.T) {
	f := setup(t)
	body, sig := f.graph.Delivery(secret, map[string]any{"messages": []any{map[string]any{"from": "15550001111", "id": "wamid.R1",
		"timestamp": "1700000100", "type": "text", "text": map[string]any{"body": "oi"}}}})
	if err := f.net.HandleWebhook(f.ctx, body, sig); err != nil {
		t.Fatal(err)
	}
	evs, err := f.net.Events(f.ctx, "node-a", 10)
	if err != nil || len(evs) != 1 || evs[0].Attempts != 0 {
		t.Fatalf("%+v %v", evs, err)
	}
	if err := f.net.Retry(f.ctx, "node-a", []network.Retry{{ID: evs[0].ID, Until: f.now.Add(time.Second), Reason: "queue full"}}); err != nil {
		t.Fatal(err)
	}
	for _, owner := range []string{"node-a", "node-b"} {
		if again, _ := f.net.Events(f.ctx, owner, 10); len(again) != 0 {
			t.Fatalf("%s got the item before its retry time", owner)
		}
	}
	*f.now = f.now.Add(time.Second)
	again, err := f.net.Events(f.ctx, "node-b", 10)
	if err != nil || len(again) != 1 || again[0].ID != evs[0].ID || again[0].Attempts != 1 {
		t.Fatalf("after the retry time: %+v %v", again, err)
	}
}
