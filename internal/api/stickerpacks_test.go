package api_test

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

const packBody = `{"publisher":"Acme","name":"Acme Faces","ios_app_store_link":"https://itunes.apple.com/app/id123456789","android_app_store_link":"https://play.google.com/store/apps/details?id=org.example.stickers"}`

var packIDPattern = regexp.MustCompile(`^\{"stickerpacks":\[\{"id":"([0-9a-f]{32})"\}\],"meta":`)

func (h *harness) createPack(token, body string) string {
	h.t.Helper()
	res := h.do(request{method: "POST", path: "/v1/stickerpacks", header: bearer(token), body: body})
	m := packIDPattern.FindSubmatch(res.Raw)
	if res.Status != 201 || m == nil {
		h.t.Fatalf("create pack: %d %s", res.Status, res.Raw)
	}
	return string(m[1])
}

func expectBody(t *testing.T, res response, status int, body string) {
	t.Helper()
	want := strings.TrimSuffix(body, "}") + `"meta":{"api_status":"stable","version":"v2.51.2"}}` + "\n"
	if body == "" {
		want = emptyMeta
	}
	if res.Status != status || string(res.Raw) != want {
		t.Fatalf("got %d %s\nwant %d %s", res.Status, res.Raw, status, want)
	}
}

func TestStickerpackCRUD(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		admin := h.adminToken()
		tok := h.createUser(admin, "agent", "Agent#Pass1") // any user may manage packs
		auth := bearer(tok)
		webp, _ := media.Sample(media.KindSticker)

		expectBody(t, h.do(request{method: "GET", path: "/v1/stickerpacks", header: auth}), 200, `{"stickerpacks":[],}`)
		id := h.createPack(tok, packBody)
		h.clock.Advance(time.Second) // packs are listed oldest first
		id2 := h.createPack(tok, `{"publisher":"B","name":"Bare"}`)
		expectBody(t, h.do(request{method: "GET", path: "/v1/stickerpacks/", header: auth}), 200,
			`{"stickerpacks":[{"id":"`+id+`"},{"id":"`+id2+`"}],}`)
		expectBody(t, h.do(request{method: "GET", path: "/v1/stickerpacks?namespace=third_party", header: auth}), 200,
			`{"stickerpacks":[{"id":"`+id+`"},{"id":"`+id2+`"}],}`)
		// A 3P pack is not a first-party one.
		expectBody(t, h.do(request{method: "GET", path: "/v1/stickerpacks?namespace=whatsapp", header: auth}), 200, firstPartyList)
		expectError(t, h.do(request{method: "GET", path: "/v1/stickerpacks/" + id + "?namespace=whatsapp", header: auth}), 404,
			e(1006, "Resource not found", "Stickerpack with id "+id+" not found"))

		expectBody(t, h.do(request{method: "GET", path: "/v1/stickerpacks/" + id, header: auth}), 200,
			`{"stickerpacks":[{"publisher":"Acme","name":"Acme Faces","ios_app_store_link":"https://itunes.apple.com/app/id123456789","android_app_store_link":"https://play.google.com/store/apps/details?id=org.example.stickers"}],}`)
		expectBody(t, h.do(request{method: "PATCH", path: "/v1/stickerpacks/" + id + "/", header: auth,
			body: `{"name":"Renamed","ios_app_store_link":""}`}), 200, "")
		expectBody(t, h.do(request{method: "GET", path: "/v1/stickerpacks/" + id, header: auth}), 200,
			`{"stickerpacks":[{"publisher":"Acme","name":"Renamed","android_app_store_link":"https://play.google.com/store/apps/details?id=org.example.stickers"}],}`)

		// Stickers.
		expectBody(t, h.do(request{method: "GET", path: "/v1/stickerpacks/" + id + "/stickers", header: auth}), 200, `{"stickers":[],}`)
		img := h.upload(tok, "image/webp", webp, nil)
		img2 := h.upload(tok, "image/webp", webp, nil)
		expectBody(t, h.do(request{method: "POST", path: "/v1/stickerpacks/" + id + "/stickers", header: auth,
			body: `{"image_data_id":"` + img + `","emojis":["🐣","😀"]}`}), 201, `{"stickers":[{"index":"0"}],}`)
		// Emojis are optional; ids are accepted in any case.
		expectBody(t, h.do(request{method: "POST", path: "/v1/stickerpacks/" + id + "/stickers/", header: auth,
			body: `{"image_data_id":"` + strings.ToUpper(img2) + `"}`}), 201, `{"stickers":[{"index":"1"}],}`)
		expectBody(t, h.do(request{method: "GET", path: "/v1/stickerpacks/" + id + "/stickers", header: auth}), 200,
			`{"stickers":[{"index":"0"},{"index":"1"}],}`)
		expectBody(t, h.do(request{method: "GET", path: "/v1/stickerpacks/" + id + "/stickers/0", header: auth}), 200,
			`{"stickers":[{"id":"`+img+`","emojis":["🐣","😀"],"image_data_id":"`+img+`"}],}`)
		expectBody(t, h.do(request{method: "GET", path: "/v1/stickerpacks/" + id + "/stickers/1/", header: auth}), 200,
			`{"stickers":[{"id":"`+img2+`","emojis":[],"image_data_id":"`+img2+`"}],}`)
		expectBody(t, h.do(request{method: "PATCH", path: "/v1/stickerpacks/" + id + "/stickers/0", header: auth,
			body: `{"image_data_id":"` + img2 + `","emojis":["👍"]}`}), 200, "")
		expectBody(t, h.do(request{method: "GET", path: "/v1/stickerpacks/" + id + "/stickers/0", header: auth}), 200,
			`{"stickers":[{"id":"`+img2+`","emojis":["👍"],"image_data_id":"`+img2+`"}],}`)
		expectBody(t, h.do(request{method: "DELETE", path: "/v1/stickerpacks/" + id + "/stickers/0", header: auth}), 200, "")
		expectError(t, h.do(request{method: "GET", path: "/v1/stickerpacks/" + id + "/stickers/0", header: auth}), 404,
			e(1006, "Resource not found", "Sticker with index 0 not found in stickerpack "+id))
		// A deleted index is not handed out again.
		expectBody(t, h.do(request{method: "POST", path: "/v1/stickerpacks/" + id + "/stickers", header: auth,
			body: `{"image_data_id":"` + img + `"}`}), 201, `{"stickers":[{"index":"2"}],}`)

		// The sticker's id sends as a sticker message.
		h.ready(admin)
		h.send(tok, `{"to":"`+customer+`","type":"sticker","sticker":{"id":"`+img+`"}}`)

		// Deleting the pack takes its stickers, not their media.
		expectBody(t, h.do(request{method: "DELETE", path: "/v1/stickerpacks/" + id, header: auth}), 200, "")
		expectError(t, h.do(request{method: "GET", path: "/v1/stickerpacks/" + id + "/stickers", header: auth}), 404,
			e(1006, "Resource not found", "Stickerpack with id "+id+" not found"))
		if w := h.raw("GET", "/v1/media/"+img, "", nil, auth); w.Code != 200 {
			t.Fatalf("sticker media after pack delete: %d", w.Code)
		}
		expectBody(t, h.do(request{method: "GET", path: "/v1/stickerpacks", header: auth}), 200, `{"stickerpacks":[{"id":"`+id2+`"}],}`)
	})
}

