// Package media is the media volume and everything about media bytes: files
// stored by id under a directory, their metadata rows, type sniffing, the
// per-kind rules of what WhatsApp accepts, sample files for the sandbox,
// downloads of media sent by link, and the named link credentials (media
// providers).
package media

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/store"
)

// Store is the storage the service needs: media rows and, for providers,
// the documents table.
type Store interface {
	InsertMedia(ctx context.Context, m store.Media) error
	GetMedia(ctx context.Context, id string) (store.Media, error)
	UpdateMedia(ctx context.Context, m store.Media) error
	DeleteMedia(ctx context.Context, id string) error
	TouchMedia(ctx context.Context, id string, now time.Time) error
	GetDocument(ctx context.Context, name string) (store.Document, error)
	PutDocument(ctx context.Context, name string, body []byte, expectVersion int64, now time.Time) (int64, error)
}

// Errors callers branch on.
var (
	ErrNotFound    = errors.New("media: not found")
	ErrPending     = errors.New("media: not downloaded yet")
	ErrTooLarge    = errors.New("media: larger than the upload limit")
	ErrNotWritable = errors.New("media: the media directory is not writable")
	ErrIDConflict  = errors.New("media: id conflict")
	ErrBuiltIn     = errors.New("media: the file is built into the server")
)

// Options configure a Service.
type Options struct {
	Dir   string // the media volume; created (0700) when missing
	Store Store
	Now   func() time.Time
	// MaxBytes caps one stored file (default MaxUploadBytes).
	MaxBytes int64
	Fetch    FetchOptions
}

// Service owns the media volume. Several nodes may share one volume (a
// network file system) and one database: files are written under a temporary
// name and renamed into place, and a row is inserted only once its file is
// there, so no node ever sees half a file.
type Service struct {
	dir   string
	tmp   string
	store Store
	now   func() time.Time
	max   int64
	fetch *fetcher
}

// tmpDirName holds files being written; it lives in the volume so that the
// final rename stays on one file system (and so is atomic).
const tmpDirName = "tmp"

// New opens (and creates) the volume.
func New(o Options) (*Service, error) {
	if o.Dir == "" {
		return nil, errors.New("media: no media directory configured")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = MaxUploadBytes
	}
	if o.Fetch.MaxBytes <= 0 {
		o.Fetch.MaxBytes = o.MaxBytes
	}
	s := &Service{dir: o.Dir, tmp: filepath.Join(o.Dir, tmpDirName), store: o.Store, now: o.Now, max: o.MaxBytes, fetch: newFetcher(o.Fetch)}
	if err := os.MkdirAll(s.tmp, 0o700); err != nil {
		return nil, fmt.Errorf("media: create media directory: %w", err)
	}
	return s, nil
}

// Dir is the volume's directory.
func (s *Service) Dir() string { return s.dir }

// MaxBytes is the largest file the service stores.
func (s *Service) MaxBytes() int64 { return s.max }

// Save stores the bytes of r as a new media: streamed to a temporary file in
// the volume while its size and SHA-256 are computed, refused past MaxBytes
// (ErrTooLarge), synced, renamed into place, then recorded. On any failure
// nothing is left: no file, no row. The stored type is chooseMIME's.
func (s *Service) Save(ctx context.Context, r io.Reader, declaredMIME, filename, origin string) (store.Media, error) {
	sp, err := s.spool(ctx, r)
	if err != nil {
		return store.Media{}, err
	}
	defer sp.discard()
	m := store.Media{
		MimeType: chooseMIME(declaredMIME, sp.head), Size: sp.size, SHA256: sp.sha256,
		Filename: cleanFilename(filename), Origin: origin, Status: store.MediaStatusStored,
	}
	m.CreatedAt = s.now()
	m.LastUsedAt = m.CreatedAt
	for attempt := 0; ; attempt++ {
		if m.ID, err = newID(); err != nil {
			return store.Media{}, err
		}
		// A taken id (122 random bits: never, in practice) must not let
		// the rename replace another media's file.
		if _, err := os.Lstat(s.path(m.ID)); err == nil {
			if attempt < 3 {
				continue
			}
			return store.Media{}, ErrIDConflict
		}
		break
	}
	if err := sp.place(s.path(m.ID)); err != nil {
		return store.Media{}, err
	}
	if err := s.store.InsertMedia(ctx, m); err != nil {
		os.Remove(s.path(m.ID))
		if errors.Is(err, store.ErrExists) {
			return store.Media{}, ErrIDConflict
		}
		return store.Media{}, err
	}
	return m, nil
}

