package store_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

func TestStickerpackRows(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
		tp := store.StickerpackNamespaceThirdParty
		p := store.Stickerpack{ID: "p1", Namespace: tp, Publisher: "Acme", Name: "Acme Faces",
			IOSLink: "https://itunes.apple.com/app/id1", CreatedAt: t0, UpdatedAt: t0}
		if err := s.InsertStickerpack(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertStickerpack(ctx, p); !errors.Is(err, store.ErrExists) {
			t.Fatalf("second insert: %v", err)
		}
		p2 := p
		p2.ID, p2.CreatedAt = "p2", t0.Add(time.Second)
		if err := s.InsertStickerpack(ctx, p2); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetStickerpack(ctx, tp, "p1"); err != nil || got != p {
			t.Fatalf("get = %+v, %v", got, err)
		}
		// A third-party pack does not exist in WhatsApp's namespace.
		if _, err := s.GetStickerpack(ctx, store.StickerpackNamespaceWhatsApp, "p1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get in wrong namespace: %v", err)
		}
		list, err := s.ListStickerpacks(ctx, tp)
		if err != nil || len(list) != 2 || list[0].ID != "p1" || list[1].ID != "p2" {
			t.Fatalf("list = %+v, %v", list, err)
		}
		if list, err := s.ListStickerpacks(ctx, store.StickerpackNamespaceWhatsApp); err != nil || len(list) != 0 || list == nil {
			t.Fatalf("first-party list = %#v, %v", list, err)
		}

		p.Name, p.AndroidLink, p.UpdatedAt = "Renamed", "https://play.google.com/x", t0.Add(time.Minute)
		if err := s.UpdateStickerpack(ctx, p); err != nil {
			t.Fatal(err)
		}
		// Same values again: MySQL reports no row changed, which is not "gone".
		if err := s.UpdateStickerpack(ctx, p); err != nil {
			t.Fatalf("unchanged update: %v", err)
		}
		if got, _ := s.GetStickerpack(ctx, tp, "p1"); got != p {
			t.Fatalf("after update = %+v", got)
		}
		if err := s.UpdateStickerpack(ctx, store.Stickerpack{ID: "nope", Namespace: tp}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update unknown: %v", err)
		}

		// Stickers: indexes count up and are never reused.
		st := store.Sticker{PackID: "p1", ImageDataID: "m0", Emojis: []string{"🐣"}, CreatedAt: t0, UpdatedAt: t0}
		for want := int64(0); want < 3; want++ {
			if i, err := s.AddSticker(ctx, tp, st, 3); err != nil || i != want {
				t.Fatalf("add #%d = %d, %v", want, i, err)
			}
		}
		if _, err := s.AddSticker(ctx, tp, st, 3); !errors.Is(err, store.ErrFull) {
			t.Fatalf("add to full pack: %v", err)
		}
		if err := s.DeleteSticker(ctx, "p1", 2); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSticker(ctx, "p1", 2); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
		// The deleted index 2 is not handed out again; the refused add was
		// rolled back, so 3 was never used.
		if i, err := s.AddSticker(ctx, tp, st, 3); err != nil || i != 3 {
			t.Fatalf("add after delete = %d, %v", i, err)
		}
		if _, err := s.AddSticker(ctx, store.StickerpackNamespaceWhatsApp, st, 3); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("add to pack in wrong namespace: %v", err)
		}
		got, err := s.GetSticker(ctx, "p1", 3)
		if err != nil || got.Index != 3 || got.ImageDataID != "m0" || !reflect.DeepEqual(got.Emojis, []string{"🐣"}) || !got.CreatedAt.Equal(t0) {
			t.Fatalf("get sticker = %+v, %v", got, err)
		}
		got.ImageDataID, got.Emojis, got.UpdatedAt = "m1", nil, t0.Add(time.Hour)
		if err := s.UpdateSticker(ctx, got); err != nil {
			t.Fatal(err)
		}
		if again, _ := s.GetSticker(ctx, "p1", 3); again.ImageDataID != "m1" || again.Emojis == nil || len(again.Emojis) != 0 {
			t.Fatalf("after update = %+v", again)
		}
		if err := s.UpdateSticker(ctx, store.Sticker{PackID: "p1", Index: 99}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update unknown sticker: %v", err)
		}
		if _, err := s.GetSticker(ctx, "p1", 2); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get deleted: %v", err)
		}
		all, err := s.ListStickers(ctx, "p1")
		if err != nil || len(all) != 3 || all[0].Index != 0 || all[1].Index != 1 || all[2].Index != 3 {
			t.Fatalf("list stickers = %+v, %v", all, err)
		}

		// Deleting a pack takes its stickers along.
		if err := s.DeleteStickerpack(ctx, tp, "p1"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteStickerpack(ctx, tp, "p1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
		if all, err := s.ListStickers(ctx, "p1"); err != nil || len(all) != 0 {
			t.Fatalf("stickers of a deleted pack = %+v, %v", all, err)
		}
	})
}

// Concurrent adds never share an index nor overfill the pack.
func TestStickerpackConcurrentAdds(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		tp := store.StickerpackNamespaceThirdParty
		now := time.Now()
		if err := s.InsertStickerpack(ctx, store.Stickerpack{ID: "p", Namespace: tp, Publisher: "a", Name: "b", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		const workers, limit = 12, 8
		var wg sync.WaitGroup
		var mu sync.Mutex
		seen := map[int64]bool{}
		full := 0
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				i, err := s.AddSticker(ctx, tp, store.Sticker{PackID: "p", ImageDataID: "m", CreatedAt: now, UpdatedAt: now}, limit)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, store.ErrFull):
					full++
				case err != nil:
					t.Errorf("add: %v", err)
				case seen[i]:
					t.Errorf("index %d handed out twice", i)
				default:
					seen[i] = true
				}
			}()
		}
		wg.Wait()
		if len(seen) != limit || full != workers-limit {
			t.Fatalf("%d added, %d refused; want %d and %d", len(seen), full, limit, workers-limit)
		}
	})
}

