package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// receiver is a webhook endpoint that records every callback body.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	status int // answer; 200 unless set
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{status: 200}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		status := r.status
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// items returns every element of the named array across all bodies.
func (r *receiver) items(key string) []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for _, b := range r.bodies {
		var body map[string][]map[string]any
		json.Unmarshal(b, &body)
		out = append(out, body[key]...)
	}
	return out
}

// statusesOf returns the statuses received for one message id, in order.
func (r *receiver) statusesOf(id string) []map[string]any {
	var out []map[string]any
	for _, s := range r.items("statuses") {
		if s["id"] == id {
			out = append(out, s)
		}
	}
	return out
}

// register takes the number 1 555 0100 through certificate, code request
// and verification, and waits for the start-up process to finish.
func (h *harness) register(admin string) {
	h.t.Helper()
	res := h.do(request{method: "POST", path: "/sandbox/v1/certificates", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100","vname":"Acme"}`})
	if res.Status != 201 {
		h.t.Fatalf("certificate: %d %s", res.Status, res.Raw)
	}
	cert := res.Body["certificate"].(string)
	res = h.do(request{method: "POST", path: "/v1/account", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100","method":"sms","cert":"` + cert + `"}`})
	if res.Status != 202 || !strings.HasPrefix(string(res.Raw), `{"account":[{"vname":"Acme"}],"meta":`) {
		h.t.Fatalf("request code: %d %s", res.Status, res.Raw)
	}
	res = h.do(request{method: "GET", path: "/sandbox/v1/account/code", header: bearer(admin)})
	code, _ := res.Body["code"].(string)
	if res.Status != 200 || !regexp.MustCompile(`^\d{6}$`).MatchString(code) {
		h.t.Fatalf("code: %d %s", res.Status, res.Raw)
	}
	res = h.do(request{method: "POST", path: "/v1/account/verify", header: bearer(admin), body: `{"code":"` + code + `"}`})
	if res.Status != 201 {
		h.t.Fatalf("verify: %d %s", res.Status, res.Raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.core.WaitReady(ctx); err != nil {
		h.t.Fatalf("start-up did not finish: %v", err)
	}
}

// pump runs the engine's loops by hand until nothing moves: the outbox
// worker, the event receiver, the expiry sweep and the webhook dispatcher.
func (h *harness) pump() {
	h.t.Helper()
	ctx := context.Background()
	for range 100 {
		sent, err := h.core.ProcessOutbox(ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		seen, deferred, err := h.core.ProcessEvents(ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		expired, err := h.core.ExpireMessages(ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		res, err := h.hooks.RunOnce(ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		if sent == 0 && seen-deferred == 0 && expired == 0 && res.Posts == 0 {
			return
		}
	}
	h.t.Fatal("the engine never settled")
}

func (h *harness) setWebhook(admin, url string) {
	h.t.Helper()
	res := h.do(request{method: "PATCH", path: "/v1/settings/application", header: bearer(admin), body: `{"webhooks":{"url":"` + url + `"}}`})
	if res.Status != 200 {
		h.t.Fatalf("set webhook: %d %s", res.Status, res.Raw)
	}
}

func (h *harness) send(token, body string) string {
	h.t.Helper()
	res := h.do(request{method: "POST", path: "/v1/messages", header: bearer(token), body: body})
	if res.Status != 201 {
		h.t.Fatalf("send %s: %d %s", body, res.Status, res.Raw)
	}
	id := res.Body["messages"].([]any)[0].(map[string]any)["id"].(string)
	if !strings.HasPrefix(id, "gB") || !strings.HasPrefix(string(res.Raw), `{"messages":[{"id":"`+id+`"}],"meta":`) {
		h.t.Fatalf("send answer %s", res.Raw)
	}
	return id
}

func (h *harness) userWrites(admin, waID, text string) string {
	h.t.Helper()
	res := h.do(request{method: "POST", path: "/sandbox/v1/users/" + waID + "/messages", header: bearer(admin), body: `{"type":"text","text":{"body":"` + text + `"}}`})
	if res.Status != 201 {
		h.t.Fatalf("user writes: %d %s", res.Status, res.Raw)
	}
	return res.Body["messages"].([]any)[0].(map[string]any)["id"].(string)
}

const customer = "15550001111"

// TestGettingStartedPath walks the seed documents' path: first login,
// registration, webhook, a customer writes, the business replies and sees
// delivered and read; outside the window a free-form message fails with 470.
func TestGettingStartedPath(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		hook := newReceiver(t)
		admin := h.adminToken()

		res := h.do(request{method: "GET", path: "/v1/health", header: bearer(admin)})
		if !strings.Contains(string(res.Raw), `"gateway_status":"unregistered"`) {
			t.Fatalf("health before registration: %s", res.Raw)
		}
		expectError(t, h.do(request{method: "POST", path: "/v1/messages", header: bearer(admin), body: `{"to":"` + customer + `","text":{"body":"hi"}}`}), 500,
			e(1011, "Service not ready", "Service not ready: register a number with POST /v1/account first"))

		h.register(admin)
		res = h.do(request{method: "GET", path: "/v1/health", header: bearer(admin)})
		if !strings.Contains(string(res.Raw), `"gateway_status":"connected"`) {
			t.Fatalf("health after registration: %s", res.Raw)
		}
		// The same number again: already registered, nothing to do.
		cert := h.do(request{method: "POST", path: "/sandbox/v1/certificates", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100","vname":"Acme"}`}).Body["certificate"].(string)
		if res := h.do(request{method: "POST", path: "/v1/account", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100","method":"voice","cert":"` + cert + `"}`}); res.Status != 201 {
			t.Fatalf("re-register: %d %s", res.Status, res.Raw)
		}
		res = h.do(request{method: "GET", path: "/v1/settings/application", header: bearer(admin)})
		if !strings.Contains(string(res.Raw), `"wa_id":"15550100"`) {
			t.Fatalf("settings lack wa_id: %s", res.Raw)
		}

		h.setWebhook(admin, hook.srv.URL)
		ops := h.createUser(admin, "ops_team", "Passw0rd!") // any user may send

		inboundID := h.userWrites(admin, customer, "Is the Leeds store open today?")
		h.pump()
		msgs := hook.items("messages")
		if len(msgs) != 1 {
			t.Fatalf("inbound callbacks: %v", hook.bodies)
		}
		in := msgs[0]
		if in["id"] != inboundID || !strings.HasPrefix(inboundID, "AB") || in["from"] != customer || in["type"] != "text" ||
			in["text"].(map[string]any)["body"] != "Is the Leeds store open today?" {
			t.Fatalf("inbound message %v", in)
		}
		if ts, ok := in["timestamp"].(string); !ok || ts != "1795255200" {
			t.Fatalf("timestamp must be a string of Unix seconds: %#v", in["timestamp"])
		}
		contacts := hook.items("contacts")
		if len(contacts) != 1 || contacts[0]["wa_id"] != customer || contacts[0]["profile"].(map[string]any)["name"] != "Sandbox User 1111" {
			t.Fatalf("contacts %v", contacts)
		}

		replyID := h.send(ops, `{"to":"`+customer+`","type":"text","text":{"body":"Yes, until 8 pm."}}`)
		h.pump()
		if got := hook.statusesOf(replyID); len(got) != 0 {
			t.Fatalf("sent status without sent_status: %v", got)
		}
		h.clock.Advance(2 * time.Second) // the phone reports delivery, then the user reads
		h.pump()
		sts := hook.statusesOf(replyID)
		if len(sts) != 2 || sts[0]["status"] != "delivered" || sts[1]["status"] != "read" {
			t.Fatalf("statuses %v", sts)
		}
		delivered := sts[0]
		conv, _ := delivered["conversation"].(map[string]any)
		price, _ := delivered["pricing"].(map[string]any)
		if conv == nil || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(conv["id"].(string)) ||
			conv["origin"].(map[string]any)["type"] != "service" || conv["expiration_timestamp"] != float64(h.clock.Now().Add(-2*time.Second).Add(24*time.Hour).Unix()) {
			t.Fatalf("delivered conversation %v", delivered)
		}
		if price == nil || price["pricing_model"] != "CBP" || price["category"] != "service" || price["billable"] != false {
			t.Fatalf("delivered pricing %v", delivered)
		}
		if delivered["recipient_id"] != customer || delivered["timestamp"] != "1795255200" {
			t.Fatalf("delivered %v", delivered)
		}
		if sts[1]["conversation"] != nil || sts[1]["pricing"] != nil {
			t.Fatalf("read status carries conversation or pricing: %v", sts[1])
		}

		// The business marks the customer's message read; the customer sees it.
		if res := h.do(request{method: "PUT", path: "/v1/messages/" + inboundID, header: bearer(ops), body: `{"status":"read"}`}); res.Status != 200 {
			t.Fatalf("mark read: %d %s", res.Status, res.Raw)
		}
		phone := h.do(request{method: "GET", path: "/sandbox/v1/users/" + customer + "/messages", header: bearer(admin)})
		if !strings.Contains(string(phone.Raw), `"id":"`+inboundID+`","status":"read"`) || !strings.Contains(string(phone.Raw), `"id":"`+replyID+`","status":"read"`) {
			t.Fatalf("the customer's phone: %s", phone.Raw)
		}
		expectError(t, h.do(request{method: "PUT", path: "/v1/messages/ABnotthere", header: bearer(ops), body: `{"status":"read"}`}), 404,
			e(1006, "Resource not found", "Message not found"))

		// A user who never wrote: accepted, then failed with 470.
		coldID := h.send(ops, `{"to":"+1 (555) 000-2222","text":{"body":"Hello!"}}`)
		h.pump()
		cold := hook.statusesOf(coldID)
		if len(cold) != 1 || cold[0]["status"] != "failed" || cold[0]["recipient_id"] != "15550002222" {
			t.Fatalf("cold statuses %v", cold)
		}
		errs := cold[0]["errors"].([]any)[0].(map[string]any)
		if errs["code"] != float64(470) || errs["title"] != "Re-engagement message" {
			t.Fatalf("cold error %v", errs)
		}
		// A day later the window has closed for the customer too.
		h.clock.Advance(24*time.Hour + time.Minute)
		lateID := h.send(ops, `{"to":"`+customer+`","text":{"body":"Still there?"}}`)
		h.pump()
		if late := hook.statusesOf(lateID); len(late) != 1 || late[0]["errors"].([]any)[0].(map[string]any)["code"] != float64(470) {
			t.Fatalf("late statuses %v", late)
		}
	})
}

// blockingNetwork holds start-up at the template load until released.
type blockingNetwork struct {
	network.Network
	release chan struct{}
}

func (b *blockingNetwork) Templates(ctx context.Context) ([]network.Template, error) {
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return b.Network.Templates(ctx)
}

func TestSendDuringStartUpIs1011(t *testing.T) {
	t.Parallel()
	blocker := &blockingNetwork{release: make(chan struct{})}
	h := sqliteHarness(t, withNetwork(func(n network.Network) network.Network { blocker.Network = n; return blocker }))
	admin := h.adminToken()
	res := h.do(request{method: "POST", path: "/sandbox/v1/certificates", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100","vname":"Acme"}`})
	cert := res.Body["certificate"].(string)
	h.do(request{method: "POST", path: "/v1/account", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100","method":"sms","cert":"` + cert + `"}`})
	code := h.do(request{method: "GET", path: "/sandbox/v1/account/code", header: bearer(admin)}).Body["code"].(string)
	if res := h.do(request{method: "POST", path: "/v1/account/verify", header: bearer(admin), body: `{"code":"` + code + `"}`}); res.Status != 201 {
		t.Fatalf("verify: %d %s", res.Status, res.Raw)
	}
	res = h.do(request{method: "GET", path: "/v1/health", header: bearer(admin)})
	if !strings.Contains(string(res.Raw), `"gateway_status":"connecting"`) {
		t.Fatalf("health during start-up: %s", res.Raw)
	}
	expectError(t, h.do(request{method: "POST", path: "/v1/messages", header: bearer(admin), body: `{"to":"` + customer + `","text":{"body":"hi"}}`}), 500,
		e(1011, "Service not ready", "Service not ready: start-up in progress (loading templates and offline messages); retry shortly"))
	if !strings.Contains(h.logBuf.String(), "Service not ready") {
		t.Fatal("the log does not say Service not ready")
	}
	close(blocker.release)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.core.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	h.send(admin, `{"to":"`+customer+`","text":{"body":"hi"}}`)
}
