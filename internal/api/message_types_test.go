package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/message"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// phone returns what the user's phone received, by message id.
func (h *harness) phone(admin, waID string) map[string]map[string]any {
	h.t.Helper()
	res := h.do(request{method: "GET", path: "/sandbox/v1/users/" + waID + "/messages", header: bearer(admin)})
	out := map[string]map[string]any{}
	for _, m := range res.Body["received"].([]any) {
		item := m.(map[string]any)
		out[item["id"].(string)] = item
	}
	return out
}

func (h *harness) ready(admin string) *receiver {
	h.t.Helper()
	h.register(admin)
	hook := newReceiver(h.t)
	h.setWebhook(admin, hook.srv.URL)
	h.userWrites(admin, customer, "hello")
	h.pump()
	return hook
}

// TestMediaRoundTrips: an uploaded file reaches the user byte for byte; an
// inbound file reaches the business's media volume byte for byte.
func TestMediaRoundTrips(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		admin := h.adminToken()
		hook := h.ready(admin)

		png, _ := media.Sample("image")
		id := h.upload(admin, "image/png", png, nil)
		msgID := h.send(admin, `{"to":"`+customer+`","type":"image","image":{"id":"`+id+`","caption":"Boarding pass"}}`)
		h.pump()
		got := h.phone(admin, customer)[msgID]
		m := got["message"].(map[string]any)
		if m["media"].(map[string]any)["sha256"] != sha(png) || m["image"].(map[string]any)["caption"] != "Boarding pass" {
			t.Fatalf("the user got %v", got)
		}
		expectError(t, h.do(request{method: "POST", path: "/v1/messages", header: bearer(admin),
			body: `{"to":"` + customer + `","type":"image","image":{"id":"0b0a2c6e-8f1e-4c2a-9a3e-5b7d9c1e2f30"}}`}), 404,
			e(1006, "Resource not found", "Media with id 0b0a2c6e-8f1e-4c2a-9a3e-5b7d9c1e2f30 not found"))
		// A PDF is not an image.
		pdf, _ := media.Sample("document")
		pdfID := h.upload(admin, "application/pdf", pdf, nil)
		res := h.do(request{method: "POST", path: "/v1/messages", header: bearer(admin), body: `{"to":"` + customer + `","type":"image","image":{"id":"` + pdfID + `"}}`})
		if res.Status != 400 || res.errorsList()[0].Code != 1009 {
			t.Fatalf("pdf as image: %d %s", res.Status, res.Raw)
		}
		docID := h.send(admin, `{"to":"`+customer+`","type":"document","document":{"id":"`+pdfID+`","filename":"invoice.pdf"}}`)
		h.pump()
		if got := h.phone(admin, customer)[docID]["message"].(map[string]any)["media"].(map[string]any); got["sha256"] != sha(pdf) {
			t.Fatalf("document: %v", got)
		}

		// Inbound: auto-downloaded (the default names every kind).
		res = h.do(request{method: "POST", path: "/sandbox/v1/users/" + customer + "/messages", header: bearer(admin), body: `{"type":"image","image":{"caption":"nota fiscal"}}`})
		if res.Status != 201 {
			t.Fatalf("user sends image: %d %s", res.Status, res.Raw)
		}
		h.pump()
		msgs := hook.items("messages")
		img := msgs[len(msgs)-1]["image"].(map[string]any)
		if !message.IsMediaID(img["id"].(string)) || img["mime_type"] != "image/png" || img["sha256"] != sha(png) || img["caption"] != "nota fiscal" {
			t.Fatalf("inbound image %v", img)
		}
		w := h.raw("GET", "/v1/media/"+img["id"].(string), "", nil, bearer(admin))
		if w.Code != 200 || sha(w.Body.Bytes()) != img["sha256"] || w.Header().Get("Content-Type") != "image/png" {
			t.Fatalf("download: %d %s", w.Code, w.Header())
		}

		// Not auto-downloaded: the id is there, the bytes come on request.
		h.do(request{method: "PATCH", path: "/v1/settings/application", header: bearer(admin), body: `{"media":{"auto_download":[]}}`})
		h.do(request{method: "POST", path: "/sandbox/v1/users/" + customer + "/messages", header: bearer(admin), body: `{"type":"voice","voice":{}}`})
		h.pump()
		msgs = hook.items("messages")
		voice := msgs[len(msgs)-1]["voice"].(map[string]any)
		vid := voice["id"].(string)
		if voice["mime_type"] != "audio/ogg; codecs=opus" {
			t.Fatalf("voice %v", voice)
		}
		if w := h.raw("GET", "/v1/media/"+vid, "", nil, bearer(admin)); w.Code != 404 {
			t.Fatalf("pending media served: %d", w.Code)
		}
		res = h.do(request{method: "GET", path: "/v1/media/" + vid + "/download", header: bearer(admin)})
		if res.Status != 200 || !strings.HasPrefix(string(res.Raw), `{"media_items":[{"id":"`+vid+`"}]`) {
			t.Fatalf("retry download: %d %s", res.Status, res.Raw)
		}
		h.pump()
		items := hook.items("media_items")
		if len(items) != 1 || items[0]["type"] != "voice" || items[0]["voice"].(map[string]any)["status"] != "downloaded" {
			t.Fatalf("media_items %v", items)
		}
		if w := h.raw("GET", "/v1/media/"+vid, "", nil, bearer(admin)); w.Code != 200 || sha(w.Body.Bytes()) != voice["sha256"] {
			t.Fatalf("after download: %d", w.Code)
		}
		expectError(t, h.do(request{method: "GET", path: "/v1/media/" + id + "/download", header: bearer(admin)}), 404,
			e(1006, "Resource not found", "File with id "+id+" not found"))

		// The user sends a file the test uploaded: the business gets the same bytes.
		pdfIn := h.do(request{method: "POST", path: "/sandbox/v1/users/" + customer + "/messages", header: bearer(admin),
			body: `{"type":"document","document":{"id":"` + pdfID + `","filename":"scan.pdf"}}`})
		if pdfIn.Status != 201 {
			t.Fatalf("user sends an uploaded file: %d %s", pdfIn.Status, pdfIn.Raw)
		}
		h.pump()
		msgs = hook.items("messages")
		if doc := msgs[len(msgs)-1]["document"].(map[string]any); doc["sha256"] != sha(pdf) || doc["filename"] != "scan.pdf" {
			t.Fatalf("inbound document %v", doc)
		}
	})
}