// EnsureBuiltIn makes id hold exactly data, for a file the server itself
// ships (the first-party stickers) under an id that never changes: the file
// is written when it is missing or different (a volume restored without it,
// a release that redraws it), then the row is inserted, or corrected when it
// describes other bytes. Several nodes may ensure the same file at once:
// they write the same bytes, each rename is atomic, and the row is inserted
// only where absent. An id taken by a file that is not built in is
// ErrIDConflict, and nothing is written.
func (s *Service) EnsureBuiltIn(ctx context.Context, id string, data []byte, mimeType, filename, kind string) (store.Media, error) {
	if !validID(id) {
		return store.Media{}, fmt.Errorf("media: %q is not a media id", id)
	}
	existing, err := s.store.GetMedia(ctx, id)
	switch {
	case err == nil && existing.Origin != store.MediaOriginBuiltIn:
		return store.Media{}, fmt.Errorf("%w: %s is a file of origin %s", ErrIDConflict, id, existing.Origin)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return store.Media{}, err
	}
	if onDisk, err := os.ReadFile(s.path(id)); err != nil || !bytes.Equal(onDisk, data) {
		sp, err := s.spool(ctx, bytes.NewReader(data))
		if err != nil {
			return store.Media{}, err
		}
		defer sp.discard()
		if err := sp.place(s.path(id)); err != nil {
			return store.Media{}, err
		}
	}
	sum := sha256.Sum256(data)
	now := s.now()
	m := store.Media{
		ID: id, MimeType: mimeType, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Filename: filename,
		Origin: store.MediaOriginBuiltIn, Status: store.MediaStatusStored, Kind: kind, CreatedAt: now, LastUsedAt: now,
	}
	err = s.store.InsertMedia(ctx, m)
	if !errors.Is(err, store.ErrExists) {
		return m, err
	}
	if existing, err = s.store.GetMedia(ctx, id); err != nil {
		return store.Media{}, err
	}
	if existing.SHA256 == m.SHA256 && existing.Size == m.Size && existing.MimeType == m.MimeType &&
		existing.Filename == m.Filename && existing.Status == m.Status {
		return existing, nil
	}
	existing.SHA256, existing.Size, existing.MimeType, existing.Filename, existing.Status = m.SHA256, m.Size, m.MimeType, m.Filename, m.Status
	return existing, s.store.UpdateMedia(ctx, existing)
}

// CreatePending records an inbound media the network announced but that is
// not downloaded yet; Complete stores its bytes later.
func (s *Service) CreatePending(ctx context.Context, kind, mimeType, networkID, filename string) (store.Media, error) {
	id, err := newID()
	if err != nil {
		return store.Media{}, err
	}
	if norm, err := NormalizeMIME(mimeType); err == nil {
		mimeType = norm
	}
	now := s.now()
	m := store.Media{
		ID: id, MimeType: mimeType, Filename: cleanFilename(filename), Origin: store.MediaOriginInbound,
		Status: store.MediaStatusPending, NetworkID: networkID, Kind: kind, CreatedAt: now, LastUsedAt: now,
	}
	if err := s.store.InsertMedia(ctx, m); err != nil {
		if errors.Is(err, store.ErrExists) {
			return store.Media{}, ErrIDConflict
		}
		return store.Media{}, err
	}
	return m, nil
}

