package api

import (
	"io"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
	"github.com/wabiz/wabiz/internal/profile"
)

// hideLength makes a body of unknown length (sent chunked).
type hideLength struct{ io.Reader }

// TestRouteBodyLimits: each route's body limit, just under and just over,
// through the real handler; JSON routes share Deps.MaxBodyBytes (4096 here).
func TestRouteBodyLimits(t *testing.T) {
	const mediaMax = 64 << 10
	h := sqliteHarness(t, withMediaMaxBytes(mediaMax))
	admin := h.adminToken()
	auth := bearer(admin)
	post := func(path, contentType string, body io.Reader) response {
		t.Helper()
		return asResponse(t, h.raw("POST", path, contentType, body, auth))
	}
	notTooLarge := func(what string, res response) {
		t.Helper()
		for _, e := range res.errorsList() {
			if res.Status == 413 || strings.Contains(e.Details, "exceeds size") || strings.Contains(e.Details, "larger than") || strings.Contains(e.Details, "too large") {
				t.Fatalf("%s refused as too large: %d %s", what, res.Status, res.Raw)
			}
		}
	}

	// JSON: the configured limit.
	pad := func(n int) string {
		return `{"contacts":["1"],"x":"` + strings.Repeat("a", n-len(`{"contacts":["1"],"x":""}`)) + `"}`
	}
	expectError(t, post("/v1/contacts", "application/json", strings.NewReader(pad(4097))), 413,
		e(1025, "Request is not valid", "Request body is larger than 4096 bytes"))
	notTooLarge("JSON at the limit", post("/v1/settings/application", "application/json", strings.NewReader(`{"x":"`+strings.Repeat("a", 4096-8)+`"}`)))

	// Media uploads: the volume's limit, declared or streamed.
	tooBigUpload := e(1009, "Parameter value is not valid", "Request content exceeds size of 100 MB")
	if res := post("/v1/media", "text/plain", strings.NewReader(strings.Repeat("a", mediaMax))); res.Status != 201 {
		t.Fatalf("upload at the limit: %d %s", res.Status, res.Raw)
	}
	expectError(t, post("/v1/media", "text/plain", strings.NewReader(strings.Repeat("a", mediaMax+1))), 400, tooBigUpload)
	expectError(t, post("/v1/media", "text/plain", hideLength{strings.NewReader(strings.Repeat("a", mediaMax+1))}), 400, tooBigUpload)

	// The profile photo: 5 MiB.
	expectError(t, post(photoPath, "image/jpeg", hideLength{strings.NewReader(strings.Repeat("a", profile.MaxPhotoBytes+1))}), 400,
		e(1009, "Parameter value is not valid", "Photo size too large. Max allowed size: 5242880 bytes"))
	notTooLarge("photo at the limit", post(photoPath, "image/jpeg", hideLength{strings.NewReader(strings.Repeat("a", profile.MaxPhotoBytes))}))

	// Restore: 16 MiB of JSON, whatever the JSON limit.
	restore := func(n int) io.Reader {
		return hideLength{io.MultiReader(strings.NewReader(`{"password":"x","data":"`), strings.NewReader(strings.Repeat("A", n-len(`{"password":"x","data":""}`))), strings.NewReader(`"}`))}
	}
	notTooLarge("restore of 64 KiB", post("/v1/settings/restore", "application/json", restore(64<<10)))
	expectError(t, post("/v1/settings/restore", "application/json", restore(maxRestoreBodyBytes+1)), 413,
		e(1025, "Request is not valid", "Request body is larger than 16777216 bytes"))

	// Certificates: 1 MiB of PEM.
	notTooLarge("certificate of 64 KiB", post("/v1/certificates/webhooks/ca", "text/plain", strings.NewReader(strings.Repeat("a", 64<<10))))
	expectError(t, post("/v1/certificates/webhooks/ca", "text/plain", strings.NewReader(strings.Repeat("a", certBodyLimit+1))), 400,
		e(1009, "Parameter value is not valid", "Request content exceeds size of 1024 KB"))
}

// TestCloudWebhookBodyLimit: Meta's deliveries may take 3 MiB whatever the
// JSON limit (the signature is checked on the whole body).
func TestCloudWebhookBodyLimit(t *testing.T) {
	h := sqliteHarness(t, withCloud(graphtest.New(t)))
	deliver := func(n int) response {
		body := `{"object":"whatsapp_business_account","x":"` + strings.Repeat("a", n-len(`{"object":"whatsapp_business_account","x":""}`)) + `"}`
		return asResponse(t, h.raw("POST", "/cloud/webhook", "application/json", strings.NewReader(body), map[string]string{"X-Hub-Signature-256": "sha256=00"}))
	}
	expectError(t, deliver(2<<20), 401, e(1005, "Access denied", "Invalid webhook signature"))
	expectError(t, deliver(maxCloudWebhookBytes+1), 413, e(1025, "Request is not valid", "Request body is larger than 3145728 bytes"))
}
