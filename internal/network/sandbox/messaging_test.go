package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// TestSendReportingDelivery: the answer says "delivered" only when the
// world has no delivery delay and the user is reachable; the message is
// stored with the reports it starts, and a repeated send (the core crashed
// before recording the first) schedules nothing again and answers what the
// phone has.
func TestSendReportingDelivery(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		st := storetest.OpenConfig(t, cfg)
		now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
		sb := New(st, func() time.Time { return now })
		const user = "15550001111"
		if _, err := sb.UserSends(ctx, user, UserMessage{Type: "text", Content: []byte(`{"text":{"body":"hi"}}`)}); err != nil {
			t.Fatal(err)
		}
		world := func(delay int64, autoRead bool) {
			t.Helper()
			w := DefaultWorld()
			w.DeliveryDelayMs, w.ReadDelayMs, w.AutoRead = delay, 1000, autoRead
			if err := sb.SetWorld(ctx, w); err != nil {
				t.Fatal(err)
			}
		}
		pending := func() map[string]int { // message id + status -> reports waiting
			t.Helper()
			events, err := st.DueSandboxEvents(ctx, now.Add(time.Hour), 100)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]int{}
			for _, e := range events {
				if e.Kind != string(network.EventStatus) {
					continue
				}
				var p eventPayload
				if err := json.Unmarshal(e.Payload, &p); err != nil || p.Status == nil {
					t.Fatalf("event %s: %v", e.Payload, err)
				}
				out[p.Status.MessageID+" "+p.Status.Status]++
			}
			return out
		}
		send := func(id string) bool {
			t.Helper()
			delivered, err := sb.SendReportingDelivery(ctx, network.Outgoing{ID: id, To: user, Type: "text", Body: []byte(`{"text":{"body":"x"}}`)})
			if err != nil {
				t.Fatal(err)
			}
			return delivered
		}
		phone := func(id string) string {
			t.Helper()
			m, err := st.GetSandboxReceived(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return m.Status
		}

		world(0, true)
		if !send("gB1") || phone("gB1") != "delivered" {
			t.Fatalf("no delay: want delivered in the answer, phone has %s", phone("gB1"))
		}
		if p := pending(); p["gB1 delivered"] != 0 || p["gB1 read"] != 1 {
			t.Fatalf("pending %v: want only the read report", p)
		}
		if !send("gB1") {
			t.Fatal("a repeated send of a delivered message must answer delivered")
		}
		if p := pending(); p["gB1 read"] != 1 {
			t.Fatalf("pending %v after the repeat: want the one read report", p)
		}

		world(250, false)
		if send("gB2") || phone("gB2") != "sent" {
			t.Fatalf("with a delay: want no delivery in the answer, phone has %s", phone("gB2"))
		}
		if p := pending(); p["gB2 delivered"] != 1 || p["gB2 read"] != 0 {
			t.Fatalf("pending %v: want the delivered report only", p)
		}
		if send("gB2") || pending()["gB2 delivered"] != 1 {
			t.Fatalf("a repeated send scheduled again: %v", pending())
		}
		// Plain Send never reports: the delivery comes as an event.
		world(0, false)
		if err := sb.Send(ctx, network.Outgoing{ID: "gB3", To: user, Type: "text", Body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		if phone("gB3") != "sent" || pending()["gB3 delivered"] != 1 {
			t.Fatalf("Send: phone has %s, pending %v", phone("gB3"), pending())
		}

		// An offline user's phone gets nothing yet, whatever the delay.
		if _, err := sb.UpdateUser(ctx, user, UserUpdate{Online: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		if send("gB4") || phone("gB4") != "sent" || len(pending()) != 3 {
			t.Fatalf("offline: phone has %s, pending %v", phone("gB4"), pending())
		}
	})
}

func ptr[T any](v T) *T { return &v }

// TestSendBatch: a recipient's messages sent in one call reach the phone in
// the order given, even within one millisecond; a message the network
// refuses ends the batch there (those before it are recorded, those after
// it are not tried); a repeated id is recorded once and answers what the
// phone has.
func TestSendBatch(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		st := storetest.OpenConfig(t, cfg)
		now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC) // one instant for every send
		sb := New(st, func() time.Time { return now })
		const user, other = "15550001111", "15550002222"
		w := DefaultWorld()
		w.DeliveryDelayMs = 0
		if err := sb.SetWorld(ctx, w); err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{user, other} {
			if _, err := sb.UserSends(ctx, u, UserMessage{Type: "text", Content: []byte(`{"text":{"body":"hi"}}`)}); err != nil {
				t.Fatal(err)
			}
		}
		text := func(id, to string) network.Outgoing {
			return network.Outgoing{ID: id, To: to, Type: "text", Body: []byte(`{"text":{"body":"` + id + `"}}`)}
		}
		// Ids that sort against the sending order: the phone must still
		// show the sending order.
		ids := []string{"gBz", "gBm", "gBa", "gBq", "gBb"}
		var batch []network.Outgoing
		for _, id := range ids {
			batch = append(batch, text(id, user))
		}
		delivered, err := sb.SendBatch(ctx, batch)
		if err != nil || len(delivered) != len(ids) {
			t.Fatalf("SendBatch: %v, %v", delivered, err)
		}
		for i, d := range delivered {
			if !d {
				t.Errorf("message %d not reported delivered (the default world has no delay)", i)
			}
		}
		phone := func() []string {
			t.Helper()
			got, err := st.ListSandboxReceived(ctx, user, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, m := range got {
				out = append(out, m.ID)
			}
			return out
		}
		if got := phone(); !slices.Equal(got, ids) {
			t.Fatalf("the phone shows %v, want the sending order %v", got, ids)
		}

		// A message to someone else is refused where it stands.
		delivered, err = sb.SendBatch(ctx, []network.Outgoing{text("gBn1", user), text("gBx", other), text("gBn2", user)})
		if err == nil || len(delivered) != 1 || !delivered[0] {
			t.Fatalf("mixed recipients: %v, %v; want one sent, then an error", delivered, err)
		}
		if got := phone(); !slices.Equal(got, append(slices.Clone(ids), "gBn1")) {
			t.Fatalf("after the refusal the phone shows %v", got)
		}

		// A repeat of an id already received is not stored twice.
		delivered, err = sb.SendBatch(ctx, []network.Outgoing{text("gBa", user), text("gBn3", user)})
		if err != nil || !slices.Equal(delivered, []bool{true, true}) {
			t.Fatalf("repeat: %v, %v", delivered, err)
		}
		if got := phone(); len(got) != len(ids)+2 || got[len(got)-1] != "gBn3" {
			t.Fatalf("after the repeat the phone shows %v", got)
		}

		// A refusal by WhatsApp itself (no WhatsApp: 1013) ends it at once.
		w.NonWhatsApp = []string{"15550003333"}
		if err := sb.SetWorld(ctx, w); err != nil {
			t.Fatal(err)
		}
		delivered, err = sb.SendBatch(ctx, []network.Outgoing{text("gBw1", "15550003333"), text("gBw2", "15550003333")})
		var ne *network.Error
		if len(delivered) != 0 || !errors.As(err, &ne) || ne.Code != 1013 {
			t.Fatalf("no WhatsApp: %v, %v; want 1013 before anything is sent", delivered, err)
		}
	})
}
