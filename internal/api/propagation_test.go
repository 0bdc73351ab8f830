package api_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
	"github.com/wabiz/wabiz/internal/webhook"
)

// Changes made through one node reach another node on the same database at
// the other node's next watcher pass (Start runs one every
// WABIZ_SETTINGS_REFRESH); the tests make the pass themselves.

// twoNodes builds a web node and a core node on one database, both on the
// same moment of their frozen clocks.
func twoNodes(t *testing.T, cfg store.Config) (web, coreNode *harness, admin string) {
	t.Helper()
	coreNode = newHarness(t, cfg)
	web = newHarness(t, cfg, withWebRoleOnly())
	return web, coreNode, coreNode.adminToken()
}

// watcherPass makes h's node apply what other nodes changed, and reports
// how many of its parts reloaded.
func (h *harness) watcherPass() int {
	h.t.Helper()
	n, err := h.node.Watcher.Pass(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func TestWebhookCAUploadedThroughAnotherNode(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		web, coreNode, admin := twoNodes(t, cfg)
		ca, url := privateReceiver(t, coreNode.clock.Now(), func(w http.ResponseWriter, r *http.Request) {})
		coreNode.setWebhook(admin, url)
		// The node's own write moved the settings' version too: this pass
		// finds it already applied, so the next one counts the CA alone.
		coreNode.watcherPass()
		ctx := context.Background()
		// The core node delivers; each round is one POST after the retry delay.
		deliver := func() webhook.Result {
			t.Helper()
			if err := coreNode.hooks.Enqueue(ctx, webhook.Notification{Kind: webhook.KindStatuses, Payload: json.RawMessage(`{"statuses":[]}`)}); err != nil {
				t.Fatal(err)
			}
			coreNode.clock.Advance(time.Hour)
			return coreNode.runHooks()
		}
		const path = "/v1/certificates/webhooks/ca"

		if res := web.postPEM(admin, path, "text/plain", string(ca.pem)); res.Status != 200 {
			t.Fatalf("upload through the web node: %d %s", res.Status, res.Raw)
		}
		if res := deliver(); res.Delivered != 0 {
			t.Fatalf("the core node trusted the CA before its watcher saw it: %+v", res)
		}
		if n := coreNode.watcherPass(); n != 1 {
			t.Fatalf("watcher pass reloaded %d parts, want the certificates", n)
		}
		if res := deliver(); res.Delivered != 2 { // the retried one and the new one
			t.Fatalf("after the pass: %+v", res)
		}
		if n := coreNode.watcherPass(); n != 0 {
			t.Fatalf("a pass with nothing changed reloaded %d parts", n)
		}

		if res := web.do(request{method: "DELETE", path: path, header: bearer(admin)}); res.Status != 200 {
			t.Fatalf("delete through the web node: %d %s", res.Status, res.Raw)
		}
		coreNode.watcherPass()
		if res := deliver(); res.Delivered != 0 || res.Retried != 1 {
			t.Fatalf("after the deletion through the web node the system roots should apply again: %+v", res)
		}
	})
}

func TestExternalCertificateUploadedThroughAnotherNode(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		web, coreNode, admin := twoNodes(t, cfg)
		now := coreNode.clock.Now()
		ca := newTestCA(t, "test CA", now, 365*24*time.Hour)
		leaf, leafPEM, key := ca.leaf(t, now, 90*24*time.Hour)
		selfSigned := coreNode.node.Listener.Current()

		if res := web.postPEM(admin, "/v1/certificates/external", "text/plain", join(key, leafPEM, ca.pem)); res.Status != 201 {
			t.Fatalf("upload through the web node: %d %s", res.Status, res.Raw)
		}
		if coreNode.node.Listener.Current() != selfSigned {
			t.Fatal("the other node changed its certificate before its watcher pass")
		}
		coreNode.watcherPass()
		roots := x509.NewCertPool()
		roots.AddCert(ca.cert)
		if got := handshake(t, coreNode.node.Listener, roots); !got.Equal(leaf) {
			t.Fatalf("the other node serves %s, want the uploaded certificate", got.Subject)
		}
		wantPEM(t, coreNode.getPEM(t, admin, "/v1/certificates/external/ca"), ca.pem)
	})
}

func TestSettingsChangedThroughAnotherNode(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		web, coreNode, admin := twoNodes(t, cfg)
		const url = "https://hooks.example.com/changed-on-the-web-node"
		web.setWebhook(admin, url)
		if got := coreNode.settings.Current().Webhooks.URL; got == url {
			t.Fatal("the core node saw the change before its watcher pass")
		}
		coreNode.watcherPass()
		res := coreNode.do(request{method: "GET", path: "/v1/settings/application", header: bearer(admin)})
		if res.Status != 200 || !strings.Contains(string(res.Raw), url) {
			t.Fatalf("settings on the core node after the pass: %d %s", res.Status, res.Raw)
		}
	})
}

// Media providers are read from the database at each use: nothing to
// reload, and another node answers with a new provider at once.
func TestMediaProvidersAddedThroughAnotherNode(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		web, coreNode, admin := twoNodes(t, cfg)
		res := web.do(request{method: "POST", path: providersPath, header: bearer(admin), body: `[{"name":"cdn","type":"www","config":{"bearer":"tok"}}]`})
		if res.Status != 200 && res.Status != 201 {
			t.Fatalf("add through the web node: %d %s", res.Status, res.Raw)
		}
		res = coreNode.do(request{method: "GET", path: providersPath, header: bearer(admin)})
		if res.Status != 200 || !strings.Contains(string(res.Raw), `"name":"cdn"`) {
			t.Fatalf("providers on the other node: %d %s", res.Status, res.Raw)
		}
	})
}
