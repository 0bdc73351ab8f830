package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// TestIdentityChanges: a user's new identity replaces the one they had
// since wabiz knew them; with show_security_notifications on, it is
// announced, carried on their messages, and blocks sends to them (1028)
// until acknowledged; with it off, nothing is announced and sends go
// through.
func TestIdentityChanges(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		admin := h.adminToken()
		h.register(admin)
		hook := newReceiver(t)
		h.setWebhook(admin, hook.srv.URL)
		h.userWrites(admin, customer, "hello")
		h.pump()

		// Before any change: the identity the user has had since they wrote.
		res := h.do(request{method: "GET", path: "/v1/contacts/" + customer + "/identity", header: bearer(admin)})
		initial, _ := res.Body["contacts"].(map[string]any)["hash"].(string)
		if res.Status != 200 || initial == "" || !strings.Contains(string(res.Raw), `"acknowledged":true`) {
			t.Fatalf("identity before a change: %d %s", res.Status, res.Raw)
		}

		// Off (the default): recorded, not announced, sends unaffected.
		res = h.do(request{method: "POST", path: "/sandbox/v1/users/" + customer + "/identity", header: bearer(admin)})
		first := res.Body["identity"].(map[string]any)["hash"].(string)
		h.pump()
		if len(hook.items("messages")) != 1 {
			t.Fatalf("identity announced with notifications off: %v", hook.items("messages"))
		}
		h.send(admin, `{"to":"`+customer+`","text":{"body":"still fine"}}`)

		h.do(request{method: "PATCH", path: "/v1/settings/application", header: bearer(admin), body: `{"show_security_notifications":true}`})
		expectError(t, h.do(request{method: "POST", path: "/v1/messages", header: bearer(admin), body: `{"to":"` + customer + `","text":{"body":"blocked"}}`}), 400,
			e(1028, "A user_identity_changed system notification requires acknowledgement",
				"The identity of "+customer+" changed: acknowledge it with PUT /v1/contacts/"+customer+"/identity before sending"))

		res = h.do(request{method: "POST", path: "/sandbox/v1/users/" + customer + "/identity", header: bearer(admin)})
		second := res.Body["identity"].(map[string]any)["hash"].(string)
		h.pump()
		msgs := hook.items("messages")
		sys := msgs[len(msgs)-1]
		if sys["type"] != "system" || sys["system"].(map[string]any)["type"] != "user_identity_changed" || sys["system"].(map[string]any)["identity"] != second {
			t.Fatalf("identity notification %v", sys)
		}
		res = h.do(request{method: "GET", path: "/v1/contacts/" + customer + "/identity", header: bearer(admin)})
		if !strings.HasPrefix(string(res.Raw), `{"contacts":{"hash":"`+second+`","created_timestamp":`) || !strings.Contains(string(res.Raw), `"acknowledged":false`) {
			t.Fatalf("identity: %s", res.Raw)
		}
		// Messages from the user carry the identity.
		h.userWrites(admin, customer, "new phone")
		h.pump()
		msgs = hook.items("messages")
		if id, _ := msgs[len(msgs)-1]["identity"].(map[string]any); id == nil || id["hash"] != second || id["acknowledged"] != false {
			t.Fatalf("message without identity: %v", msgs[len(msgs)-1])
		}

		expectError(t, h.do(request{method: "PUT", path: "/v1/contacts/" + customer + "/identity", header: bearer(admin), body: `{}`}), 400,
			e(1008, "Required parameter is missing", "Missing mandatory parameter 'hash'"))
		for _, stale := range []string{initial, first} {
			expectError(t, h.do(request{method: "PUT", path: "/v1/contacts/" + customer + "/identity", header: bearer(admin), body: `{"hash":"` + stale + `"}`}), 400,
				e(1009, "Parameter value is not valid", "Parameter 'hash' has invalid value '"+stale+"'"))
		}
		if res := h.do(request{method: "PUT", path: "/v1/contacts/" + customer + "/identity/", header: bearer(admin), body: `{"hash":"` + second + `"}`}); res.Status != 200 {
			t.Fatalf("acknowledge: %d %s", res.Status, res.Raw)
		}
		res = h.do(request{method: "GET", path: "/v1/contacts/" + customer + "/identity", header: bearer(admin)})
		if !strings.HasPrefix(string(res.Raw), `{"contacts":{"hash":"`+second+`","created_timestamp":`) || !strings.Contains(string(res.Raw), `"acknowledged":true`) {
			t.Fatalf("identity after acknowledging: %s", res.Raw)
		}
		h.send(admin, `{"to":"`+customer+`","text":{"body":"welcome back"}}`)
	})
}

