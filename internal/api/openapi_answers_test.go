package api_test

import (
	"bytes"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
)

// TestRealAnswersFitTheOpenAPIDocument drives a sandbox node through what
// a client and the sandbox's user do — the getting-started path, media,
// settings, operations, errors, the control API — and validates every
// answer against the response the document gives its method, path and
// status, and every webhook body against the document's webhook.
func TestRealAnswersFitTheOpenAPIDocument(t *testing.T) {
	t.Parallel()
	c := newAnswerChecker(t)
	h := sqliteHarness(t)
	hook := newReceiver(t)
	do := func(method, path, body string, header map[string]string) response {
		t.Helper()
		return c.do(h, request{method: method, path: path, body: body, header: header})
	}

	// Log in: the forced password change, then a plain login, then errors.
	do("POST", "/v1/users/login", "", basic("admin", "secret")) // 401/1024
	admin := tokenOf(t, do("POST", "/v1/users/login", `{"new_password":"`+testAdminPassword+`"}`, basic("admin", "secret")))
	tokenOf(t, do("POST", "/v1/users/login", "", basic("admin", testAdminPassword)))
	do("POST", "/v1/users/login", "", basic("admin", "wrong"))
	do("POST", "/v1/users/login", `{"new_password":"weak"}`, basic("admin", testAdminPassword))
	as := bearer(admin)

	do("GET", "/v1/health", "", as)                                              // unregistered
	do("POST", "/v1/messages", `{"to":"`+customer+`","text":{"body":"hi"}}`, as) // 1011

	// Registration through the sandbox.
	cert := do("POST", "/sandbox/v1/certificates", `{"cc":"1","phone_number":"5550100","vname":"Acme"}`, as).Body["certificate"].(string)
	do("POST", "/sandbox/v1/certificates", `{"cc":"1"}`, as)
	do("POST", "/v1/account", `{"cc":"1","phone_number":"5550100","method":"sms","cert":"`+cert+`"}`, as)
	code := do("GET", "/sandbox/v1/account/code", "", as).Body["code"].(string)
	do("POST", "/v1/account/verify", `{}`, as)
	do("POST", "/v1/account/verify", `{"code":"`+code+`"}`, as)
	waitReady(t, h)
	do("POST", "/v1/account", `{"cc":"1","phone_number":"5550100","method":"voice","cert":"`+cert+`"}`, as) // 201: already registered
	do("GET", "/v1/account/shards", "", as)

	// Settings.
	do("PATCH", "/v1/settings/application", jsonBody(t, map[string]any{
		"webhooks": map[string]any{"url": hook.srv.URL, "message": map[string]any{"sent": true}}, "sent_status": true,
	}), as)
	do("PATCH", "/v1/settings/application", `{"nothing":1}`, as)
	do("GET", "/v1/settings/application", "", as)
	do("GET", "/v1/settings/application/media/providers", "", as)
	do("POST", "/v1/settings/application/media/providers", `[{"name":"cdn","type":"www","config":{"bearer":"tok"}}]`, as)
	do("GET", "/v1/settings/application/media/providers", "", as)
	do("DELETE", "/v1/settings/application/media/providers/cdn", "", as)
	do("DELETE", "/v1/settings/application/media/providers/cdn", "", as)
	do("PATCH", "/v1/settings/profile/about", `{"text":"Open 9-18"}`, as)
	do("GET", "/v1/settings/profile/about", "", as)
	do("GET", "/v1/settings/profile/photo", "", as)
	do("POST", "/v1/settings/business/profile", `{"description":"Outdoor gear","websites":["https://acme.example"]}`, as)
	do("GET", "/v1/settings/business/profile", "", as)
	do("GET", "/v1/settings/business/compliance_info", "", as)
	do("POST", "/v1/settings/backup", `{"password":"backup-pass"}`, as)
	do("POST", "/v1/settings/account/two-step", `{"pin":""}`, as)
	do("DELETE", "/v1/settings/account/two-step", "", as)

	// Users.
	do("POST", "/v1/users", `{"username":"ops_team","password":"Passw0rd!"}`, as)
	ops := bearer(tokenOf(t, do("POST", "/v1/users/login", "", basic("ops_team", "Passw0rd!"))))
	do("GET", "/v1/users/ops_team", "", ops)
	do("GET", "/v1/users/admin", "", ops) // 403
	do("PUT", "/v1/users/ops_team", `{"password":"Passw0rd!2"}`, ops)
	do("GET", "/v1/settings/application", "", ops) // 403: admin only
	do("GET", "/v1/users/nobody", "", as)

	// The customer writes, the business answers, reads, sends media.
	do("GET", "/sandbox/v1/users/"+customer, "", as)
	do("PATCH", "/sandbox/v1/users/"+customer, `{"display_name":"Dana Reyes"}`, as)
	do("PATCH", "/sandbox/v1/users/"+customer, `{"auto_read_ms":-2}`, as)
	do("GET", "/sandbox/v1/users", "", as)
	inbound := do("POST", "/sandbox/v1/users/"+customer+"/messages", `{"type":"text","text":{"body":"Is the Leeds store open today?"}}`, as).Body["messages"].([]any)[0].(map[string]any)["id"].(string)
	do("POST", "/sandbox/v1/users/"+customer+"/messages", `{"type":"image","image":{"caption":"my receipt"}}`, as)
	do("POST", "/sandbox/v1/users/"+customer+"/messages", `{"type":"location","location":{"latitude":51.5,"longitude":-0.12,"name":"Office"}}`, as)
	do("POST", "/sandbox/v1/users/"+customer+"/messages", `{"type":"contacts","contacts":[{"name":{"formatted_name":"Sam"},"phones":[{"phone":"+1 555 000 2222"}]}]}`, as)
	do("POST", "/sandbox/v1/users/"+customer+"/messages", `{"type":"unknown"}`, as)
	do("POST", "/sandbox/v1/users/"+customer+"/messages", `{"type":"nope"}`, as)
	h.pump()
	do("PUT", "/v1/messages/"+inbound, `{"status":"read"}`, ops)
	do("PUT", "/v1/messages/ABnothere", `{"status":"read"}`, ops)
	reply := do("POST", "/v1/messages", `{"to":"`+customer+`","type":"text","text":{"body":"Yes, until 8 pm."}}`, ops).Body["messages"].([]any)[0].(map[string]any)["id"].(string)
	do("POST", "/v1/messages", `{"to":"`+customer+`","type":"interactive","interactive":{"type":"button","body":{"text":"Friday 10:00?"},"action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Yes"}}]}}}`, ops)
	do("POST", "/v1/messages", `{"to":"15550002222","text":{"body":"Hello!"}}`, ops) // failed later: 470
	do("POST", "/v1/messages", `{`, ops)
	do("POST", "/v1/messages", `{"type":"text"}`, ops)
	media := c.raw(h, "POST", "/v1/media", "image/png", string(testPNG(t, 8, 8)), ops)
	mediaID := regexp.MustCompile(`[0-9a-f-]{36}`).FindString(media.Body.String())
	do("POST", "/v1/messages", `{"to":"`+customer+`","type":"image","image":{"id":"`+mediaID+`","caption":"Boarding pass"}}`, ops)
	c.raw(h, "GET", "/v1/media/"+mediaID, "", "", ops)
	c.raw(h, "POST", "/v1/media", "", "", ops) // no Content-Type, no bytes
	h.pump()
	h.clock.Advance(2 * time.Second)
	h.pump()
	phone := do("GET", "/sandbox/v1/users/"+customer+"/messages", "", as)
	if !strings.Contains(string(phone.Raw), reply) {
		t.Errorf("the reply is not on the customer's phone: %s", phone.Raw)
	}
	do("POST", "/sandbox/v1/users/"+customer+"/read", `{"message_id":"`+reply+`"}`, as)
	do("POST", "/sandbox/v1/users/"+customer+"/read", `{}`, as)
	do("DELETE", "/v1/media/"+mediaID, "", ops)
	do("DELETE", "/v1/media/"+mediaID, "", ops)

	// An inbound image's file fetched again: a media_items callback.
	for _, m := range hook.items("messages") {
		if img, ok := m["image"].(map[string]any); ok {
			do("GET", "/v1/media/"+img["id"].(string)+"/download", "", ops)
		}
	}
	do("GET", "/v1/media/0b0a2c6e-8f1e-4c2a-9a3e-5b7d9c1e2f30/download", "", ops)

	// Contacts and identity.
	do("POST", "/v1/contacts", `{"contacts":["+1 555 000 1111"],"blocking":"wait"}`, ops)
	do("POST", "/v1/contacts", `{"contacts":["+1 555 000 3333"]}`, ops)
	do("POST", "/v1/contacts", `{}`, ops)
	do("POST", "/sandbox/v1/users/"+customer+"/identity", "", as)
	identity := do("GET", "/v1/contacts/"+customer+"/identity", "", ops)
	hash, _ := identity.Body["contacts"].(map[string]any)["hash"].(string)
	do("PUT", "/v1/contacts/"+customer+"/identity", `{"hash":"`+hash+`"}`, ops)
	do("POST", "/sandbox/v1/users/15550004444/number", `{"new_wa_id":"15550005555"}`, as)

	// The world and the template catalogue.
	do("GET", "/sandbox/v1/world", "", as)
	do("PATCH", "/sandbox/v1/world", `{"non_whatsapp_pattern":"^1555999"}`, as)
	do("PATCH", "/sandbox/v1/world", `{"delivery_delay_ms":"soon"}`, as)
	do("GET", "/sandbox/v1/business", "", as)
	do("POST", "/sandbox/v1/templates", `{"name":"appointment_reminder","language":"en_US","category":"UTILITY","status":"APPROVED","components":[{"type":"BODY","text":"Your appointment with {{1}} is on {{2}}."}]}`, as)
	do("GET", "/sandbox/v1/templates", "", as)
	do("GET", "/sandbox/v1/templates/appointment_reminder/en_US", "", as)
	do("PATCH", "/sandbox/v1/templates/appointment_reminder/en_US", `{"status":"PAUSED"}`, as)
	do("DELETE", "/sandbox/v1/templates/appointment_reminder/en_US", "", as)
	do("GET", "/sandbox/v1/templates/appointment_reminder/en_US", "", as)

	// Operations.
	do("GET", "/v1/health", "", as)
	do("GET", "/v1/health", "", map[string]string{"Authorization": "Apikey " + testAPIKey})
	do("GET", "/v1/support", "", ops)
	for _, p := range []string{"/v1/stats/app", "/v1/stats/app/internal", "/v1/stats/db", "/v1/stats/db/internal", "/metrics", "/v1/metrics"} {
		do("GET", p, "", as)
		c.raw(h, "GET", p+"?format=prometheus", "", "", as)
	}
	do("PUT", "/v1/services/message/gc", "", ops)
	do("PUT", "/v1/services/media/gc", "", ops)
	do("GET", "/v1/stickerpacks?namespace=whatsapp", "", ops)
	pack := do("POST", "/v1/stickerpacks", `{"publisher":"Acme","name":"Acme Faces"}`, ops).Body["stickerpacks"].([]any)[0].(map[string]any)["id"].(string)
	do("GET", "/v1/stickerpacks/"+pack, "", ops)
	do("GET", "/v1/stickerpacks/"+pack+"/stickers", "", ops)
	do("PATCH", "/v1/stickerpacks/"+pack, `{"name":"Acme Smiles"}`, ops)
	do("DELETE", "/v1/stickerpacks/"+pack, "", ops)
	c.raw(h, "GET", "/v1/certificates/external/ca", "", "", ops)
	do("GET", "/v1/certificates/webhooks/ca", "", as)
	c.raw(h, "POST", "/v1/certificates/webhooks/ca", "application/json", "x", as)
	c.raw(h, "GET", "/v1/openapi.yaml", "", "", nil)

	// Errors of the router itself.
	do("GET", "/v1/nothing-here", "", as)
	do("PATCH", "/v1/messages", "", as)
	do("GET", "/v1/messages/"+reply, "", nil) // no credentials
	do("DELETE", "/v1/messages", `{}`, ops)
	do("POST", "/v1/users/logout", "", ops)

	h.pump()
	// Later: the messages collection reports, the 470 fails.
	h.clock.Advance(time.Minute)
	h.pump()

	hook.mu.Lock()
	bodies := slices.Clone(hook.bodies)
	hook.mu.Unlock()
	kinds := map[string]bool{}
	for _, b := range bodies {
		c.notification(b)
		for _, k := range []string{"messages", "statuses", "services", "media_items", "contacts", "errors"} {
			if bytes.Contains(b, []byte(`{"`+k+`":`)) || bytes.Contains(b, []byte(`"`+k+`":[`)) {
				kinds[k] = true
			}
		}
	}
	for _, k := range []string{"messages", "statuses", "services", "media_items"} {
		if !kinds[k] {
			t.Errorf("no %s notification among %d webhook bodies", k, len(bodies))
		}
	}
	for _, want := range []string{"failed", "delivered", "read", "sent"} {
		if !bytes.Contains(bytes.Join(bodies, nil), []byte(`"status":"`+want+`"`)) {
			t.Errorf("no %s status was checked", want)
		}
	}

	// What was checked covers each kind of answer the brief names.
	for _, want := range []string{
		"POST /v1/users/login 200", "POST /v1/users/login 401", "POST /v1/messages 201", "POST /v1/messages 400",
		"GET /v1/health 200", "GET /v1/settings/application 200", "PATCH /v1/settings/application 200",
		"POST /v1/media 201", "POST /v1/media 400", "GET /v1/media/{id} 200", "POST /sandbox/v1/users/{wa_id}/messages 201",
		"GET /sandbox/v1/users/{wa_id}/messages 200", "PATCH /sandbox/v1/world 200", "POST /sandbox/v1/templates 201",
		"GET /metrics 200", "GET /v1/settings/application 403", "GET /v1/messages/{id} 401",
	} {
		if !c.checked[want] {
			t.Errorf("no answer of %s was checked", want)
		}
	}
	if c.requests < 30 {
		t.Errorf("only %d accepted request bodies checked", c.requests)
	}
	if len(c.checked) < 90 {
		keys := make([]string, 0, len(c.checked))
		for k := range c.checked {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Errorf("only %d (operation, status) pairs checked: %v", len(c.checked), keys)
	}
}

// TestCloudAnswersFitTheOpenAPIDocument: the Cloud bridge's webhook route
// and what it leads to on the business's webhook.
func TestCloudAnswersFitTheOpenAPIDocument(t *testing.T) {
	t.Parallel()
	c := newAnswerChecker(t)
	graph := graphtest.New(t)
	h := sqliteHarness(t, withCloud(graph))
	hook := newReceiver(t)
	admin := h.adminToken()
	as := bearer(admin)
	c.do(h, request{method: "POST", path: "/v1/account", header: as, body: `{"cc":"1","phone_number":"5550100000","method":"sms","cert":"Y2VydA==","pin":"123456"}`})
	c.do(h, request{method: "POST", path: "/v1/account/verify", header: as, body: `{"code":"123456"}`})
	waitReady(t, h)
	h.setWebhook(admin, hook.srv.URL)

	c.raw(h, "GET", "/cloud/webhook?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444", "", "", nil)
	c.raw(h, "GET", "/cloud/webhook?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1", "", "", nil)
	value := map[string]any{
		"messaging_product": "whatsapp",
		"metadata":          map[string]any{"display_phone_number": graph.DisplayNumber, "phone_number_id": graph.PhoneNumberID},
		"contacts":          []any{map[string]any{"profile": map[string]any{"name": "Dana Reyes"}, "wa_id": customer}},
		"messages": []any{map[string]any{"from": customer, "id": "wamid.HBgLMTU1NTAwMDExMTEVAgASGBQzQTlGODg0NkE0",
			"timestamp": "1795255200", "type": "text", "text": map[string]any{"body": "Is the Leeds store open today?"}}},
	}
	body, sig := graph.Delivery(testAppSecret, value)
	c.raw(h, "POST", "/cloud/webhook", "application/json", string(body), map[string]string{"X-Hub-Signature-256": sig})
	c.raw(h, "POST", "/cloud/webhook", "application/json", string(body), map[string]string{"X-Hub-Signature-256": "sha256=00"})
	c.do(h, request{method: "GET", path: "/sandbox/v1/world", header: as}) // no sandbox here: 404
	h.pump()
	c.do(h, request{method: "POST", path: "/v1/messages", header: as, body: `{"to":"` + customer + `","text":{"body":"Yes, until 8 pm."}}`})
	h.pump()
	wamid := graph.SentIDs()[0]
	status := map[string]any{
		"messaging_product": "whatsapp",
		"metadata":          map[string]any{"display_phone_number": graph.DisplayNumber, "phone_number_id": graph.PhoneNumberID},
		"statuses": []any{map[string]any{"id": wamid, "status": "delivered", "timestamp": "1795255260", "recipient_id": customer,
			"conversation": map[string]any{"id": "c0ffee", "expiration_timestamp": "1795341660", "origin": map[string]any{"type": "service"}},
			"pricing":      map[string]any{"billable": false, "pricing_model": "CBP", "category": "service"}}},
	}
	body, sig = graph.Delivery(testAppSecret, status)
	c.raw(h, "POST", "/cloud/webhook", "application/json", string(body), map[string]string{"X-Hub-Signature-256": sig})
	h.clock.Advance(time.Second)
	h.pump()

	hook.mu.Lock()
	bodies := slices.Clone(hook.bodies)
	hook.mu.Unlock()
	if len(bodies) < 2 {
		t.Fatalf("webhook bodies: %q", bodies)
	}
	for _, b := range bodies {
		c.notification(b)
	}
	for _, want := range []string{"GET /cloud/webhook 200", "GET /cloud/webhook 403", "POST /cloud/webhook 200", "POST /cloud/webhook 401"} {
		if !c.checked[want] {
			t.Errorf("no answer of %s was checked", want)
		}
	}
}
