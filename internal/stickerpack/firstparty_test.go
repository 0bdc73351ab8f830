package stickerpack

import (
	"bytes"
	"context"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/media/webptest"
	"github.com/wabiz/wabiz/internal/message"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// TestFirstPartyStickersAreSendable: each sticker is a 512×512 WebP of its
// own drawing and colour on a transparent background, a send's sticker
// checks accept it, its emojis are what a pack may carry, and every node
// draws the same bytes.
func TestFirstPartyStickersAreSendable(t *testing.T) {
	images, err := firstPartyImages()
	if err != nil {
		t.Fatal(err)
	}
	ids, colours, files := map[string]bool{}, map[color.NRGBA]bool{}, map[string]bool{}
	for i, fs := range firstPartyStickers {
		data := images[i]
		if again, err := fs.webp(); err != nil || !bytes.Equal(again, data) {
			t.Fatalf("%s: drawn twice, different bytes (%v)", fs.name, err)
		}
		if err := media.CheckKind(media.KindSticker, "image/webp", data, int64(len(data))); err != nil {
			t.Fatalf("%s (%d bytes) is not a sendable sticker: %v", fs.name, len(data), err)
		}
		img, err := webptest.Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", fs.name, err)
		}
		if b := img.Bounds(); b.Dx() != stickerSide || b.Dy() != stickerSide {
			t.Fatalf("%s is %v", fs.name, b)
		}
		opaque := 0
		for y := range stickerSide {
			for x := range stickerSide {
				want := color.NRGBA{}
				if fs.inside(int64(2*x+1-stickerSide), int64(2*y+1-stickerSide)) {
					want, opaque = fs.colour, opaque+1
				}
				if got := img.NRGBAAt(x, y); got != want {
					t.Fatalf("%s: pixel (%d,%d) is %v, drawn %v", fs.name, x, y, got, want)
				}
			}
		}
		// A shape, not an empty or a full square.
		if opaque < stickerSide*stickerSide/10 || opaque > stickerSide*stickerSide*9/10 {
			t.Fatalf("%s covers %d of %d pixels", fs.name, opaque, stickerSide*stickerSide)
		}
		if !message.IsMediaID(fs.mediaID) || ids[fs.mediaID] || colours[fs.colour] || files[string(data)] {
			t.Fatalf("%s: id %s or colour %v or picture not its own", fs.name, fs.mediaID, fs.colour)
		}
		ids[fs.mediaID], colours[fs.colour], files[string(data)] = true, true, true
		if len(fs.emojis) == 0 || len(fs.emojis) > MaxEmojis {
			t.Fatalf("%s has %d emojis", fs.name, len(fs.emojis))
		}
		for _, e := range fs.emojis {
			if !message.IsSingleEmoji(e) {
				t.Fatalf("%s: %q is not one emoji", fs.name, e)
			}
		}
	}
	if n := len(firstPartyStickers); n < 3 || n > MaxStickers {
		t.Fatalf("the pack has %d stickers", n)
	}
}

