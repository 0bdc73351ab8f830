package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/message"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// TestSendPlanAtAcceptAndWithout: an accepted message carries its send
// plan (what the worker needs besides the body), and a message stored
// without one, as every message accepted before the outbox kept plans, is
// decoded again and sent all the same.
func TestSendPlanAtAcceptAndWithout(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		h := newHarness(t, cfg)
		admin := h.adminToken()
		h.register(admin)
		ns, _ := templatesOf(t, h.do(request{method: "GET", path: templatesPath, header: bearer(admin)}))
		if res := h.do(request{method: "POST", path: templatesPath, header: bearer(admin), body: simpleTemplate("welcome", "en")}); res.Status != 201 {
			t.Fatalf("create: %d %s", res.Status, res.Raw)
		}
		plans := map[string]string{
			h.send(admin, `{"to":"`+customer+`","text":{"body":"hi"}}`): `{}`,
			h.send(admin, templateSend(ns, "welcome")):                  `{"template":true}`,
		}
		for id, want := range plans {
			if m, err := h.store.GetOutbox(ctx, id); err != nil || string(m.Plan) != want {
				t.Fatalf("plan of %s = %s, %v; want %s", id, m.Plan, err, want)
			}
		}

		now := h.clock.Now()
		before := message.NewOutboundID(customer)
		if err := h.store.InsertOutbox(ctx, store.OutboxMessage{ID: before, Recipient: customer, Type: "template",
			Body:        []byte(templateSend(ns, "welcome")),
			ScheduledAt: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		h.pump()
		if got := h.phone(admin, customer)[before]; got["rendered"] != "Hello" {
			t.Fatalf("the message stored without a plan: the customer's phone shows %v", got)
		}
	})
}
