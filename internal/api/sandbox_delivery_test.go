package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// TestDeliveryWithoutDelay: when the sandbox world delivers at once, the
// network's answer to the send already says the phone has the message. The
// worker then records it sent and delivered in one step (no "delivered"
// event is scheduled and handled), the callbacks still say sent, then
// delivered, with the conversation and pricing, and the user's "read" still
// comes later as an event. The settings that switch callbacks off hold on
// this path too, and with a delay delivery is an event again.
func TestDeliveryWithoutDelay(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		h := newHarness(t, cfg)
		hook := newReceiver(t)
		admin := h.adminToken()
		h.register(admin)
		h.setWebhook(admin, hook.srv.URL)
		patch := func(path, body string) {
			t.Helper()
			if res := h.do(request{method: "PATCH", path: path, header: bearer(admin), body: body}); res.Status != 200 {
				t.Fatalf("PATCH %s %s: %d %s", path, body, res.Status, res.Raw)
			}
		}
		patch("/v1/settings/application", `{"sent_status":true}`)
		patch("/sandbox/v1/world", `{"delivery_delay_ms":0,"read_delay_ms":1000,"auto_read":true}`)
		h.userWrites(admin, customer, "hello")
		h.pump()

		id := h.send(admin, `{"to":"`+customer+`","text":{"body":"one step"}}`)
		if n, err := h.core.ProcessOutbox(ctx); err != nil || n != 1 {
			t.Fatalf("worker pass: %d, %v", n, err)
		}
		// Before any event is handled the message is delivered already.
		m, err := h.store.GetOutbox(ctx, id)
		if err != nil || m.Status != store.OutboxDelivered || m.ConversationID == "" {
			t.Fatalf("after the worker's pass: %+v, %v", m, err)
		}
		events, err := h.store.DueSandboxEvents(ctx, h.clock.Now().Add(time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || !containsAll(string(events[0].Payload), `"status":"read"`, id) {
			t.Fatalf("pending sandbox events %v: want only the read report", events)
		}
		h.pump()
		sts := hook.statusesOf(id)
		if len(sts) != 2 || sts[0]["status"] != "sent" || sts[1]["status"] != "delivered" {
			t.Fatalf("statuses %v, want sent then delivered", sts)
		}
		for _, s := range sts {
			conv, _ := s["conversation"].(map[string]any)
			if conv == nil || conv["id"] != m.ConversationID || s["pricing"] == nil || s["timestamp"] != "1795255200" {
				t.Fatalf("status %v lacks the conversation %s, pricing or time", s, m.ConversationID)
			}
		}
		phone := h.do(request{method: "GET", path: "/sandbox/v1/users/" + customer + "/messages", header: bearer(admin)})
		if !containsAll(string(phone.Raw), `"id":"`+id+`","status":"delivered"`) {
			t.Fatalf("the phone: %s", phone.Raw)
		}
		h.clock.Advance(time.Second)
		h.pump()
		if sts := hook.statusesOf(id); len(sts) != 3 || sts[2]["status"] != "read" {
			t.Fatalf("statuses %v, want read after the user's delay", sts)
		}

		// Callbacks switched off stay off on this path.
		patch("/v1/settings/application", `{"sent_status":false,"webhooks":{"message":{"delivered":false}}}`)
		quiet := h.send(admin, `{"to":"`+customer+`","text":{"body":"quiet"}}`)
		h.pump()
		if m, err := h.store.GetOutbox(ctx, quiet); err != nil || m.Status != store.OutboxDelivered {
			t.Fatalf("quiet message: %+v, %v", m, err)
		}
		if sts := hook.statusesOf(quiet); len(sts) != 0 {
			t.Fatalf("statuses %v with sent and delivered callbacks off", sts)
		}

		// With a delay the phone reports delivery as an event again.
		patch("/v1/settings/application", `{"sent_status":true,"webhooks":{"message":{"delivered":true}}}`)
		patch("/sandbox/v1/world", `{"delivery_delay_ms":500,"auto_read":false}`)
		later := h.send(admin, `{"to":"`+customer+`","text":{"body":"later"}}`)
		h.pump()
		if sts := hook.statusesOf(later); len(sts) != 1 || sts[0]["status"] != "sent" {
			t.Fatalf("statuses %v before the delay, want sent only", sts)
		}
		h.clock.Advance(500 * time.Millisecond)
		h.pump()
		if sts := hook.statusesOf(later); len(sts) != 2 || sts[1]["status"] != "delivered" {
			t.Fatalf("statuses %v after the delay", sts)
		}
	})
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestOneRecipientsMessagesInOnePass: the messages waiting for one
// recipient are sent in one worker pass, in the order they were accepted
// (the phone shows that order although they arrive within one
// millisecond), each with its own callbacks and conversation; one that
// expired while it waited fails with 410 in its place without holding up
// the others.
func TestOneRecipientsMessagesInOnePass(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		h := newHarness(t, cfg)
		hook := newReceiver(t)
		admin := h.adminToken()
		h.register(admin)
		h.setWebhook(admin, hook.srv.URL)
		if res := h.do(request{method: "PATCH", path: "/sandbox/v1/world", header: bearer(admin), body: `{"delivery_delay_ms":0,"auto_read":false}`}); res.Status != 200 {
			t.Fatalf("world: %d %s", res.Status, res.Raw)
		}
		h.userWrites(admin, customer, "hello")
		h.pump()

		var ids []string
		for i, ttl := range []string{"", "", `"ttl":1,`, "", "", ""} {
			ids = append(ids, h.send(admin, `{"to":"`+customer+`",`+ttl+`"text":{"body":"message `+string(rune('a'+i))+`"}}`))
			// One request after the other: the outbox orders by the
			// accept's millisecond (ties of one millisecond are concurrent
			// requests, in no order of their own; docs/decisions.md).
			h.clock.Advance(time.Millisecond)
		}
		h.clock.Advance(2 * time.Second) // the third one's time to live is over
		if n, err := h.core.ProcessOutbox(ctx); err != nil || n != len(ids) {
			t.Fatalf("one worker pass: %d, %v; want all %d", n, err, len(ids))
		}
		var conversation string
		for i, id := range ids {
			m, err := h.store.GetOutbox(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			want := store.OutboxDelivered
			if i == 2 {
				want = store.OutboxFailed
			}
			if m.Status != want {
				t.Fatalf("message %d: %s, want %s", i, m.Status, want)
			}
			if want == store.OutboxDelivered {
				if conversation == "" {
					conversation = m.ConversationID
				}
				if m.ConversationID == "" || m.ConversationID != conversation {
					t.Errorf("message %d in conversation %q, want the one the first opened (%q)", i, m.ConversationID, conversation)
				}
			}
		}
		h.pump()
		for i, id := range ids {
			sts := hook.statusesOf(id)
			if i == 2 {
				if len(sts) != 1 || sts[0]["status"] != "failed" || !strings.Contains(string(mustJSON(sts[0])), `"code":410`) {
					t.Errorf("expired message's statuses %v, want one failed with 410", sts)
				}
				continue
			}
			if len(sts) != 1 || sts[0]["status"] != "delivered" {
				t.Errorf("message %d statuses %v, want delivered", i, sts)
			}
		}
		phone := h.do(request{method: "GET", path: "/sandbox/v1/users/" + customer + "/messages", header: bearer(admin)})
		last := -1
		for i, id := range ids {
			at := strings.Index(string(phone.Raw), id)
			if i == 2 {
				if at >= 0 {
					t.Errorf("the phone has the expired message: %s", phone.Raw)
				}
				continue
			}
			if at < last {
				t.Fatalf("the phone shows message %d before the one sent before it: %s", i, phone.Raw)
			}
			last = at
		}
	})
}
