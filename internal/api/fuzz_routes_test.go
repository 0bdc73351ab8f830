package api_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/api"
	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/media"
)

// Fuzz targets for the request bodies of every node, through the real
// router. One server lives as long as each target (a database per input
// would make the fuzzer crawl), so state left by one input is part of the
// next input's world, as on a real server.
//
// The invariant is the documented envelope: JSON with meta, and for every
// failure a list of errors whose codes and titles are the table's; never an
// internal error (1014 without a documented cause: a panic or an unhandled
// failure).

// internalCodes are the codes a handler's unexpected failure becomes.
var internalCodes = map[int]bool{0: true, 1000: true, 1014: true, 1023: true}

func checkFuzzAnswer(t *testing.T, req request, res response) {
	t.Helper()
	var env struct {
		Meta   json.RawMessage `json:"meta"`
		Errors []errorItem     `json:"errors"`
	}
	if json.Unmarshal(res.Raw, &env) != nil || env.Meta == nil {
		t.Fatalf("%s %s: not an envelope: %d %q", req.method, req.path, res.Status, res.Raw)
	}
	if res.Status >= 400 && len(env.Errors) == 0 {
		t.Fatalf("%s %s: %d without errors: %s", req.method, req.path, res.Status, res.Raw)
	}
	for _, e := range env.Errors {
		entry, ok := apierr.Lookup(e.Code)
		if !ok || entry.Title != e.Title {
			t.Fatalf("%s %s: error %+v is not in the table", req.method, req.path, e)
		}
		if internalCodes[e.Code] {
			t.Fatalf("%s %s with %q: internal error %d %s", req.method, req.path, req.body, res.Status, res.Raw)
		}
	}
	if res.Status >= 500 && res.Status != 503 && !(len(env.Errors) > 0 && env.Errors[0].Code == 1011) {
		t.Fatalf("%s %s with %q: %d %s", req.method, req.path, req.body, res.Status, res.Raw)
	}
}

// fuzzRoute is one node a target drives: its method and path (where
// segment, escaped, fills the path parameter) and the content type.
type fuzzRoute struct {
	method, path, contentType string
}

func (r fuzzRoute) request(token, segment, body string) request {
	path := strings.ReplaceAll(r.path, "{}", url.PathEscape(segment))
	if segment == "" {
		path = strings.ReplaceAll(r.path, "{}", "x")
	}
	ct := r.contentType
	if ct == "" {
		ct = "application/json"
	}
	return request{method: r.method, path: path, body: body, contentType: ct, header: bearer(token)}
}

// fuzzRoutes runs a target over routes: each input picks a route, a path
// segment and a body.
func fuzzRoutes(f *testing.F, h *fuzzState, routes []fuzzRoute, seeds map[int][]string) {
	for i, bodies := range seeds {
		for _, b := range bodies {
			f.Add(uint8(i), "", b)
		}
	}
	f.Fuzz(func(t *testing.T, pick uint8, segment, body string) {
		h.harness.t = t
		req := routes[int(pick)%len(routes)].request(h.token, segment, body)
		checkFuzzAnswer(t, req, h.do(req))
	})
}

func newFuzzState(f *testing.F, registered bool, opts ...harnessOption) *fuzzState {
	h := &fuzzState{harness: sqliteHarness(f, opts...)}
	h.token = h.adminToken()
	if registered {
		h.register(h.token)
	}
	return h
}

// FuzzAccountBodies: registration, shards, two-step PIN and backup.
func FuzzAccountBodies(f *testing.F) {
	h := newFuzzState(f, false)
	cert := h.do(request{method: "POST", path: "/sandbox/v1/certificates", header: bearer(h.token), body: `{"cc":"1","phone_number":"5550100","vname":"Acme"}`}).Body["certificate"].(string)
	fuzzRoutes(f, h, []fuzzRoute{
		{method: "POST", path: "/v1/account"},
		{method: "POST", path: "/v1/account/verify"},
		{method: "POST", path: "/v1/account/shards"},
		{method: "POST", path: "/v1/settings/account/two-step"},
		{method: "POST", path: "/v1/settings/backup"},
	}, map[int][]string{
		0: {`{"cc":"1","phone_number":"5550100","method":"sms","cert":"` + cert + `"}`,
			`{"cc":"1","phone_number":"5550100","method":"voice","vname_cert":"` + cert + `","pin":"123456"}`,
			`{"cc":"1","phone_number":"5550100","method":"sms","cert":"eA==","reset":"wipe","pin":1}`,
			`{"cc":1234,"phone_number":null,"method":["sms"],"cert":"","vname_cert":""}`},
		1: {`{"code":"123456"}`, `{"code":123456}`, `{}`},
		2: {`{"cc":"1","phone_number":"5550100","shards":4,"cert":"` + cert + `","pin":"123456"}`, `{"shards":"32"}`, `{"shards":1e400}`},
		3: {`{"pin":"123456"}`, `{"pin":""}`, `{"pin":["1"]}`},
		4: {`{"password":"Secret#1"}`, `{"password":5}`},
	})
}