// TestMediaByLink: the server downloads a link before sending; links to
// private addresses are refused unless allowed.
func TestMediaByLink(t *testing.T) {
	t.Parallel()
	png, _ := media.Sample("image")
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/secret.png" && r.Header.Get("Authorization") != "Bearer tok_9f2c61" {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(png)
	}))
	defer files.Close()

	h := sqliteHarness(t, withPrivateLinks())
	admin := h.adminToken()
	hook := h.ready(admin)
	id := h.send(admin, `{"to":"`+customer+`","type":"image","image":{"link":"`+files.URL+`/box.png"}}`)
	h.pump()
	if got := h.phone(admin, customer)[id]; got["message"].(map[string]any)["media"].(map[string]any)["sha256"] != sha(png) {
		t.Fatalf("link send: %v", got)
	}
	// With a provider's credentials.
	if res := h.do(request{method: "POST", path: "/v1/settings/application/media/providers", header: bearer(admin),
		body: `[{"name":"billing-cdn","type":"www","config":{"bearer":"tok_9f2c61"}}]`}); res.Status != 200 {
		t.Fatalf("provider: %d %s", res.Status, res.Raw)
	}
	id = h.send(admin, `{"to":"`+customer+`","type":"image","image":{"link":"`+files.URL+`/secret.png","provider":{"name":"billing-cdn"}}}`)
	noAuth := h.send(admin, `{"to":"`+customer+`","type":"image","image":{"link":"`+files.URL+`/secret.png"}}`)
	h.pump()
	if _, ok := h.phone(admin, customer)[id]; !ok {
		t.Fatal("provider link not delivered")
	}
	if st := hook.statusesOf(noAuth); len(st) != 1 || st[0]["status"] != "failed" || st[0]["errors"].([]any)[0].(map[string]any)["code"] != float64(400) {
		t.Fatalf("link without credentials: %v", st)
	}
	expectError(t, h.do(request{method: "POST", path: "/v1/messages", header: bearer(admin),
		body: `{"to":"` + customer + `","type":"image","image":{"link":"` + files.URL + `/x.png","provider":{"name":"nope"}}}`}), 400,
		e(1009, "Parameter value is not valid", "Parameter 'provider.name' has invalid value 'nope': no media provider has that name"))

	// Without the option, loopback links are refused: the message fails with 400.
	guarded := sqliteHarness(t)
	gAdmin := guarded.adminToken()
	gHook := guarded.ready(gAdmin)
	gid := guarded.send(gAdmin, `{"to":"`+customer+`","type":"image","image":{"link":"`+files.URL+`/box.png"}}`)
	guarded.pump()
	st := gHook.statusesOf(gid)
	if len(st) != 1 || st[0]["status"] != "failed" {
		t.Fatalf("guarded link: %v", st)
	}
	errObj := st[0]["errors"].([]any)[0].(map[string]any)
	if errObj["code"] != float64(400) || errObj["title"] != "Media download error" || !strings.Contains(errObj["details"].(string), "127.0.0.1") {
		t.Fatalf("guarded link error %v", errObj)
	}
}

