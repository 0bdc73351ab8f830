package api_test

import (
	"strings"
	"testing"
)

// TestEveryRouteOfTheReference walks every route of the endpoint index
// (onprem-rest §0.1), with and without the trailing slash, with a valid or
// an invalid request, and checks that the route exists (no 404 "URL path
// not found", no 405), answers the same both ways, in the envelope, with
// the expected status.
func TestEveryRouteOfTheReference(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	h.register(admin)
	const uuid = "0b0a2c6e-8f1e-4c2a-9a3e-5b7d9c1e2f30"
	cases := []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/v1/users/login", "", 401}, // no Basic credentials
		{"POST", "/v1/users", `{"username":"ab"}`, 400},
		{"GET", "/v1/users/admin", "", 200},
		{"PUT", "/v1/users/admin", `{"password":"weak"}`, 400},
		{"DELETE", "/v1/users/nobody", "", 404},
		{"POST", "/v1/account", `{}`, 400},
		{"POST", "/v1/account/verify", `{}`, 400},
		{"POST", "/v1/account/shards", `{"cc":"1","phone_number":"5550100","shards":3,"cert":"x"}`, 400},
		{"GET", "/v1/account/shards", "", 200},
		{"POST", "/v1/settings/account/two-step", `{}`, 400},
		{"DELETE", "/v1/settings/account/two-step", "", 200},
		{"POST", "/v1/messages", `{}`, 400},
		{"PUT", "/v1/messages/ABnothere", `{"status":"read"}`, 404},
		{"POST", "/v1/contacts", `{}`, 400},
		{"GET", "/v1/contacts/15550001111/identity", "", 404},
		{"PUT", "/v1/contacts/15550001111/identity", `{}`, 400},
		{"POST", "/v1/media", "", 400},
		{"GET", "/v1/media/" + uuid, "", 404},
		{"DELETE", "/v1/media/" + uuid, "", 404},
		{"GET", "/v1/settings/application", "", 200},
		{"PATCH", "/v1/settings/application", `{}`, 400},
		{"DELETE", "/v1/settings/application", "", 200},
		{"GET", "/v1/settings/application/media/providers", "", 200},
		{"POST", "/v1/settings/application/media/providers", `[]`, 400},
		{"DELETE", "/v1/settings/application/media/providers/nope", "", 404},
		{"GET", "/v1/settings/profile/about", "", 200},
		{"PATCH", "/v1/settings/profile/about", `{}`, 400},
		{"GET", "/v1/settings/profile/photo", "", 404},
		{"POST", "/v1/settings/profile/photo", "", 400},
		{"DELETE", "/v1/settings/profile/photo", "", 200},
		{"GET", "/v1/settings/business/profile", "", 200},
		{"POST", "/v1/settings/business/profile", `{"websites":["a","b","c"]}`, 400},
		{"GET", "/v1/settings/business/compliance_info", "", 200},
		{"POST", "/v1/settings/business/compliance_info", `{}`, 400},
		{"POST", "/v1/settings/backup", `{}`, 400},
		{"POST", "/v1/settings/restore", `{}`, 400},
		{"POST", "/v1/certificates/external", "", 400},
		{"GET", "/v1/certificates/webhooks/ca", "", 404},
		{"POST", "/v1/certificates/webhooks/ca", "", 400},
		{"DELETE", "/v1/certificates/webhooks/ca", "", 200},
		{"GET", "/v1/health", "", 200},
		{"GET", "/v1/support", "", 200},
		{"GET", "/v1/stats/app", "", 200},
		{"GET", "/v1/stats/app/internal", "", 200},
		{"GET", "/v1/stats/db", "", 200},
		{"GET", "/v1/stats/db/internal", "", 200},
		{"PUT", "/v1/services/message/gc", "", 200},
		{"PUT", "/v1/services/media/gc", "", 200},
		{"GET", "/v1/stickerpacks", "", 200},
		{"POST", "/v1/stickerpacks", `{}`, 400},
		{"GET", "/v1/stickerpacks/nope", "", 404},
		{"PATCH", "/v1/stickerpacks/nope", `{"name":"x"}`, 404},
		{"DELETE", "/v1/stickerpacks/nope", "", 404},
		{"GET", "/v1/stickerpacks/nope/stickers", "", 404},
		{"POST", "/v1/stickerpacks/nope/stickers", `{}`, 400}, // validation before lookup
		{"GET", "/v1/stickerpacks/nope/stickers/0", "", 404},
		{"PATCH", "/v1/stickerpacks/nope/stickers/0", `{}`, 400},
		{"DELETE", "/v1/stickerpacks/nope/stickers/0", "", 404},
	}
	// Metrics answer the envelope by default, the Prometheus text on request.
	for _, path := range []string{"/metrics", "/metrics/", "/v1/metrics", "/v1/metrics/"} {
		if res := h.do(request{method: "GET", path: path, header: bearer(admin)}); res.Status != 200 || res.Body["metrics"] == nil {
			t.Errorf("GET %s: %d %s", path, res.Status, truncate(res.Raw))
		}
		if w := h.raw("GET", path+"?format=prometheus", "", nil, bearer(admin)); w.Code != 200 || !strings.Contains(w.Body.String(), "# TYPE") {
			t.Errorf("GET %s?format=prometheus: %d", path, w.Code)
		}
	}
	// The CA of the self-signed certificate the node serves, as PEM.
	for _, path := range []string{"/v1/certificates/external/ca", "/v1/certificates/external/ca/"} {
		if w := h.raw("GET", path, "", nil, bearer(admin)); w.Code != 200 || !strings.HasPrefix(w.Body.String(), "-----BEGIN CERTIFICATE-----") {
			t.Errorf("GET %s: %d %s", path, w.Code, truncate(w.Body.Bytes()))
		}
	}
	for _, c := range cases {
		var first int
		for i, path := range []string{c.path, c.path + "/"} {
			hdr := bearer(admin)
			if c.path == "/v1/users/login" {
				hdr = nil
			}
			ct := ""
			if strings.HasPrefix(c.path, "/v1/certificates") && c.method == "POST" {
				ct = "text/plain"
			}
			res := h.do(request{method: c.method, path: path, header: hdr, body: c.body, contentType: ct})
			if res.Status != c.status {
				t.Errorf("%s %s: %d, want %d: %s", c.method, path, res.Status, c.status, truncate(res.Raw))
				continue
			}
			if i == 0 {
				first = res.Status
			} else if res.Status != first {
				t.Errorf("%s %s answers %d with the slash, %d without", c.method, c.path, res.Status, first)
			}
			for _, e := range res.errorsList() {
				if e.Details == "URL path not found" || res.Status == 405 {
					t.Errorf("%s %s is not routed: %s", c.method, path, res.Raw)
				}
			}
			if res.Status >= 400 && len(res.errorsList()) == 0 {
				t.Errorf("%s %s: an error without the envelope: %s", c.method, path, truncate(res.Raw))
			}
		}
	}
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

