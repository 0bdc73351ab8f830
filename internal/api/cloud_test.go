package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/message"
	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
)

// TestCloudBridgeWalkthrough: with the cloud network, the On-Premises API is
// unchanged for the client: registration, a customer writes (a signed
// Cloud webhook), the business replies (a Cloud send), statuses come back in
// On-Premises shape; forged deliveries are refused and store nothing.
func TestCloudBridgeWalkthrough(t *testing.T) {
	t.Parallel()
	graph := graphtest.New(t)
	h := sqliteHarness(t, withCloud(graph))
	admin := h.adminToken()
	hook := newReceiver(t)

	// The sandbox control API is absent in cloud mode.
	expectError(t, h.do(request{method: "GET", path: "/sandbox/v1/users", header: bearer(admin)}), 404,
		e(1006, "Resource not found", "URL path not found"))

	res := h.do(request{method: "POST", path: "/v1/account", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100000","method":"sms","cert":"Y2VydA==","pin":"123456"}`})
	if res.Status != 202 || !strings.Contains(string(res.Raw), `"vname":"Wabiz Test"`) {
		t.Fatalf("request code: %d %s", res.Status, res.Raw)
	}
	if res := h.do(request{method: "POST", path: "/v1/account/verify", header: bearer(admin), body: `{"code":"123456"}`}); res.Status != 201 {
		t.Fatalf("verify: %d %s", res.Status, res.Raw)
	}
	waitReady(t, h)
	h.setWebhook(admin, hook.srv.URL)

	// Meta's subscription challenge.
	w := h.raw("GET", "/cloud/webhook?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444", "", nil, nil)
	if w.Code != 200 || w.Body.String() != "1158201444" {
		t.Fatalf("challenge: %d %q", w.Code, w.Body.String())
	}
	if w := h.raw("GET", "/cloud/webhook?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1", "", nil, nil); w.Code != 403 {
		t.Fatalf("wrong verify token: %d", w.Code)
	}

	// A customer writes: a signed delivery.
	value := map[string]any{
		"messaging_product": "whatsapp",
		"metadata":          map[string]any{"display_phone_number": graph.DisplayNumber, "phone_number_id": graph.PhoneNumberID},
		"contacts":          []any{map[string]any{"profile": map[string]any{"name": "Dana Reyes"}, "wa_id": customer}},
		"messages": []any{map[string]any{"from": customer, "id": "wamid.HBgLMTU1NTAwMDExMTEVAgASGBQzQTlGODg0NkE0",
			"timestamp": "1795255200", "type": "text", "text": map[string]any{"body": "Is the Leeds store open today?"}}},
	}
	body, sig := graph.Delivery(testAppSecret, value)
	if w := h.raw("POST", "/cloud/webhook", "application/json", strings.NewReader(string(body)), map[string]string{"X-Hub-Signature-256": sig}); w.Code != 200 {
		t.Fatalf("delivery: %d %s", w.Code, w.Body.String())
	}
	// Forged: refused, nothing stored.
	if w := h.raw("POST", "/cloud/webhook", "application/json", strings.NewReader(string(body)), map[string]string{"X-Hub-Signature-256": "sha256=00"}); w.Code != 401 {
		t.Fatalf("forged delivery: %d", w.Code)
	}
	h.pump()
	msgs := hook.items("messages")
	if len(msgs) != 1 || msgs[0]["type"] != "text" || msgs[0]["text"].(map[string]any)["body"] != "Is the Leeds store open today?" ||
		msgs[0]["from"] != customer || hook.items("contacts")[0]["profile"].(map[string]any)["name"] != "Dana Reyes" {
		t.Fatalf("inbound in On-Premises shape: %v", hook.bodies)
	}

	// The business replies through the Cloud API.
	id := h.send(admin, `{"to":"`+customer+`","type":"text","text":{"body":"Yes, until 8 pm."}}`)
	h.pump()
	sends := graph.Sends()
	if len(sends) != 1 || sends[0]["messaging_product"] != "whatsapp" || sends[0]["to"] != customer ||
		sends[0]["text"].(map[string]any)["body"] != "Yes, until 8 pm." {
		t.Fatalf("cloud sends %v", sends)
	}
	// Meta reports delivery: the business sees its own gB id.
	wamid := graph.SentIDs()[0]
	status := map[string]any{
		"messaging_product": "whatsapp",
		"metadata":          map[string]any{"display_phone_number": graph.DisplayNumber, "phone_number_id": graph.PhoneNumberID},
		"statuses": []any{map[string]any{"id": wamid, "status": "delivered", "timestamp": "1795255260", "recipient_id": customer,
			"conversation": map[string]any{"id": "c0ffee", "origin": map[string]any{"type": "service"}},
			"pricing":      map[string]any{"billable": false, "pricing_model": "CBP", "category": "service"}}},
	}
	body, sig = graph.Delivery(testAppSecret, status)
	if w := h.raw("POST", "/cloud/webhook", "application/json", strings.NewReader(string(body)), map[string]string{"X-Hub-Signature-256": sig}); w.Code != 200 {
		t.Fatalf("status delivery: %d", w.Code)
	}
	h.clock.Advance(time.Second)
	h.pump()
	if st := hook.statusesOf(id); len(st) != 1 || st[0]["status"] != "delivered" || st[0]["recipient_id"] != customer {
		t.Fatalf("statuses for %s: %v (all: %v)", id, st, hook.items("statuses"))
	}
}

func waitReady(t *testing.T, h *harness) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.core.WaitReady(ctx); err != nil {
		t.Fatalf("start-up did not finish: %v", err)
	}
}

// TestCloudBridgeMediaAndTemplates: media and templates through the
// bridge — an uploaded file sent by id goes to the Cloud as an uploaded
// Cloud media id; a template from the WABA's catalogue is sent without its
// namespace; a customer's image is downloaded with the token onto the media
// volume and served by GET /v1/media/{id}.
func TestCloudBridgeMediaAndTemplates(t *testing.T) {
	t.Parallel()
	graph := graphtest.New(t)
	graph.AddTemplate(map[string]any{"name": "appointment_reminder", "language": "en_US", "category": "UTILITY", "status": "APPROVED",
		"components": []any{map[string]any{"type": "BODY", "text": "Reminder: your appointment with {{1}} is on {{2}}."}}})
	s := newCloudSetupOn(t, graph)
	h, admin, hook := s.harness, s.admin, s.hook

	// A customer writes with an image; it is downloaded (auto_download names images).
	png, _ := media.Sample("image")
	graph.AddMedia("1166426254101830", "image/png", png)
	body, sig := graph.Delivery(testAppSecret, map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]any{"name": "Dana"}, "wa_id": customer}},
		"messages": []any{map[string]any{"from": customer, "id": "wamid.HBgLMTU1NTAwMDExMTEVAgASGBQzQUI4", "timestamp": "1795255200", "type": "image",
			"image": map[string]any{"id": "1166426254101830", "mime_type": "image/png", "sha256": base64Sum(png), "caption": "receipt"}}},
	})
	if w := h.raw("POST", "/cloud/webhook", "application/json", strings.NewReader(string(body)), map[string]string{"X-Hub-Signature-256": sig}); w.Code != 200 {
		t.Fatalf("delivery: %d %s", w.Code, w.Body.String())
	}
	h.pump()
	msgs := hook.items("messages")
	if len(msgs) != 1 {
		t.Fatalf("inbound: %v", hook.bodies)
	}
	img := msgs[0]["image"].(map[string]any)
	if !message.IsMediaID(img["id"].(string)) || img["sha256"] != sha(png) || img["caption"] != "receipt" {
		t.Fatalf("inbound image %v", img)
	}
	if w := h.raw("GET", "/v1/media/"+img["id"].(string), "", nil, bearer(admin)); w.Code != 200 || sha(w.Body.Bytes()) != sha(png) {
		t.Fatalf("downloaded media: %d", w.Code)
	}

	// The business sends an uploaded file by our id.
	id := h.upload(admin, "image/png", png, nil)
	h.send(admin, `{"to":"`+customer+`","type":"image","image":{"id":"`+id+`","caption":"Boarding pass"}}`)
	// And a template from the WABA's catalogue (namespace from GET /sandbox is
	// not there in cloud mode: the Cloud's namespace is reported by the WABA).
	h.send(admin, `{"to":"`+customer+`","type":"template","template":{"namespace":"`+graph.Namespace+`","name":"appointment_reminder",
		"language":{"policy":"deterministic","code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"Dr. Lee"},{"type":"text","text":"Friday"}]}]}}`)
	h.pump()
	sends := graph.Sends()
	if len(sends) != 2 {
		t.Fatalf("cloud sends %v", sends)
	}
	byType := map[string]map[string]any{}
	for _, s := range sends {
		byType[s["type"].(string)] = s
	}
	image := byType["image"]["image"].(map[string]any)
	if image["id"] == id || image["id"] == "" || image["caption"] != "Boarding pass" {
		t.Fatalf("image sent with %v (our id %s must become a Cloud media id)", image, id)
	}
	tpl := byType["template"]["template"].(map[string]any)
	if _, has := tpl["namespace"]; has || tpl["name"] != "appointment_reminder" || tpl["language"].(map[string]any)["code"] != "en_US" {
		t.Fatalf("template sent as %v", tpl)
	}
	if _, has := tpl["language"].(map[string]any)["policy"]; has {
		t.Fatalf("language policy sent to the Cloud: %v", tpl)
	}
}

// base64Sum is the sha256 of b as the Cloud writes it (base64).
func base64Sum(b []byte) string {
	s := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(s[:])
}
