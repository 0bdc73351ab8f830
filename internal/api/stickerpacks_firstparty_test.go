package api_test

import (
	"context"
	"image/color"
	"strconv"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/media/webptest"
	"github.com/wabiz/wabiz/internal/retention"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// The first-party pack as clients see it. The ids are written out here
// rather than taken from the package: clients cache them, so a change must
// fail this test.
const (
	firstPartyPack = "a31485de4657783130f15346d9f84597"
	firstPartyList = `{"stickerpacks":[{"id":"` + firstPartyPack + `"}],}`
)

var firstPartyStickers = []struct{ id, emojis string }{
	{"89720d33-9f93-4b22-bdbe-02127b607483", `["💬","👋"]`},
	{"e6c5c82a-383e-4d05-8533-4f7034fd757d", `["❤️","😍"]`},
	{"1aadae6c-43a1-4e74-8a36-aae58e386cb8", `["⭐","🎉"]`},
	{"77cefe01-f872-42ed-afcc-31ab56651d9e", `["✅","👍"]`},
	{"0cc0d192-cee3-4524-8776-64ad7b83a9e7", `["☀️","😎"]`},
}

// expectFirstPartyReads checks the exact answer of every first-party read
// route, and returns each sticker's file as GET /v1/media serves it.
func (h *harness) expectFirstPartyReads(t *testing.T, auth map[string]string) [][]byte {
	t.Helper()
	const ns = "?namespace=whatsapp"
	pack := "/v1/stickerpacks/" + firstPartyPack
	expectBody(t, h.do(request{method: "GET", path: "/v1/stickerpacks" + ns, header: auth}), 200, firstPartyList)
	expectBody(t, h.do(request{method: "GET", path: pack + ns, header: auth}), 200,
		`{"stickerpacks":[{"publisher":"wabiz","name":"Shapes"}],}`)
	expectBody(t, h.do(request{method: "GET", path: pack + "/stickers" + ns, header: auth}), 200,
		`{"stickers":[{"index":"0"},{"index":"1"},{"index":"2"},{"index":"3"},{"index":"4"}],}`)
	var files [][]byte
	for i, st := range firstPartyStickers {
		// No image_data_id for first-party stickers: the id is what a send names.
		expectBody(t, h.do(request{method: "GET", path: pack + "/stickers/" + strconv.Itoa(i) + ns, header: auth}), 200,
			`{"stickers":[{"id":"`+st.id+`","emojis":`+st.emojis+`}],}`)
		w := h.raw("GET", "/v1/media/"+st.id, "", nil, auth)
		if w.Code != 200 || w.Header().Get("Content-Type") != "image/webp" || w.Header().Get("ETag") != `"`+sha(w.Body.Bytes())+`"` {
			t.Fatalf("GET /v1/media/%s: %d %v", st.id, w.Code, w.Header())
		}
		files = append(files, w.Body.Bytes())
	}
	return files
}

// TestFirstPartyStickerpackReads: every first-party read route answers the
// shipped pack, and each sticker's id downloads as a distinct 512×512 WebP
// a sticker send accepts.
func TestFirstPartyStickerpackReads(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		tok := h.createUser(h.adminToken(), "agent", "Agent#Pass1") // any user may read them
		auth := bearer(tok)
		files := h.expectFirstPartyReads(t, auth)

		colours := map[color.NRGBA]bool{}
		for i, data := range files {
			if err := media.CheckKind(media.KindSticker, "image/webp", data, int64(len(data))); err != nil {
				t.Fatalf("sticker %d is not sendable: %v", i, err)
			}
			img, err := webptest.Decode(data)
			if err != nil {
				t.Fatalf("sticker %d: %v", i, err)
			}
			if b := img.Bounds(); b.Dx() != 512 || b.Dy() != 512 {
				t.Fatalf("sticker %d is %v", i, b)
			}
			// One colour on a transparent background, another for each sticker.
			seen := map[color.NRGBA]bool{}
			for y := range 512 {
				for x := range 512 {
					seen[img.NRGBAAt(x, y)] = true
				}
			}
			if len(seen) != 2 || !seen[color.NRGBA{}] {
				t.Fatalf("sticker %d has colours %v", i, seen)
			}
			for c := range seen {
				if c.A == 0xFF {
					colours[c] = true
				}
			}
		}
		if len(colours) != len(firstPartyStickers) {
			t.Fatalf("the stickers share colours: %v", colours)
		}

		// Not in the third-party namespace, where a pack id without
		// ?namespace is looked for.
		expectBody(t, h.do(request{method: "GET", path: "/v1/stickerpacks", header: auth}), 200, `{"stickerpacks":[],}`)
		expectError(t, h.do(request{method: "GET", path: "/v1/stickerpacks/" + firstPartyPack, header: auth}), 404,
			e(1006, "Resource not found", "Stickerpack with id "+firstPartyPack+" not found"))
		expectError(t, h.do(request{method: "GET", path: "/v1/stickerpacks/" + firstPartyPack + "/stickers/0", header: auth}), 404,
			e(1006, "Resource not found", "Stickerpack with id "+firstPartyPack+" not found"))
	})
}