// TestEveryOutboundTypeReachesTheUser sends the non-media types and checks
// the user's phone shows each as sent.
func TestEveryOutboundTypeReachesTheUser(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	hook := h.ready(admin)
	inbound := hook.items("messages")[0]["id"].(string)
	bodies := map[string]string{
		"location":    `{"to":"` + customer + `","type":"location","location":{"longitude":-0.1276,"latitude":51.5072,"name":"Head office","address":"1 Example St"}}`,
		"contacts":    `{"to":"` + customer + `","type":"contacts","contacts":[{"name":{"formatted_name":"Dana Reyes","first_name":"Dana"},"phones":[{"phone":"+1 555 000 2222","type":"CELL","wa_id":"15550002222"}]}]}`,
		"list":        `{"to":"` + customer + `","type":"interactive","interactive":{"type":"list","body":{"text":"Pick"},"action":{"button":"Choose","sections":[{"title":"North","rows":[{"id":"br_leeds","title":"Leeds"}]}]}}}`,
		"buttons":     `{"to":"` + customer + `","type":"interactive","interactive":{"type":"button","body":{"text":"Confirm?"},"action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Yes"}}]}}}`,
		"reaction":    `{"to":"` + customer + `","type":"reaction","reaction":{"message_id":"` + inbound + `","emoji":"👍"}}`,
		"reply":       `{"to":"` + customer + `","context":{"message_id":"` + inbound + `"},"text":{"body":"Replying"}}`,
		"preview_url": `{"to":"` + customer + `","preview_url":true,"text":{"body":"See https://example.org"}}`,
	}
	ids := map[string]string{}
	for name, body := range bodies {
		ids[name] = h.send(admin, body)
	}
	h.pump()
	phone := h.phone(admin, customer)
	for name, id := range ids {
		got, ok := phone[id]
		if !ok {
			t.Fatalf("%s never reached the phone", name)
		}
		msg := got["message"].(map[string]any)
		if name == "list" && msg["interactive"].(map[string]any)["action"].(map[string]any)["sections"] == nil {
			t.Fatalf("list rendered as %v", msg)
		}
		if name == "reply" && msg["context"].(map[string]any)["message_id"] != inbound {
			t.Fatalf("reply rendered as %v", msg)
		}
	}
	// The phone renders what the user sees.
	for name, want := range map[string]string{
		"location": "📍 Head office, 1 Example St (51.5072, -0.1276)",
		"contacts": "👤 Dana Reyes +1 555 000 2222",
		"list":     "Pick\n• Leeds",
		"buttons":  "Confirm?\n[Yes]",
		"reaction": "reacted 👍 to " + inbound,
		"reply":    "Replying",
	} {
		if got := phone[ids[name]]["rendered"]; got != want {
			t.Errorf("%s rendered %q, want %q", name, got, want)
		}
	}
	// A sample of validation through the API.
	expectError(t, h.do(request{method: "POST", path: "/v1/messages", header: bearer(admin),
		body: `{"to":"` + customer + `","type":"interactive","interactive":{"type":"list","body":{"text":"x"},"action":{"button":"b","sections":[]}}}`}), 400,
		e(2015, "Invalid number of sections", "Parameter 'interactive.action.sections' must have 1 to 10 items; it has 0"))
}

