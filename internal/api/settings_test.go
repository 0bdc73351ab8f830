package api_test

import (
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

const defaultSettingsJSON = `{"settings":{"application":{"callback_backoff_delay_ms":3000,"callback_persist":true,` +
	`"db_garbagecollector_enable":true,"garbagecollector_enable":{"messages":true,"media":false},"heartbeat_interval":5,` +
	`"max_callback_backoff_delay_ms":900000,"media":{"auto_download":["image","video","voice","sticker","audio","document"]},` +
	`"notify_user_change_number":true,"pass_through":false,"sent_status":false,"show_security_notifications":false,` +
	`"skip_referral_media_download":false,"unhealthy_interval":30,"webhooks":{"url":"","max_concurrent_requests":6,` +
	`"message":{"sent":false,"delivered":true,"read":true}},"axolotl_context_striping_disabled":false,` +
	`"webhook_payload_conversation_pricingmodel_disabled":false,"on_call_pager":"","verbose_logging":false,"log_level":"info"}},` +
	`"meta":{"api_status":"stable","version":"v2.51.2"}}` + "\n"

func TestApplicationSettingsOverHTTP(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		admin := h.adminToken()
		get := func() string {
			res := h.do(request{method: "GET", path: "/v1/settings/application", header: bearer(admin)})
			if res.Status != 200 {
				t.Fatalf("GET: %d %s", res.Status, res.Raw)
			}
			return string(res.Raw)
		}
		if got := get(); got != defaultSettingsJSON {
			t.Fatalf("defaults:\n got %s\nwant %s", got, defaultSettingsJSON)
		}
		// The typical client PATCH of the spec.
		res := h.do(request{method: "PATCH", path: "/v1/settings/application", header: bearer(admin), body: `{
			"webhooks": { "url": "https://hooks.example.org/whatsapp", "max_concurrent_requests": 12 },
			"callback_persist": true, "sent_status": true,
			"media": { "auto_download": [ "image", "document", "audio" ] } }`})
		if res.Status != 200 || string(res.Raw) != `{"meta":{"api_status":"stable","version":"v2.51.2"}}`+"\n" {
			t.Fatalf("PATCH: %d %s", res.Status, res.Raw)
		}
		got := get()
		for _, want := range []string{
			`"webhooks":{"url":"https://hooks.example.org/whatsapp","max_concurrent_requests":12,"message":{"sent":false,"delivered":true,"read":true}}`,
			`"sent_status":true`, `"media":{"auto_download":["image","document","audio"]}`,
		} {
			if !strings.Contains(got, want) {
				t.Fatalf("after PATCH %s lacks %s", got, want)
			}
		}
		// Numeric strings are numbers; nested objects merge.
		h.do(request{method: "PATCH", path: "/v1/settings/application/", header: bearer(admin), body: `{"callback_backoff_delay_ms":"5000","webhooks":{"message":{"read":false}}}`})
		got = get()
		if !strings.Contains(got, `"callback_backoff_delay_ms":5000`) || !strings.Contains(got, `"url":"https://hooks.example.org/whatsapp","max_concurrent_requests":12,"message":{"sent":false,"delivered":true,"read":false}`) {
			t.Fatalf("merge: %s", got)
		}
		// Bad values: every error at once, nothing applied.
		res = h.do(request{method: "PATCH", path: "/v1/settings/application", header: bearer(admin),
			body: `{"sent_status":"true","webhooks":{"max_concurrent_requests":7},"callback_backoff_delay_ms":"soon"}`})
		expectError(t, res, 400,
			e(1009, "Parameter value is not valid", "Parameter 'callback_backoff_delay_ms' has invalid value 'soon'"),
			e(1009, "Parameter value is not valid", "Parameter 'sent_status' has invalid value 'true'"),
			e(1009, "Parameter value is not valid", "Parameter 'webhooks.max_concurrent_requests' has invalid value '7'"))
		if get() != got {
			t.Fatal("a rejected PATCH changed settings")
		}
		noValid := e(1009, "Parameter value is not valid", "No valid parameters provided")
		expectError(t, h.do(request{method: "PATCH", path: "/v1/settings/application", header: bearer(admin), body: `{"unknown":1}`}), 400, noValid)
		expectError(t, h.do(request{method: "PATCH", path: "/v1/settings/application", header: bearer(admin), body: `{"sent_status":true}`, contentType: "text/plain"}), 400, noValid)
		expectError(t, h.do(request{method: "PATCH", path: "/v1/settings/application", header: bearer(admin)}), 400, noValid)
		// (The harness allows http:// receivers; the http refusal itself is
		// covered by the settings package's tests.)
		expectError(t, h.do(request{method: "PATCH", path: "/v1/settings/application", header: bearer(admin), body: `{"webhooks":{"url":"ftp://hooks.example.org/x"}}`}), 400,
			e(1009, "Parameter value is not valid", "Parameter 'webhooks.url' has invalid value 'ftp://hooks.example.org/x': must be an absolute https URL"))

		// DELETE restores the factory defaults.
		res = h.do(request{method: "DELETE", path: "/v1/settings/application", header: bearer(admin)})
		if res.Status != 200 || get() != defaultSettingsJSON {
			t.Fatalf("DELETE: %d, then %s", res.Status, get())
		}
	})
}

func TestSettingsAreAdminOnly(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	ops := h.createUser(admin, "ops_team", "Passw0rd!")
	forbidden := e(1005, "Access denied", "User doesn't have permission")
	for _, m := range []string{"GET", "PATCH", "DELETE"} {
		expectError(t, h.do(request{method: m, path: "/v1/settings/application", header: bearer(ops), body: `{"sent_status":true}`}), 403, forbidden)
	}
	// Unknown paths under /v1/settings are 404 before any role check.
	expectError(t, h.do(request{method: "GET", path: "/v1/settings/nothing", header: bearer(ops)}), 404, e(1006, "Resource not found", "URL path not found"))
}
