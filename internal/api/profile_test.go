package api_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/profile"
)

func TestAbout(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	res := h.do(request{method: "GET", path: "/v1/settings/profile/about", header: bearer(admin)})
	if res.Status != 200 || !strings.HasPrefix(string(res.Raw), `{"settings":{"profile":{"about":{"text":""}}},"meta":`) {
		t.Fatalf("empty about: %d %s", res.Status, res.Raw)
	}
	long := strings.Repeat("é", 140)
	for _, c := range []struct {
		body string
		want errorItem
	}{
		{`{}`, e(1008, "Required parameter is missing", "Missing mandatory parameter 'text'")},
		{`{"text":""}`, e(1008, "Required parameter is missing", "Missing mandatory parameter 'text'")},
		{`{"text":5}`, e(1009, "Parameter value is not valid", "Parameter 'text' has invalid value '5'")},
		{`{"text":"` + long + `"}`, e(1009, "Parameter value is not valid", "Parameter 'text' is too long: at most 139 characters")},
	} {
		expectError(t, h.do(request{method: "PATCH", path: "/v1/settings/profile/about", header: bearer(admin), body: c.body}), 400, c.want)
	}
	ok := strings.Repeat("é", 139)
	if res := h.do(request{method: "PATCH", path: "/v1/settings/profile/about", header: bearer(admin), body: `{"text":"` + ok + `"}`}); res.Status != 200 {
		t.Fatalf("patch: %d %s", res.Status, res.Raw)
	}
	res = h.do(request{method: "GET", path: "/v1/settings/profile/about", header: bearer(admin)})
	if got := res.Body["settings"].(map[string]any)["profile"].(map[string]any)["about"].(map[string]any)["text"]; got != ok {
		t.Fatalf("about = %v", got)
	}
	// Admin only, as every /v1/settings path.
	user := h.createUser(admin, "alice", "Alice#Pass1")
	expectError(t, h.do(request{method: "GET", path: "/v1/settings/profile/about", header: bearer(user)}), 403,
		e(1005, "Access denied", "User doesn't have permission"))
}