// TestFirstPartyStickerpackIsReadOnly: every write on the first-party
// namespace is refused as on the reference, a write without the namespace
// does not find the pack, and its files cannot be deleted; afterwards the
// pack reads as before.
func TestFirstPartyStickerpackIsReadOnly(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		tok := h.adminToken()
		auth := bearer(tok)
		webp, _ := media.Sample(media.KindSticker)
		img := h.upload(tok, "image/webp", webp, nil)
		pack := "/v1/stickerpacks/" + firstPartyPack
		ro := e(1005, "Access denied", "First-party sticker packs (namespace 'whatsapp') are read-only")
		notFound := e(1006, "Resource not found", "Stickerpack with id "+firstPartyPack+" not found")
		for _, c := range []struct {
			method, path, body string
			status             int
			want               errorItem
		}{
			{"POST", "/v1/stickerpacks?namespace=whatsapp", packBody, 403, ro},
			{"PATCH", pack + "?namespace=whatsapp", `{"name":"Mine now"}`, 403, ro},
			{"DELETE", pack + "?namespace=whatsapp", "", 403, ro},
			{"POST", pack + "/stickers?namespace=whatsapp", `{"image_data_id":"` + img + `","emojis":["🐣"]}`, 403, ro},
			{"PATCH", pack + "/stickers/0?namespace=whatsapp", `{"emojis":["🐣"]}`, 403, ro},
			{"DELETE", pack + "/stickers/0?namespace=whatsapp", "", 403, ro},
			{"PATCH", pack, `{"name":"Mine now"}`, 404, notFound},
			{"DELETE", pack, "", 404, notFound},
			{"POST", pack + "/stickers", `{"image_data_id":"` + img + `"}`, 404, notFound},
			{"PATCH", pack + "/stickers/0", `{"emojis":["🐣"]}`, 404, notFound},
			{"DELETE", pack + "/stickers/0", "", 404, notFound},
			{"DELETE", "/v1/media/" + firstPartyStickers[0].id, "", 403,
				e(1005, "Access denied", "File with id "+firstPartyStickers[0].id+" is a first-party sticker and cannot be deleted")},
		} {
			expectError(t, h.do(request{method: c.method, path: c.path, header: auth, body: c.body}), c.status, c.want)
		}
		h.expectFirstPartyReads(t, auth)
		// The write refused did not create a third-party pack either.
		expectBody(t, h.do(request{method: "GET", path: "/v1/stickerpacks", header: auth}), 200, `{"stickerpacks":[],}`)
	})
}

// TestFirstPartyStickerSend: a first-party sticker id sends like any
// sticker and reaches the user's phone as its WebP.
func TestFirstPartyStickerSend(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		admin := h.adminToken()
		hook := h.ready(admin)
		files := h.expectFirstPartyReads(t, bearer(admin))
		id := h.send(admin, `{"to":"`+customer+`","type":"sticker","sticker":{"id":"`+firstPartyStickers[1].id+`"}}`)
		h.pump()
		h.clock.Advance(2 * time.Second) // the phone reports delivery, then the user reads
		h.pump()
		got := h.phone(admin, customer)[id]
		msg, _ := got["message"].(map[string]any)
		if msg["type"] != "sticker" || msg["media"].(map[string]any)["sha256"] != sha(files[1]) {
			t.Fatalf("the user got %v", got)
		}
		var states []any
		for _, s := range hook.statusesOf(id) {
			states = append(states, s["status"])
		}
		if len(states) != 2 || states[0] != "delivered" || states[1] != "read" {
			t.Fatalf("statuses of the sticker: %v", states)
		}
	})
}

// TestFirstPartyStickerpackSurvivesRestart: a restart on the same database
// and volume finds the same pack with the same ids and files, not a second
// one; a restore of the settings backup leaves it alone; a start on a volume
// that lost the files (restored without them) puts the same files back.
func TestFirstPartyStickerpackSurvivesRestart(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		first := newHarness(t, cfg)
		admin := first.adminToken()
		before := first.expectFirstPartyReads(t, bearer(admin))
		data := first.backup(t, admin, "s3cret pass")

		again := newHarness(t, cfg, withMediaDir(first.node.Media.Dir()))
		admin = again.login("admin", testAdminPassword)
		after := again.expectFirstPartyReads(t, bearer(admin))
		fresh := newHarness(t, cfg)
		regenerated := fresh.expectFirstPartyReads(t, bearer(admin))
		for i := range before {
			if sha(after[i]) != sha(before[i]) || sha(regenerated[i]) != sha(before[i]) {
				t.Fatalf("sticker %d changed across restarts", i)
			}
		}
		packs, err := again.store.ListStickerpacks(context.Background(), store.StickerpackNamespaceWhatsApp)
		if err != nil || len(packs) != 1 {
			t.Fatalf("first-party packs after restarts: %+v, %v", packs, err)
		}

		res := again.do(request{method: "POST", path: "/v1/settings/restore", header: bearer(admin), body: `{"password":"s3cret pass","data":"` + data + `"}`})
		if res.Status != 200 {
			t.Fatalf("restore: %d %s", res.Status, res.Raw)
		}
		again.expectFirstPartyReads(t, bearer(admin))
	})
}

// TestFirstPartyStickersSurviveMediaGC: the media collector removes a file
// nobody used for 30 days, but never a first-party sticker, used or not.
func TestFirstPartyStickersSurviveMediaGC(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		admin := h.adminToken()
		png, _ := media.Sample(media.KindImage)
		stale := h.upload(admin, "image/png", png, nil)
		h.clock.Advance(retention.MediaRetention + time.Hour)
		admin = h.login("admin", testAdminPassword) // the token expired meanwhile
		if res := h.do(request{method: "PUT", path: "/v1/services/media/gc", header: bearer(admin)}); res.Status != 200 {
			t.Fatalf("media gc: %d %s", res.Status, res.Raw)
		}
		h.node.Collector.Wait()
		if w := h.raw("GET", "/v1/media/"+stale, "", nil, bearer(admin)); w.Code != 404 {
			t.Fatalf("the stale upload was not collected: %d", w.Code)
		}
		h.expectFirstPartyReads(t, bearer(admin))
	})
}
