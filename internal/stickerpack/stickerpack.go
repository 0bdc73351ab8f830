// Package stickerpack is the sticker packs (spec §12): pack metadata and
// stickers whose images are WebP files on the media volume. The business's
// own (third-party) packs are managed through the API; the first-party
// namespace holds the one pack wabiz ships (firstparty.go), read-only.
package stickerpack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/message"
	"github.com/wabiz/wabiz/internal/store"
)

// Limits. WhatsApp's sticker-app rules: a pack holds 3 to 30 stickers (the
// lower bound only matters when a pack is published, so it is not enforced
// while one is being filled), name and publisher are at most 128 characters,
// a sticker carries at most 3 emojis.
const (
	MaxStickers    = 30
	MaxTextChars   = 128
	MaxEmojis      = 3
	maxLinkChars   = message.MaxLinkChars
	stickerKind    = media.KindSticker
	maxCreateTries = 3
)

// Store is the storage the service needs.
type Store interface {
	InsertStickerpack(ctx context.Context, p store.Stickerpack) error
	GetStickerpack(ctx context.Context, namespace, id string) (store.Stickerpack, error)
	ListStickerpacks(ctx context.Context, namespace string) ([]store.Stickerpack, error)
	UpdateStickerpack(ctx context.Context, p store.Stickerpack) error
	DeleteStickerpack(ctx context.Context, namespace, id string) error
	AddSticker(ctx context.Context, namespace string, st store.Sticker, maxStickers int) (int64, error)
	ListStickers(ctx context.Context, packID string) ([]store.Sticker, error)
	GetSticker(ctx context.Context, packID string, index int64) (store.Sticker, error)
	UpdateSticker(ctx context.Context, st store.Sticker) error
	DeleteSticker(ctx context.Context, packID string, index int64) error
	EnsureStickerpack(ctx context.Context, p store.Stickerpack, stickers []store.Sticker) error
}

// MediaVolume checks a sticker image the way a sticker send is checked, so
// a pack can never hold an image that could not be sent, and keeps the
// first-party images.
type MediaVolume interface {
	CheckStored(ctx context.Context, kind, id string) (store.Media, *apierr.Error, error)
	Touch(ctx context.Context, id string) error
	EnsureBuiltIn(ctx context.Context, id string, data []byte, mimeType, filename, kind string) (store.Media, error)
}

// Service implements the stickerpack node.
type Service struct {
	store Store
	media MediaVolume
	now   func() time.Time
}

// New builds the service; now defaults to time.Now.
func New(st Store, mv MediaVolume, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, media: mv, now: now}
}

// Fields are a pack's metadata as a request gives them: nil means absent.
type Fields struct {
	Publisher, Name, IOSLink, AndroidLink *string
}

// StickerFields are a sticker's as a request gives them: nil means absent.
type StickerFields struct {
	ImageDataID *string
	Emojis      []string
	HasEmojis   bool
}

// List returns the packs of namespace.
func (s *Service) List(ctx context.Context, namespace string) ([]store.Stickerpack, error) {
	return s.store.ListStickerpacks(ctx, namespace)
}

// Create makes a third-party pack and returns it.
func (s *Service) Create(ctx context.Context, namespace string, f Fields) (store.Stickerpack, error) {
	if err := writable(namespace); err != nil {
		return store.Stickerpack{}, err
	}
	var errs apierr.List
	if f.Publisher == nil {
		errs.Merge(apierr.MissingParam("publisher"))
	}
	if f.Name == nil {
		errs.Merge(apierr.MissingParam("name"))
	}
	errs.Merge(checkFields(f))
	if err := errs.Err(); err != nil {
		return store.Stickerpack{}, err
	}
	now := s.now()
	p := store.Stickerpack{Namespace: namespace, Publisher: *f.Publisher, Name: *f.Name, CreatedAt: now, UpdatedAt: now}
	apply(&p, f)
	for attempt := 0; ; attempt++ {
		p.ID = newID()
		err := s.store.InsertStickerpack(ctx, p)
		if errors.Is(err, store.ErrExists) && attempt < maxCreateTries {
			continue
		}
		if errors.Is(err, store.ErrExists) {
			return store.Stickerpack{}, apierr.New(1004, "Possible id conflict. Try again")
		}
		return p, err
	}
}

