package blackbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
	"github.com/wabiz/wabiz/internal/store"
)

const (
	cloudAppSecret   = "bb-cloud-app-secret"
	cloudVerifyToken = "bb-cloud-verify-token"
	cloudCustomer    = "15550001111"
	cloudWaitLimit   = 10 * time.Second
)

// TestCloudWalkthrough runs the real binary as the Cloud bridge against the
// Graph double in this process: registration, webhook, a customer's text
// and photo (signed Cloud webhooks in, On-Premises callbacks out), a reply
// as text, as an uploaded image and as a template (Cloud sends out), the
// Cloud's statuses back as On-Premises statuses, and the customer's photo
// served by GET /v1/media with the bytes the Cloud had.
func TestCloudWalkthrough(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine store.Dialect) {
		graph := graphtest.Start()
		t.Cleanup(graph.Close)
		graph.AddTemplate(map[string]any{"name": "order_ready", "language": "en_US", "category": "UTILITY", "status": "APPROVED",
			"components": []any{map[string]any{"type": "BODY", "text": "Your order {{1}} is ready for collection."}}})
		hooks := newCloudHooks(t)
		in := newInstance(t, engine, "WABIZ_WEBHOOK_ALLOW_HTTP=true",
			"WABIZ_NETWORK=cloud",
			"WABIZ_CLOUD_GRAPH_URL="+graph.GraphURL(),
			"WABIZ_CLOUD_PHONE_NUMBER_ID="+graph.PhoneNumberID,
			"WABIZ_CLOUD_WABA_ID="+graph.WABAID,
			"WABIZ_CLOUD_ACCESS_TOKEN="+graph.Token,
			"WABIZ_CLOUD_APP_SECRET="+cloudAppSecret,
			"WABIZ_CLOUD_VERIFY_TOKEN="+cloudVerifyToken,
			"WABIZ_CLOUD_APP_ID="+graph.AppID)
		c := in.start()
		admin := bearer(login(t, c, "admin", "secret", adminPass))

		// Registration keeps its On-Premises shape.
		r := c.do(t, "POST", "/v1/account", admin, `{"cc":"1","phone_number":"5550100000","method":"sms","cert":"Y2VydA==","pin":"123456"}`).expect(t, 202)
		if got := r.get("account", "0", "vname"); got != graph.VerifiedName {
			t.Fatalf("vname %v, want the number's verified name", got)
		}
		c.do(t, "POST", "/v1/account/verify", admin, `{"code":"123456"}`).expect(t, 201)
		cloudEventually(t, "the gateway is connected", func() bool {
			return c.do(t, "GET", "/v1/health", admin, nil).get("health", "gateway_status") == "connected"
		})
		c.do(t, "PATCH", "/v1/settings/application", admin,
			`{"webhooks":{"url":"`+hooks.url()+`","message":{"sent":true,"delivered":true,"read":true}}}`).expect(t, 200)

		// Meta's subscription check.
		if ch := c.raw(t, "GET", "/cloud/webhook?hub.mode=subscribe&hub.verify_token="+cloudVerifyToken+"&hub.challenge=735312", ""); ch.status != 200 || string(ch.body) != "735312" {
			t.Fatalf("subscription challenge: %d %s", ch.status, ch.body)
		}

		// The customer writes, then sends a photo.
		photo, _ := media.Sample("image")
		graph.AddMedia("1190433742250517", "image/png", photo)
		sum := sha256.Sum256(photo)
		deliverCloud(t, c, graph, map[string]any{
			"contacts": []any{map[string]any{"profile": map[string]any{"name": "Dana Reyes"}, "wa_id": cloudCustomer}},
			"messages": []any{
				map[string]any{"from": cloudCustomer, "id": "wamid.HBgLMTU1NTAwMDExMTEVAgASGBQ3QkIxQ0Q=", "timestamp": "1795255200",
					"type": "text", "text": map[string]any{"body": "Is my order ready?"}},
				map[string]any{"from": cloudCustomer, "id": "wamid.HBgLMTU1NTAwMDExMTEVAgASGBQ3QkIxQ0U=", "timestamp": "1795255201",
					"type": "image", "image": map[string]any{"id": "1190433742250517", "mime_type": "image/png",
						"sha256": base64.StdEncoding.EncodeToString(sum[:]), "caption": "the receipt"}},
			},
		})
		var inbound []map[string]any
		cloudEventually(t, "both inbound messages reach the webhook", func() bool {
			inbound = hooks.messages()
			return len(inbound) >= 2
		})
		// Callbacks go out concurrently: take them by type.
		byKind := map[string]map[string]any{}
		for _, m := range inbound {
			byKind[fmt.Sprint(m["type"])] = m
		}
		text := byKind["text"]
		if len(inbound) != 2 || text == nil || text["from"] != cloudCustomer || text["id"] != "wamid.HBgLMTU1NTAwMDExMTEVAgASGBQ3QkIxQ0Q=" ||
			text["text"].(map[string]any)["body"] != "Is my order ready?" || text["timestamp"] != "1795255200" {
			t.Fatalf("inbound text in On-Premises shape: %v", inbound)
		}
		img, _ := byKind["image"]["image"].(map[string]any)
		mediaID, _ := img["id"].(string)
		if len(mediaID) != 36 || img["sha256"] != hex.EncodeToString(sum[:]) || img["caption"] != "the receipt" || img["mime_type"] != "image/png" {
			t.Fatalf("inbound image in On-Premises shape: %v", byKind["image"])
		}
		if names := hooks.contactNames(); len(names) == 0 || names[0] != "Dana Reyes" {
			t.Fatalf("contacts of the inbound callback: %v", names)
		}

		// The business answers: a text, an uploaded image, a template.
		textID := sendOK(t, c, admin, `{"to":"`+cloudCustomer+`","type":"text","text":{"body":"Yes, it is ready."}}`)
		r = c.do(t, "POST", "/v1/media", admin, string(photo), "Content-Type", "image/png").expect(t, 201)
		uploaded, _ := r.get("media", "0", "id").(string)
		if graph.Uploads() != 1 {
			t.Fatalf("%d uploads to the Cloud at POST /v1/media", graph.Uploads())
		}
		imageID := sendOK(t, c, admin, `{"to":"`+cloudCustomer+`","type":"image","image":{"id":"`+uploaded+`","caption":"Your receipt"}}`)
		templateID := sendOK(t, c, admin, `{"to":"`+cloudCustomer+`","type":"template","template":{"namespace":"`+graph.Namespace+`","name":"order_ready",`+
			`"language":{"policy":"deterministic","code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"A-1042"}]}]}}`)
		cloudEventually(t, "three sends reach the Cloud", func() bool { return len(graph.SentIDs()) >= 3 })
		sends := graph.Sends()
		wamids := map[string]string{}
		byType := map[string]map[string]any{}
		for i, s := range sends {
			ours, _ := s["biz_opaque_callback_data"].(string)
			wamids[ours] = graph.SentIDs()[i]
			byType[s["type"].(string)] = s
			if s["messaging_product"] != "whatsapp" || s["to"] != cloudCustomer {
				t.Errorf("send %d: %v", i, s)
			}
		}
		if len(sends) != 3 || wamids[textID] == "" || wamids[imageID] == "" || wamids[templateID] == "" {
			t.Fatalf("sends %v (ours %s %s %s)", sends, textID, imageID, templateID)
		}
		if byType["text"]["text"].(map[string]any)["body"] != "Yes, it is ready." {
			t.Errorf("text send %v", byType["text"])
		}
		if im := byType["image"]["image"].(map[string]any); im["id"] == uploaded || im["id"] == "" || im["caption"] != "Your receipt" || graph.Uploads() != 1 {
			t.Errorf("image send %v (%d uploads): our id must become the Cloud id of the upload", im, graph.Uploads())
		}
		tpl := byType["template"]["template"].(map[string]any)
		if _, has := tpl["namespace"]; has || tpl["name"] != "order_ready" {
			t.Errorf("template send %v", tpl)
		}

		// The Cloud reports delivery and reading.
		var statuses []any
		for i, id := range []string{textID, imageID, templateID} {
			delivered := map[string]any{"id": wamids[id], "status": "delivered", "timestamp": fmt.Sprint(1795255300 + i), "recipient_id": cloudCustomer}
			if id == templateID {
				delivered["conversation"] = map[string]any{"id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "expiration_timestamp": "1795341700", "origin": map[string]any{"type": "utility"}}
				delivered["pricing"] = map[string]any{"billable": true, "pricing_model": "PMP", "category": "utility", "type": "regular"}
			}
			statuses = append(statuses, delivered,
				map[string]any{"id": wamids[id], "status": "read", "timestamp": fmt.Sprint(1795255400 + i), "recipient_id": cloudCustomer})
		}
		deliverCloud(t, c, graph, map[string]any{"statuses": statuses})
		cloudEventually(t, "sent, delivered and read of the three messages reach the webhook", func() bool {
			for _, id := range []string{textID, imageID, templateID} {
				if got := hooks.statusNames(id); !(strings.Contains(got, "sent") && strings.Contains(got, "delivered") && strings.Contains(got, "read")) {
					return false
				}
			}
			return true
		})
		for _, id := range []string{textID, imageID, templateID} {
			// Callbacks go out concurrently: the order may vary, the count not.
			if got := strings.Fields(hooks.statusNames(id)); len(got) != 3 {
				t.Errorf("statuses of %s: %v, want sent, delivered and read once each", id, got)
			}
			for _, st := range hooks.statuses(id) {
				if st["recipient_id"] != cloudCustomer {
					t.Errorf("status %v", st)
				}
			}
		}
		delivered := hooks.status(templateID, "delivered")
		if !bytes.Contains(delivered, []byte(`"conversation":{"id":"0f1e2d3c4b5a69788796a5b4c3d2e1f0","expiration_timestamp":1795341700,"origin":{"type":"utility"}}`)) ||
			!bytes.Contains(delivered, []byte(`"pricing":{"billable":true,"pricing_model":"PMP","category":"utility"}`)) {
			t.Errorf("the template's delivered status does not carry the Cloud's conversation and pricing: %s", delivered)
		}

		// The customer's photo, as the Cloud had it.
		resp := c.raw(t, "GET", "/v1/media/"+mediaID, admin)
		if resp.status != 200 || !bytes.Equal(resp.body, photo) || resp.header.Get("Content-Type") != "image/png" {
			t.Fatalf("GET /v1/media/%s: %d %s, %d bytes", mediaID, resp.status, resp.header.Get("Content-Type"), len(resp.body))
		}
		in.stop()
	})
}

