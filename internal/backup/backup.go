// Package backup exports and imports a server's configuration as one
// password-encrypted blob (spec §8.6): application settings, the
// registration, the profile (with the compliance information), media
// providers, two-step verification and the webhook CA bundle.
// Messages, callbacks and media files are not part of it, as on the
// On-Premises client. The API and the "wabiz backup"/"wabiz restore"
// commands both use it.
package backup

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/certs"
	"github.com/wabiz/wabiz/internal/core"
	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/profile"
	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/twostep"
)

// Documents are the stored documents a backup carries. Every part of the
// configuration is one document, so adding a part is adding its name here.
var Documents = []string{
	settings.DocumentName,
	core.RegistrationDocument,
	profile.AboutDocument,
	profile.PhotoDocument,
	profile.BusinessDocument,
	profile.ComplianceDocument,
	media.ProvidersDocument,
	twostep.Document,
	certs.WebhookCADocument,
}

// Store is the storage a backup reads and a restore writes.
type Store interface {
	GetDocument(ctx context.Context, name string) (store.Document, error)
	PutDocument(ctx context.Context, name string, body []byte, expectVersion int64, now time.Time) (int64, error)
}

// Options configure a Service.
type Options struct {
	Store Store
	// Documents overrides the package's Documents list (tests).
	Documents []string
	// KDF is the cost of new backups; zero means DefaultKDF.
	KDF KDFParams
	// SettingsRules are the server's rules for application settings; a
	// restored settings part must follow them as a PATCH would.
	SettingsRules settings.PatchRules
	// AfterRestore run after a successful restore, in order, so the running
	// services pick up what was written behind them (settings cache, the
	// core's registration, the profile on the network). A failure is logged
	// and reported; the data is restored by then.
	AfterRestore []func(ctx context.Context) error
	Log          *slog.Logger
	Now          func() time.Time
}

// Service makes and restores backups.
type Service struct {
	o Options
}

// New builds the service.
func New(o Options) *Service {
	if o.Documents == nil {
		o.Documents = Documents
	}
	if o.KDF == (KDFParams{}) {
		o.KDF = DefaultKDF
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{o: o}
}

// contents is the plaintext of a backup. A document absent from the
// server when the backup was made is absent here and left alone on
// restore.
type contents struct {
	Format    int                        `json:"format"`
	CreatedAt time.Time                  `json:"created_at"`
	Documents map[string]json.RawMessage `json:"documents"`
}

// Backup returns the encrypted blob, base64 as the API carries it.
func (s *Service) Backup(ctx context.Context, password string) (string, error) {
	if password == "" {
		return "", apierr.MissingParam("password")
	}
	c := contents{Format: formatVersion, CreatedAt: s.o.Now().UTC(), Documents: map[string]json.RawMessage{}}
	for _, name := range s.o.Documents {
		doc, err := s.o.Store.GetDocument(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		if !json.Valid(doc.Body) {
			return "", fmt.Errorf("backup: stored %s is not JSON", name)
		}
		c.Documents[name] = json.RawMessage(doc.Body)
	}
	plain, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	blob, err := seal(plain, []byte(password), s.o.KDF)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(blob), nil
}

// ErrUnreadable is the API error for a blob that does not open. The spec
// leaves the code open (1005 or 1009); a bad parameter value is what the
// client sent, so 400/1009.
func ErrUnreadable() *apierr.Error {
	return apierr.New(1009, "Parameter 'data' could not be decrypted: wrong password or damaged backup")
}

// Restore decrypts and checks the whole blob before writing anything, then
// writes every document it holds. When a write fails, the documents already
// written are put back as they were, so a failed restore leaves the previous
// configuration rather than half of each.
func (s *Service) Restore(ctx context.Context, password, data string) error {
	if password == "" {
		return apierr.MissingParam("password")
	}
	if data == "" {
		return apierr.MissingParam("data")
	}
	blob, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return ErrUnreadable()
	}
	plain, err := open(blob, []byte(password))
	if err != nil {
		s.o.Log.Warn("restore refused", "err", err)
		return ErrUnreadable()
	}
	var c contents
	if err := json.Unmarshal(plain, &c); err != nil || c.Format != formatVersion {
		return ErrUnreadable()
	}
	known := map[string]bool{}
	for _, n := range s.o.Documents {
		known[n] = true
	}
	for _, name := range slices.Sorted(maps.Keys(c.Documents)) {
		body := c.Documents[name]
		// A part this version does not know (a newer wabiz's backup) is
		// refused rather than dropped silently.
		if !known[name] || !json.Valid(body) {
			return apierr.Newf(1009, "Parameter 'data' holds an unsupported part '%s'", name)
		}
		// The blob is the client's to make: each part must be one its
		// owner loads and could have written, or the server would stop at
		// its next start (or worse) with the restored configuration.
		if err := s.check(name, body); err != nil {
			return apierr.Newf(1009, "Parameter 'data' holds an unusable part '%s': %v", name, err)
		}
	}
	if err := s.write(ctx, c.Documents); err != nil {
		return err
	}
	var failed error
	for _, fn := range s.o.AfterRestore {
		if err := fn(ctx); err != nil {
			s.o.Log.Error("restored, but a service did not pick it up; restart the server", "err", err)
			failed = errors.Join(failed, err)
		}
	}
	return failed
}

// check applies the owner's rules to a restored part.
func (s *Service) check(name string, body json.RawMessage) error {
	switch name {
	case settings.DocumentName:
		return settings.CheckDocument(body, s.o.SettingsRules)
	case core.RegistrationDocument:
		return core.CheckRegistrationDocument(body)
	case profile.AboutDocument, profile.PhotoDocument, profile.BusinessDocument, profile.ComplianceDocument:
		return profile.CheckDocument(name, body)
	case twostep.Document:
		return twostep.CheckDocument(body)
	case media.ProvidersDocument:
		return media.CheckProvidersDocument(body)
	case certs.WebhookCADocument:
		return certs.CheckWebhookCADocument(body)
	}
	return nil
}

type previous struct {
	name    string
	body    []byte
	existed bool
	version int64 // the version our write produced
}

func (s *Service) write(ctx context.Context, docs map[string]json.RawMessage) error {
	var done []previous
	for _, name := range s.o.Documents { // a fixed order: deterministic, testable
		body, ok := docs[name]
		if !ok {
			continue
		}
		prev := previous{name: name}
		version := int64(0)
		cur, err := s.o.Store.GetDocument(ctx, name)
		switch {
		case err == nil:
			prev.body, prev.existed, version = cur.Body, true, cur.Version
		case !errors.Is(err, store.ErrNotFound):
			return errors.Join(err, s.undo(ctx, done))
		}
		v, err := s.o.Store.PutDocument(ctx, name, body, version, s.o.Now())
		if err != nil {
			return errors.Join(fmt.Errorf("backup: restoring %s: %w", name, err), s.undo(ctx, done))
		}
		prev.version = v
		done = append(done, prev)
	}
	return nil
}

// undo puts back what write changed, newest first. A document that did not
// exist before cannot be deleted through the document store; it gets JSON
// null, which every owner decodes as "not set".
func (s *Service) undo(ctx context.Context, done []previous) error {
	var errs error
	for i := len(done) - 1; i >= 0; i-- {
		p := done[i]
		body := p.body
		if !p.existed {
			body = []byte("null")
		}
		if _, err := s.o.Store.PutDocument(ctx, p.name, body, p.version, s.o.Now()); err != nil {
			errs = errors.Join(errs, fmt.Errorf("backup: undoing %s: %w", p.name, err))
		}
	}
	return errs
}
