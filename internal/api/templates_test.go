package api_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// TestTemplatesEndToEnd: a catalogue loaded from the network; a template
// with an image header, body parameters of every type, a URL and a
// quick-reply button reaches a user outside the window rendered; the user
// taps the quick reply; free text to the same user fails with 470; a paused
// template fails with 2061, at accept time and, for a message accepted
// before the pause, on the webhook.
func TestTemplatesEndToEnd(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		admin := h.adminToken()
		h.register(admin)
		hook := newReceiver(t)
		h.setWebhook(admin, hook.srv.URL)
		sample, err := os.ReadFile("../../docs/examples/sandbox-templates.json")
		if err != nil {
			t.Fatal(err)
		}
		res := h.do(request{method: "POST", path: "/sandbox/v1/templates", header: bearer(admin), body: string(sample)})
		if res.Status != 201 {
			t.Fatalf("seed: %d %s", res.Status, res.Raw)
		}
		namespace := res.Body["namespace"].(string)
		ctx := context.Background()
		if n, err := h.core.LoadTemplates(ctx); err != nil || n != 3 {
			t.Fatalf("load: %d %v", n, err)
		}

		png, _ := media.Sample("image")
		imageID := h.upload(admin, "image/png", png, nil)
		const cold = "15550007777" // never wrote: outside the window
		send := `{"to":"` + cold + `","type":"template","template":{"namespace":"` + namespace + `","name":"order_update",
			"language":{"policy":"deterministic","code":"en_US"},"components":[
			{"type":"header","parameters":[{"type":"image","image":{"id":"` + imageID + `"}}]},
			{"type":"body","parameters":[{"type":"text","text":"Dana"},
				{"type":"currency","currency":{"fallback_value":"$12.50","code":"USD","amount_1000":12500}},
				{"type":"date_time","date_time":{"fallback_value":"March 3, 2024"}}]},
			{"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"8841"}]},
			{"type":"button","sub_type":"quick_reply","index":"1","parameters":[{"type":"payload","payload":"STOP_UPDATES"}]}]}}`
		id := h.send(admin, send)
		h.pump()
		h.clock.Advance(2e9)
		h.pump()
		sts := hook.statusesOf(id)
		if len(sts) != 2 || sts[0]["status"] != "delivered" {
			t.Fatalf("template statuses %v", sts)
		}
		conv := sts[0]["conversation"].(map[string]any)
		if conv["origin"].(map[string]any)["type"] != "utility" || sts[0]["pricing"].(map[string]any)["category"] != "utility" ||
			sts[0]["pricing"].(map[string]any)["billable"] != true {
			t.Fatalf("template conversation %v", sts[0])
		}
		got := h.phone(admin, cold)[id]
		want := "[image]\nHi Dana, your order $12.50 is on its way and should arrive by March 3, 2024.\nAcme Shop\n" +
			"[Track the parcel → https://shop.example.com/track/8841]\n[Stop updates]"
		if got["rendered"] != want {
			t.Fatalf("rendered %q\nwant     %q", got["rendered"], want)
		}
		if got["message"].(map[string]any)["media"].(map[string]any)["sha256"] != sha(png) {
			t.Fatalf("header image not received: %v", got)
		}

		// The user taps the quick reply.
		res = h.do(request{method: "POST", path: "/sandbox/v1/users/" + cold + "/messages", header: bearer(admin),
			body: `{"type":"button","button":{"payload":"STOP_UPDATES","text":"Stop updates"},"context":{"id":"` + id + `"}}`})
		if res.Status != 201 {
			t.Fatalf("tap: %d %s", res.Status, res.Raw)
		}
		h.pump()
		msgs := hook.items("messages")
		tap := msgs[len(msgs)-1]
		if tap["type"] != "button" || tap["button"].(map[string]any)["payload"] != "STOP_UPDATES" || tap["context"].(map[string]any)["id"] != id {
			t.Fatalf("tap %v", tap)
		}

		// Free text to another cold user fails with 470 while a template is delivered.
		textID := h.send(admin, `{"to":"15550008888","text":{"body":"hello"}}`)
		h.pump()
		if st := hook.statusesOf(textID); len(st) != 1 || st[0]["errors"].([]any)[0].(map[string]any)["code"] != float64(470) {
			t.Fatalf("free text outside the window: %v", st)
		}

		// Paused: sends answer 2061 from the moment the pause returns.
		queued := h.send(admin, send) // accepted, not yet handed to the network
		if res := h.do(request{method: "PATCH", path: "/sandbox/v1/templates/order_update/en_US", header: bearer(admin), body: `{"status":"PAUSED"}`}); res.Status != 200 {
			t.Fatalf("pause: %d %s", res.Status, res.Raw)
		}
		res = h.do(request{method: "POST", path: "/v1/messages", header: bearer(admin), body: send})
		if got := res.errorsList(); res.Status != 400 || len(got) != 1 || got[0].Code != 2061 || got[0].Title != "Template Paused" {
			t.Fatalf("paused: %d %s", res.Status, res.Raw)
		}
		// The message accepted before the pause fails when the worker finds it paused.
		h.pump()
		if st := hook.statusesOf(queued); len(st) != 1 || st[0]["status"] != "failed" || !strings.Contains(string(mustJSON(st[0])), "2061") {
			t.Fatalf("the message accepted before the pause: %v", st)
		}
		// A missing template is 2001.
		res = h.do(request{method: "POST", path: "/v1/messages", header: bearer(admin),
			body: `{"to":"` + cold + `","type":"template","template":{"namespace":"` + namespace + `","name":"nope","language":{"policy":"deterministic","code":"en_US"}}}`})
		if got := res.errorsList(); res.Status != 404 || got[0].Code != 2001 {
			t.Fatalf("missing template: %d %s", res.Status, res.Raw)
		}
	})
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