// deliverCloud posts a signed Cloud webhook delivery to /cloud/webhook.
func deliverCloud(t *testing.T, c *client, graph *graphtest.Server, value map[string]any) {
	t.Helper()
	body, sig := graph.Delivery(cloudAppSecret, value)
	c.do(t, "POST", "/cloud/webhook", "", string(body), "X-Hub-Signature-256", sig).expect(t, 200)
}

func sendOK(t *testing.T, c *client, auth, body string) string {
	t.Helper()
	r := c.do(t, "POST", "/v1/messages", auth, body).expect(t, 201)
	id, _ := r.get("messages", "0", "id").(string)
	if !strings.HasPrefix(id, "gB") {
		t.Fatalf("send answered %s", r.raw)
	}
	return id
}

// cloudEventually polls cond until it holds, failing the test after
// cloudWaitLimit.
func cloudEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(cloudWaitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: not yet: %s", cloudWaitLimit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rawAnswer is a non-JSON answer (a file).
type rawAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (c *client) raw(t *testing.T, method, path, auth string) rawAnswer {
	t.Helper()
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawAnswer{resp.StatusCode, resp.Header, body}
}

// cloudHooks is the integration's webhook receiver: it keeps every
// callback body it acknowledged.
type cloudHooks struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newCloudHooks(t *testing.T) *cloudHooks {
	h := &cloudHooks{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, b)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *cloudHooks) url() string { return h.srv.URL + "/whatsapp" }

// items returns the raw elements of the named array across all bodies.
func (h *cloudHooks) items(key string) []json.RawMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []json.RawMessage
	for _, b := range h.bodies {
		var body map[string][]json.RawMessage
		json.Unmarshal(b, &body)
		out = append(out, body[key]...)
	}
	return out
}

