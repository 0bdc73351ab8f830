package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

var testT0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

type testClock struct{ t time.Time }

func (c *testClock) Now() time.Time { return c.t }

func newTestService(t *testing.T, st Store, o Options) (*Service, *testClock) {
	t.Helper()
	clk := &testClock{t: testT0}
	if st == nil {
		st = storetest.Open(t, store.SQLite)
	}
	o.Dir, o.Store, o.Now = filepath.Join(t.TempDir(), "media"), st, clk.Now
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

// volumeFiles lists every regular file under the volume, temporary ones
// included.
func volumeFiles(t *testing.T, s *Service) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(s.Dir(), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(s.Dir(), path)
			files = append(files, rel)
		}
		return nil
	})
	return files
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestSaveOpenDelete(t *testing.T) {
	ctx := context.Background()
	s, clk := newTestService(t, nil, Options{})
	if info, err := os.Stat(s.Dir()); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("volume mode %v, %v", info.Mode(), err)
	}
	data, _ := Sample(KindImage)
	m, err := s.Save(ctx, bytes.NewReader(data), "Image/PNG", "../../etc/holiday.png", store.MediaOriginUpload)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if !uuidV4.MatchString(m.ID) || m.Size != int64(len(data)) || m.SHA256 != hex.EncodeToString(sum[:]) ||
		m.MimeType != "image/png" || m.Filename != "holiday.png" || m.Status != store.MediaStatusStored ||
		m.Origin != store.MediaOriginUpload || !m.CreatedAt.Equal(testT0) {
		t.Fatalf("saved %+v", m)
	}
	if files := volumeFiles(t, s); len(files) != 1 || files[0] != filepath.Join(m.ID[:2], m.ID) {
		t.Fatalf("volume holds %v", files)
	}

	clk.t = testT0.Add(time.Hour)
	got, rc, err := s.Open(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(back, data) || got.ID != m.ID {
		t.Fatal("read back different bytes")
	}
	if after, _ := s.Get(ctx, m.ID); !after.LastUsedAt.Equal(testT0.Add(time.Hour)) {
		t.Fatalf("Open did not record a use: %v", after.LastUsedAt)
	}

	if err := s.Delete(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if files := volumeFiles(t, s); len(files) != 0 {
		t.Fatalf("after delete the volume holds %v", files)
	}
	for _, id := range []string{m.ID, "../../../etc/passwd", "", "ABCDEF00-0000-4000-8000-000000000000"} {
		if _, _, err := s.Open(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open(%q) = %v", id, err)
		}
		if err := s.Delete(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Delete(%q) = %v", id, err)
		}
	}
}

func TestSaveSniffsUndeclaredType(t *testing.T) {
	s, _ := newTestService(t, nil, Options{})
	pdf, _ := Sample(KindDocument)
	m, err := s.Save(context.Background(), bytes.NewReader(pdf), "", "", store.MediaOriginLink)
	if err != nil || m.MimeType != "application/pdf" {
		t.Fatalf("%+v %v", m, err)
	}
	m, err = s.Save(context.Background(), bytes.NewReader([]byte{0, 1, 2}), "", "", store.MediaOriginLink)
	if err != nil || m.MimeType != "application/octet-stream" {
		t.Fatalf("%+v %v", m, err)
	}
}

// failingReader gives n bytes, then fails.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("connection reset by peer")
	}
	k := min(len(p), r.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	r.n -= k
	return k, nil
}

// failingInsert is a store whose media insert fails.
type failingInsert struct{ Store }

func (failingInsert) InsertMedia(context.Context, store.Media) error {
	return errors.New("database gone")
}

