package api_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/api"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

func TestTwoStepErrors(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	for _, c := range []struct {
		body string
		want errorItem
	}{
		{`{}`, e(1008, "Required parameter is missing", "Missing mandatory parameter 'pin'")},
		{`{"pin":""}`, e(1009, "Parameter value is not valid", "Pin must not be empty")},
		{`{"pin":"12345"}`, e(1009, "Parameter value is not valid", "Parameter 'pin' has invalid value '12345'")},
		{`{"pin":"12345a"}`, e(1009, "Parameter value is not valid", "Parameter 'pin' has invalid value '12345a'")},
		{`{"pin":123456}`, e(1009, "Parameter value is not valid", "Parameter 'pin' has invalid value '123456'")},
	} {
		expectError(t, h.do(request{method: "POST", path: "/v1/settings/account/two-step", header: bearer(admin), body: c.body}), 400, c.want)
	}
}

// reRegister asks for a code for the harness's number with a fresh
// certificate, optionally with a pin.
func (h *harness) reRegister(admin, pinField string) response {
	h.t.Helper()
	res := h.do(request{method: "POST", path: "/sandbox/v1/certificates", header: bearer(admin), body: `{"cc":"1","phone_number":"5550199","vname":"Other"}`})
	cert := res.Body["certificate"].(string)
	return h.do(request{method: "POST", path: "/v1/account", header: bearer(admin),
		body: `{"cc":"1","phone_number":"5550199","method":"sms","cert":"` + cert + `"` + pinField + `}`})
}

func TestTwoStepGuardsRegistration(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	h.register(admin)
	if res := h.do(request{method: "POST", path: "/v1/settings/account/two-step", header: bearer(admin), body: `{"pin":"123456"}`}); res.Status != 200 {
		t.Fatalf("enable: %d %s", res.Status, res.Raw)
	}
	expectError(t, h.reRegister(admin, ""), 400,
		e(1008, "Required parameter is missing", "Missing mandatory parameter 'pin': two-step verification is enabled"))
	expectError(t, h.reRegister(admin, `,"pin":"654321"`), 400,
		e(1009, "Parameter value is not valid", "Parameter 'pin' does not match the two-step verification PIN"))
	if res := h.reRegister(admin, `,"pin":"123456"`); res.Status != 202 {
		t.Fatalf("with the pin: %d %s", res.Status, res.Raw)
	}
	// Disabled: no pin needed any more.
	if res := h.do(request{method: "DELETE", path: "/v1/settings/account/two-step", header: bearer(admin)}); res.Status != 200 {
		t.Fatalf("disable: %d %s", res.Status, res.Raw)
	}
	if res := h.reRegister(admin, ""); res.Status != 202 {
		t.Fatalf("after disabling: %d %s", res.Status, res.Raw)
	}
}

func TestBackupErrors(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	missing := func(name string) errorItem {
		return e(1008, "Required parameter is missing", "Missing mandatory parameter '"+name+"'")
	}
	expectError(t, h.do(request{method: "POST", path: "/v1/settings/backup", header: bearer(admin), body: `{}`}), 400, missing("password"))
	expectError(t, h.do(request{method: "POST", path: "/v1/settings/restore", header: bearer(admin), body: `{}`}), 400, missing("password"), missing("data"))
	expectError(t, h.do(request{method: "POST", path: "/v1/settings/restore", header: bearer(admin), body: `{"password":"x","data":"!!!"}`}), 400,
		e(1009, "Parameter value is not valid", "Parameter 'data' could not be decrypted: wrong password or damaged backup"))
}

// configure gives a harness a recognisable configuration in every part a
// backup carries.
func (h *harness) configure(t *testing.T, admin string) {
	t.Helper()
	for _, r := range []request{
		{method: "PATCH", path: "/v1/settings/application", body: `{"callback_persist":false,"webhooks":{"url":"https://hooks.example/wa"}}`},
		{method: "PATCH", path: "/v1/settings/profile/about", body: `{"text":"Backed up"}`},
		{method: "POST", path: "/v1/settings/business/profile", body: `{"email":"b@acme.example","websites":["https://acme.example"]}`},
		{method: "POST", path: "/v1/settings/business/compliance_info", body: fullComplianceInfo},
		{method: "POST", path: "/v1/settings/profile/photo", body: string(testPNG(t, 300, 200)), contentType: "image/png"},
		{method: "POST", path: "/v1/settings/application/media/providers", body: `[{"name":"cdn","type":"www","config":{"bearer":"tok"}}]`},
		{method: "POST", path: "/v1/settings/account/two-step", body: `{"pin":"246810"}`},
	} {
		r.header = bearer(admin)
		if res := h.do(r); res.Status/100 != 2 {
			t.Fatalf("%s %s: %d %s", r.method, r.path, res.Status, res.Raw)
		}
	}
}