// TestEveryInboundTypeReachesTheWebhook makes the simulated user send each
// inbound type and checks the webhook shape.
func TestEveryInboundTypeReachesTheWebhook(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	hook := h.ready(admin)
	biz := h.send(admin, `{"to":"`+customer+`","text":{"body":"Want updates?"}}`)
	h.pump()
	for _, body := range []string{
		`{"type":"location","location":{"latitude":51.5,"longitude":-0.12,"name":"Home"}}`,
		`{"type":"contacts","contacts":[{"name":{"formatted_name":"Ana Silva"},"phones":[{"phone":"+55 11 98765 0000","type":"CELL"}]}]}`,
		`{"type":"button","button":{"payload":"STOP_UPDATES","text":"Stop"},"context":{"id":"` + biz + `"}}`,
		`{"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"br_leeds","title":"Leeds","description":"Mon-Sat"}},"context":{"id":"` + biz + `"}}`,
		`{"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Yes"}},"context":{"id":"` + biz + `"}}`,
		`{"type":"order","order":{"catalog_id":"123","product_items":[{"product_retailer_id":"SKU-1","quantity":2,"item_price":9.5,"currency":"usd"}]}}`,
		`{"type":"text","text":{"body":"From the ad"},"referral":{"headline":"Sale","body":"50% off","source_type":"ad","source_id":"123","source_url":"https://fb.example/ad"}}`,
		`{"type":"unknown"}`,
		`{"type":"sticker","sticker":{}}`,
		`{"type":"video","video":{"caption":"clip"}}`,
		`{"type":"audio","audio":{}}`,
	} {
		if res := h.do(request{method: "POST", path: "/sandbox/v1/users/" + customer + "/messages", header: bearer(admin), body: body}); res.Status != 201 {
			t.Fatalf("%s: %d %s", body, res.Status, res.Raw)
		}
	}
	h.pump()
	byType := map[string]map[string]any{}
	for _, m := range hook.items("messages")[1:] {
		key := m["type"].(string)
		if key == "interactive" {
			key = m["interactive"].(map[string]any)["type"].(string)
		}
		if key == "text" {
			key = "referral"
		}
		byType[key] = m
		if !strings.HasPrefix(m["id"].(string), "AB") {
			t.Fatalf("inbound id %v", m["id"])
		}
	}
	if b := byType["button"]; b["button"].(map[string]any)["payload"] != "STOP_UPDATES" || b["context"].(map[string]any)["id"] != biz {
		t.Fatalf("button %v", b)
	}
	if u := byType["unknown"]; u["errors"].([]any)[0].(map[string]any)["code"] != float64(501) {
		t.Fatalf("unknown %v", u)
	}
	if r := byType["referral"]; r["referral"].(map[string]any)["source_type"] != "ad" {
		t.Fatalf("referral %v", r)
	}
	if lr := byType["list_reply"]; lr["interactive"].(map[string]any)["list_reply"].(map[string]any)["id"] != "br_leeds" {
		t.Fatalf("list_reply %v", lr)
	}
	for _, kind := range []string{"sticker", "video", "audio"} {
		obj := byType[kind][kind].(map[string]any)
		if !message.IsMediaID(obj["id"].(string)) || obj["sha256"] == nil || obj["mime_type"] == nil {
			t.Fatalf("%s %v", kind, obj)
		}
	}
	if len(byType) != 11 {
		t.Fatalf("got %d kinds: %v", len(byType), byType)
	}
	expectError(t, h.do(request{method: "POST", path: "/sandbox/v1/users/" + customer + "/messages", header: bearer(admin), body: `{"type":"button","button":{"payload":"x"}}`}), 400,
		e(1008, "Required parameter is missing", "Missing mandatory parameter 'button.text'"),
		e(1008, "Required parameter is missing", "Parameter 'context' is mandatory for type 'button'"))
	_ = io.EOF
}