func TestSaveLeavesNothingBehindOnFailure(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite)
	s, _ := newTestService(t, st, Options{MaxBytes: 64 << 10})

	// The reader fails within the sniffed window, and half way through.
	for _, n := range []int{100, 20 << 10} {
		if _, err := s.Save(ctx, &failingReader{n: n}, "image/png", "", store.MediaOriginUpload); err == nil || !strings.Contains(err.Error(), "connection reset") {
			t.Fatalf("reader failing after %d bytes: %v", n, err)
		}
	}
	// Too large.
	if _, err := s.Save(ctx, io.LimitReader(zeros{}, 64<<10+1), "image/png", "", store.MediaOriginUpload); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("too large: %v", err)
	}
	// Exactly the cap is fine.
	m, err := s.Save(ctx, io.LimitReader(zeros{}, 64<<10), "application/octet-stream", "", store.MediaOriginUpload)
	if err != nil || m.Size != 64<<10 {
		t.Fatalf("at the cap: %+v %v", m, err)
	}
	if err := s.Delete(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	// The row cannot be written: the placed file goes again.
	broken, _ := newTestService(t, failingInsert{st}, Options{})
	if _, err := broken.Save(ctx, strings.NewReader("hello"), "text/plain", "", store.MediaOriginUpload); err == nil {
		t.Fatal("save with a failing store succeeded")
	}
	// A cancelled request stops the copy.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Save(cctx, strings.NewReader(strings.Repeat("a", 100<<10)), "text/plain", "", store.MediaOriginUpload); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	for _, svc := range []*Service{s, broken} {
		if files := volumeFiles(t, svc); len(files) != 0 {
			t.Fatalf("files left behind: %v", files)
		}
	}
	if list, err := st.ListMediaUnusedSince(ctx, testT0.Add(time.Hour), 10); err != nil || len(list) != 0 {
		t.Fatalf("rows left behind: %v %v", list, err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestCheckStored(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestService(t, nil, Options{})
	img, _ := Sample(KindImage)
	m, err := s.Save(ctx, bytes.NewReader(img), "image/jpeg", "", store.MediaOriginUpload)
	if err != nil {
		t.Fatal(err)
	}
	if got, apiErr, err := s.CheckStored(ctx, KindImage, m.ID); err != nil || apiErr != nil || got.ID != m.ID {
		t.Fatalf("image as image: %v %v", apiErr, err)
	}
	_, apiErr, err := s.CheckStored(ctx, KindSticker, m.ID)
	if err != nil || apiErr == nil || apiErr.Details[0].Details != "Media type 'image/jpeg' is not supported for sticker: use 'image/webp'" {
		t.Fatalf("image as sticker: %v %v", apiErr, err)
	}
	if _, _, err := s.CheckStored(ctx, KindImage, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	p, _ := s.CreatePending(ctx, KindImage, "image/jpeg", "n", "")
	if _, _, err := s.CheckStored(ctx, KindImage, p.ID); !errors.Is(err, ErrPending) {
		t.Fatalf("pending: %v", err)
	}
}

func TestPendingThenComplete(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestService(t, nil, Options{})
	p, err := s.CreatePending(ctx, KindVoice, "audio/ogg;codecs=opus", "net-123", "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != store.MediaStatusPending || p.Origin != store.MediaOriginInbound || p.MimeType != "audio/ogg; codecs=opus" || p.NetworkID != "net-123" {
		t.Fatalf("pending %+v", p)
	}
	if m, _, err := s.Open(ctx, p.ID); !errors.Is(err, ErrPending) || m.ID != p.ID {
		t.Fatalf("Open(pending) = %+v, %v", m, err)
	}
	voice, _ := Sample(KindVoice)
	m, err := s.Complete(ctx, p.ID, bytes.NewReader(voice), "", "note.ogg")
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != store.MediaStatusStored || m.Size != int64(len(voice)) || m.MimeType != "audio/ogg; codecs=opus" || m.Filename != "note.ogg" || m.Kind != KindVoice {
		t.Fatalf("completed %+v", m)
	}
	_, rc, err := s.Open(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if _, err := s.Complete(ctx, "00000000-0000-4000-8000-000000000000", strings.NewReader("x"), "", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Complete(unknown) = %v", err)
	}
	if files := volumeFiles(t, s); len(files) != 1 {
		t.Fatalf("volume holds %v", files)
	}
}

func TestNotWritableVolume(t *testing.T) {
	s, _ := newTestService(t, nil, Options{})
	makeUnwritable(t, s.tmp)
	if _, err := s.Save(context.Background(), strings.NewReader("x"), "text/plain", "", store.MediaOriginUpload); !errors.Is(err, ErrNotWritable) {
		t.Fatalf("Save = %v, want ErrNotWritable", err)
	}
}

// makeUnwritable takes write access to dir away, or skips the test when
// this process writes there anyway (root ignores permission bits; then the
// immutable attribute is tried).
func makeUnwritable(t *testing.T, dir string) {
	t.Helper()
	probe := func() bool {
		f, err := os.CreateTemp(dir, "probe-*")
		if err != nil {
			return false
		}
		f.Close()
		os.Remove(f.Name())
		return true
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	if !probe() {
		return
	}
	if exec.Command("chattr", "+i", dir).Run() == nil {
		t.Cleanup(func() { exec.Command("chattr", "-i", dir).Run() })
		if !probe() {
			return
		}
	}
	t.Skip("the volume stays writable for this user (root, no immutable attribute support): cannot test ErrNotWritable here")
}

func TestVolumeErrorClassification(t *testing.T) {
	for _, err := range []error{fs.ErrPermission, &fs.PathError{Op: "open", Path: "x", Err: os.ErrPermission}} {
		if !errors.Is(volumeError(err), ErrNotWritable) {
			t.Errorf("%v not classified as not writable", err)
		}
	}
	if other := errors.New("disk on fire"); volumeError(other) != other {
		t.Error("an unrelated error was rewritten")
	}
}

func TestCleanFilename(t *testing.T) {
	for in, want := range map[string]string{
		"photo.jpg":              "photo.jpg",
		`C:\Users\me\report.pdf`: "report.pdf",
		"a/b/../c.txt":           "c.txt",
		"..":                     "",
		"bad\r\nname\x00.txt":    "badname.txt",
		strings.Repeat("é", 200): strings.Repeat("é", 127),
	} {
		if got := cleanFilename(in); got != want {
			t.Errorf("cleanFilename(%q) = %q, want %q", in, got, want)
		}
	}
}