// Get returns one pack.
func (s *Service) Get(ctx context.Context, namespace, id string) (store.Stickerpack, error) {
	p, err := s.store.GetStickerpack(ctx, namespace, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Stickerpack{}, packNotFound(id)
	}
	return p, err
}

// Update changes the given fields of a pack.
func (s *Service) Update(ctx context.Context, namespace, id string, f Fields) error {
	if err := writable(namespace); err != nil {
		return err
	}
	if f.Publisher == nil && f.Name == nil && f.IOSLink == nil && f.AndroidLink == nil {
		return apierr.New(1008, "Atleast one of the following parameters must be present: 'publisher', 'name', 'ios_app_store_link', 'android_app_store_link'")
	}
	if err := checkFields(f); err != nil {
		return err
	}
	// Read-modify-write: two concurrent PATCHes of the same pack may lose
	// one's fields, as with any last-writer-wins resource.
	p, err := s.Get(ctx, namespace, id)
	if err != nil {
		return err
	}
	apply(&p, f)
	p.UpdatedAt = s.now()
	if err := s.store.UpdateStickerpack(ctx, p); errors.Is(err, store.ErrNotFound) {
		return packNotFound(id)
	} else if err != nil {
		return err
	}
	return nil
}

// Delete removes a pack and its stickers; their images stay on the media
// volume (they are media the business uploaded and may send on their own).
func (s *Service) Delete(ctx context.Context, namespace, id string) error {
	if err := writable(namespace); err != nil {
		return err
	}
	if err := s.store.DeleteStickerpack(ctx, namespace, id); errors.Is(err, store.ErrNotFound) {
		return packNotFound(id)
	} else if err != nil {
		return err
	}
	return nil
}

// Stickers lists the stickers of a pack.
func (s *Service) Stickers(ctx context.Context, namespace, packID string) ([]store.Sticker, error) {
	if _, err := s.Get(ctx, namespace, packID); err != nil {
		return nil, err
	}
	return s.store.ListStickers(ctx, packID)
}

// AddSticker appends a sticker and returns its index.
func (s *Service) AddSticker(ctx context.Context, namespace, packID string, f StickerFields) (int64, error) {
	if err := writable(namespace); err != nil {
		return 0, err
	}
	var errs apierr.List
	if f.ImageDataID == nil {
		errs.Merge(apierr.MissingParam("image_data_id"))
	}
	errs.Merge(checkEmojis(f))
	if err := errs.Err(); err != nil {
		return 0, err
	}
	if _, err := s.Get(ctx, namespace, packID); err != nil {
		return 0, err
	}
	imageID, err := s.checkImage(ctx, *f.ImageDataID)
	if err != nil {
		return 0, err
	}
	now := s.now()
	st := store.Sticker{PackID: packID, ImageDataID: imageID, Emojis: f.Emojis, CreatedAt: now, UpdatedAt: now}
	index, err := s.store.AddSticker(ctx, namespace, st, MaxStickers)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return 0, packNotFound(packID)
	case errors.Is(err, store.ErrFull):
		return 0, apierr.Newf(1009, "Stickerpack %s already has %d stickers, the most a pack may hold", packID, MaxStickers)
	}
	return index, err
}

// Sticker returns one sticker of a pack.
func (s *Service) Sticker(ctx context.Context, namespace, packID, index string) (store.Sticker, error) {
	if _, err := s.Get(ctx, namespace, packID); err != nil {
		return store.Sticker{}, err
	}
	i, ok := parseIndex(index)
	if !ok {
		return store.Sticker{}, stickerNotFound(packID, index)
	}
	st, err := s.store.GetSticker(ctx, packID, i)
	if errors.Is(err, store.ErrNotFound) {
		return store.Sticker{}, stickerNotFound(packID, index)
	}
	return st, err
}

// UpdateSticker changes the image and/or emojis of a sticker.
func (s *Service) UpdateSticker(ctx context.Context, namespace, packID, index string, f StickerFields) error {
	if err := writable(namespace); err != nil {
		return err
	}
	if f.ImageDataID == nil && !f.HasEmojis {
		return apierr.New(1008, "Atleast one of the following parameters must be present: 'image_data_id', 'emojis'")
	}
	if err := checkEmojis(f); err != nil {
		return err
	}
	st, err := s.Sticker(ctx, namespace, packID, index)
	if err != nil {
		return err
	}
	if f.ImageDataID != nil {
		if st.ImageDataID, err = s.checkImage(ctx, *f.ImageDataID); err != nil {
			return err
		}
	}
	if f.HasEmojis {
		st.Emojis = f.Emojis
	}
	st.UpdatedAt = s.now()
	if err := s.store.UpdateSticker(ctx, st); errors.Is(err, store.ErrNotFound) {
		return stickerNotFound(packID, index)
	} else if err != nil {
		return err
	}
	return nil
}