func testPNG(t *testing.T, w, hgt int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, hgt))
	for y := 0; y < hgt; y++ {
		for x := 0; x < w; x++ {
			// Left and right margins red, the centred square blue: the crop
			// must keep only blue.
			c := color.RGBA{0, 0, 255, 255}
			if x < (w-hgt)/2 || x >= (w+hgt)/2 {
				c = color.RGBA{255, 0, 0, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPhoto(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	expectError(t, h.do(request{method: "GET", path: "/v1/settings/profile/photo", header: bearer(admin)}), 404,
		e(1006, "Resource not found", "Profile photo not found"))

	res := h.do(request{method: "POST", path: "/v1/settings/profile/photo", header: bearer(admin), contentType: "image/png", body: string(testPNG(t, 1000, 600))})
	if res.Status != 201 {
		t.Fatalf("upload: %d %s", res.Status, res.Raw)
	}
	r := httptestGet(h, admin, "/v1/settings/profile/photo")
	if r.Code != 200 || r.Header().Get("Content-Type") != "image/jpeg" || r.Header().Get("Content-Disposition") != `attachment; filename="profilePicture.jpg"` {
		t.Fatalf("download: %d %v", r.Code, r.Header())
	}
	img, err := jpeg.Decode(bytes.NewReader(r.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 600 || b.Dy() != 600 {
		t.Fatalf("stored %v, want 600x600", b)
	}
	for _, p := range []image.Point{{0, 0}, {599, 300}, {300, 599}} {
		if r, _, b, _ := img.At(p.X, p.Y).RGBA(); r > 0x4000 || b < 0xc000 {
			t.Fatalf("pixel %v is not blue: the crop is off centre", p)
		}
	}
	res = h.do(request{method: "GET", path: "/v1/settings/profile/photo?format=link", header: bearer(admin)})
	if res.Status != 200 || !strings.HasPrefix(string(res.Raw), `{"settings":{"profile":{"photo":{"link":"http://example.com/v1/settings/profile/photo"}}},"meta":`) {
		t.Fatalf("link: %d %s", res.Status, res.Raw)
	}

	// A large JPEG is scaled down to 640.
	var big bytes.Buffer
	jpeg.Encode(&big, image.NewRGBA(image.Rect(0, 0, 1500, 2000)), nil)
	if res := h.do(request{method: "POST", path: "/v1/settings/profile/photo", header: bearer(admin), contentType: "image/jpeg", body: big.String()}); res.Status != 201 {
		t.Fatalf("jpeg upload: %d %s", res.Status, res.Raw)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(httptestGet(h, admin, "/v1/settings/profile/photo").Body.Bytes()))
	if err != nil || cfg.Width != 640 || cfg.Height != 640 {
		t.Fatalf("scaled: %+v %v", cfg, err)
	}

	expectError(t, h.do(request{method: "POST", path: "/v1/settings/profile/photo", header: bearer(admin), contentType: "image/png", body: "not an image at all"}), 400,
		e(1009, "Parameter value is not valid", "Photo must be a JPEG or PNG image"))
	expectError(t, h.do(request{method: "POST", path: "/v1/settings/profile/photo", header: bearer(admin), contentType: "image/png", body: "\x89PNG\r\n\x1a\n truncated"}), 400,
		e(1009, "Parameter value is not valid", "Photo could not be decoded"))
	expectError(t, h.do(request{method: "POST", path: "/v1/settings/profile/photo", header: bearer(admin), contentType: "image/jpeg"}), 400,
		e(1008, "Required parameter is missing", "No data found"))
	tooBig := append(testPNG(t, 10, 10), make([]byte, profile.MaxPhotoBytes)...)
	expectError(t, h.do(request{method: "POST", path: "/v1/settings/profile/photo", header: bearer(admin), contentType: "image/png", body: string(tooBig)}), 400,
		e(1009, "Parameter value is not valid", "Photo size too large. Max allowed size: 5242880 bytes"))
	// The rejected uploads left the last good photo in place.
	if r := httptestGet(h, admin, "/v1/settings/profile/photo"); r.Code != 200 {
		t.Fatalf("photo lost: %d", r.Code)
	}

	if res := h.do(request{method: "DELETE", path: "/v1/settings/profile/photo", header: bearer(admin)}); res.Status != 200 {
		t.Fatalf("delete: %d %s", res.Status, res.Raw)
	}
	expectError(t, h.do(request{method: "GET", path: "/v1/settings/profile/photo", header: bearer(admin)}), 404,
		e(1006, "Resource not found", "Profile photo not found"))
}

func TestBusinessProfile(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	res := h.do(request{method: "GET", path: "/v1/settings/business/profile", header: bearer(admin)})
	if res.Status != 200 || !strings.HasPrefix(string(res.Raw), `{"settings":{"business":{"profile":{"address":"","description":"","email":"","vertical":"","websites":[]}}},"meta":`) {
		t.Fatalf("empty: %d %s", res.Status, res.Raw)
	}
	invalid := "Parameter value is not valid"
	for _, c := range []struct {
		body string
		want []errorItem
	}{
		{`{"address":"` + strings.Repeat("a", 257) + `"}`, []errorItem{e(1009, invalid, "Parameter 'address' is too long: at most 256 characters")}},
		{`{"description":"` + strings.Repeat("d", 257) + `"}`, []errorItem{e(1009, invalid, "Parameter 'description' is too long: at most 256 characters")}},
		{`{"email":"not-an-email"}`, []errorItem{e(1009, invalid, "Parameter 'email' has invalid value 'not-an-email'")}},
		{`{"email":"` + strings.Repeat("a", 120) + `@example.com"}`, []errorItem{e(1009, invalid, "Parameter 'email' is too long: at most 128 characters")}},
		{`{"vertical":"Bakery"}`, []errorItem{e(1009, invalid, "Parameter 'vertical' has invalid value 'Bakery'")}},
		{`{"websites":["https://a.example","https://b.example","https://c.example"]}`, []errorItem{e(1009, invalid, "Max number of websites allowed is 2")}},
		{`{"websites":["ftp://a.example"]}`, []errorItem{e(1009, invalid, "Parameter 'websites' has invalid value 'ftp://a.example'")}},
		{`{"websites":["https://` + strings.Repeat("w", 250) + `.example"]}`, []errorItem{e(1009, invalid, "Parameter 'websites' is too long: at most 256 characters")}},
		{`{"websites":"https://a.example"}`, []errorItem{e(1009, invalid, `Parameter 'websites' has invalid value '"https://a.example"'`)}},
		{`{"address":1,"vertical":"X"}`, []errorItem{e(1009, invalid, "Parameter 'address' has invalid value '1'"), e(1009, invalid, "Parameter 'vertical' has invalid value 'X'")}},
	} {
		expectError(t, h.do(request{method: "POST", path: "/v1/settings/business/profile", header: bearer(admin), body: c.body}), 400, c.want...)
	}
	post := func(body string) {
		t.Helper()
		if res := h.do(request{method: "POST", path: "/v1/settings/business/profile", header: bearer(admin), body: body}); res.Status != 200 || string(res.Raw) != `{"meta":{"api_status":"stable","version":"v2.51.2"}}`+"\n" {
			t.Fatalf("post %s: %d %s", body, res.Status, res.Raw)
		}
	}
	post(`{"address":"1 Example St","description":"Outdoor gear","email":"help@acme.example","vertical":"Shopping and Retail","websites":["https://acme.example","http://instagram.com/acme"]}`)
	post(`{"description":"Outdoor gear since 1999"}`) // partial: the rest stays
	want := `{"settings":{"business":{"profile":{"address":"1 Example St","description":"Outdoor gear since 1999","email":"help@acme.example","vertical":"Shopping and Retail","websites":["https://acme.example","http://instagram.com/acme"]}}},"meta":`
	if res := h.do(request{method: "GET", path: "/v1/settings/business/profile", header: bearer(admin)}); !strings.HasPrefix(string(res.Raw), want) {
		t.Fatalf("got %s", res.Raw)
	}

	// The change reached the network: the sandbox shows it to its users.
	h.do(request{method: "PATCH", path: "/v1/settings/profile/about", header: bearer(admin), body: `{"text":"Open 9-18"}`})
	h.do(request{method: "POST", path: "/v1/settings/profile/photo", header: bearer(admin), body: string(testPNG(t, 200, 200)), contentType: "image/png"})
	res = h.do(request{method: "GET", path: "/sandbox/v1/business", header: bearer(admin)})
	wantNet := `{"business":{"about":"Open 9-18","address":"1 Example St","description":"Outdoor gear since 1999","email":"help@acme.example","vertical":"Shopping and Retail","websites":["https://acme.example","http://instagram.com/acme"],"has_photo":true},"meta":`
	if res.Status != 200 || !strings.HasPrefix(string(res.Raw), wantNet) {
		t.Fatalf("sandbox view: %d %s", res.Status, res.Raw)
	}
}

// httptestGet is a GET whose answer is not JSON (the photo itself).
func httptestGet(h *harness, token, path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, r)
	return w
}

// TestProfileTextsRefuseControlCharacters: a NUL or another control
// character in the about text, a business profile field or a compliance
// information string is refused with 1009 naming the field, and nothing
// is stored. Line breaks and tabs are kept in the two texts WhatsApp
// shows on several lines (about, description), refused elsewhere.
func TestProfileTextsRefuseControlCharacters(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	h.postComplianceInfo(admin, fullComplianceInfo)
	before := h.complianceInfo(admin)
	control := func(name, value string, r rune) errorItem {
		return invalid(fmt.Sprintf("Parameter '%s' has invalid value '%s': control character %U is not allowed", name, value, r))
	}
	for _, c := range []struct {
		method, path, body string
		want               errorItem
	}{
		{"PATCH", "/v1/settings/profile/about", `{"text":"Open\u0000"}`, control("text", "Open\x00", 0)},
		{"PATCH", "/v1/settings/profile/about", `{"text":"Open\u001b[31m"}`, control("text", "Open\x1b[31m", 0x1b)},
		{"PATCH", "/v1/settings/profile/about", `{"text":"Open\u007f"}`, control("text", "Open\x7f", 0x7f)},
		{"PATCH", "/v1/settings/profile/about", `{"text":"Open\u0085"}`, control("text", "Open\u0085", 0x85)},
		{"POST", "/v1/settings/business/profile", `{"address":"1 Main St\u0000"}`, control("address", "1 Main St\x00", 0)},
		{"POST", "/v1/settings/business/profile", `{"address":"1 Main St\nFloor 2"}`, control("address", "1 Main St\nFloor 2", '\n')},
		{"POST", "/v1/settings/business/profile", `{"description":"Shoes\u0007"}`, control("description", "Shoes\x07", 7)},
		{"POST", "/v1/settings/business/profile", `{"email":"a\u0000@example.com"}`, control("email", "a\x00@example.com", 0)},
		{"POST", "/v1/settings/business/profile", `{"vertical":"Restaurant\u0000"}`, control("vertical", "Restaurant\x00", 0)},
		{"POST", "/v1/settings/business/profile", `{"websites":["https://a.example","https://b.example/\u0001"]}`, control("websites", "https://b.example/\x01", 1)},
		{"POST", "/v1/settings/business/compliance_info", `{"entity_name":"Lucky\u0000Shrub"}`, control("entity_name", "Lucky\x00Shrub", 0)},
		{"POST", "/v1/settings/business/compliance_info", `{"entity_type":"Other\u0000"}`, control("entity_type", "Other\x00", 0)},
		{"POST", "/v1/settings/business/compliance_info", `{"entity_type_custom":"Trust\r\n"}`, control("entity_type_custom", "Trust\r\n", '\r')},
		{"POST", "/v1/settings/business/compliance_info", `{"customer_care_details":{"email":"care\u0000@x.example"}}`, control("customer_care_details.email", "care\x00@x.example", 0)},
		{"POST", "/v1/settings/business/compliance_info", `{"customer_care_details":{"mobile_number":"+91\u000098765"}}`, control("customer_care_details.mobile_number", "+91\x0098765", 0)},
		{"POST", "/v1/settings/business/compliance_info", `{"grievance_officer_details":{"name":"Asha\tRao"}}`, control("grievance_officer_details.name", "Asha\tRao", '\t')},
		{"POST", "/v1/settings/business/compliance_info", `{"grievance_officer_details":{"landline_number":"022\u007f1234"}}`, control("grievance_officer_details.landline_number", "022\x7f1234", 0x7f)},
	} {
		expectError(t, h.do(request{method: c.method, path: c.path, header: bearer(admin), body: c.body}), 400, c.want)
	}
	if got := h.complianceInfo(admin); got != before {
		t.Fatalf("a refused POST changed the compliance information:\n%s\n%s", before, got)
	}
	if res := h.do(request{method: "GET", path: "/v1/settings/business/profile", header: bearer(admin)}); !strings.HasPrefix(string(res.Raw), `{"settings":{"business":{"profile":{"address":"","description":"","email":"","vertical":"","websites":[]}}},"meta":`) {
		t.Fatalf("a refused POST changed the business profile: %s", res.Raw)
	}
	if res := h.do(request{method: "GET", path: "/v1/settings/profile/about", header: bearer(admin)}); !strings.HasPrefix(string(res.Raw), `{"settings":{"profile":{"about":{"text":""}}},"meta":`) {
		t.Fatalf("a refused PATCH changed the about text: %s", res.Raw)
	}

	// Multi-line texts keep their line breaks and tabs.
	if res := h.do(request{method: "PATCH", path: "/v1/settings/profile/about", header: bearer(admin), body: `{"text":"Open 9-5\nClosed on Sundays"}`}); res.Status != 200 {
		t.Fatalf("about with a line break: %d %s", res.Status, res.Raw)
	}
	if res := h.do(request{method: "POST", path: "/v1/settings/business/profile", header: bearer(admin), body: `{"description":"Outdoor gear\r\n\tsince 1999"}`}); res.Status != 200 {
		t.Fatalf("description with line breaks: %d %s", res.Status, res.Raw)
	}
	res := h.do(request{method: "GET", path: "/sandbox/v1/business", header: bearer(admin)})
	if !strings.Contains(string(res.Raw), `"about":"Open 9-5\nClosed on Sundays"`) || !strings.Contains(string(res.Raw), `"description":"Outdoor gear\r\n\tsince 1999"`) {
		t.Fatalf("multi-line texts on the network: %s", res.Raw)
	}
}
