// Package twostep is two-step verification: the six-digit PIN that
// POST /v1/settings/account/two-step sets and every later registration of
// the number must give (On-Premises REST spec §4). The PIN is kept only as
// an argon2id hash, in one stored document that backups carry.
package twostep

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/store"
)

// Document is the stored document holding the PIN's hash.
const Document = "account.two_step"

// Store is where the PIN's document is kept.
type Store interface {
	GetDocument(ctx context.Context, name string) (store.Document, error)
	UpdateDocument(ctx context.Context, name string, now time.Time, next func(old []byte) ([]byte, error)) error
}

// PINKeeper is a network that keeps the two-step PIN itself (the Cloud
// API): it is told a new PIN before the PIN is stored here.
type PINKeeper interface {
	SetPIN(ctx context.Context, pin string) error
}

// Service sets and clears the PIN.
type Service struct {
	store Store
	pin   PINKeeper // nil: no network to tell
	now   func() time.Time
}

// New builds the service; pin may be nil.
func New(st Store, pin PINKeeper, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, pin: pin, now: now}
}

// The PIN is kept only as an argon2id hash: six digits are a small space,
// so a slow, memory-hard hash is what makes a leaked database row costly to
// turn back into the PIN. Parameters are stored with the hash so they can
// be raised later without invalidating PINs set before.
type twoStepDoc struct {
	Enabled bool   `json:"enabled"`
	Salt    []byte `json:"salt,omitempty"`
	Hash    []byte `json:"hash,omitempty"`
	Time    uint32 `json:"time,omitempty"`
	Memory  uint32 `json:"memory_kib,omitempty"`
	Threads uint8  `json:"threads,omitempty"`
}

// argon2id parameters for new PINs (RFC 9106's second recommended option).
const (
	pinTime    = 1
	pinMemory  = 64 * 1024
	pinThreads = 4
	pinKeyLen  = 32
)

// Enable is POST /v1/settings/account/two-step: the PIN must be six
// digits; a new PIN replaces the old one.
func (s *Service) Enable(ctx context.Context, body map[string]json.RawMessage) error {
	pin, err := pinParam(body)
	switch {
	case err != nil:
		return err
	case pin == nil:
		return apierr.MissingParam("pin")
	case *pin == "":
		return apierr.New(1009, "Pin must not be empty")
	case !isSixDigits(*pin):
		return apierr.InvalidValue("pin", *pin)
	}
	if s.pin != nil {
		if err := s.pin.SetPIN(ctx, *pin); err != nil {
			return err
		}
	}
	d := twoStepDoc{Enabled: true, Salt: make([]byte, 16), Time: pinTime, Memory: pinMemory, Threads: pinThreads}
	if _, err := rand.Read(d.Salt); err != nil {
		return err
	}
	d.Hash = argon2.IDKey([]byte(*pin), d.Salt, d.Time, d.Memory, d.Threads, pinKeyLen)
	body2, err2 := json.Marshal(d)
	if err2 != nil {
		return err2
	}
	return s.store.UpdateDocument(ctx, Document, s.now(), func([]byte) ([]byte, error) { return body2, nil })
}

// Disable is DELETE /v1/settings/account/two-step.
func (s *Service) Disable(ctx context.Context) error {
	body, _ := json.Marshal(twoStepDoc{})
	return s.store.UpdateDocument(ctx, Document, s.now(), func([]byte) ([]byte, error) { return body, nil })
}

// Enabled reports whether a PIN is set.
func (s *Service) Enabled(ctx context.Context) (bool, error) {
	d, err := read(ctx, s.store)
	return d.Enabled, err
}

// Reader reads stored documents.
type Reader interface {
	GetDocument(ctx context.Context, name string) (store.Document, error)
}

// Check is the two-step check of a (re-)registration: with two-step on,
// pin must be given (400/1008) and match (400/1009); with it off, any pin is
// accepted and ignored, as WhatsApp did.
func Check(ctx context.Context, st Reader, pin string) error {
	d, err := read(ctx, st)
	if err != nil {
		return err
	}
	if !d.Enabled {
		return nil
	}
	if pin == "" {
		return apierr.Newf(1008, "Missing mandatory parameter 'pin': two-step verification is enabled")
	}
	// The parameters come from the database (or a restored backup): bounded
	// before they decide how much memory and time the check takes.
	if err := d.check(); err != nil {
		return err
	}
	got := argon2.IDKey([]byte(pin), d.Salt, d.Time, d.Memory, d.Threads, uint32(len(d.Hash)))
	if subtle.ConstantTimeCompare(got, d.Hash) != 1 {
		// The PIN is not echoed, unlike other invalid values.
		return apierr.New(1009, "Parameter 'pin' does not match the two-step verification PIN")
	}
	return nil
}

// Bounds of a stored PIN hash: what Enable writes is well inside.
const (
	maxPinTime   = 16
	maxPinMemory = 1 << 20 // KiB: 1 GiB
)

// CheckDocument reports whether body is a PIN document Check can use at a
// bounded cost: a restore checks the backup's part with it before writing it.
func CheckDocument(body []byte) error {
	var d twoStepDoc
	if err := json.Unmarshal(body, &d); err != nil {
		return fmt.Errorf("profile: %s does not decode: %w", Document, err)
	}
	return d.check()
}

func read(ctx context.Context, st Reader) (twoStepDoc, error) {
	var d twoStepDoc
	doc, err := st.GetDocument(ctx, Document)
	if errors.Is(err, store.ErrNotFound) {
		return d, nil
	}
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(doc.Body, &d); err != nil {
		return d, fmt.Errorf("twostep: stored %s is corrupt: %w", Document, err)
	}
	return d, nil
}

// pinParam reads the "pin" string of a body (nil when absent or null).
func pinParam(body map[string]json.RawMessage) (*string, *apierr.Error) {
	raw, ok := body["pin"]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return nil, apierr.InvalidValue("pin", string(raw))
	}
	return &v, nil
}

// check reports a stored document Check could not use, or could use
// only at an unbounded cost.
func (d twoStepDoc) check() error {
	if !d.Enabled {
		return nil
	}
	// The texts reach clients in a refused restore's details; they kept
	// the words they had before two-step verification left package profile.
	switch {
	case len(d.Salt) < 8 || len(d.Hash) < 16 || len(d.Hash) > 64:
		return errors.New("profile: stored two-step PIN is incomplete")
	case d.Time == 0 || d.Time > maxPinTime || d.Threads == 0 || d.Memory < 8*uint32(d.Threads) || d.Memory > maxPinMemory:
		return fmt.Errorf("profile: stored two-step PIN has unusable hash parameters (time %d, memory %d KiB, threads %d)", d.Time, d.Memory, d.Threads)
	}
	return nil
}

func isSixDigits(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
