package api

import (
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// TestIdentityChanges: with show_security_notifications on, a user's new
// identity is announced, carried on their messages, and blocks sends to
// them (1028) until acknowledged; with it off, nothing is announced and
// sends go through.
func TestIdentityChanges(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		admin := h.adminToken()
		h.register(admin)
		hook := newReceiver(t)
		h.setWebhook(admin, hook.srv.URL)
		h.userWrites(admin, customer, "hello")
		h.pump()

		expectError(t, h.do(request{method: "GET", path: "/v1/contacts/" + customer + "/identity", header: bearer(admin)}), 404,
			e(1006, "Resource not found", "No identity change is known for "+customer))

		// Off (the default): recorded, not announced, sends unaffected.
		res := h.do(request{method: "POST", path: "/sandbox/v1/users/" + customer + "/identity", header: bearer(admin)})
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
		expectError(t, h.do(request{method: "PUT", path: "/v1/contacts/" + customer + "/identity", header: bearer(admin), body: `{"hash":"` + first + `"}`}), 400,
			e(1009, "Parameter value is not valid", "Parameter 'hash' has invalid value '"+first+"'"))
		if res := h.do(request{method: "PUT", path: "/v1/contacts/" + customer + "/identity/", header: bearer(admin), body: `{"hash":"` + second + `"}`}); res.Status != 200 {
			t.Fatalf("acknowledge: %d %s", res.Status, res.Raw)
		}
		h.send(admin, `{"to":"`+customer+`","text":{"body":"welcome back"}}`)
	})
}