// state is what a restore must reproduce, read through the API.
func (h *harness) state(t *testing.T, admin string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{"/v1/settings/application", "/v1/settings/profile/about", "/v1/settings/business/profile", api.ComplianceInfoPath,
		"/v1/settings/application/media/providers", "/sandbox/v1/business"} {
		res := h.do(request{method: "GET", path: p, header: bearer(admin)})
		b.WriteString(p + " " + string(res.Raw))
	}
	b.WriteString(base64.StdEncoding.EncodeToString(httptestGet(h, admin, "/v1/settings/profile/photo").Body.Bytes()))
	return b.String()
}

func (h *harness) backup(t *testing.T, admin, password string) string {
	t.Helper()
	res := h.do(request{method: "POST", path: "/v1/settings/backup", header: bearer(admin), body: `{"password":"` + password + `"}`})
	if res.Status != 200 || !strings.HasPrefix(string(res.Raw), `{"settings":{"data":"`) {
		t.Fatalf("backup: %d %s", res.Status, res.Raw)
	}
	return res.Body["settings"].(map[string]any)["data"].(string)
}

func TestBackupRestoreAcrossEngines(t *testing.T) {
	t.Parallel()
	src := sqliteHarness(t)
	srcAdmin := src.adminToken()
	src.register(srcAdmin)
	src.configure(t, srcAdmin)
	data := src.backup(t, srcAdmin, "s3cret pass")
	want := src.state(t, srcAdmin)

	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		dst := newHarness(t, cfg)
		admin := dst.adminToken()
		before := dst.state(t, admin)

		// Wrong password and a flipped byte are refused, and nothing changes.
		expectError(t, dst.do(request{method: "POST", path: "/v1/settings/restore", header: bearer(admin), body: `{"password":"wrong","data":"` + data + `"}`}), 400,
			e(1009, "Parameter value is not valid", "Parameter 'data' could not be decrypted: wrong password or damaged backup"))
		raw, _ := base64.StdEncoding.DecodeString(data)
		for _, at := range []int{9, 20, len(raw) / 2, len(raw) - 1} { // version, KDF parameters, ciphertext, tag
			bad := append([]byte(nil), raw...)
			bad[at] ^= 0x01
			expectError(t, dst.do(request{method: "POST", path: "/v1/settings/restore", header: bearer(admin),
				body: `{"password":"s3cret pass","data":"` + base64.StdEncoding.EncodeToString(bad) + `"}`}), 400,
				e(1009, "Parameter value is not valid", "Parameter 'data' could not be decrypted: wrong password or damaged backup"))
		}
		if got := dst.state(t, admin); got != before {
			t.Fatalf("a refused restore changed the server:\n%s\n%s", before, got)
		}
		if _, ok := dst.core.Account(); ok {
			t.Fatal("a refused restore registered a number")
		}

		res := dst.do(request{method: "POST", path: "/v1/settings/restore", header: bearer(admin), body: `{"password":"s3cret pass","data":"` + data + `"}`})
		if res.Status != 200 {
			t.Fatalf("restore: %d %s", res.Status, res.Raw)
		}
		if got := dst.state(t, admin); got != want {
			t.Fatalf("restored state differs:\n%s\nwant\n%s", got, want)
		}
		acct, ok := dst.core.Account()
		if !ok || acct.WaID != "15550100" {
			t.Fatalf("registration not restored: %+v %v", acct, ok)
		}
		// Two-step came back too.
		expectError(t, dst.reRegister(admin, ""), 400,
			e(1008, "Required parameter is missing", "Missing mandatory parameter 'pin': two-step verification is enabled"))
		if res := dst.reRegister(admin, `,"pin":"246810"`); res.Status != 202 {
			t.Fatalf("restored pin: %d %s", res.Status, res.Raw)
		}
	})
}
