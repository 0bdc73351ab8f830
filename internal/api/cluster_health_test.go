package api_test

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// withNode gives a harness node its role and name (and the name as its
// lease owner).
func withNode(role, name string) harnessOption {
	return func(s *harnessSetup) {
		s.env["WABIZ_ROLE"], s.env["WABIZ_NODE_NAME"], s.env["WABIZ_NODE_ID"] = role, name, name
	}
}

// healthBody is /v1/health's "health" object, decoded generically.
func healthBody(t *testing.T, h *harness) map[string]any {
	t.Helper()
	res := h.do(request{method: "GET", path: "/v1/health", header: apikey()})
	if res.Status != 200 {
		t.Fatalf("health: %d %s", res.Status, res.Raw)
	}
	var body struct {
		Health map[string]any `json:"health"`
	}
	if err := json.Unmarshal(res.Raw, &body); err != nil {
		t.Fatal(err)
	}
	return body.Health
}

func beatAll(t *testing.T, nodes ...*harness) {
	t.Helper()
	for _, h := range nodes {
		if err := h.node.Cluster.Beat(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHealthListsEveryNode: with one registered node /v1/health keeps the
// single-instance shape; with several it answers the reference's map keyed
// "<hostname>:<node>", roles from the registry and the leader lease, a node
// silent past unhealthy_interval in error in place of its object, and the
// other core node primary once it took the lease over.
func TestHealthListsEveryNode(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		if cfg.Engine == store.SQLite {
			t.Skip("split roles need a database server the nodes share")
		}
		host, _ := os.Hostname()
		a, b, web := threeNodes(t, cfg)
		step := func(d time.Duration) {
			for _, h := range []*harness{a, b, web} {
				h.clock.Advance(d)
			}
		}
		single := map[string]any{"gateway_status": "unregistered"}
		if got := healthBody(t, web); !reflect.DeepEqual(got, single) {
			t.Fatalf("health before any node registered: %v", got)
		}
		beatAll(t, a)
		if got := healthBody(t, a); !reflect.DeepEqual(got, single) {
			t.Fatalf("health of the one registered node: %v, want the single-instance shape", got)
		}

		beatAll(t, b, web)
		want := map[string]any{
			host + ":core-a": map[string]any{"gateway_status": "unregistered", "role": "primary_master"},
			host + ":core-b": map[string]any{"gateway_status": "unregistered", "role": "secondary_master"},
			host + ":web-1":  map[string]any{"gateway_status": "unregistered", "role": "webapp"},
		}
		for _, h := range []*harness{a, b, web} {
			if got := healthBody(t, h); !reflect.DeepEqual(got, want) {
				t.Fatalf("health of three nodes:\n got %v\nwant %v", got, want)
			}
		}

		// core-a stops heartbeating (killed): past unhealthy_interval
		// (30 s) it is in error, and core-b leads from its next beat on.
		step(31 * time.Second)
		beatAll(t, b, web)
		want[host+":core-a"] = map[string]any{"errors": []any{map[string]any{"code": float64(1014), "title": "Internal error",
			"details": "no heartbeat from this node for 31 s (unhealthy_interval exceeded)"}}}
		want[host+":core-b"] = map[string]any{"gateway_status": "unregistered", "role": "primary_master"}
		if got := healthBody(t, web); !reflect.DeepEqual(got, want) {
			t.Fatalf("health after core-a went silent:\n got %v\nwant %v", got, want)
		}
		if !b.node.Cluster.Leader() || a.node.Cluster.Leader() {
			t.Fatalf("leaders: core-a %v, core-b %v; want core-b", a.node.Cluster.Leader(), b.node.Cluster.Leader())
		}

		// core-b leaves cleanly: its row goes at once.
		if err := b.node.Cluster.Leave(context.Background()); err != nil {
			t.Fatal(err)
		}
		delete(want, host+":core-b")
		if got := healthBody(t, web); !reflect.DeepEqual(got, want) {
			t.Fatalf("health after core-b left:\n got %v\nwant %v", got, want)
		}
	})
}

// TestRegistrationThroughAWebNode: a web node records the registration
// without starting an engine of its own; the core node finds it in the
// database and starts on it.
func TestRegistrationThroughAWebNode(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		coreNode := newHarness(t, cfg)
		web := newHarness(t, cfg, withWebRoleOnly())
		admin := web.adminToken()
		res := web.do(request{method: "POST", path: "/sandbox/v1/certificates", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100","vname":"Acme"}`})
		cert := res.Body["certificate"].(string)
		if res := web.do(request{method: "POST", path: "/v1/account", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100","method":"sms","cert":"` + cert + `"}`}); res.Status != 202 {
			t.Fatalf("request code: %d %s", res.Status, res.Raw)
		}
		code := web.do(request{method: "GET", path: "/sandbox/v1/account/code", header: bearer(admin)}).Body["code"].(string)
		if res := web.do(request{method: "POST", path: "/v1/account/verify", header: bearer(admin), body: `{"code":"` + code + `"}`}); res.Status != 201 {
			t.Fatalf("verify on the web node: %d %s", res.Status, res.Raw)
		}
		if web.core.Ready() || coreNode.core.Ready() {
			t.Fatal("a core is ready before any core node loaded the registration")
		}
		if _, ok := coreNode.core.Account(); ok {
			t.Fatal("the core node knew the number before reading the registration")
		}
		if err := coreNode.core.ReloadRegistration(ctx); err != nil {
			t.Fatal(err)
		}
		waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := coreNode.core.WaitReady(waitCtx); err != nil {
			t.Fatal(err)
		}
		if acct, ok := coreNode.core.Account(); !ok || acct.WaID != "15550100" {
			t.Fatalf("the core node started on %+v", acct)
		}
		if web.core.Ready() {
			t.Fatal("the web node's engine started")
		}
	})
}