// FuzzMessagingBodies: contacts, sends, read marks, identity
// acknowledgements and the legacy message deletion, on a registered number.
func FuzzMessagingBodies(f *testing.F) {
	h := newFuzzState(f, true)
	fuzzRoutes(f, h, []fuzzRoute{
		{method: "POST", path: "/v1/contacts"},
		{method: "POST", path: "/v1/messages"},
		{method: "PUT", path: "/v1/messages/{}"},
		{method: "DELETE", path: "/v1/messages"},
		{method: "PUT", path: "/v1/contacts/{}/identity"},
	}, map[int][]string{
		0: {`{"blocking":"wait","contacts":["+1 555 000 1111","15550002222"],"force_check":true}`,
			`{"blocking":"no_wait","contacts":["1"]}`, `{"contacts":"1"}`, `{"contacts":[1,null,{}],"blocking":5,"force_check":"yes"}`},
		1: {`{"to":"15550001111","type":"text","text":{"body":"hi"}}`,
			`{"to":"15550001111","type":"template","template":{"namespace":"x","name":"y","language":{"code":"en","policy":"deterministic"},"components":[]}}`,
			`{"to":"15550001111","type":"image","image":{"id":"8f4c7b2e-13aa-4a0e-9d5c-2b3c1f0e9a71"}}`},
		2: {`{"status":"read"}`, `{"status":"sent"}`},
		3: {`{"age":10}`, `{"before":-1}`, `{"age":1,"before":2}`},
		4: {`{"hash":"abc"}`, `{"hash":null}`},
	})
}

// FuzzProfileBodies: about, business profile, photo, media providers and
// compliance information.
func FuzzProfileBodies(f *testing.F) {
	h := newFuzzState(f, false)
	photo, _ := media.Sample("image")
	fuzzRoutes(f, h, []fuzzRoute{
		{method: "PATCH", path: "/v1/settings/profile/about"},
		{method: "POST", path: "/v1/settings/business/profile"},
		{method: "POST", path: "/v1/settings/profile/photo", contentType: "image/png"},
		{method: "POST", path: "/v1/settings/application/media/providers"},
		{method: "POST", path: "/v1/settings/business/compliance_info"},
	}, map[int][]string{
		0: {`{"text":"Open 9-5"}`, `{"text":""}`, `{"text":["x"]}`, `{"text":"a\u0000\n\u0085"}`},
		1: {`{"address":"1 Main St","description":"d","email":"a@example.org","vertical":"Restaurant","websites":["https://example.org","http://a.example"]}`,
			`{"websites":["ftp://x","https://a","https://b"],"email":"not an address","vertical":"Spaceships"}`, `{"websites":"x"}`},
		2: {string(photo), "\x89PNG\r\n\x1a\n", "\xff\xd8\xff\xe0"},
		3: {`[{"name":"p","type":"www","config":{"basic":{"username":"u","password":"p"}}}]`,
			`[{"name":"q","type":"www","config":{"bearer":"t"}}]`, `[{"name":"","type":"everstore"}]`, `{}`},
		4: {fullComplianceInfo, `{"entity_type":"Other","entity_type_custom":"Trust","is_registered":false}`,
			`{"entity_type":"Private Company","entity_type_custom":"x"}`, `{"customer_care_details":{"mobile_number":"+91 (0) 98-76"},"grievance_officer_details":null}`,
			`{"grievance_officer_details":{"name":"\u0000","email":5},"is_registered":"true","customer_care_details":[]}`},
	})
}

// FuzzStickerpackBodies: packs and stickers.
func FuzzStickerpackBodies(f *testing.F) {
	h := newFuzzState(f, false)
	pack := h.createPack(h.token, packBody)
	webp, _ := media.Sample("sticker")
	image := h.upload(h.token, "image/webp", webp, nil)
	fuzzRoutes(f, h, []fuzzRoute{
		{method: "POST", path: "/v1/stickerpacks"},
		{method: "PATCH", path: "/v1/stickerpacks/" + pack},
		{method: "POST", path: "/v1/stickerpacks/" + pack + "/stickers"},
		{method: "PATCH", path: "/v1/stickerpacks/" + pack + "/stickers/{}"},
		{method: "PATCH", path: "/v1/stickerpacks/{}"},
	}, map[int][]string{
		0: {packBody, `{"publisher":"","name":5}`, `{"publisher":"p","name":"n","ios_app_store_link":"javascript:x"}`},
		1: {`{"name":"New name"}`, `{"android_app_store_link":null}`},
		2: {`{"image_data_id":"` + image + `","emojis":["😀","🎉"]}`, `{"image_data_id":"x","emojis":"😀"}`, `{"emojis":[1,2,3,4]}`},
		3: {`{"emojis":["😀"]}`, `{"image_data_id":"` + image + `"}`},
		4: {`{"name":"x"}`},
	})
}

// FuzzCertificateUploads: the PEM bodies of the certificate nodes.
func FuzzCertificateUploads(f *testing.F) {
	h := newFuzzState(f, false)
	seeds := []string{
		"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
		"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\n-----END RSA PRIVATE KEY-----\n",
		"", "not pem",
	}
	fuzzRoutes(f, h, []fuzzRoute{
		{method: "POST", path: "/v1/certificates/external", contentType: "text/plain"},
		{method: "POST", path: "/v1/certificates/webhooks/ca", contentType: "application/x-pem-file"},
	}, map[int][]string{0: seeds, 1: seeds})
}

