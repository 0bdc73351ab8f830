package api_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/core"
)

func TestAccountValidation(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	missing := func(name string) errorItem {
		return e(1008, "Required parameter is missing", "Missing mandatory parameter '"+name+"'")
	}
	invalid := func(name, v string) errorItem {
		return e(1009, "Parameter value is not valid", "Parameter '"+name+"' has invalid value '"+v+"'")
	}
	cases := []struct {
		body string
		want []errorItem
	}{
		{`{}`, []errorItem{missing("cc"), missing("phone_number"), missing("method"),
			e(1008, "Required parameter is missing", "Atleast one of the following parameters must be present: 'cert', 'vname_cert'")}},
		{`{"cc":"1","phone_number":"5550100","method":"sms","cert":"x","vname_cert":"y"}`,
			[]errorItem{e(1010, "Parameter is not required", "Exactly one of the following parameters must be present: 'cert', 'vname_cert'")}},
		{`{"cc":"+1","phone_number":"555-0100","method":"fax","cert":"x"}`,
			[]errorItem{invalid("cc", "+1"), invalid("phone_number", "555-0100"), invalid("method", "fax")}},
		{`{"cc":1,"phone_number":"5550100","method":"sms","cert":"x"}`, []errorItem{invalid("cc", "1")}},
		{`{"cc":"1","phone_number":"5550100","method":"sms","cert":"x","pin":"12345"}`, []errorItem{invalid("pin", "12345")}},
		{`{"cc":"1","phone_number":"5550100","method":"sms","cert":"x","reset":"wipe","pin":"123456"}`,
			[]errorItem{e(1010, "Parameter is not required", "Parameter 'pin' is not required for reset 'wipe'")}},
		{`{"cc":"1","phone_number":"5550100","method":"sms","cert":"x","reset":"all"}`, []errorItem{invalid("reset", "all")}},
		// A certificate the sandbox did not issue.
		{`{"cc":"1","phone_number":"5550100","method":"sms","cert":"bm90IGEgY2VydA=="}`,
			[]errorItem{invalid("cert", "x")}},
	}
	for i, c := range cases {
		res := h.do(request{method: "POST", path: "/v1/account", header: bearer(admin), body: c.body})
		if i == len(cases)-1 {
			// The sandbox explains what is wrong with the certificate.
			got := res.errorsList()
			if res.Status != 400 || len(got) != 1 || got[0].Code != 1009 || !strings.Contains(got[0].Details, "not a certificate issued for this number by this sandbox") {
				t.Fatalf("bad certificate: %d %s", res.Status, res.Raw)
			}
			continue
		}
		expectError(t, res, 400, c.want...)
	}
	// A certificate for another number.
	cert := h.do(request{method: "POST", path: "/sandbox/v1/certificates", header: bearer(admin), body: `{"cc":"44","phone_number":"7700900000","vname":"Other"}`}).Body["certificate"].(string)
	res := h.do(request{method: "POST", path: "/v1/account", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100","method":"sms","cert":"` + cert + `"}`})
	expectError(t, res, 400, e(1009, "Parameter value is not valid", "Parameter 'cert' has invalid value: the certificate was issued for +44 7700900000, not +1 5550100"))

	// Verification.
	expectError(t, h.do(request{method: "POST", path: "/v1/account/verify", header: bearer(admin), body: `{}`}), 400, missing("code"))
	expectError(t, h.do(request{method: "POST", path: "/v1/account/verify", header: bearer(admin), body: `{"code":"12ab56"}`}), 400, invalid("code", "12ab56"))
	expectError(t, h.do(request{method: "POST", path: "/v1/account/verify", header: bearer(admin), body: `{"code":"123456"}`}), 403,
		e(1005, "Access denied", "No registration code was requested: call POST /v1/account first"))
	cert = h.do(request{method: "POST", path: "/sandbox/v1/certificates", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100","vname":"Acme"}`}).Body["certificate"].(string)
	if res := h.do(request{method: "POST", path: "/v1/account", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100","method":"voice","vname_cert":"` + cert + `"}`}); res.Status != 202 {
		t.Fatalf("vname_cert: %d %s", res.Status, res.Raw)
	}
	code := h.do(request{method: "GET", path: "/sandbox/v1/account/code", header: bearer(admin)}).Body["code"].(string)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	expectError(t, h.do(request{method: "POST", path: "/v1/account/verify", header: bearer(admin), body: `{"code":"` + wrong + `"}`}), 403,
		e(1005, "Access denied", "Invalid registration code"))
	h.clock.Advance(11 * time.Minute) // codes last 10 minutes
	expectError(t, h.do(request{method: "POST", path: "/v1/account/verify", header: bearer(admin), body: `{"code":"` + code + `"}`}), 403,
		e(1005, "Access denied", "The registration code has expired: request a new one"))
	expectError(t, h.do(request{method: "GET", path: "/sandbox/v1/account/code", header: bearer(admin)}), 404,
		e(1006, "Resource not found", "No registration code is pending: request one with POST /v1/account"))

	// Only the admin registers.
	ops := h.createUser(admin, "ops_team", "Passw0rd!")
	expectError(t, h.do(request{method: "POST", path: "/v1/account", header: bearer(ops), body: `{}`}), 403, e(1005, "Access denied", "User doesn't have permission"))
	expectError(t, h.do(request{method: "GET", path: "/sandbox/v1/users", header: bearer(ops)}), 403, e(1005, "Access denied", "User doesn't have permission"))
}

func TestContacts(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	h.register(admin)
	hook := newReceiver(t)
	// One number in the world has no WhatsApp.
	if res := h.do(request{method: "PATCH", path: "/sandbox/v1/world", header: bearer(admin), body: `{"non_whatsapp":["15550009999"]}`}); res.Status != 200 {
		t.Fatalf("world: %d %s", res.Status, res.Raw)
	}
	res := h.do(request{method: "POST", path: "/v1/contacts", header: bearer(admin),
		body: `{"blocking":"wait","contacts":["+1 (555) 000-1111","1-555-000-9999","abc","15550001111"]}`})
	want := `{"contacts":[{"input":"+1 (555) 000-1111","status":"valid","wa_id":"15550001111"},{"input":"1-555-000-9999","status":"invalid"},` +
		`{"input":"abc","status":"invalid"},{"input":"15550001111","status":"valid","wa_id":"15550001111"}],"meta":`
	if res.Status != 200 || !strings.HasPrefix(string(res.Raw), want) {
		t.Fatalf("wait: %d %s", res.Status, res.Raw)
	}
	// Asynchronous checks need a webhook.
	expectError(t, h.do(request{method: "POST", path: "/v1/contacts", header: bearer(admin), body: `{"contacts":["15550001111"]}`}), 412,
		e(1022, "Webhooks URL is not configured", "Contacts are checked asynchronously (blocking: no_wait) and reported on the webhook: set webhooks.url first, or use blocking: wait"))
	h.setWebhook(admin, hook.srv.URL)
	res = h.do(request{method: "POST", path: "/v1/contacts", header: bearer(admin), body: `{"contacts":["15550001111","15550009999"]}`})
	if !strings.HasPrefix(string(res.Raw), `{"contacts":[{"input":"15550001111","status":"processing"},{"input":"15550009999","status":"processing"}],"meta":`) {
		t.Fatalf("no_wait: %s", res.Raw)
	}
	h.pump()
	got := hook.items("contacts")
	if len(got) != 2 || got[0]["status"] != "valid" || got[0]["wa_id"] != "15550001111" || got[1]["status"] != "invalid" || got[1]["wa_id"] != nil {
		t.Fatalf("async results %v", got)
	}
	// Results are cached: the world changes, the answer does not, until
	// force_check.
	h.do(request{method: "PATCH", path: "/sandbox/v1/users/15550001111", header: bearer(admin), body: `{"whatsapp":false}`})
	res = h.do(request{method: "POST", path: "/v1/contacts", header: bearer(admin), body: `{"blocking":"wait","contacts":["15550001111"]}`})
	if !strings.Contains(string(res.Raw), `"status":"valid"`) {
		t.Fatalf("cached: %s", res.Raw)
	}
	res = h.do(request{method: "POST", path: "/v1/contacts", header: bearer(admin), body: `{"blocking":"wait","force_check":true,"contacts":["15550001111"]}`})
	if !strings.Contains(string(res.Raw), `"status":"invalid"`) {
		t.Fatalf("force_check: %s", res.Raw)
	}

	invalid := func(details string) errorItem { return e(1009, "Parameter value is not valid", details) }
	for body, want := range map[string]errorItem{
		`{}`:                                      e(1008, "Required parameter is missing", "Missing mandatory parameter 'contacts'"),
		`{"contacts":"15550001111"}`:              invalid("Contacts field has to be an array"),
		`{"contacts":[]}`:                         invalid("Contacts field must have atleast one entry"),
		`{"contacts":[15550001111]}`:              invalid("Parameter 'contacts' has invalid value '15550001111'"),
		`{"contacts":["1"],"blocking":"later"}`:   invalid("Parameter 'blocking' has invalid value 'later'"),
		`{"contacts":["1"],"force_check":"true"}`: invalid("Parameter 'force_check' has invalid value 'true'"),
	} {
		expectError(t, h.do(request{method: "POST", path: "/v1/contacts", header: bearer(admin), body: body}), 400, want)
	}
}

func TestSendFailuresAndStatusToggles(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	h.register(admin)
	hook := newReceiver(t)
	h.setWebhook(admin, hook.srv.URL)
	h.do(request{method: "PATCH", path: "/sandbox/v1/world", header: bearer(admin), body: `{"non_whatsapp_pattern":"^1555999"}`})

	// sent_status turns on "sent" callbacks; the first status of a new
	// conversation carries its expiry.
	h.do(request{method: "PATCH", path: "/v1/settings/application", header: bearer(admin), body: `{"sent_status":true,"webhooks":{"message":{"read":false}}}`})
	h.userWrites(admin, customer, "hello")
	h.pump()
	id := h.send(admin, `{"to":"`+customer+`","text":{"body":"one"}}`)
	h.pump()
	h.clock.Advance(2 * time.Second)
	h.pump()
	sts := hook.statusesOf(id)
	if len(sts) != 2 || sts[0]["status"] != "sent" || sts[1]["status"] != "delivered" {
		t.Fatalf("statuses with sent on and read off: %v", sts)
	}
	convID := sts[0]["conversation"].(map[string]any)["id"]
	if sts[0]["conversation"].(map[string]any)["expiration_timestamp"] == nil {
		t.Fatalf("first status lacks the expiration: %v", sts[0])
	}
	// A second message in the same conversation: same id, no expiration.
	id2 := h.send(admin, `{"to":"`+customer+`","text":{"body":"two"}}`)
	h.pump()
	sts2 := hook.statusesOf(id2)
	if len(sts2) != 1 || sts2[0]["conversation"].(map[string]any)["id"] != convID || sts2[0]["conversation"].(map[string]any)["expiration_timestamp"] != nil {
		t.Fatalf("second message %v", sts2)
	}

	// Not a WhatsApp user: accepted, then failed with 1013.
	badID := h.send(admin, `{"to":"15559990000","text":{"body":"hi"}}`)
	h.pump()
	bad := hook.statusesOf(badID)
	if len(bad) != 1 || bad[0]["status"] != "failed" || bad[0]["errors"].([]any)[0].(map[string]any)["code"] != float64(1013) ||
		bad[0]["errors"].([]any)[0].(map[string]any)["title"] != "User is not valid" {
		t.Fatalf("non-WhatsApp recipient: %v", bad)
	}
	// Sending to the business's own number.
	expectError(t, h.do(request{method: "POST", path: "/v1/messages", header: bearer(admin), body: `{"to":"15550100","text":{"body":"me"}}`}), 400,
		e(1021, "Bad user", "Cannot send a message to the business's own number"))

	// An offline user: the message waits as sent; its TTL runs out: 410.
	h.do(request{method: "PATCH", path: "/sandbox/v1/users/" + customer, header: bearer(admin), body: `{"online":false}`})
	ttlID := h.send(admin, `{"to":"`+customer+`","ttl":"PT1H","text":{"body":"short-lived"}}`)
	h.pump()
	h.clock.Advance(61 * time.Minute)
	h.pump()
	ttl := hook.statusesOf(ttlID)
	if len(ttl) != 2 || ttl[0]["status"] != "sent" || ttl[1]["status"] != "failed" || ttl[1]["errors"].([]any)[0].(map[string]any)["code"] != float64(410) {
		t.Fatalf("ttl statuses %v", ttl)
	}
	// The user comes back online: the expired message is not resurrected;
	// a fresh one is delivered.
	h.userWrites(admin, customer, "back")
	freshID := h.send(admin, `{"to":"`+customer+`","text":{"body":"welcome back"}}`)
	h.pump()
	h.do(request{method: "PATCH", path: "/sandbox/v1/users/" + customer, header: bearer(admin), body: `{"online":true}`})
	h.clock.Advance(time.Second)
	h.pump()
	if got := hook.statusesOf(ttlID); len(got) != 2 {
		t.Fatalf("expired message moved on: %v", got)
	}
	if got := hook.statusesOf(freshID); len(got) != 2 || got[1]["status"] != "delivered" {
		t.Fatalf("message for a returning user: %v", got)
	}
}

func TestMessagesPendingADayFailWith408(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	h.register(admin)
	hook := newReceiver(t)
	h.setWebhook(admin, hook.srv.URL)
	h.userWrites(admin, customer, "hello")
	h.pump()
	// Accepted, but the worker does not run for more than a day (the
	// server was down): the message fails with 408 instead of going out late.
	id := h.send(admin, `{"to":"`+customer+`","ttl":"P7D","text":{"body":"late"}}`)
	h.clock.Advance(25 * time.Hour)
	h.pump()
	sts := hook.statusesOf(id)
	if len(sts) != 1 || sts[0]["errors"].([]any)[0].(map[string]any)["code"] != float64(408) {
		t.Fatalf("statuses %v", sts)
	}
}

func TestNumberChangeIsGatedBySetting(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	h.register(admin)
	hook := newReceiver(t)
	h.setWebhook(admin, hook.srv.URL)
	if res := h.do(request{method: "POST", path: "/sandbox/v1/users/" + customer + "/number", header: bearer(admin), body: `{"new_wa_id":"15550003333"}`}); res.Status != 200 {
		t.Fatalf("change number: %d %s", res.Status, res.Raw)
	}
	h.pump()
	msgs := hook.items("messages")
	if len(msgs) != 1 || msgs[0]["type"] != "system" || msgs[0]["from"] != customer {
		t.Fatalf("system message %v", msgs)
	}
	sys := msgs[0]["system"].(map[string]any)
	if sys["type"] != "user_changed_number" || sys["new_wa_id"] != "15550003333" || !strings.HasPrefix(msgs[0]["id"].(string), "AB") {
		t.Fatalf("system body %v", sys)
	}
	h.do(request{method: "PATCH", path: "/v1/settings/application", header: bearer(admin), body: `{"notify_user_change_number":false}`})
	h.do(request{method: "POST", path: "/sandbox/v1/users/15550003333/number", header: bearer(admin), body: `{"new_wa_id":"15550004444"}`})
	h.pump()
	if got := hook.items("messages"); len(got) != 1 {
		t.Fatalf("notified although notify_user_change_number is off: %v", got)
	}
}

func TestSandboxUserAPI(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	res := h.do(request{method: "GET", path: "/sandbox/v1/users/15550001111", header: bearer(admin)})
	if res.Status != 200 || !strings.HasPrefix(string(res.Raw), `{"users":[{"wa_id":"15550001111","display_name":"Sandbox User 1111","online":true,"auto_read_ms":0,"blocked":false,"whatsapp":true}]`) {
		t.Fatalf("user: %d %s", res.Status, res.Raw)
	}
	res = h.do(request{method: "PATCH", path: "/sandbox/v1/users/15550001111", header: bearer(admin), body: `{"display_name":"Dana Reyes","auto_read_ms":-1,"blocked":true}`})
	if !strings.Contains(string(res.Raw), `"display_name":"Dana Reyes","online":true,"auto_read_ms":-1,"blocked":true`) {
		t.Fatalf("update: %s", res.Raw)
	}
	invalid := func(name, v string) errorItem {
		return e(1009, "Parameter value is not valid", "Parameter '"+name+"' has invalid value '"+v+"'")
	}
	expectError(t, h.do(request{method: "PATCH", path: "/sandbox/v1/users/15550001111", header: bearer(admin), body: `{"online":"yes"}`}), 400, invalid("online", "yes"))
	expectError(t, h.do(request{method: "PATCH", path: "/sandbox/v1/users/15550001111", header: bearer(admin), body: `{"auto_read_ms":-5}`}), 400, invalid("auto_read_ms", "-5"))
	expectError(t, h.do(request{method: "PATCH", path: "/sandbox/v1/users/15550001111", header: bearer(admin), body: `{"x":1}`}), 400,
		e(1009, "Parameter value is not valid", "No valid parameters provided"))
	expectError(t, h.do(request{method: "GET", path: "/sandbox/v1/users/12ab", header: bearer(admin)}), 400, invalid("wa_id", "12ab"))
	expectError(t, h.do(request{method: "POST", path: "/sandbox/v1/users/15550001111/messages", header: bearer(admin), body: `{"type":"text","text":{}}`}), 400,
		e(1008, "Required parameter is missing", "Missing mandatory parameter 'text.body'"))
	expectError(t, h.do(request{method: "POST", path: "/sandbox/v1/users/15550001111/messages", header: bearer(admin), body: `{"type":"text"}`}), 400,
		e(1008, "Required parameter is missing", "Parameter 'text' is mandatory for type 'text'"))
	expectError(t, h.do(request{method: "GET", path: "/sandbox/v1/users/15550007777/messages", header: bearer(admin)}), 404,
		e(1006, "Resource not found", "The sandbox has no user 15550007777"))
	expectError(t, h.do(request{method: "POST", path: "/sandbox/v1/users/15550001111/read", header: bearer(admin), body: `{"message_id":"gBnope"}`}), 404,
		e(1006, "Resource not found", "User 15550001111 has no message gBnope"))
	expectError(t, h.do(request{method: "PATCH", path: "/sandbox/v1/world", header: bearer(admin), body: `{"non_whatsapp_pattern":"("}`}), 400,
		e(1009, "Parameter value is not valid", "Invalid world: non_whatsapp_pattern: error parsing regexp: missing closing ): `(`"))
	expectError(t, h.do(request{method: "PATCH", path: "/sandbox/v1/world", header: bearer(admin), body: `{"auto_read":"no","read_delay_ms":1.5}`}), 400,
		invalid("auto_read", "no"), invalid("read_delay_ms", "1.5"))
	h.do(request{method: "PATCH", path: "/sandbox/v1/users/15550002222", header: bearer(admin), body: `{"whatsapp":false}`})
	expectError(t, h.do(request{method: "POST", path: "/sandbox/v1/users/15550002222/messages", header: bearer(admin), body: `{"text":{"body":"hi"}}`}), 400,
		e(1013, "User is not valid", "15550002222 has no WhatsApp in this sandbox"))
	res = h.do(request{method: "GET", path: "/sandbox/v1/users", header: bearer(admin)})
	if !strings.Contains(string(res.Raw), `"wa_id":"15550001111"`) {
		t.Fatalf("users: %s", res.Raw)
	}
}

func TestBlockedUserNeverGetsDelivery(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	h.register(admin)
	hook := newReceiver(t)
	h.setWebhook(admin, hook.srv.URL)
	h.userWrites(admin, customer, "hello")
	h.pump()
	h.do(request{method: "PATCH", path: "/sandbox/v1/users/" + customer, header: bearer(admin), body: `{"blocked":true}`})
	id := h.send(admin, `{"to":"`+customer+`","text":{"body":"anyone there?"}}`)
	h.pump()
	h.clock.Advance(time.Hour)
	h.pump()
	if got := hook.statusesOf(id); len(got) != 0 {
		t.Fatalf("a blocked business got statuses: %v", got)
	}
	// The user reads on demand once unblocked.
	h.do(request{method: "PATCH", path: "/sandbox/v1/users/" + customer, header: bearer(admin), body: `{"blocked":false,"auto_read_ms":-1}`})
	h.clock.Advance(time.Second)
	h.pump()
	if got := hook.statusesOf(id); len(got) != 1 || got[0]["status"] != "delivered" {
		t.Fatalf("after unblocking: %v", got)
	}
	if res := h.do(request{method: "POST", path: "/sandbox/v1/users/" + customer + "/read", header: bearer(admin), body: `{"message_id":"` + id + `"}`}); res.Status != 200 {
		t.Fatalf("read: %d %s", res.Status, res.Raw)
	}
	h.pump()
	if got := hook.statusesOf(id); len(got) != 2 || got[1]["status"] != "read" {
		t.Fatalf("after reading: %v", got)
	}
}

// TestStartUpReceivesOfflineMessages: messages that reach the network while
// the core is down are received and processed by the start-up process,
// before sends are accepted again.
func TestStartUpReceivesOfflineMessages(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	h.register(admin)
	hook := newReceiver(t)
	h.setWebhook(admin, hook.srv.URL)
	var ids []string
	for _, text := range []string{"one", "two", "three"} {
		ids = append(ids, h.userWrites(admin, customer, text)) // nobody processes them: the core is "down"
	}
	restarted := core.New(core.Options{Store: h.store, Network: h.sandbox, Hooks: h.hooks, Settings: h.settings,
		Log: slog.New(slog.DiscardHandler), Now: h.clock.Now, NodeID: "restarted"})
	if restarted.Ready() {
		t.Fatal("ready before start-up")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := restarted.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := restarted.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	// Ready means the offline messages are already queued for the webhook.
	if n := h.hooks.Stats().Queued; n != 3 {
		t.Fatalf("%d callbacks queued at ready, want 3", n)
	}
	h.hooks.RunOnce(ctx)
	got := hook.items("messages")
	if len(got) != 3 || got[0]["id"] != ids[0] || got[2]["id"] != ids[2] {
		t.Fatalf("offline messages %v", got)
	}
}

// TestTogglingAUserNeverDuplicatesReports: a user who goes offline and back
// online before a delivery falls due gets each report once, and an offline
// user's phone never reports delivery.
func TestTogglingAUserNeverDuplicatesReports(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	h.register(admin)
	hook := newReceiver(t)
	h.setWebhook(admin, hook.srv.URL)
	h.userWrites(admin, customer, "hello")
	h.pump()
	id := h.send(admin, `{"to":"`+customer+`","text":{"body":"hi"}}`)
	h.pump() // sent; delivery due in 100 ms
	for _, online := range []string{"false", "true", "false"} {
		h.do(request{method: "PATCH", path: "/sandbox/v1/users/" + customer, header: bearer(admin), body: `{"online":` + online + `}`})
	}
	h.clock.Advance(5 * time.Second)
	h.pump()
	if got := hook.statusesOf(id); len(got) != 0 {
		t.Fatalf("an offline user's phone reported: %v", got)
	}
	h.do(request{method: "PATCH", path: "/sandbox/v1/users/" + customer, header: bearer(admin), body: `{"online":true}`})
	h.do(request{method: "PATCH", path: "/sandbox/v1/users/" + customer, header: bearer(admin), body: `{"online":false}`})
	h.do(request{method: "PATCH", path: "/sandbox/v1/users/" + customer, header: bearer(admin), body: `{"online":true}`})
	h.clock.Advance(5 * time.Second)
	h.pump()
	got := hook.statusesOf(id)
	if len(got) != 2 || got[0]["status"] != "delivered" || got[1]["status"] != "read" {
		t.Fatalf("reports %v", got)
	}
}
