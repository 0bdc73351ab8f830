package blackbox

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// Several nodes on one database: one web node and two core nodes of the
// real binary on loopback.

// startCore runs a core node (no listener) on its own data directory and
// waits until it has joined the registry.
func (in *instance) startCore(name string, more ...string) *process {
	t := in.t
	t.Helper()
	fmt.Fprintf(in.logs, "==== start core node %s ====\n", name)
	env := in.env(append([]string{"WABIZ_ROLE=core", "WABIZ_NODE_NAME=" + name, "WABIZ_DATA_DIR=" + t.TempDir()}, more...)...)
	p, err := startProcess(env, in.logs, "serve")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	deadline := time.Now().Add(readyTimeout)
	for !strings.Contains(p.output.String(), `msg="node started" role=core`) {
		select {
		case <-p.Done():
			t.Fatalf("core node %s exited: %v\n%s", name, p.Err(), in.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("core node %s not started after %s\n%s", name, readyTimeout, in.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

// hasRoles reports whether a health map lists exactly the nodes of want,
// each with its role.
func hasRoles(health map[string]map[string]any, want map[string]string) bool {
	if len(health) != len(want) {
		return false
	}
	for id, role := range want {
		if health[id]["role"] != role {
			return false
		}
	}
	return true
}

// nodesHealth reads /v1/health's map of nodes (nil when the answer is a
// single instance's).
func nodesHealth(c *client, auth string) map[string]map[string]any {
	_, body, err := c.tryDo("GET", "/v1/health", auth, nil)
	if err != nil {
		return nil
	}
	h, _ := body["health"].(map[string]any)
	if _, single := h["gateway_status"]; single {
		return nil
	}
	out := map[string]map[string]any{}
	for k, v := range h {
		out[k], _ = v.(map[string]any)
	}
	return out
}

// TestSeveralNodesFailover: health lists the web node and both core nodes
// with their roles, the core node holding the one shard connected and the
// other a standby (disconnected, as in the reference's HA); after the
// leader, which holds the shard, is killed with SIGKILL the other core node
// holds the leader lease and the shard within unhealthy_interval + 5 s; a
// message sent through the web node afterwards is delivered by it.
func TestSeveralNodesFailover(t *testing.T) {
	t.Parallel()
	for _, engine := range []store.Dialect{store.Postgres, store.MySQL} {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			host, _ := os.Hostname()
			hook := newHookRecorder(t)
			in := newInstance(t, engine, "WABIZ_WEBHOOK_ALLOW_HTTP=true", "WABIZ_MEDIA_DIR="+t.TempDir(), "WA_API_KEY="+apiKey)
			c := in.start("WABIZ_ROLE=web", "WABIZ_NODE_NAME=web-1")
			admin := bearer(login(t, c, "admin", "secret", adminPass))
			// Short intervals keep the test short: beats every second, a
			// node silent for 3 s is unhealthy.
			const unhealthy = 3 * time.Second
			c.do(t, "PATCH", "/v1/settings/application", admin, map[string]any{
				"heartbeat_interval": 1, "unhealthy_interval": int(unhealthy.Seconds()),
				"webhooks": map[string]any{"url": hook.url()}, "sent_status": true,
			}).expect(t, 200)
			leader := in.startCore("core-1")
			monitorAddr := freeAddr(t)
			in.startCore("core-2", "WABIZ_CORE_MONITOR_LISTEN="+monitorAddr)

			registerSandboxNumber(t, c, admin) // through the web node: a core starts on it
			c.do(t, "PATCH", "/sandbox/v1/world", admin, `{"delivery_delay_ms":0,"read_delay_ms":0}`).expect(t, 200)
			web, core1, core2 := host+":web-1", host+":core-1", host+":core-2"
			var last map[string]map[string]any
			roles := func(want map[string]string) bool {
				last = nodesHealth(c, admin)
				return hasRoles(last, want)
			}
			if !in.waitUntil(readyTimeout, 50*time.Millisecond, func() bool {
				return roles(map[string]string{web: "webapp", core1: "primary_master", core2: "secondary_master"}) &&
					last[core1]["gateway_status"] == "connected" && last[core2]["gateway_status"] == "disconnected" &&
					last[web]["gateway_status"] == "connected"
			}) {
				t.Fatalf("health never listed the three nodes connected: %v", last)
			}
			checkReadoutsAndMonitor(t, c, admin, monitorAddr, []string{core1, core2, web})

			leader.Kill()
			killed := time.Now()
			if !in.waitUntil(unhealthy+5*time.Second, 50*time.Millisecond, func() bool {
				last = nodesHealth(c, admin)
				// core-1 is listed as secondary, or in error once silent
				// past unhealthy_interval.
				return last[core1]["role"] != "primary_master" && last[core2]["role"] == "primary_master" &&
					last[core2]["gateway_status"] == "connected"
			}) {
				t.Fatalf("core-2 not the leader holding the shard %s after core-1 was killed: %v", unhealthy+5*time.Second, last)
			}
			t.Logf("core-2 took the leader lease and the shard %v after core-1 was killed", time.Since(killed).Round(time.Millisecond))
			if !in.waitUntil(unhealthy+5*time.Second, 50*time.Millisecond, func() bool {
				last = nodesHealth(c, admin)
				return last[core1]["errors"] != nil
			}) {
				t.Fatalf("core-1 not shown unhealthy: %v", last)
			}

			// A customer writes, the business answers through the web node:
			// core-2 receives the one and delivers the other.
			const customer = "15550001234"
			r := c.do(t, "POST", "/sandbox/v1/users/"+customer+"/messages", admin, `{"type":"text","text":{"body":"hello"}}`).expect(t, 201)
			inbound := firstMessageID(r.body)
			if !in.waitUntil(readyTimeout, 20*time.Millisecond, func() bool { return hook.snapshot().inbound[inbound] > 0 }) {
				t.Fatal("the customer's message never reached the webhook")
			}
			r = c.do(t, "POST", "/v1/messages", admin, map[string]any{"to": customer, "type": "text", "text": map[string]string{"body": "hi"}}).expect(t, 201)
			id := firstMessageID(r.body)
			if !in.waitUntil(readyTimeout, 20*time.Millisecond, func() bool { return hook.snapshot().statuses[id]["delivered"] > 0 }) {
				t.Fatalf("the message sent through the web node was not delivered: %s", hook.snapshot().seen(id))
			}
		})
	}
}

// TestSplitRoleRefusedOnSQLite: SQLite is for one node; a web or core role
// on it stops at start-up with the reason.
func TestSplitRoleRefusedOnSQLite(t *testing.T) {
	t.Parallel()
	in := newInstance(t, store.SQLite)
	for _, role := range []string{"web", "core"} {
		code, _, stderr := runCommand(t, in.env("WABIZ_ROLE="+role), "", "serve")
		want := "WABIZ_ROLE=" + role + " needs a database several nodes share (WA_DB_ENGINE=PGSQL or MYSQL); SQLite is for one node, which runs with WABIZ_ROLE=all"
		if code == 0 || !strings.Contains(stderr, want) {
			t.Fatalf("serve with WABIZ_ROLE=%s on SQLite: exit %d, stderr %q; want a failure saying %q", role, code, stderr, want)
		}
	}
}

// checkReadoutsAndMonitor: the web node's /v1/stats/app lists every node,
// the core nodes' from what they wrote into the registry; core-2's
// monitoring listener answers /metrics and /v1/health with the API key and
// nothing else.
func checkReadoutsAndMonitor(t *testing.T, c *client, admin, monitorAddr string, nodes []string) {
	t.Helper()
	_, body, err := c.tryDo("GET", "/v1/stats/app", admin, nil)
	if err != nil {
		t.Fatal(err)
	}
	app, _ := body["stats"].(map[string]any)["app"].(map[string]any)
	for _, id := range nodes {
		if m, _ := app[id].(map[string]any); m["pending_messages"] == nil {
			t.Fatalf("/v1/stats/app lacks node %s: %v", id, body)
		}
	}
	get := func(path string, auth bool) (int, string) {
		req, err := http.NewRequest("GET", "http://"+monitorAddr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth {
			req.Header.Set("Authorization", "Apikey "+apiKey)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("core monitoring listener: %v", err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, b := get("/metrics", true); code != 200 || !strings.Contains(b, `"web_uptime"`) {
		t.Fatalf("core /metrics: %d %s", code, b)
	}
	if code, b := get("/v1/health", true); code != 200 || !strings.Contains(b, nodes[1]) {
		t.Fatalf("core /v1/health: %d %s", code, b)
	}
	if code, _ := get("/metrics", false); code != 401 {
		t.Fatalf("core /metrics without credentials: %d, want 401", code)
	}
	if code, b := get("/v1/settings/application", true); code != 404 || !strings.Contains(b, `"code":1006`) {
		t.Fatalf("core /v1/settings/application: %d %s, want 404 (1006)", code, b)
	}
}