// FuzzSandboxBodies: the sandbox control API.
func FuzzSandboxBodies(f *testing.F) {
	h := newFuzzState(f, true)
	const user = "15550001111"
	h.do(request{method: "POST", path: "/sandbox/v1/templates", header: bearer(h.token), body: "[" + simpleTemplate("fuzz_base", "en") + "]"})
	fuzzRoutes(f, h, []fuzzRoute{
		{method: "POST", path: "/sandbox/v1/certificates"},
		{method: "PATCH", path: "/sandbox/v1/users/{}"},
		{method: "POST", path: "/sandbox/v1/users/" + user + "/messages"},
		{method: "POST", path: "/sandbox/v1/users/" + user + "/read"},
		{method: "POST", path: "/sandbox/v1/users/{}/number"},
		{method: "PATCH", path: "/sandbox/v1/world"},
		{method: "POST", path: "/sandbox/v1/templates"},
		{method: "PATCH", path: "/sandbox/v1/templates/fuzz_base/en"},
		{method: "POST", path: "/sandbox/v1/users/{}/identity"},
	}, map[int][]string{
		0: {`{"cc":"44","phone_number":"7700900000","vname":"Other"}`, `{"cc":"","vname":5}`},
		1: {`{"display_name":"Dana","online":false,"auto_read_ms":-1,"blocked":true,"whatsapp":false}`, `{"auto_read_ms":1e20}`},
		2: {`{"type":"text","text":{"body":"hi"}}`, `{"type":"image","image":{"caption":"c"}}`, `{"type":"location","location":{"latitude":1,"longitude":2}}`,
			`{"type":"button","button":{"payload":"x","text":"y"},"context":{"id":"gBGG"}}`},
		3: {`{"message_id":"gBGGFVVQAQERAglB0UJb"}`},
		4: {`{"new_wa_id":"15550002222"}`},
		5: {`{"delivery_delay_ms":0,"read_delay_ms":5,"non_whatsapp":["1555"],"non_whatsapp_pattern":"^1(2"}`, `{"code_ttl_seconds":-1}`, `{"non_whatsapp_pattern":"(a*)*b"}`},
		6: {"[" + simpleTemplate("fuzz_a", "en_US") + "]", `[{"name":"b","language":"en","category":"MARKETING","components":[{"type":"BODY","text":"{{1}} {{2}}"}]}]`, `{}`},
		7: {`{"status":"PAUSED"}`, `{"components":[{"type":"BODY","text":"{{1}}"}]}`, `{"name":"other"}`},
		8: {``},
	})
}

// FuzzMediaUpload: the upload's declared type, disposition and bytes.
func FuzzMediaUpload(f *testing.F) {
	h := newFuzzState(f, false)
	for _, kind := range media.Kinds() {
		data, mimeType := media.Sample(kind)
		f.Add(mimeType, `attachment; filename="a.bin"`, data)
	}
	f.Add("application/octet-stream", "", []byte("\x7fELF\x02\x01\x01"))
	f.Add("audio/ogg; codecs=opus", `inline; filename*=UTF-8''%E2%82%AC.ogg`, []byte("OggS"))
	f.Add("", "", []byte("x"))
	f.Add("text/plain", "", []byte{})
	f.Fuzz(func(t *testing.T, contentType, disposition string, body []byte) {
		h.harness.t = t
		hdr := bearer(h.token)
		if disposition != "" {
			hdr["Content-Disposition"] = disposition
		}
		w := h.raw("POST", "/v1/media", contentType, bytes.NewReader(body), hdr)
		res := response{Status: w.Code, Header: w.Header(), Raw: w.Body.Bytes()}
		checkFuzzAnswer(t, request{method: "POST", path: "/v1/media", body: string(body)}, res)
	})
}

// FuzzAuthorizationHeader: any Authorization header on a user route and on
// health (which also takes the API key) is answered in the envelope:
// accepted, 401, 403 or 429, never an internal error.
func FuzzAuthorizationHeader(f *testing.F) {
	// No health rate limit: it would turn every input into 429.
	h := newFuzzState(f, false, withDeps(func(d *api.Deps) { d.HealthRateLimit = 0 }))
	for _, s := range []string{"Bearer " + h.token, "Bearer " + h.token + "x", "Apikey " + testAPIKey, "Apikey ", "Basic YWRtaW46c2VjcmV0",
		"Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..", "bearer " + h.token, "Bearer  " + h.token, ""} {
		f.Add(uint8(0), s)
		f.Add(uint8(1), s)
	}
	f.Fuzz(func(t *testing.T, pick uint8, authorization string) {
		h.harness.t = t
		req := request{method: "GET", path: "/v1/health"}
		if pick%2 == 1 {
			req = request{method: "GET", path: "/v1/settings/application"}
		}
		req.header = map[string]string{"Authorization": authorization}
		checkFuzzAnswer(t, req, h.do(req))
	})
}
