package blackbox

import (
	"os"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// TestSettingReachesTheOtherWebNode: with two web nodes and two core nodes,
// health lists every node with its role; show_security_notifications
// switched on through web-1 is in force for a send through web-2 within
// 2 s: the send to a customer whose identity changed is refused with 1028.
func TestSettingReachesTheOtherWebNode(t *testing.T) {
	t.Parallel()
	for _, engine := range []store.Dialect{store.Postgres, store.MySQL} {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			host, _ := os.Hostname()
			in := newInstance(t, engine, "WABIZ_WEBHOOK_ALLOW_HTTP=true", "WABIZ_MEDIA_DIR="+t.TempDir(), "WA_API_KEY="+apiKey)
			w1, w2 := &webNode{name: "web-1", dataDir: t.TempDir()}, &webNode{name: "web-2", dataDir: t.TempDir()}
			in.startWeb(w1)
			c1 := w1.client()
			admin := bearer(login(t, c1, "admin", "secret", adminPass))
			c1.do(t, "PATCH", "/v1/settings/application", admin, map[string]any{"heartbeat_interval": 1, "unhealthy_interval": 3}).expect(t, 200)
			in.startWeb(w2)
			c2 := w2.client()
			in.startCore("core-1")
			in.startCore("core-2")
			registerSandboxNumber(t, c1, admin)

			want := map[string]string{host + ":web-1": "webapp", host + ":web-2": "webapp", host + ":core-1": "primary_master", host + ":core-2": "secondary_master"}
			var last map[string]map[string]any
			if !in.waitUntil(readyTimeout, 50*time.Millisecond, func() bool {
				last = nodesHealth(c2, admin)
				return hasRoles(last, want)
			}) {
				t.Fatalf("health through web-2 never listed the four nodes with their roles: %v", last)
			}

			// A customer writes in, then their identity changes: a send to
			// them is accepted while show_security_notifications is off.
			const customer = "15550004321"
			c2.do(t, "POST", "/sandbox/v1/users/"+customer+"/messages", admin, `{"type":"text","text":{"body":"hello"}}`).expect(t, 201)
			c2.do(t, "POST", "/sandbox/v1/users/"+customer+"/identity", admin, nil).expect(t, 200)
			if !in.waitUntil(readyTimeout, 20*time.Millisecond, func() bool {
				code, body, err := c2.tryDo("GET", "/v1/contacts/"+customer+"/identity", admin, nil)
				if err != nil || code != 200 {
					return false
				}
				id, _ := body["contacts"].(map[string]any)
				return id["hash"] != nil && id["acknowledged"] == false
			}) {
				t.Fatal("the identity change never reached the contact")
			}
			send := map[string]any{"to": customer, "type": "text", "text": map[string]string{"body": "hi"}}
			// web-2 reads the core's state at most a second old: it may
			// answer 1011 for that second after the registration.
			if !in.waitUntil(readyTimeout, 20*time.Millisecond, func() bool {
				code, _, err := c2.tryDo("POST", "/v1/messages", admin, send)
				return err == nil && code == 201
			}) {
				t.Fatal("a send through web-2 was never accepted")
			}

			c1.do(t, "PATCH", "/v1/settings/application", admin, map[string]any{"show_security_notifications": true}).expect(t, 200)
			changed := time.Now()
			var code int
			for time.Since(changed) < 5*time.Second {
				code, _, _ = c2.tryDo("POST", "/v1/messages", admin, send)
				if code == 400 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			took := time.Since(changed)
			if code != 400 || took > 2*time.Second {
				t.Fatalf("a send through web-2 answered %d %v after the setting changed through web-1; want 400 (1028) within 2 s", code, took.Round(time.Millisecond))
			}
			t.Logf("web-2 applied the setting changed through web-1 after %v", took.Round(time.Millisecond))
		})
	}
}