// TestIdentityOfAKnownContact: every user wabiz knows has an identity —
// one a contact check found valid, one who wrote, one the business's
// message reached — answered 200 with a hash that is the same on every
// call and after a restart, differs between users, and is dated when wabiz
// first knew them; a number wabiz never met, or one a check found invalid,
// is 404/1006. The hash of an identity that never changed acknowledges
// as a no-op, any other is 1009; the identity is not put on inbound
// messages and does not block sends.
func TestIdentityOfAKnownContact(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		admin := h.adminToken()
		h.register(admin)
		hook := newReceiver(t)
		h.setWebhook(admin, hook.srv.URL)
		const checked, wrote, messaged, stranger, invalid = "15550003333", "15550004444", "15550005555", "15550006666", "15550009999"
		identity := func(hh *harness, waID string) (string, int64) {
			t.Helper()
			res := hh.do(request{method: "GET", path: "/v1/contacts/" + waID + "/identity", header: bearer(admin)})
			item, _ := res.Body["contacts"].(map[string]any)
			hash, _ := item["hash"].(string)
			if res.Status != 200 || len(hash) != 12 || item["acknowledged"] != true || len(item) != 3 {
				t.Fatalf("identity of %s: %d %s", waID, res.Status, res.Raw)
			}
			return hash, int64(item["created_timestamp"].(float64))
		}
		unknown := func(waID string) {
			t.Helper()
			expectError(t, h.do(request{method: "GET", path: "/v1/contacts/" + waID + "/identity", header: bearer(admin)}), 404,
				e(1006, "Resource not found", "No identity is known for "+waID+": the number was never checked with POST /v1/contacts, messaged or heard from"))
		}
		unknown(checked)

		// Known by a contact check.
		h.do(request{method: "PATCH", path: "/sandbox/v1/world", header: bearer(admin), body: `{"non_whatsapp":["` + invalid + `"]}`})
		checkedAt := h.clock.Now()
		res := h.do(request{method: "POST", path: "/v1/contacts", header: bearer(admin), body: `{"blocking":"wait","contacts":["+1 555 000 3333","+1 555 000 9999"]}`})
		if res.Status != 200 || !strings.Contains(string(res.Raw), `"status":"valid","wa_id":"`+checked+`"`) {
			t.Fatalf("check: %d %s", res.Status, res.Raw)
		}
		byCheck, created := identity(h, checked)
		if created != checkedAt.UnixMilli() {
			t.Fatalf("created_timestamp %d, want %d (the check)", created, checkedAt.UnixMilli())
		}
		unknown(invalid)

		// Known by a message from the user.
		h.clock.Advance(time.Minute)
		wroteAt := h.clock.Now()
		h.userWrites(admin, wrote, "hello")
		h.pump()
		byInbound, created := identity(h, wrote)
		if created != wroteAt.UnixMilli() {
			t.Fatalf("created_timestamp %d, want %d (the message)", created, wroteAt.UnixMilli())
		}

		// Known by a message to the user (a template: outside the window).
		res = h.do(request{method: "POST", path: "/sandbox/v1/templates", header: bearer(admin),
			body: `{"templates":[{"name":"welcome","language":"en_US","category":"UTILITY","status":"APPROVED","components":[{"type":"BODY","text":"Welcome"}]}]}`})
		if res.Status != 201 {
			t.Fatalf("seed template: %d %s", res.Status, res.Raw)
		}
		if _, err := h.core.LoadTemplates(context.Background()); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(time.Minute)
		sentAt := h.clock.Now()
		h.send(admin, `{"to":"`+messaged+`","type":"template","template":{"namespace":"`+res.Body["namespace"].(string)+`","name":"welcome","language":{"policy":"deterministic","code":"en_US"}}}`)
		unknown(messaged) // accepted, not sent yet
		h.pump()
		byOutbound, created := identity(h, messaged)
		if created != sentAt.UnixMilli() {
			t.Fatalf("created_timestamp %d, want %d (the send)", created, sentAt.UnixMilli())
		}
		unknown(stranger)

		if byCheck == byInbound || byInbound == byOutbound || byCheck == byOutbound {
			t.Fatalf("users share a hash: %s %s %s", byCheck, byInbound, byOutbound)
		}
		// Stable: later, after a forced check and another message, and
		// from a restarted server over the same database.
		h.clock.Advance(time.Hour)
		h.do(request{method: "POST", path: "/v1/contacts", header: bearer(admin), body: `{"blocking":"wait","contacts":["` + checked + `"],"force_check":true}`})
		h.userWrites(admin, wrote, "again")
		h.pump()
		restarted := newHarness(t, cfg)
		for waID, want := range map[string]string{checked: byCheck, wrote: byInbound, messaged: byOutbound} {
			first, created := identity(h, waID)
			again, createdAgain := identity(restarted, waID)
			if first != want || again != want || created != createdAgain || created > checkedAt.Add(2*time.Minute).UnixMilli() {
				t.Fatalf("identity of %s moved: %s %s (created %d, %d), want %s", waID, first, again, created, createdAgain, want)
			}
		}

		// Acknowledging the identity there is: nothing to do.
		if res := h.do(request{method: "PUT", path: "/v1/contacts/" + checked + "/identity", header: bearer(admin), body: `{"hash":"` + byCheck + `"}`}); res.Status != 200 {
			t.Fatalf("acknowledge the unchanged identity: %d %s", res.Status, res.Raw)
		}
		expectError(t, h.do(request{method: "PUT", path: "/v1/contacts/" + checked + "/identity", header: bearer(admin), body: `{"hash":"` + byInbound + `"}`}), 400,
			e(1009, "Parameter value is not valid", "Parameter 'hash' has invalid value '"+byInbound+"'"))
		expectError(t, h.do(request{method: "PUT", path: "/v1/contacts/" + stranger + "/identity", header: bearer(admin), body: `{"hash":"` + byCheck + `"}`}), 404,
			e(1006, "Resource not found", "No identity is known for "+stranger+": the number was never checked with POST /v1/contacts, messaged or heard from"))

		// With security notifications on, an identity that never changed
		// neither rides on the user's messages nor blocks sends.
		h.do(request{method: "PATCH", path: "/v1/settings/application", header: bearer(admin), body: `{"show_security_notifications":true}`})
		h.userWrites(admin, wrote, "with notifications")
		h.pump()
		msgs := hook.items("messages")
		if last := msgs[len(msgs)-1]; last["identity"] != nil {
			t.Fatalf("an unchanged identity rides on the message: %v", last)
		}
		h.send(admin, `{"to":"`+wrote+`","text":{"body":"fine"}}`)
	})
}
