package api_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/cluster"
	"github.com/wabiz/wabiz/internal/core"
	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// The Cloud bridge behind several nodes (docs/cloud-bridge.md, "Several
// nodes"): Meta posts to whichever node the load balancer picks, and
// WABIZ_CLOUD_RATE is the deployment's rate, not each node's.

// TestWebNodeTakesCloudWebhooks: a signed Cloud delivery posted to a web
// node (whose core does not run) is stored and answered 200 there, and the
// core on the other node turns it into the On-Premises callback; a forged
// one is refused and leaves nothing for the core.
func TestWebNodeTakesCloudWebhooks(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		graph := graphtest.New(t)
		coreNode := newHarness(t, cfg, withCloud(graph))
		web := newHarness(t, cfg, withCloud(graph), withWebRoleOnly())
		admin := coreNode.adminToken()
		coreNode.do(request{method: "POST", path: "/v1/account", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100000","method":"sms","cert":"Y2VydA==","pin":"123456"}`})
		if res := coreNode.do(request{method: "POST", path: "/v1/account/verify", header: bearer(admin), body: `{"code":"123456"}`}); res.Status != 201 {
			t.Fatalf("verify: %d %s", res.Status, res.Raw)
		}
		waitReady(t, coreNode)
		hook := newReceiver(t)
		coreNode.setWebhook(admin, hook.srv.URL)

		body, sig := graph.Delivery(testAppSecret, map[string]any{
			"contacts": []any{map[string]any{"profile": map[string]any{"name": "Dana Reyes"}, "wa_id": customer}},
			"messages": []any{map[string]any{"from": customer, "id": "wamid.HBgLMTU1NTAwMDExMTEVAgASGBQzQjdXRUIx",
				"timestamp": "1795255200", "type": "text", "text": map[string]any{"body": "Posted to the web node"}}},
		})
		if w := web.raw("POST", "/cloud/webhook", "application/json", bytes.NewReader(body), map[string]string{"X-Hub-Signature-256": "sha256=00"}); w.Code != 401 {
			t.Fatalf("a forged delivery on the web node: %d %s", w.Code, w.Body.String())
		}
		coreNode.pump()
		if got := hook.items("messages"); len(got) != 0 {
			t.Fatalf("a forged delivery reached the callback: %v", got)
		}
		if w := web.raw("POST", "/cloud/webhook", "application/json", bytes.NewReader(body), map[string]string{"X-Hub-Signature-256": sig}); w.Code != 200 {
			t.Fatalf("a delivery on the web node: %d %s", w.Code, w.Body.String())
		}
		// Durable before the 200: the row is there for any core to claim.
		if stored, err := web.store.CloudEvents(context.Background(), 10); err != nil || len(stored) != 1 {
			t.Fatalf("stored by the web node: %d rows, %v; want the one message", len(stored), err)
		}
		coreNode.pump()
		msgs := hook.items("messages")
		if len(msgs) != 1 || msgs[0]["from"] != customer || msgs[0]["text"].(map[string]any)["body"] != "Posted to the web node" ||
			hook.items("contacts")[0]["profile"].(map[string]any)["name"] != "Dana Reyes" {
			t.Fatalf("the callback for the web node's delivery: %v", hook.bodies)
		}
	})
}

// TestCloudRateIsTheDeployments: one node sends at WABIZ_CLOUD_RATE, as
// before there were several; with two shards and two core nodes beside a
// web node each sends for one shard at half the rate, so their limits add
// up to it; once one is gone past its shard lease the other holds both
// shards and has the whole rate again.
func TestCloudRateIsTheDeployments(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		if cfg.Engine == store.SQLite {
			t.Skip("split roles need a database server the nodes share")
		}
		graph := graphtest.New(t)
		rate := withConfig("WABIZ_CLOUD_RATE", "90")
		a, b, web := threeNodes(t, cfg, withCloud(graph), rate)
		limit := func(h *harness) float64 { return h.node.Cloud.Limiter().Rate() }
		beatAll(t, a, web)
		if got := limit(a); got != 90 {
			t.Fatalf("the one core node sends at %v a second, want all of WABIZ_CLOUD_RATE (90)", got)
		}
		if _, err := a.store.PutDocument(context.Background(), core.ShardsDocument, []byte(`{"shards":2}`), 0, a.clock.Now()); err != nil {
			t.Fatal(err)
		}
		// The new count: the leader removes the old lease, assigns the two
		// shards after the pause, then passes one to b.
		for range 3 {
			for _, h := range []*harness{a, b, web} {
				h.clock.Advance(cluster.ShardRefresh)
			}
			beatAll(t, a, b, a, b, web)
		}
		if la, lb := limit(a), limit(b); la+lb != 90 || la != lb {
			t.Fatalf("two core nodes send at %v + %v a second, want 45 + 45 = WABIZ_CLOUD_RATE", la, lb)
		}
		// b is killed: a has the whole rate once b's shard lease ran out.
		for range 7 {
			for _, h := range []*harness{a, b, web} {
				h.clock.Advance(5 * time.Second)
			}
			beatAll(t, a, web)
		}
		if got := limit(a); got != 90 {
			t.Fatalf("after b went silent a sends at %v a second, want 90", got)
		}
	})
}