// DeleteSticker removes one sticker; its index is not handed out again.
func (s *Service) DeleteSticker(ctx context.Context, namespace, packID, index string) error {
	if err := writable(namespace); err != nil {
		return err
	}
	st, err := s.Sticker(ctx, namespace, packID, index)
	if err != nil {
		return err
	}
	if err := s.store.DeleteSticker(ctx, packID, st.Index); errors.Is(err, store.ErrNotFound) {
		return stickerNotFound(packID, index)
	} else if err != nil {
		return err
	}
	return nil
}

// checkImage applies the sticker rules of a send (§7.4: WebP, 100 KB) to
// an uploaded media and returns its canonical (lower-case) id.
func (s *Service) checkImage(ctx context.Context, id string) (string, error) {
	m, kindErr, err := s.media.CheckStored(ctx, stickerKind, id)
	if errors.Is(err, media.ErrNotFound) || errors.Is(err, media.ErrPending) {
		return "", apierr.Newf(1006, "Media with id %s not found", id)
	}
	if err != nil {
		return "", err
	}
	if kindErr != nil {
		return "", kindErr
	}
	// A use restarts the media garbage collector's clock; failing to record
	// it must not fail the request.
	_ = s.media.Touch(ctx, m.ID)
	return m.ID, nil
}

// writable refuses changes to WhatsApp's own packs.
func writable(namespace string) error {
	if namespace == store.StickerpackNamespaceWhatsApp {
		return apierr.New(1005, "First-party sticker packs (namespace 'whatsapp') are read-only")
	}
	return nil
}

func checkFields(f Fields) *apierr.Error {
	var errs apierr.List
	for _, t := range []struct {
		name  string
		value *string
	}{{"publisher", f.Publisher}, {"name", f.Name}} {
		switch {
		case t.value == nil:
		case strings.TrimSpace(*t.value) == "":
			errs.Merge(apierr.InvalidValue(t.name, *t.value))
		case utf8.RuneCountInString(*t.value) > MaxTextChars:
			errs.Addf(1009, "Parameter '%s' is longer than %d characters", t.name, MaxTextChars)
		}
	}
	for _, t := range []struct {
		name  string
		value *string
	}{{"ios_app_store_link", f.IOSLink}, {"android_app_store_link", f.AndroidLink}} {
		// An empty string clears a link.
		if t.value != nil && *t.value != "" && !validLink(*t.value) {
			errs.Merge(apierr.InvalidValue(t.name, *t.value))
		}
	}
	return errs.Err()
}

func validLink(s string) bool {
	if len(s) > maxLinkChars {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

func checkEmojis(f StickerFields) *apierr.Error {
	if len(f.Emojis) > MaxEmojis {
		return apierr.Newf(1009, "Parameter 'emojis' has %d entries; a sticker takes at most %d", len(f.Emojis), MaxEmojis)
	}
	for _, e := range f.Emojis {
		if !message.IsSingleEmoji(e) {
			return apierr.InvalidValue("emojis", e)
		}
	}
	return nil
}

func apply(p *store.Stickerpack, f Fields) {
	if f.Publisher != nil {
		p.Publisher = *f.Publisher
	}
	if f.Name != nil {
		p.Name = *f.Name
	}
	if f.IOSLink != nil {
		p.IOSLink = *f.IOSLink
	}
	if f.AndroidLink != nil {
		p.AndroidLink = *f.AndroidLink
	}
}

// parseIndex accepts the decimal form the API hands out ("0", "1", ...).
func parseIndex(s string) (int64, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func packNotFound(id string) *apierr.Error {
	return apierr.Newf(1006, "Stickerpack with id %s not found", id)
}

func stickerNotFound(packID, index string) *apierr.Error {
	return apierr.Newf(1006, "Sticker with index %s not found in stickerpack %s", index, packID)
}

// newID is 32 random hex digits: Meta's pack ids are opaque strings, and
// 128 random bits never collide in practice.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