// TestEnsureFirstPartyConcurrently: nodes starting at once against one
// database, some sharing a volume and some with their own, all succeed and
// leave one pack, its stickers once, and every file on every volume.
func TestEnsureFirstPartyConcurrently(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		st := storetest.OpenConfig(t, cfg)
		shared := filepath.Join(t.TempDir(), "shared")
		dirs := []string{shared, shared, shared}
		for i := range 3 {
			dirs = append(dirs, filepath.Join(t.TempDir(), fmt.Sprintf("own-%d", i)))
		}
		var wg sync.WaitGroup
		errs := make(chan error, len(dirs))
		for _, dir := range dirs {
			mv, err := media.New(media.Options{Dir: dir, Store: st, Now: func() time.Time { return t0 }})
			if err != nil {
				t.Fatal(err)
			}
			node := New(st, mv, func() time.Time { return t0 })
			wg.Go(func() { errs <- node.EnsureFirstParty(ctx) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		expectShippedPack(t, st)
		images, _ := firstPartyImages()
		for _, dir := range dirs {
			for i, fs := range firstPartyStickers {
				if b, err := os.ReadFile(filepath.Join(dir, fs.mediaID[:2], fs.mediaID)); err != nil || !bytes.Equal(b, images[i]) {
					t.Fatalf("%s on %s: %v", fs.name, dir, err)
				}
			}
		}
	})
}

// TestEnsureFirstPartyPutsThePackBack: rows changed or removed behind the
// API's back (a database restored from an older release, a hand edit) are
// put back as shipped at the next start, with the same ids; third-party
// packs are left alone.
func TestEnsureFirstPartyPutsThePackBack(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		st := storetest.OpenConfig(t, cfg)
		mv, err := media.New(media.Options{Dir: filepath.Join(t.TempDir(), "media"), Store: st, Now: func() time.Time { return t0 }})
		if err != nil {
			t.Fatal(err)
		}
		svc := New(st, mv, func() time.Time { return t0 })
		if err := svc.EnsureFirstParty(ctx); err != nil {
			t.Fatal(err)
		}
		webp, _ := media.Sample(media.KindSticker)
		upload, err := mv.Save(ctx, bytes.NewReader(webp), "image/webp", "", store.MediaOriginUpload)
		if err != nil {
			t.Fatal(err)
		}
		own, err := svc.Create(ctx, store.StickerpackNamespaceThirdParty, Fields{Publisher: ptr("Acme"), Name: ptr("Faces")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.AddSticker(ctx, store.StickerpackNamespaceThirdParty, own.ID, StickerFields{ImageDataID: &upload.ID}); err != nil {
			t.Fatal(err)
		}
		wa := store.StickerpackNamespaceWhatsApp
		if err := st.UpdateStickerpack(ctx, store.Stickerpack{ID: firstPartyPackID, Namespace: wa, Publisher: "x", Name: "y", UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if err := st.UpdateSticker(ctx, store.Sticker{PackID: firstPartyPackID, Index: 2, ImageDataID: upload.ID, Emojis: []string{"🐣"}, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteSticker(ctx, firstPartyPackID, 4); err != nil {
			t.Fatal(err)
		}
		if err := svc.EnsureFirstParty(ctx); err != nil {
			t.Fatal(err)
		}
		expectShippedPack(t, st)
		if packs, err := st.ListStickerpacks(ctx, store.StickerpackNamespaceThirdParty); err != nil || len(packs) != 1 || packs[0] != own {
			t.Fatalf("third-party packs %+v, %v", packs, err)
		}
		if got, err := st.ListStickers(ctx, own.ID); err != nil || len(got) != 1 || got[0].ImageDataID != upload.ID {
			t.Fatalf("third-party stickers %+v, %v", got, err)
		}
	})
}

// expectShippedPack checks the database holds the first-party pack once,
// as this release defines it.
func expectShippedPack(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	want := store.Stickerpack{ID: firstPartyPackID, Namespace: store.StickerpackNamespaceWhatsApp,
		Publisher: firstPartyPublisher, Name: firstPartyName, CreatedAt: t0, UpdatedAt: t0}
	if packs, err := st.ListStickerpacks(ctx, store.StickerpackNamespaceWhatsApp); err != nil || len(packs) != 1 || packs[0] != want {
		t.Fatalf("first-party packs %+v, %v; want %+v", packs, err, want)
	}
	got, err := st.ListStickers(ctx, firstPartyPackID)
	if err != nil || len(got) != len(firstPartyStickers) {
		t.Fatalf("first-party stickers %+v, %v", got, err)
	}
	for i, fs := range firstPartyStickers {
		if got[i].Index != int64(i) || got[i].ImageDataID != fs.mediaID || !reflect.DeepEqual(got[i].Emojis, fs.emojis) {
			t.Fatalf("sticker %d is %+v, want %s %v", i, got[i], fs.mediaID, fs.emojis)
		}
	}
}

func ptr(s string) *string { return &s }