// TestStickerImagesAreNeverCollected: the media garbage collector's work
// list leaves out files a stickerpack shows.
func TestStickerImagesAreNeverCollected(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for _, id := range []string{"11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"} {
			if err := s.InsertMedia(ctx, store.Media{ID: id, MimeType: "image/webp", Origin: store.MediaOriginUpload,
				Status: store.MediaStatusStored, CreatedAt: t0, LastUsedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		tp := store.StickerpackNamespaceThirdParty
		if err := s.InsertStickerpack(ctx, store.Stickerpack{ID: "p1", Namespace: tp, Publisher: "Acme", Name: "Faces", CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddSticker(ctx, tp, store.Sticker{PackID: "p1", ImageDataID: "11111111-1111-4111-8111-111111111111", CreatedAt: t0, UpdatedAt: t0}, 30); err != nil {
			t.Fatal(err)
		}
		unused, err := s.ListMediaUnusedSince(ctx, t0.Add(time.Hour), 10)
		if err != nil || len(unused) != 1 || unused[0].ID != "22222222-2222-4222-8222-222222222222" {
			t.Fatalf("unused = %+v, %v", unused, err)
		}
	})
}

// TestEnsureStickerpack: a pack the server defines is inserted once, put
// back to the given values when they differ, never shrunk, never taken from
// another namespace; its indexes stay handed out.
func TestEnsureStickerpack(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
		wa := store.StickerpackNamespaceWhatsApp
		pack := store.Stickerpack{ID: "fp", Namespace: wa, Publisher: "wabiz", Name: "Shapes", CreatedAt: t0, UpdatedAt: t0}
		stickers := []store.Sticker{
			{PackID: "fp", Index: 0, ImageDataID: "m0", Emojis: []string{"💬"}, CreatedAt: t0, UpdatedAt: t0},
			{PackID: "fp", Index: 1, ImageDataID: "m1", Emojis: []string{"❤️", "😍"}, CreatedAt: t0, UpdatedAt: t0},
		}
		expect := func(wantPack store.Stickerpack, want []store.Sticker) {
			t.Helper()
			if packs, err := s.ListStickerpacks(ctx, wa); err != nil || len(packs) != 1 || packs[0] != wantPack {
				t.Fatalf("packs %+v, %v; want %+v", packs, err, wantPack)
			}
			if got, err := s.ListStickers(ctx, "fp"); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("stickers %+v, %v; want %+v", got, err, want)
			}
		}
		for range 2 {
			if err := s.EnsureStickerpack(ctx, pack, stickers); err != nil {
				t.Fatal(err)
			}
			expect(pack, stickers)
		}

		// Changed behind its back, or by an older release: the given values
		// come back (the creation times stay), and a sticker no longer given
		// stays, since a client may have kept its id.
		changed := pack
		changed.Name, changed.UpdatedAt = "Old name", t0.Add(time.Minute)
		if err := s.UpdateStickerpack(ctx, changed); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateSticker(ctx, store.Sticker{PackID: "fp", Index: 1, ImageDataID: "old", Emojis: []string{"🐣"}, UpdatedAt: t0.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSticker(ctx, "fp", 0); err != nil {
			t.Fatal(err)
		}
		t1 := t0.Add(time.Hour)
		later := pack
		later.CreatedAt, later.UpdatedAt = t1, t1
		given := []store.Sticker{{PackID: "fp", Index: 0, ImageDataID: "m0", Emojis: []string{"💬"}, CreatedAt: t1, UpdatedAt: t1},
			{PackID: "fp", Index: 1, ImageDataID: "m1", Emojis: []string{"❤️", "😍"}, CreatedAt: t1, UpdatedAt: t1}}
		if err := s.EnsureStickerpack(ctx, later, given); err != nil {
			t.Fatal(err)
		}
		wantPack := pack
		wantPack.UpdatedAt = t1
		expect(wantPack, []store.Sticker{given[0], {PackID: "fp", Index: 1, ImageDataID: "m1", Emojis: []string{"❤️", "😍"}, CreatedAt: t0, UpdatedAt: t1}})
		if err := s.EnsureStickerpack(ctx, later, given[1:]); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.ListStickers(ctx, "fp"); len(got) != 2 {
			t.Fatalf("a sticker left out of the definition was removed: %+v", got)
		}
		// The indexes handed out stay handed out.
		if i, err := s.AddSticker(ctx, wa, store.Sticker{PackID: "fp", ImageDataID: "m2", CreatedAt: t1, UpdatedAt: t1}, 30); err != nil || i != 2 {
			t.Fatalf("next index %d, %v", i, err)
		}

		// An id another namespace holds is not taken over.
		tp := store.Stickerpack{ID: "mine", Namespace: store.StickerpackNamespaceThirdParty, Publisher: "Acme", Name: "Faces", CreatedAt: t0, UpdatedAt: t0}
		if err := s.InsertStickerpack(ctx, tp); err != nil {
			t.Fatal(err)
		}
		taken := pack
		taken.ID = "mine"
		if err := s.EnsureStickerpack(ctx, taken, nil); err == nil {
			t.Fatal("took a third-party pack over")
		}
		if got, err := s.GetStickerpack(ctx, store.StickerpackNamespaceThirdParty, "mine"); err != nil || got != tp {
			t.Fatalf("the third-party pack became %+v, %v", got, err)
		}
	})
}
