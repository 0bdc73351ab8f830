package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// TestLeaderDoesTheOnceOnlyWork: of two core nodes on the Cloud API only
// the leader asks the Graph API for the template catalogue; the other
// starts from the catalogue the leader stored and serves a template created
// in WhatsApp Manager once the leader reloaded, without a fetch of its own;
// a template the leader has not loaded yet, accepted by a node that had,
// is sent by core-b after a miss reload of its own.
// The message it sent (core-b holds the one shard) expires through the leader's sweep; its own sweep
// does nothing.
func TestLeaderDoesTheOnceOnlyWork(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		if cfg.Engine == store.SQLite {
			t.Skip("split roles need a database server the nodes share")
		}
		ctx := context.Background()
		graph := graphtest.New(t)
		graph.PageSize = 100 // one request per fetch
		graph.AddTemplate(cloudTemplate("welcome", "APPROVED"))
		a, b, web := threeNodes(t, cfg, withCloud(graph))
		beatAll(t, a, b, web)
		if !a.node.Cluster.Leader() || b.node.Cluster.Leader() {
			t.Fatal("core-a does not lead alone")
		}
		giveShardsTo(t, b, a) // core-b sends, core-a leads
		admin := a.adminToken()
		a.do(request{method: "POST", path: "/v1/account", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100000","method":"sms","cert":"Y2VydA==","pin":"123456"}`})
		if res := a.do(request{method: "POST", path: "/v1/account/verify", header: bearer(admin), body: `{"code":"123456"}`}); res.Status != 201 {
			t.Fatalf("verify: %d %s", res.Status, res.Raw)
		}
		waitReady(t, a)
		loads := templateFetches(graph)
		if loads == 0 {
			t.Fatal("the leader's start-up did not load the catalogue")
		}
		if err := b.core.ReloadRegistration(ctx); err != nil {
			t.Fatal(err)
		}
		waitReady(t, b)
		if n := templateFetches(graph); n != loads {
			t.Fatalf("core-b's start-up fetched the catalogue %d times, want none (it reads the stored one)", n-loads)
		}

		graph.AddTemplate(cloudTemplate("order_update", "APPROVED"))
		// The leader's periodic full reload.
		if _, err := a.core.LoadTemplates(ctx); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(time.Second) // core-b's next look at the stored catalogue
		id := b.send(admin, templateSend(graph.Namespace, "order_update"))
		b.pump()
		if n := templateFetches(graph); n != loads+1 {
			t.Fatalf("%d catalogue fetches after the leader's reload and core-b's send, want only the leader's", n-loads)
		}
		if sends := graph.Sends(); len(sends) != 1 || sends[0]["template"].(map[string]any)["name"] != "order_update" {
			t.Fatalf("sent to the Cloud: %v", sends)
		}

		// A template approved after the leader's reload, sent through the
		// web node (its miss reload finds it) and sent out by core-b,
		// whose catalogue lacks it: the worker's own miss reload, not a
		// failed message.
		graph.AddTemplate(cloudTemplate("shipping", "APPROVED"))
		web.clock.Advance(time.Second) // its copy of the core's state, read at its heartbeat, is a second old
		web.send(admin, templateSend(graph.Namespace, "shipping"))
		b.clock.Advance(5 * time.Second) // past core-b's last miss reload
		b.pump()
		if sends := graph.Sends(); len(sends) != 2 || sends[1]["template"].(map[string]any)["name"] != "shipping" {
			t.Fatalf("sent to the Cloud: %v", sends)
		}
		if n := templateFetches(graph); n != loads+3 {
			t.Fatalf("%d catalogue fetches, want 3: the leader's reload, the web node's and core-b's miss reloads", n-loads)
		}

		// Past the message's time to live, undelivered.
		for _, h := range []*harness{a, b, web} {
			h.clock.Advance(8 * 24 * time.Hour)
		}
		if n, err := b.core.ExpireMessages(ctx); err != nil || n != 0 {
			t.Fatalf("core-b's sweep failed %d messages (%v), want none: it does not lead", n, err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			m, err := a.store.GetOutbox(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if m.Status == store.OutboxFailed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the leader's sweep did not fail the expired message: %s", m.Status)
			}
			time.Sleep(5 * time.Millisecond) // the leader's loop, on its own timer
		}
	})
}

// giveShardsTo has from pass every shard it holds to to, as the leader's
// balancing would: the hand-over at from's heartbeat, the take at to's.
func giveShardsTo(t *testing.T, to, from *harness) {
	t.Helper()
	ctx := context.Background()
	leases, err := from.store.ShardLeases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leases {
		if l.Holder == from.node.Cluster.ID() {
			if err := from.store.RequestShardMove(ctx, l, to.node.Cluster.ID()); err != nil {
				t.Fatal(err)
			}
		}
	}
	beatAll(t, from, to)
	if held, _ := to.node.Cluster.HeldShards(); len(held) == 0 {
		t.Fatal("the shards were not passed on")
	}
}
