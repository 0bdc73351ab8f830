package api_test

import (
	"context"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// sortedKeys lists an answer object's keys.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestSupportAndStatsListEveryNode: with several registered nodes
// /v1/support and the /v1/stats sets answer one object per node keyed
// "<hostname>:<node>", the other nodes' from the read-outs they wrote with
// their heartbeat; /v1/stats/db is counted once, under the answering node;
// the Prometheus form labels every sample node first; a node silent past
// unhealthy_interval is in error in JSON and left out of the exposition.
// With one registered node the answers keep the single-instance shape, and
// the node measures no read-out for the registry.
func TestSupportAndStatsListEveryNode(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		if cfg.Engine == store.SQLite {
			t.Skip("split roles need a database server the nodes share")
		}
		host, _ := os.Hostname()
		a, b, web := threeNodes(t, cfg)
		admin := web.adminToken()
		get := func(h *harness, path string) response {
			t.Helper()
			res := h.do(request{method: "GET", path: path, header: bearer(admin)})
			if res.Status != 200 {
				t.Fatalf("%s: %d %s", path, res.Status, res.Raw)
			}
			return res
		}
		exposition := func(h *harness, path string) string {
			t.Helper()
			w := h.raw("GET", path, "", nil, apikey())
			if w.Code != 200 {
				t.Fatalf("%s: %d %s", path, w.Code, w.Body)
			}
			return w.Body.String()
		}
		idA, idB, idWeb := host+":core-a", host+":core-b", host+":web-1"

		beatAll(t, a)
		if sup := get(a, "/v1/support").Body["support"].(map[string]any); sup["node"] != "core-a" {
			t.Fatalf("support of the one registered node: %v, want the single-instance shape", sup)
		}
		if app := get(a, "/v1/stats/app").Body["stats"].(map[string]any)["app"].(map[string]any); app["pending_messages"] == nil {
			t.Fatalf("stats of the one registered node: %v, want the single-instance shape", app)
		}

		beatAll(t, b, web)
		// core-a was alone at its heartbeat: it measured and wrote no
		// read-out; it does from its next heartbeat on, now that others
		// are registered.
		if stored, err := web.store.ClusterNodeReadouts(context.Background()); err != nil {
			t.Fatal(err)
		} else if _, ok := stored[idA]; ok || len(stored) != 2 {
			t.Fatalf("read-outs stored: %d, core-a's among them %v; want core-b's and web-1's", len(stored), ok)
		}
		if got := get(web, "/v1/support").Body["support"].(map[string]any)[idA]; !reflect.DeepEqual(got, map[string]any{"errors": []any{
			map[string]any{"code": float64(1014), "title": "Internal error", "details": "this node has written no read-out yet"}}}) {
			t.Fatalf("support of the node that was alone, before its next heartbeat: %v", got)
		}
		beatAll(t, a)
		sup := get(web, "/v1/support").Body["support"].(map[string]any)
		if got := sortedKeys(sup); !reflect.DeepEqual(got, []string{idA, idB, idWeb}) {
			t.Fatalf("support keys: %v", got)
		}
		for id, want := range map[string][3]any{
			idA:   {"core-a", "primary_master", []any{[]any{-1.0, -1.0}, []any{0.0, 0.0}}},
			idB:   {"core-b", "secondary_master", []any{}},
			idWeb: {"web-1", "webapp", []any{}},
		} {
			n := sup[id].(map[string]any)
			if n["node"] != want[0] || n["role"] != want[1] || !reflect.DeepEqual(n["shards"], want[2]) ||
				n["gateway_status"] != "unregistered" || n["socket_conn"] != "DN" || n["db_engine"] != string(cfg.Engine) {
				t.Fatalf("support of %s: %v", id, n)
			}
		}

		for _, path := range []string{"/v1/stats/app", "/v1/stats/app/internal", "/v1/stats/db/internal"} {
			parts := strings.Split(path, "/")
			area := get(web, path).Body["stats"].(map[string]any)[parts[3]].(map[string]any)
			if got := sortedKeys(area); !reflect.DeepEqual(got, []string{idA, idB, idWeb}) {
				t.Fatalf("%s keys: %v", path, got)
			}
			for id, v := range area {
				body := v.(map[string]any)
				if len(parts) == 5 {
					body, _ = body["internal"].(map[string]any)
				}
				if len(body) == 0 {
					t.Fatalf("%s of %s: %v", path, id, v)
				}
			}
		}
		// Every node wrote its query-duration histogram: it came back whole.
		dbInternal := get(web, "/v1/stats/db/internal").Body["stats"].(map[string]any)["db"].(map[string]any)
		hist := dbInternal[idA].(map[string]any)["internal"].(map[string]any)["wabiz_db_query_duration_seconds"].(map[string]any)
		if hist["type"] != "histogram" || hist["data"].([]any)[0].(map[string]any)["bucket"] == nil {
			t.Fatalf("core-a's query durations: %v", hist)
		}
		db := get(web, "/v1/stats/db").Body["stats"].(map[string]any)["db"].(map[string]any)
		if got := sortedKeys(db); !reflect.DeepEqual(got, []string{idWeb}) || db[idWeb].(map[string]any)["db_pending_messages"] == nil {
			t.Fatalf("stats/db: %v, want the shared database counted once under the answering node", db)
		}

		prom := exposition(web, "/v1/stats/app?format=prometheus")
		for _, id := range []string{idA, idB, idWeb} {
			if !strings.Contains(prom, `pending_messages{node="`+id+`"} `) || !strings.Contains(prom, `callback_requests{node="`+id+`",result="delivered"} `) {
				t.Fatalf("exposition lacks %s's samples labelled node first:\n%s", id, prom)
			}
		}
		if n := strings.Count(prom, "# TYPE pending_messages gauge\n"); n != 1 {
			t.Fatalf("pending_messages typed %d times:\n%s", n, prom)
		}

		// core-a stops heartbeating: past unhealthy_interval it is in
		// error in JSON and absent from the exposition.
		for _, h := range []*harness{a, b, web} {
			h.clock.Advance(31 * time.Second)
		}
		beatAll(t, b, web)
		silent := []any{map[string]any{"code": float64(1014), "title": "Internal error",
			"details": "no heartbeat from this node for 31 s (unhealthy_interval exceeded)"}}
		if got := get(web, "/v1/support").Body["support"].(map[string]any)[idA]; !reflect.DeepEqual(got, map[string]any{"errors": silent}) {
			t.Fatalf("support of the silent node: %v", got)
		}
		if got := get(web, "/v1/stats/app/internal").Body["stats"].(map[string]any)["app"].(map[string]any)[idA]; !reflect.DeepEqual(got, map[string]any{"errors": silent}) {
			t.Fatalf("stats of the silent node: %v", got)
		}
		prom = exposition(b, "/v1/stats/app?format=prometheus")
		if strings.Contains(prom, idA) || !strings.Contains(prom, `pending_messages{node="`+idB+`"} `) {
			t.Fatalf("exposition after core-a went silent:\n%s", prom)
		}
	})
}

