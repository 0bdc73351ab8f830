package profile

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"

	"github.com/wabiz/wabiz/internal/apierr"
)

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

// EnableTwoStep is POST /v1/settings/account/two-step: the PIN must be six
// digits; a new PIN replaces the old one.
func (s *Service) EnableTwoStep(ctx context.Context, body map[string]json.RawMessage) error {
	pin, err := stringParam(body, "pin")
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
	return writeDoc(ctx, s.store, TwoStepDocument, func([]byte) ([]byte, error) { return body2, nil }, s.now())
}

// DisableTwoStep is DELETE /v1/settings/account/two-step.
func (s *Service) DisableTwoStep(ctx context.Context) error {
	body, _ := json.Marshal(twoStepDoc{})
	return writeDoc(ctx, s.store, TwoStepDocument, func([]byte) ([]byte, error) { return body, nil }, s.now())
}

// TwoStepEnabled reports whether a PIN is set.
func (s *Service) TwoStepEnabled(ctx context.Context) (bool, error) {
	var d twoStepDoc
	err := readDoc(ctx, s.store, TwoStepDocument, &d)
	return d.Enabled, err
}

// CheckPin is the two-step check of a (re-)registration: with two-step on,
// pin must be given (400/1008) and match (400/1009); with it off, any pin is
// accepted and ignored, as WhatsApp did.
func CheckPin(ctx context.Context, st Store, pin string) error {
	var d twoStepDoc
	if err := readDoc(ctx, st, TwoStepDocument, &d); err != nil {
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

// Bounds of a stored PIN hash: what EnableTwoStep writes is well inside.
const (
	maxPinTime   = 16
	maxPinMemory = 1 << 20 // KiB: 1 GiB
)

// check reports a stored document CheckPin could not use, or could use
// only at an unbounded cost.
func (d twoStepDoc) check() error {
	if !d.Enabled {
		return nil
	}
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