// Complete stores the downloaded bytes of a pending media under its id.
// mimeType and filename replace the announced ones when not empty. Completing
// an already stored media replaces its file (a repeated download).
func (s *Service) Complete(ctx context.Context, id string, r io.Reader, mimeType, filename string) (store.Media, error) {
	m, err := s.get(ctx, id)
	if err != nil {
		return store.Media{}, err
	}
	sp, err := s.spool(ctx, r)
	if err != nil {
		return store.Media{}, err
	}
	defer sp.discard()
	if mimeType != "" || m.MimeType == "" {
		m.MimeType = chooseMIME(mimeType, sp.head)
	}
	if filename != "" {
		m.Filename = cleanFilename(filename)
	}
	m.Status, m.Size, m.SHA256 = store.MediaStatusStored, sp.size, sp.sha256
	if err := sp.place(s.path(m.ID)); err != nil {
		return store.Media{}, err
	}
	if err := s.store.UpdateMedia(ctx, m); err != nil {
		// The row vanished (deleted meanwhile): do not keep an orphan file.
		os.Remove(s.path(m.ID))
		if errors.Is(err, store.ErrNotFound) {
			return store.Media{}, ErrNotFound
		}
		return store.Media{}, err
	}
	return m, nil
}

// Get reads a media's metadata; ErrNotFound when unknown.
func (s *Service) Get(ctx context.Context, id string) (store.Media, error) { return s.get(ctx, id) }

// Open returns a stored media and its bytes. A pending inbound media is
// ErrPending (with its metadata), an unknown one ErrNotFound. A read is a use:
// it restarts the garbage collector's clock.
func (s *Service) Open(ctx context.Context, id string) (store.Media, io.ReadSeekCloser, error) {
	m, err := s.get(ctx, id)
	if err != nil {
		return store.Media{}, nil, err
	}
	if m.Status == store.MediaStatusPending {
		return m, nil, ErrPending
	}
	f, err := os.Open(s.path(m.ID))
	if errors.Is(err, fs.ErrNotExist) {
		// The row outlived its file (volume restored without it).
		return store.Media{}, nil, fmt.Errorf("%w: the file of %s is missing from the media directory", ErrNotFound, id)
	}
	if err != nil {
		return store.Media{}, nil, err
	}
	// Recording the use is secondary: a failure must not fail the read.
	_ = s.store.TouchMedia(ctx, m.ID, s.now())
	return m, f, nil
}

// CheckStored applies CheckKind to a stored media about to be sent as kind,
// reading its first bytes from the volume. The media comes back with the
// type it is sent with (resolveMIME's: a row stored before that rule, with
// plain audio/ogg over Opus bytes, goes out as Ogg/Opus). The
// *apierr.Error is the refusal to report; the error is ErrNotFound,
// ErrPending or a storage failure.
func (s *Service) CheckStored(ctx context.Context, kind, id string) (store.Media, *apierr.Error, error) {
	m, err := s.get(ctx, id)
	if err != nil {
		return store.Media{}, nil, err
	}
	if m.Status == store.MediaStatusPending {
		return m, nil, ErrPending
	}
	f, err := os.Open(s.path(m.ID))
	if errors.Is(err, fs.ErrNotExist) {
		return store.Media{}, nil, fmt.Errorf("%w: the file of %s is missing from the media directory", ErrNotFound, id)
	}
	if err != nil {
		return store.Media{}, nil, err
	}
	defer f.Close()
	head := make([]byte, SniffLen)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return store.Media{}, nil, err
	}
	resolved, kindErr := checkKind(kind, m.MimeType, head[:n], m.Size)
	if kindErr != nil {
		return m, kindErr, nil
	}
	m.MimeType = resolved
	return m, nil, nil
}