// TestCoreMonitorHandler: a core node's monitoring listener serves
// /v1/health and /metrics as the API does, with its authentication, and
// answers every other path the API's 404.
func TestCoreMonitorHandler(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	monitor := h.srv.MonitorHandler()
	serve := func(method, path string, header map[string]string) response {
		t.Helper()
		r := httptest.NewRequest(method, path, nil)
		for k, v := range header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		monitor.ServeHTTP(w, r)
		return asResponse(t, w)
	}
	if res := serve("GET", "/v1/health", apikey()); res.Status != 200 || res.Body["health"].(map[string]any)["gateway_status"] != "unregistered" {
		t.Fatalf("health: %d %s", res.Status, res.Raw)
	}
	for _, path := range []string{"/metrics", "/v1/metrics/"} {
		if res := serve("GET", path, apikey()); res.Status != 200 || res.Body["metrics"].(map[string]any)["web_uptime"] == nil {
			t.Fatalf("%s: %d %s", path, res.Status, res.Raw)
		}
	}
	expectError(t, serve("GET", "/metrics", nil), 401, e(1005, "Access denied", "Missing or invalid authentication credentials"))
	admin := h.adminToken()
	for _, path := range []string{"/v1/support", "/v1/stats/app", "/v1/settings/application", "/"} {
		expectError(t, serve("GET", path, bearer(admin)), 404, e(1006, "Resource not found", "URL path not found"))
	}
	if res := h.do(request{method: "GET", path: "/v1/support", header: bearer(admin)}); res.Status != 200 {
		t.Fatalf("the API itself still serves /v1/support: %d", res.Status)
	}
}