func decodeAll(raw []json.RawMessage) []map[string]any {
	out := make([]map[string]any, 0, len(raw))
	for _, r := range raw {
		var m map[string]any
		json.Unmarshal(r, &m)
		out = append(out, m)
	}
	return out
}

func (h *cloudHooks) messages() []map[string]any { return decodeAll(h.items("messages")) }

func (h *cloudHooks) contactNames() []string {
	var names []string
	for _, c := range decodeAll(h.items("contacts")) {
		if p, ok := c["profile"].(map[string]any); ok {
			name, _ := p["name"].(string)
			names = append(names, name)
		}
	}
	return names
}

func (h *cloudHooks) statuses(id string) []map[string]any {
	var out []map[string]any
	for _, s := range decodeAll(h.items("statuses")) {
		if s["id"] == id {
			out = append(out, s)
		}
	}
	return out
}

// statusNames lists the statuses of id as they arrived.
func (h *cloudHooks) statusNames(id string) string {
	var names []string
	for _, s := range h.statuses(id) {
		names = append(names, fmt.Sprint(s["status"]))
	}
	return strings.Join(names, " ")
}

// status is the raw status object of id with the given status.
func (h *cloudHooks) status(id, status string) []byte {
	for _, raw := range h.items("statuses") {
		var s struct{ ID, Status string }
		json.Unmarshal(raw, &s)
		if s.ID == id && s.Status == status {
			return raw
		}
	}
	return nil
}