func TestStickerpackErrors(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		tok := h.adminToken()
		auth := bearer(tok)
		id := h.createPack(tok, packBody)
		pack := "/v1/stickerpacks/" + id
		webp, _ := media.Sample(media.KindSticker)
		png, _ := media.Sample(media.KindImage)
		img := h.upload(tok, "image/webp", webp, nil)
		pngID := h.upload(tok, "image/png", png, nil)
		// POST /v1/media refuses a PNG declared WebP; one stored before
		// uploads were checked is still refused by the pack.
		expectError(t, asResponse(t, h.raw("POST", "/v1/media", "image/webp", bytes.NewReader(png), auth)), 400,
			e(1009, "Parameter value is not valid", "The media content does not match its type 'image/webp'"))
		stored, err := h.node.Media.Save(context.Background(), bytes.NewReader(png), "image/webp", "", store.MediaOriginUpload)
		if err != nil {
			t.Fatal(err)
		}
		pngAsWebp := stored.ID
		big := append(bytes.Clone(webp), make([]byte, 100<<10)...)
		bigID := h.upload(tok, "image/webp", big, nil)
		const unknownMedia = "00000000-0000-4000-8000-000000000000"
		nf := func(details string) errorItem { return e(1006, "Resource not found", details) }
		bad := func(details string) errorItem { return e(1009, "Parameter value is not valid", details) }
		ro := e(1005, "Access denied", "First-party sticker packs (namespace 'whatsapp') are read-only")

		for _, c := range []struct {
			name         string
			method, path string
			body         string
			status       int
			want         []errorItem
		}{
			{"create without fields", "POST", "/v1/stickerpacks", `{}`, 400, []errorItem{
				e(1008, "Required parameter is missing", "Missing mandatory parameter 'publisher'"),
				e(1008, "Required parameter is missing", "Missing mandatory parameter 'name'")}},
			{"create, not JSON", "POST", "/v1/stickerpacks", `{"name":`, 400, []errorItem{
				e(1025, "Request is not valid", "Unable to decode the request: Syntax error")}},
			{"create, wrong types", "POST", "/v1/stickerpacks", `{"publisher":1,"name":true}`, 400, []errorItem{
				bad("Parameter 'publisher' has invalid value '1'"), bad("Parameter 'name' has invalid value 'true'")}},
			{"create, bad values", "POST", "/v1/stickerpacks",
				`{"publisher":" ","name":"` + strings.Repeat("n", 129) + `","ios_app_store_link":"ftp://x","android_app_store_link":"play"}`, 400, []errorItem{
					bad("Parameter 'publisher' has invalid value ' '"), bad("Parameter 'name' is longer than 128 characters"),
					bad("Parameter 'ios_app_store_link' has invalid value 'ftp://x'"), bad("Parameter 'android_app_store_link' has invalid value 'play'")}},
			{"create first-party", "POST", "/v1/stickerpacks?namespace=whatsapp", packBody, 403, []errorItem{ro}},
			{"bad namespace", "GET", "/v1/stickerpacks?namespace=mine", "", 400, []errorItem{bad("Parameter 'namespace' has invalid value 'mine'")}},
			{"get unknown", "GET", "/v1/stickerpacks/nope", "", 404, []errorItem{nf("Stickerpack with id nope not found")}},
			{"patch nothing", "PATCH", pack, `{}`, 400, []errorItem{e(1008, "Required parameter is missing",
				"Atleast one of the following parameters must be present: 'publisher', 'name', 'ios_app_store_link', 'android_app_store_link'")}},
			{"patch empty name", "PATCH", pack, `{"name":""}`, 400, []errorItem{bad("Parameter 'name' has invalid value ''")}},
			{"patch unknown", "PATCH", "/v1/stickerpacks/nope", `{"name":"x"}`, 404, []errorItem{nf("Stickerpack with id nope not found")}},
			{"patch first-party", "PATCH", pack + "?namespace=whatsapp", `{"name":"x"}`, 403, []errorItem{ro}},
			{"delete unknown", "DELETE", "/v1/stickerpacks/nope", "", 404, []errorItem{nf("Stickerpack with id nope not found")}},
			{"delete first-party", "DELETE", pack + "?namespace=whatsapp", "", 403, []errorItem{ro}},
			{"stickers of unknown pack", "GET", "/v1/stickerpacks/nope/stickers", "", 404, []errorItem{nf("Stickerpack with id nope not found")}},
			{"add without image", "POST", pack + "/stickers", `{"emojis":["🐣"]}`, 400, []errorItem{
				e(1008, "Required parameter is missing", "Missing mandatory parameter 'image_data_id'")}},
			{"add to unknown pack", "POST", "/v1/stickerpacks/nope/stickers", `{"image_data_id":"` + img + `"}`, 404, []errorItem{nf("Stickerpack with id nope not found")}},
			{"add to first-party pack", "POST", pack + "/stickers?namespace=whatsapp", `{"image_data_id":"` + img + `"}`, 403, []errorItem{ro}},
			{"add unknown media", "POST", pack + "/stickers", `{"image_data_id":"` + unknownMedia + `"}`, 404, []errorItem{nf("Media with id " + unknownMedia + " not found")}},
			{"add a PNG", "POST", pack + "/stickers", `{"image_data_id":"` + pngID + `"}`, 400, []errorItem{
				bad("Media type 'image/png' is not supported for sticker: use 'image/webp'")}},
			{"add a PNG declared WebP", "POST", pack + "/stickers", `{"image_data_id":"` + pngAsWebp + `"}`, 400, []errorItem{
				bad("The media content does not match its type 'image/webp'")}},
			{"add a WebP over 100 KB", "POST", pack + "/stickers", `{"image_data_id":"` + bigID + `"}`, 400, []errorItem{
				bad(fmt.Sprintf("Sticker is %d bytes; stickers may be at most 102400", len(big)))}},
			{"add, emojis not a list", "POST", pack + "/stickers", `{"image_data_id":"` + img + `","emojis":"🐣"}`, 400, []errorItem{
				bad(`Parameter 'emojis' has invalid value '"🐣"'`)}},
			{"add, not an emoji", "POST", pack + "/stickers", `{"image_data_id":"` + img + `","emojis":["ab"]}`, 400, []errorItem{
				bad("Parameter 'emojis' has invalid value 'ab'")}},
			{"add, four emojis", "POST", pack + "/stickers", `{"image_data_id":"` + img + `","emojis":["🐣","😀","👍","🎉"]}`, 400, []errorItem{
				bad("Parameter 'emojis' has 4 entries; a sticker takes at most 3")}},
			{"get unknown sticker", "GET", pack + "/stickers/7", "", 404, []errorItem{nf("Sticker with index 7 not found in stickerpack " + id)}},
			{"get non-numeric index", "GET", pack + "/stickers/x", "", 404, []errorItem{nf("Sticker with index x not found in stickerpack " + id)}},
			{"patch unknown sticker", "PATCH", pack + "/stickers/7", `{"emojis":[]}`, 404, []errorItem{nf("Sticker with index 7 not found in stickerpack " + id)}},
			{"patch sticker, nothing", "PATCH", pack + "/stickers/0", `{}`, 400, []errorItem{e(1008, "Required parameter is missing",
				"Atleast one of the following parameters must be present: 'image_data_id', 'emojis'")}},
			{"delete unknown sticker", "DELETE", pack + "/stickers/7", "", 404, []errorItem{nf("Sticker with index 7 not found in stickerpack " + id)}},
			{"wrong method", "PUT", pack, `{}`, 405, []errorItem{{Code: 1014, Title: "Internal error"}}},
		} {
			t.Run(c.name, func(t *testing.T) {
				expectError(t, h.do(request{method: c.method, path: c.path, header: auth, body: c.body}), c.status, c.want...)
			})
		}

		// No credentials: 401, as everywhere.
		if res := h.do(request{method: "GET", path: "/v1/stickerpacks"}); res.Status != 401 {
			t.Fatalf("no credentials: %d %s", res.Status, res.Raw)
		}

		// A pack holds at most 30 stickers; a bad sticker PATCH changes nothing.
		for i := range 30 {
			expectBody(t, h.do(request{method: "POST", path: pack + "/stickers", header: auth,
				body: `{"image_data_id":"` + img + `"}`}), 201, fmt.Sprintf(`{"stickers":[{"index":"%d"}],}`, i))
		}
		expectError(t, h.do(request{method: "POST", path: pack + "/stickers", header: auth, body: `{"image_data_id":"` + img + `"}`}), 400,
			bad("Stickerpack "+id+" already has 30 stickers, the most a pack may hold"))
		expectError(t, h.do(request{method: "PATCH", path: pack + "/stickers/0", header: auth, body: `{"image_data_id":"` + pngID + `"}`}), 400,
			bad("Media type 'image/png' is not supported for sticker: use 'image/webp'"))
		expectBody(t, h.do(request{method: "GET", path: pack + "/stickers/0", header: auth}), 200,
			`{"stickers":[{"id":"`+img+`","emojis":[],"image_data_id":"`+img+`"}],}`)
	})
}
