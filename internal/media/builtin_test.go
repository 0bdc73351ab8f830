package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

const builtInID = "89720d33-9f93-4b22-bdbe-02127b607483"

// TestEnsureBuiltIn: a file the server ships is written once under its
// fixed id, put back when the volume lost or damaged it, redrawn when the
// release changes it, never deleted, and never written over a client's file.
func TestEnsureBuiltIn(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		st := storetest.OpenConfig(t, cfg)
		s, clk := newTestService(t, st, Options{})
		data, _ := Sample(KindSticker)
		sum := sha256.Sum256(data)
		m, err := s.EnsureBuiltIn(ctx, builtInID, data, "image/webp", "bubble.webp", KindSticker)
		if err != nil {
			t.Fatal(err)
		}
		want := store.Media{ID: builtInID, MimeType: "image/webp", Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]),
			Filename: "bubble.webp", Origin: store.MediaOriginBuiltIn, Status: store.MediaStatusStored, Kind: KindSticker,
			CreatedAt: testT0, LastUsedAt: testT0}
		if got, err := s.Get(ctx, builtInID); err != nil || m != want || got != want {
			t.Fatalf("ensured %+v, stored %+v (%v), want %+v", m, got, err, want)
		}
		file := filepath.Join(s.Dir(), builtInID[:2], builtInID)
		readBack := func() []byte {
			t.Helper()
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		if !bytes.Equal(readBack(), data) {
			t.Fatal("the volume holds other bytes")
		}

		// Again later: nothing changes, not even the creation time.
		clk.t = testT0.Add(time.Hour)
		if m, err := s.EnsureBuiltIn(ctx, builtInID, data, "image/webp", "bubble.webp", KindSticker); err != nil || m != want {
			t.Fatalf("second ensure %+v, %v", m, err)
		}
		// The volume lost the file, then had it damaged: it comes back.
		os.Remove(file)
		if _, err := s.EnsureBuiltIn(ctx, builtInID, data, "image/webp", "bubble.webp", KindSticker); err != nil || !bytes.Equal(readBack(), data) {
			t.Fatalf("after the file was lost: %v", err)
		}
		os.WriteFile(file, []byte("damaged"), 0o600)
		if _, err := s.EnsureBuiltIn(ctx, builtInID, data, "image/webp", "bubble.webp", KindSticker); err != nil || !bytes.Equal(readBack(), data) {
			t.Fatalf("after the file was damaged: %v", err)
		}
		// A release that redraws it: new bytes, the row follows.
		redrawn, _ := Sample(KindImage)
		sum = sha256.Sum256(redrawn)
		m, err = s.EnsureBuiltIn(ctx, builtInID, redrawn, "image/png", "bubble.png", KindSticker)
		if err != nil || !bytes.Equal(readBack(), redrawn) {
			t.Fatalf("redraw: %v", err)
		}
		if got, _ := s.Get(ctx, builtInID); got != m || got.SHA256 != hex.EncodeToString(sum[:]) || got.Size != int64(len(redrawn)) ||
			got.MimeType != "image/png" || got.Filename != "bubble.png" || !got.CreatedAt.Equal(testT0) {
			t.Fatalf("after the redraw %+v (returned %+v)", got, m)
		}

		// Neither a DELETE nor the garbage collector's list takes it.
		if err := s.Delete(ctx, builtInID); !errors.Is(err, ErrBuiltIn) {
			t.Fatalf("Delete = %v, want ErrBuiltIn", err)
		}
		if unused, err := st.ListMediaUnusedSince(ctx, testT0.Add(365*24*time.Hour), 10); err != nil || len(unused) != 0 {
			t.Fatalf("unused media %+v, %v", unused, err)
		}
		if _, err := os.Stat(file); err != nil {
			t.Fatal(err)
		}

		// A client's file is never taken over.
		upload, err := s.Save(ctx, bytes.NewReader([]byte("client's")), "text/plain", "", store.MediaOriginUpload)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.EnsureBuiltIn(ctx, upload.ID, data, "image/webp", "", KindSticker); !errors.Is(err, ErrIDConflict) {
			t.Fatalf("ensure over an upload = %v", err)
		}
		if got, _ := s.Get(ctx, upload.ID); got != upload {
			t.Fatalf("the upload's row changed: %+v", got)
		}
		if b, _ := os.ReadFile(filepath.Join(s.Dir(), upload.ID[:2], upload.ID)); string(b) != "client's" {
			t.Fatalf("the upload's file holds %q", b)
		}
		if _, err := s.EnsureBuiltIn(ctx, "../../etc/passwd", data, "image/webp", "", KindSticker); err == nil {
			t.Fatal("ensured a file outside the volume's ids")
		}
	})
}

// TestEnsureBuiltInConcurrently: nodes starting together against one
// database and one volume all succeed and leave one row and one file.
func TestEnsureBuiltInConcurrently(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		st := storetest.OpenConfig(t, cfg)
		dir := filepath.Join(t.TempDir(), "shared")
		data, _ := Sample(KindSticker)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			node, err := New(Options{Dir: dir, Store: st, Now: func() time.Time { return testT0 }})
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				_, err := node.EnsureBuiltIn(ctx, builtInID, data, "image/webp", "bubble.webp", KindSticker)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		s, _ := New(Options{Dir: dir, Store: st})
		if files := volumeFiles(t, s); len(files) != 1 || files[0] != filepath.Join(builtInID[:2], builtInID) {
			t.Fatalf("volume holds %v", files)
		}
		if m, err := s.Get(ctx, builtInID); err != nil || m.Size != int64(len(data)) {
			t.Fatalf("row %+v, %v", m, err)
		}
	})
}
