package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

var mediaT0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func TestMediaRows(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		up := store.Media{
			ID: "0b8e6f3c-2f7a-4a4e-9a65-0c1d2e3f4a5b", MimeType: "image/jpeg", Size: 1234,
			SHA256: "ab12", Filename: "photo.jpg", Origin: store.MediaOriginUpload, Status: store.MediaStatusStored,
			CreatedAt: mediaT0.Add(123 * time.Millisecond), LastUsedAt: mediaT0.Add(123 * time.Millisecond),
		}
		if err := s.InsertMedia(ctx, up); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertMedia(ctx, up); !errors.Is(err, store.ErrExists) {
			t.Fatalf("second insert: %v, want ErrExists", err)
		}
		got, err := s.GetMedia(ctx, up.ID)
		if err != nil || got != up {
			t.Fatalf("GetMedia = %+v, %v; want %+v", got, err, up)
		}
		if _, err := s.GetMedia(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetMedia(unknown) = %v", err)
		}

		// An inbound media announced by the network, then downloaded.
		in := store.Media{
			ID: "1c9f7a4d-3a8b-4b5f-8b76-1d2e3f4a5b6c", MimeType: "audio/ogg; codecs=opus", Origin: store.MediaOriginInbound,
			Status: store.MediaStatusPending, NetworkID: "net-77", Kind: "voice", CreatedAt: mediaT0, LastUsedAt: mediaT0,
		}
		if err := s.InsertMedia(ctx, in); err != nil {
			t.Fatal(err)
		}
		in.Status, in.Size, in.SHA256, in.Filename = store.MediaStatusStored, 4096, "cd34", "note.ogg"
		if err := s.UpdateMedia(ctx, in); err != nil {
			t.Fatal(err)
		}
		// The same values again change nothing, which MySQL reports as no
		// affected row: still not ErrNotFound.
		if err := s.UpdateMedia(ctx, in); err != nil {
			t.Fatalf("idempotent update: %v", err)
		}
		if got, _ := s.GetMedia(ctx, in.ID); got != in {
			t.Fatalf("after update %+v, want %+v", got, in)
		}
		if err := s.UpdateMedia(ctx, store.Media{ID: "nope"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UpdateMedia(unknown) = %v", err)
		}

		// Touch moves last_used_at forward only.
		if err := s.TouchMedia(ctx, in.ID, mediaT0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchMedia(ctx, in.ID, mediaT0.Add(time.Minute)); err != nil {
			t.Fatalf("older touch: %v", err)
		}
		if got, _ := s.GetMedia(ctx, in.ID); !got.LastUsedAt.Equal(mediaT0.Add(time.Hour)) {
			t.Fatalf("last used %v", got.LastUsedAt)
		}
		if err := s.TouchMedia(ctx, "nope", mediaT0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("TouchMedia(unknown) = %v", err)
		}

		// Unused since: least recently used first, bounded by limit.
		third := up
		third.ID, third.LastUsedAt = "2d0a8b5e-4b9c-4c60-9c87-2e3f4a5b6c7d", mediaT0.Add(-time.Hour)
		if err := s.InsertMedia(ctx, third); err != nil {
			t.Fatal(err)
		}
		ids := func(ms []store.Media) []string {
			var out []string
			for _, m := range ms {
				out = append(out, m.ID)
			}
			return out
		}
		list, err := s.ListMediaUnusedSince(ctx, mediaT0.Add(30*time.Minute), 10)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{third.ID, up.ID}; !slices.Equal(ids(list), want) {
			t.Fatalf("unused = %v, want %v", ids(list), want)
		}
		if list, _ := s.ListMediaUnusedSince(ctx, mediaT0.Add(2*time.Hour), 1); !slices.Equal(ids(list), []string{third.ID}) {
			t.Fatalf("limited = %v", ids(list))
		}

		if err := s.DeleteMedia(ctx, up.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteMedia(ctx, up.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		if _, err := s.GetMedia(ctx, up.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	})
}