// Touch records a use of the media (a send).
func (s *Service) Touch(ctx context.Context, id string) error {
	err := s.store.TouchMedia(ctx, id, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// Delete removes a media: the row first, so nobody is handed a media whose
// file is going; then the file. ErrNotFound when unknown, ErrBuiltIn for a
// file the server ships (a first-party sticker every client may send).
func (s *Service) Delete(ctx context.Context, id string) error {
	m, err := s.get(ctx, id)
	if err != nil {
		return err
	}
	if m.Origin == store.MediaOriginBuiltIn {
		return ErrBuiltIn
	}
	id = m.ID
	if err := s.store.DeleteMedia(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		return err
	}
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (s *Service) get(ctx context.Context, id string) (store.Media, error) {
	id = strings.ToLower(id) // ids are handed out in lower case; clients may not keep it
	if !validID(id) {
		return store.Media{}, ErrNotFound
	}
	m, err := s.store.GetMedia(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Media{}, ErrNotFound
	}
	return m, err
}

// path is <dir>/<first two characters of the id>/<id>: a few hundred
// subdirectories keep any one directory small on large volumes.
func (s *Service) path(id string) string { return filepath.Join(s.dir, id[:2], id) }

// spooled is a file written to the volume's temporary directory.
type spooled struct {
	path   string
	size   int64
	sha256 string
	head   []byte
	placed bool
}

// spool copies r into a temporary file, hashing and counting as it goes.
func (s *Service) spool(ctx context.Context, r io.Reader) (*spooled, error) {
	f, err := os.CreateTemp(s.tmp, "incoming-*")
	if err != nil {
		return nil, volumeError(err)
	}
	sp := &spooled{path: f.Name()}
	fail := func(err error) (*spooled, error) {
		f.Close()
		os.Remove(sp.path)
		return nil, err
	}
	br := bufio.NewReaderSize(r, SniffLen)
	head, err := br.Peek(SniffLen)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return fail(err)
	}
	sp.head = append([]byte(nil), head...)
	hash := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, hash), io.LimitReader(ctxReader{ctx, br}, s.max+1))
	if err != nil {
		return fail(volumeError(err))
	}
	if n > s.max {
		return fail(ErrTooLarge)
	}
	if err := f.Sync(); err != nil {
		return fail(volumeError(err))
	}
	if err := f.Close(); err != nil {
		os.Remove(sp.path)
		return nil, volumeError(err)
	}
	sp.size, sp.sha256 = n, hex.EncodeToString(hash.Sum(nil))
	return sp, nil
}

// place renames the spooled file to its final path and syncs the directory
// so the new name survives a crash.
func (sp *spooled) place(final string) error {
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return volumeError(err)
	}
	if err := os.Rename(sp.path, final); err != nil {
		return volumeError(err)
	}
	sp.placed = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func (sp *spooled) discard() {
	if !sp.placed {
		os.Remove(sp.path)
	}
}

// ctxReader stops a long copy when the request is abandoned.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// volumeError marks the failures an operator fixes on the volume itself.
func volumeError(err error) error {
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("%w: %v", ErrNotWritable, err)
	}
	return err
}

// chooseMIME is the type a file is stored with: the declared one as the
// bytes read it (resolveMIME), so a generic or missing type becomes the
// sniffed one and Ogg/Opus declared plain audio/ogg is stored as Ogg/Opus.
func chooseMIME(declared string, head []byte) string {
	norm, err := NormalizeMIME(declared)
	if err != nil {
		norm = ""
	}
	return resolveMIME(norm, Detect(head))
}

// maxFilenameBytes keeps names within the column (512) with room to spare.
const maxFilenameBytes = 255

// cleanFilename keeps the last path element of a client's name, without
// control characters, at most maxFilenameBytes: it ends up in a
// Content-Disposition header.
func cleanFilename(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "." || name == ".." {
		return ""
	}
	for len(name) > maxFilenameBytes {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

// newID is a random (version 4) UUID, as the Webapp's media ids were.
func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// validID accepts what newID makes (any UUID layout in lower-case hex), so
// an id from a URL can never name a path outside the volume.
func validID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}
