package api_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/wabiz/wabiz/internal/cluster"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// TestEachCoreSendsOnlyItsShards: with two shards set through POST
// /v1/account/shards and two core nodes, each node holds one shard and
// handles only the messages whose recipients fall in it (the sandbox
// fails them: nobody wrote in, the customer-service window is closed); the
// other node's messages wait for it.
func TestEachCoreSendsOnlyItsShards(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		if cfg.Engine == store.SQLite {
			t.Skip("split roles need a database server the nodes share")
		}
		ctx := context.Background()
		a, b, web := threeNodes(t, cfg)
		admin := a.adminToken()
		a.register(admin)
		if err := b.core.ReloadRegistration(ctx); err != nil {
			t.Fatal(err)
		}
		res := a.do(request{method: "POST", path: "/sandbox/v1/certificates", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100","vname":"Acme"}`})
		if res.Status != 201 {
			t.Fatalf("certificate: %d %s", res.Status, res.Raw)
		}
		if res = web.do(request{method: "POST", path: "/v1/account/shards", header: bearer(admin),
			body: `{"cc":"1","phone_number":"5550100","shards":2,"cert":"` + res.Body["certificate"].(string) + `"}`}); res.Status != 201 {
			t.Fatalf("set shards: %d %s", res.Status, res.Raw)
		}
		for range 3 {
			for _, h := range []*harness{a, b, web} {
				h.clock.Advance(cluster.ShardRefresh)
			}
			beatAll(t, a, b, a, b, web)
		}
		heldA, countA := a.node.Cluster.HeldShards()
		heldB, _ := b.node.Cluster.HeldShards()
		if countA != 2 || len(heldA) != 1 || len(heldB) != 1 || heldA[0] == heldB[0] {
			t.Fatalf("shards held: a %v of %d, b %v; want one each", heldA, countA, heldB)
		}
		// One recipient per shard; a message to each through the web node.
		to := map[int]string{}
		for i := 0; len(to) < 2; i++ {
			r := "1555" + strconv.Itoa(4000000+i)
			if s := store.ShardOf(store.ServerShard(r), 2); to[s] == "" {
				to[s] = r
			}
		}
		ids := map[int]string{}
		for shard, r := range to {
			res := web.do(request{method: "POST", path: "/v1/messages", header: bearer(admin), body: `{"to":"` + r + `","type":"text","text":{"body":"hi"}}`})
			if res.Status != 201 {
				t.Fatalf("send: %d %s", res.Status, res.Raw)
			}
			ids[shard] = res.Body["messages"].([]any)[0].(map[string]any)["id"].(string)
		}
		status := func(shard int) string {
			m, err := web.store.GetOutbox(ctx, ids[shard])
			if err != nil {
				t.Fatal(err)
			}
			return m.Status
		}
		if _, err := a.core.ProcessOutbox(ctx); err != nil {
			t.Fatal(err)
		}
		if status(heldA[0]) == store.OutboxQueued || status(heldB[0]) != store.OutboxQueued {
			t.Fatalf("after a's pass: a's shard's message %s, b's %s; want only a's sent", status(heldA[0]), status(heldB[0]))
		}
		if _, err := b.core.ProcessOutbox(ctx); err != nil {
			t.Fatal(err)
		}
		if status(heldB[0]) == store.OutboxQueued {
			t.Fatalf("after b's pass b's shard's message is still queued")
		}
	})
}
