package cloud_test

import (
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/cloud"
)

// TestStatusesCarryTheCloudsBilling: a status's conversation (expiration as
// the Cloud's string) and pricing reach the event; deleted and warning
// statuses pass, "played" does not; value.errors become error events.
func TestStatusesCarryTheCloudsBilling(t *testing.T) {
	f := setup(t)
	if err := f.net.Send(f.ctx, text("gBC1", "15550001111")); err != nil {
		t.Fatal(err)
	}
	wamid := f.graph.SentIDs()[0]
	f.deliver(t, map[string]any{
		"statuses": []any{
			map[string]any{"id": wamid, "status": "delivered", "timestamp": "1700000001", "recipient_id": "15550001111",
				"conversation": map[string]any{"id": "8c2b1f0e5d4a39281706f5e4d3c2b1a0", "expiration_timestamp": "1700086400", "origin": map[string]any{"type": "utility"}},
				"pricing":      map[string]any{"billable": true, "pricing_model": "PMP", "category": "utility", "type": "regular"}},
			map[string]any{"id": wamid, "status": "read", "timestamp": "1700000002", "recipient_id": "15550001111"},
			map[string]any{"id": wamid, "status": "played", "timestamp": "1700000003", "recipient_id": "15550001111"},
			map[string]any{"id": wamid, "status": "deleted", "timestamp": "1700000004", "recipient_id": "15550001111"},
			map[string]any{"id": wamid, "status": "warning", "timestamp": "1700000005", "recipient_id": "15550001111",
				"errors": []any{map[string]any{"code": 131061, "title": "Catalog item unavailable", "message": "Catalog item unavailable",
					"error_data": map[string]any{"details": "product 42 is hidden"}}}},
		},
		"errors": []any{map[string]any{"code": 130429, "title": "Rate limit hit", "message": "(#130429) Rate limit hit",
			"error_data": map[string]any{"details": "Cloud API message throughput has been reached."}, "href": "/docs/whatsapp/cloud-api/support/error-codes/"}},
	})
	evs, err := f.net.Events(f.ctx, "node-a", 10)
	if err != nil || len(evs) != 5 {
		t.Fatalf("%d events (want delivered, read, deleted, warning, error), %v: %+v", len(evs), err, evs)
	}
	d := evs[0].Status
	wantConv := network.Conversation{ID: "8c2b1f0e5d4a39281706f5e4d3c2b1a0", Origin: "utility", ExpiresAt: time.Unix(1700086400, 0).UTC()}
	if d.Status != "delivered" || d.Conversation == nil || *d.Conversation != wantConv ||
		d.Pricing == nil || *d.Pricing != (network.Pricing{Billable: true, Model: "PMP", Category: "utility"}) {
		t.Fatalf("delivered: %+v conv %+v pricing %+v", d, d.Conversation, d.Pricing)
	}
	if r := evs[1].Status; r.Status != "read" || r.Conversation != nil || r.Pricing != nil {
		t.Fatalf("read without billing: %+v", r)
	}
	if del := evs[2].Status; del.Status != "deleted" || del.MessageID != "gBC1" || del.Error != nil {
		t.Fatalf("deleted: %+v", del)
	}
	if w := evs[3].Status; w.Status != "warning" || w.Error == nil || w.Error.Code != 1000 ||
		w.Error.Details != "Cloud API error 131061: Catalog item unavailable (product 42 is hidden)" {
		t.Fatalf("warning: %+v %+v", w, w.Error)
	}
	e := evs[4]
	if e.Kind != network.EventError || e.Error == nil || e.Error.Code != 1015 ||
		e.Error.Details != "Cloud API error 130429: (#130429) Rate limit hit (Cloud API message throughput has been reached.)" {
		t.Fatalf("error event: %+v %+v", e, e.Error)
	}
}

// TestConversationExpirationAsNumber: the expiration is read when the
// Cloud writes it as a number too, and a conversation without an id is no
// conversation.
func TestConversationExpirationAsNumber(t *testing.T) {
	f := setup(t)
	if err := f.net.Send(f.ctx, text("gBC2", "15550001111")); err != nil {
		t.Fatal(err)
	}
	wamid := f.graph.SentIDs()[0]
	f.deliver(t, map[string]any{"statuses": []any{
		map[string]any{"id": wamid, "status": "delivered", "timestamp": "1700000001", "recipient_id": "15550001111",
			"conversation": map[string]any{"id": "c1", "expiration_timestamp": 1700086400, "origin": map[string]any{"type": "service"}}},
		map[string]any{"id": wamid, "status": "read", "timestamp": "1700000002", "recipient_id": "15550001111",
			"conversation": map[string]any{"origin": map[string]any{"type": "service"}}},
	}})
	evs, err := f.net.Events(f.ctx, "node-a", 10)
	if err != nil || len(evs) != 2 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	if c := evs[0].Status.Conversation; c == nil || !c.ExpiresAt.Equal(time.Unix(1700086400, 0)) || evs[0].Status.Pricing != nil {
		t.Fatalf("numeric expiration: %+v", evs[0].Status)
	}
	if evs[1].Status.Conversation != nil {
		t.Fatalf("a conversation without id: %+v", evs[1].Status.Conversation)
	}
}

// TestRepeatedDeliveriesAreHandledOnce: Meta repeats a delivery it thinks
// was not received; its messages and statuses are stored once, even after
// the first copy was handled, and again only after ReplayWindow.
func TestRepeatedDeliveriesAreHandledOnce(t *testing.T) {
	f := setup(t)
	if err := f.net.Send(f.ctx, text("gBR1", "15550001111")); err != nil {
		t.Fatal(err)
	}
	value := map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]any{"name": "Ana"}, "wa_id": "15550001111"}},
		"messages": []any{map[string]any{"from": "15550001111", "id": "wamid.REPEATED", "timestamp": "1700000100", "type": "text", "text": map[string]any{"body": "oi"}}},
		"statuses": []any{map[string]any{"id": f.graph.SentIDs()[0], "status": "delivered", "timestamp": "1700000001", "recipient_id": "15550001111"}},
	}
	f.deliver(t, value)
	f.deliver(t, value)
	evs, err := f.net.Events(f.ctx, "node-a", 10)
	if err != nil || len(evs) != 2 {
		t.Fatalf("%d events after a repeated delivery, %v", len(evs), err)
	}
	f.net.Ack(f.ctx, []string{evs[0].ID, evs[1].ID})
	*f.now = f.now.Add(24 * time.Hour)
	f.deliver(t, value)
	if evs, _ := f.net.Events(f.ctx, "node-a", 10); len(evs) != 0 {
		t.Fatalf("a delivery repeated a day later was handled again: %+v", evs)
	}
	*f.now = f.now.Add(cloud.DefaultReplayWindow)
	f.deliver(t, map[string]any{}) // a delivery past the window forgets old items
	f.deliver(t, value)
	if evs, _ := f.net.Events(f.ctx, "node-a", 10); len(evs) != 2 {
		t.Fatalf("after the replay window: %d events", len(evs))
	}
}
