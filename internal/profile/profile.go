// Package profile keeps what WhatsApp users see of the business (the "About"
// text, the profile photo, the business profile, the India compliance
// information) and the number's two-step verification PIN. Each is a small
// stored document, so every node sees the same values and a backup can
// carry them.
package profile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
)

// Stored document names. The backup package lists them among the parts of a
// backup.
const (
	AboutDocument    = "profile.about"
	PhotoDocument    = "profile.photo"
	BusinessDocument = "profile.business"
	// ComplianceDocument is the India compliance information.
	ComplianceDocument = "profile.compliance_info"
)

// Store is the storage the profile needs.
type Store interface {
	GetDocument(ctx context.Context, name string) (store.Document, error)
	UpdateDocument(ctx context.Context, name string, now time.Time, next func(old []byte) ([]byte, error)) error
}

// Publisher is a network that carries the business's profile to users
// (the sandbox's simulated users, the Cloud API).
type Publisher interface {
	PublishProfile(ctx context.Context, p network.BusinessProfile) error
}

// CompliancePublisher is a network that carries the business's compliance
// information to users (the Cloud API).
type CompliancePublisher interface {
	PublishComplianceInfo(ctx context.Context, c network.ComplianceInfo) error
}

// Service reads and changes the profile. Every change is stored first and
// then published to the network (when it carries profiles), so what users
// see follows what the API reports.
type Service struct {
	store     Store
	now       func() time.Time
	publisher Publisher
	// compliance carries the compliance information; nil when the
	// network has nowhere to show it.
	compliance CompliancePublisher
	log        *slog.Logger
}

// Options configure a Service. Publisher and Compliance may be nil (no
// network to tell).
type Options struct {
	Store      Store
	Publisher  Publisher
	Compliance CompliancePublisher
	Log        *slog.Logger
	Now        func() time.Time
}

// New builds the service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: o.Store, now: o.Now, publisher: o.Publisher, compliance: o.Compliance, log: o.Log}
}

type aboutDoc struct {
	Text string `json:"text"`
}

type photoDoc struct {
	JPEG []byte `json:"jpeg,omitempty"` // base64 in the document
}

// About returns the "About" text ("" when never set).
func (s *Service) About(ctx context.Context) (string, error) {
	var d aboutDoc
	err := readDoc(ctx, s.store, AboutDocument, &d)
	return d.Text, err
}

// ErrNoPhoto means no profile photo is set.
var ErrNoPhoto = errors.New("profile: no photo")

// Photo returns the stored JPEG.
func (s *Service) Photo(ctx context.Context) ([]byte, error) {
	var d photoDoc
	if err := readDoc(ctx, s.store, PhotoDocument, &d); err != nil {
		return nil, err
	}
	if len(d.JPEG) == 0 {
		return nil, ErrNoPhoto
	}
	return d.JPEG, nil
}

// SetPhoto checks and normalises an uploaded image (see ProcessPhoto) and
// stores it. Bad input is an *apierr.Error.
func (s *Service) SetPhoto(ctx context.Context, raw []byte) error {
	jpg, err := ProcessPhoto(raw)
	if err != nil {
		return err
	}
	return s.change(ctx, PhotoDocument, photoDoc{JPEG: jpg})
}

// DeletePhoto removes the photo; removing none is not an error.
func (s *Service) DeletePhoto(ctx context.Context) error {
	return s.change(ctx, PhotoDocument, photoDoc{})
}

// Snapshot is everything the network shows, as stored now.
func (s *Service) Snapshot(ctx context.Context) (network.BusinessProfile, error) {
	about, err := s.About(ctx)
	if err != nil {
		return network.BusinessProfile{}, err
	}
	b, err := s.BusinessProfile(ctx)
	if err != nil {
		return network.BusinessProfile{}, err
	}
	photo, err := s.Photo(ctx)
	if err != nil && !errors.Is(err, ErrNoPhoto) {
		return network.BusinessProfile{}, err
	}
	return network.BusinessProfile{
		About: about, Address: b.Address, Description: b.Description, Email: b.Email,
		Vertical: b.Vertical, Websites: b.Websites, HasPhoto: err == nil, Photo: photo,
	}, nil
}

// Publish tells the network the stored profile. A restore calls it, since
// it rewrote the documents behind the service's back.
func (s *Service) Publish(ctx context.Context) error {
	if s.publisher == nil {
		return nil
	}
	p, err := s.Snapshot(ctx)
	if err != nil {
		return err
	}
	if err := s.publisher.PublishProfile(ctx, p); err != nil {
		return fmt.Errorf("profile: publishing to the network: %w", err)
	}
	return nil
}

// change stores one document and publishes the result.
func (s *Service) change(ctx context.Context, name string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := writeDoc(ctx, s.store, name, func([]byte) ([]byte, error) { return body, nil }, s.now()); err != nil {
		return err
	}
	return s.Publish(ctx)
}

// readDoc decodes a document into v, leaving v as is when it was never
// written.
func readDoc(ctx context.Context, st Store, name string, v any) error {
	doc, err := st.GetDocument(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(doc.Body, v); err != nil {
		return fmt.Errorf("profile: stored %s is corrupt: %w", name, err)
	}
	return nil
}

// writeDoc runs a read-modify-write with the document's version, retrying
// when another node wrote in between.
func writeDoc(ctx context.Context, st Store, name string, next func(old []byte) ([]byte, error), now time.Time) error {
	return st.UpdateDocument(ctx, name, now, next)
}
