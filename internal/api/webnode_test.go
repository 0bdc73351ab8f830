package api_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
	"github.com/wabiz/wabiz/internal/webhook"
)

// A web node (the HTTP API with its core not running) beside a node whose
// core runs, on one database: what the web node answers comes from what
// the core keeps in the database (docs/architecture.md, "Accepting a send
// without the core"), and must be what the core's own node answers.

// sameAnswer fails unless the two nodes answered alike (status and body,
// but the message id a send is given).
func sameAnswer(t *testing.T, what string, core, web response) {
	t.Helper()
	if core.Status != web.Status || !slices.Equal(core.errorsList(), web.errorsList()) {
		t.Fatalf("%s: the core's node answered %d %s, the web node %d %s", what, core.Status, core.Raw, web.Status, web.Raw)
	}
}

// TestWebNodeAnswersAsOneProcess: sends on a web node meet the readiness,
// the callback queue's bound and the template catalogue of the core
// running on another node, and the core delivers what the web node
// accepted.
func TestWebNodeAnswersAsOneProcess(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		blocker := &blockingNetwork{release: make(chan struct{})}
		limit := withConfig("WABIZ_WEBHOOK_QUEUE_LIMIT", "100")
		coreNode := newHarness(t, cfg, limit, withNetwork(func(n network.Network) network.Network { blocker.Network = n; return blocker }))
		web := newHarness(t, cfg, limit, withWebRoleOnly())
		admin := coreNode.adminToken() // one signing key: the token works on both nodes
		text := `{"to":"` + customer + `","text":{"body":"hi"}}`
		// The two clocks move together, as the clocks of two hosts do:
		// the core's worker sends what the web node accepted at its time.
		step := func(d time.Duration) { coreNode.clock.Advance(d); web.clock.Advance(d) }
		both := func(what, body string) (core, webRes response) {
			t.Helper()
			core, webRes = coreNode.sendStatus(admin, body), web.sendStatus(admin, body)
			sameAnswer(t, what, core, webRes)
			return core, webRes
		}
		health := func(h *harness) string {
			t.Helper()
			res := h.do(request{method: "GET", path: "/v1/health", header: bearer(admin)})
			var body struct {
				Health struct {
					GatewayStatus string `json:"gateway_status"`
				} `json:"health"`
			}
			if err := json.Unmarshal(res.Raw, &body); err != nil || res.Status != 200 {
				t.Fatalf("health: %d %s", res.Status, res.Raw)
			}
			return body.Health.GatewayStatus
		}

		_, res := both("before registration", text)
		expectError(t, res, 500, e(1011, "Service not ready", "Service not ready: register a number with POST /v1/account first"))
		if got := health(web); got != "unregistered" {
			t.Fatalf("web node's health before registration: %s", got)
		}

		// A template the network holds when the core loads its catalogue.
		ns, err := coreNode.sandbox.Namespace(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := coreNode.sandbox.AddTemplate(ctx, json.RawMessage(simpleTemplate("welcome", "en"))); err != nil {
			t.Fatal(err)
		}
		res = coreNode.do(request{method: "POST", path: "/sandbox/v1/certificates", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100","vname":"Acme"}`})
		cert := res.Body["certificate"].(string)
		coreNode.do(request{method: "POST", path: "/v1/account", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100","method":"sms","cert":"` + cert + `"}`})
		code := coreNode.do(request{method: "GET", path: "/sandbox/v1/account/code", header: bearer(admin)}).Body["code"].(string)
		if res := coreNode.do(request{method: "POST", path: "/v1/account/verify", header: bearer(admin), body: `{"code":"` + code + `"}`}); res.Status != 201 {
			t.Fatalf("verify: %d %s", res.Status, res.Raw)
		}

		// Start-up is held at the template load. The web node read the row
		// less than a second ago by its clock: it answers from its copy
		// until the second has passed.
		if got := health(web); got != "unregistered" {
			t.Fatalf("web node's health within its cache: %s", got)
		}
		step(time.Second)
		if a, b := health(coreNode), health(web); a != "connecting" || b != "connecting" {
			t.Fatalf("health during start-up: core's node %s, web node %s", a, b)
		}
		_, res = both("during start-up", text)
		expectError(t, res, 500, e(1011, "Service not ready", "Service not ready: start-up in progress (loading templates and offline messages); retry shortly"))

		close(blocker.release)
		waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := coreNode.core.WaitReady(waitCtx); err != nil {
			t.Fatal(err)
		}
		step(time.Second)
		if got := health(web); got != "connected" {
			t.Fatalf("web node's health once the core is ready: %s", got)
		}
		_, res = both("a text once ready", text)
		if res.Status != 201 {
			t.Fatalf("a text on the web node: %d %s", res.Status, res.Raw)
		}

		// The catalogue the core loaded, read from the rows: no reload.
		welcome := templateSend(ns, "welcome")
		webID := web.send(admin, welcome)
		if strings.Contains(web.logText(), "message templates reloaded") {
			t.Fatalf("the web node reloaded the catalogue for a known template:\n%s", web.logText())
		}
		coreNode.pump()
		if got := coreNode.phone(admin, customer)[webID]; got["rendered"] != "Hello" {
			t.Fatalf("the customer's phone shows %v for the web node's send", got)
		}
		_, res = both("an unknown template", templateSend(ns, "nope"))
		expectError(t, res, 404, e(2001, templateMissing, "Template 'nope' in language 'en' of namespace '"+ns+"' does not exist"))

		// Created through the web node, within the period of the miss
		// reload just spent: the sandbox's word to the web node's catalogue.
		if res := web.do(request{method: "POST", path: templatesPath, header: bearer(admin), body: simpleTemplate("order_update", "en")}); res.Status != 201 {
			t.Fatalf("create through the web node: %d %s", res.Status, res.Raw)
		}
		web.send(admin, templateSend(ns, "order_update"))

		// The callback queue at its bound: the core's node counts it, the
		// web node reads the table (its answer is a second old at most).
		// (Queued one by one: notifications queued together share rows, and
		// the bound counts rows.)
		for !coreNode.hooks.Full() {
			filler := webhook.Notification{Kind: webhook.KindErrors, Payload: json.RawMessage(`{"errors":[{"code":1,"title":"filler"}]}`)}
			if err := coreNode.hooks.Enqueue(ctx, filler); err != nil {
				t.Fatal(err)
			}
		}
		if res := web.sendStatus(admin, text); res.Status != 201 {
			t.Fatalf("the web node within its queue answer's second: %d %s", res.Status, res.Raw)
		}
		step(time.Second)
		_, res = both("the callback queue at its bound", text)
		expectError(t, res, 503, e(1016, "System overloaded", "The callback queue is full: retry later"))
	})
}

// TestWebNodeSeesAStaleCoreAsGone: a core whose row has not been written
// for longer than the bound counts as gone on a web node: sends answer
// 1011 and health says disconnected, until the core writes again.
func TestWebNodeSeesAStaleCoreAsGone(t *testing.T) {
	t.Parallel()
	cfg := storetest.Config(t, store.SQLite)
	coreNode := newHarness(t, cfg)
	admin := coreNode.adminToken()
	coreNode.register(admin)
	web := newHarness(t, cfg, withWebRoleOnly())
	text := `{"to":"` + customer + `","text":{"body":"hi"}}`
	web.send(admin, text)

	web.clock.Advance(time.Minute + time.Second)
	expectError(t, web.sendStatus(admin, text), 500,
		e(1011, "Service not ready", "Service not ready: the messaging core is not running; retry shortly"))
	if res := web.do(request{method: "GET", path: "/v1/health", header: bearer(admin)}); !strings.Contains(string(res.Raw), `"gateway_status":"disconnected"`) {
		t.Fatalf("web node's health with a stale row: %s", res.Raw)
	}

	coreNode.clock.Advance(time.Minute + time.Second)
	coreNode.core.PublishState(context.Background())
	web.clock.Advance(time.Second)
	web.send(admin, text)
}