func TestShards(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	expectError(t, h.do(request{method: "POST", path: "/v1/account/shards", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100","shards":4,"cert":"x"}`}), 500,
		e(1011, "Service not ready", "Service not ready: register a number with POST /v1/account first"))
	h.register(admin)
	if res := h.do(request{method: "GET", path: "/v1/account/shards", header: bearer(admin)}); !strings.HasPrefix(string(res.Raw), `{"account":{"shards":1},"meta":`) {
		t.Fatalf("default shards: %s", res.Raw)
	}
	expectError(t, h.do(request{method: "POST", path: "/v1/account/shards", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100","shards":3}`}), 400,
		e(1008, "Required parameter is missing", "Missing mandatory parameter 'cert'"),
		e(1009, "Parameter value is not valid", "Parameter 'shards' has invalid value '3'"))
	expectError(t, h.do(request{method: "POST", path: "/v1/account/shards", header: bearer(admin), body: `{"cc":"1","phone_number":"5550199","shards":4,"cert":"x"}`}), 400,
		e(1009, "Parameter value is not valid", "Parameter 'phone_number' has invalid value '5550199': the registered number is +1 5550100"))
	if res := h.do(request{method: "POST", path: "/v1/account/shards", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100","shards":8,"cert":"x"}`}); res.Status != 201 {
		t.Fatalf("set shards: %d %s", res.Status, res.Raw)
	}
	if res := h.do(request{method: "GET", path: "/v1/account/shards", header: bearer(admin)}); !strings.HasPrefix(string(res.Raw), `{"account":{"shards":8},"meta":`) {
		t.Fatalf("shards: %s", res.Raw)
	}
	// With two-step on, the PIN is needed.
	if res := h.do(request{method: "POST", path: "/v1/settings/account/two-step", header: bearer(admin), body: `{"pin":"123456"}`}); res.Status != 200 {
		t.Fatalf("two-step: %d %s", res.Status, res.Raw)
	}
	if res := h.do(request{method: "POST", path: "/v1/account/shards", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100","shards":2,"cert":"x"}`}); res.Status != 400 {
		t.Fatalf("shards without the pin: %d %s", res.Status, res.Raw)
	}
	if res := h.do(request{method: "POST", path: "/v1/account/shards", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100","shards":2,"cert":"x","pin":"123456"}`}); res.Status != 201 {
		t.Fatalf("shards with the pin: %d %s", res.Status, res.Raw)
	}
}
