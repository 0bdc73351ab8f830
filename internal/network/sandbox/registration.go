package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
)

// Certificates: a real verified-name certificate is a signed blob (base64)
// that WhatsApp Manager issues for a number and display name. The sandbox
// issues its own in the same spirit: base64 of {"details": base64(JSON of
// the number and name), "signature": base64(HMAC-SHA256 with the sandbox's
// key)}, so only certificates this sandbox issued register.

type certificate struct {
	Details   string `json:"details"`
	Signature string `json:"signature"`
}

type certDetails struct {
	CC          string `json:"cc"`
	PhoneNumber string `json:"phone_number"`
	VName       string `json:"vname"`
	Serial      string `json:"serial"`
	IssuedAt    int64  `json:"issued_at"`
}

const certKeySecret = "sandbox_certificate_key"

// IssueCertificate makes a certificate for a number and display name.
func (s *Sandbox) IssueCertificate(ctx context.Context, cc, phone, vname string) (string, error) {
	key, err := s.store.Secret(ctx, certKeySecret, s.now())
	if err != nil {
		return "", err
	}
	details, _ := json.Marshal(certDetails{CC: cc, PhoneNumber: phone, VName: vname, Serial: randomDigits(12), IssuedAt: s.now().Unix()})
	cert, _ := json.Marshal(certificate{
		Details:   base64.StdEncoding.EncodeToString(details),
		Signature: base64.StdEncoding.EncodeToString(sign(key, details)),
	})
	return base64.StdEncoding.EncodeToString(cert), nil
}

func sign(key string, details []byte) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(details)
	return m.Sum(nil)
}

func (s *Sandbox) verifyCertificate(ctx context.Context, cert string) (certDetails, error) {
	bad := &network.Error{Code: 1009, Details: "Parameter 'cert' has invalid value: not a certificate issued for this number by this sandbox"}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cert))
	if err != nil {
		return certDetails{}, bad
	}
	var c certificate
	if json.Unmarshal(raw, &c) != nil {
		return certDetails{}, bad
	}
	details, err1 := base64.StdEncoding.DecodeString(c.Details)
	sig, err2 := base64.StdEncoding.DecodeString(c.Signature)
	if err1 != nil || err2 != nil {
		return certDetails{}, bad
	}
	key, err := s.store.Secret(ctx, certKeySecret, s.now())
	if err != nil {
		return certDetails{}, err
	}
	if !hmac.Equal(sig, sign(key, details)) {
		return certDetails{}, bad
	}
	var d certDetails
	if json.Unmarshal(details, &d) != nil {
		return certDetails{}, bad
	}
	return d, nil
}

// pendingRegistration is a code request waiting for its code.
type pendingRegistration struct {
	Account   network.Account `json:"account"`
	Method    string          `json:"method"`
	Code      string          `json:"code"`
	ExpiresAt int64           `json:"expires_at"` // Unix ms
}

// RequestCode implements network.Network: the certificate must be one this
// sandbox issued for that very number; the code "sent" by SMS or voice can
// be read through the control API.
func (s *Sandbox) RequestCode(ctx context.Context, req network.CodeRequest) (network.CodeResult, error) {
	d, err := s.verifyCertificate(ctx, req.Cert)
	if err != nil {
		return network.CodeResult{}, err
	}
	if d.CC != req.CC || d.PhoneNumber != req.PhoneNumber {
		return network.CodeResult{}, &network.Error{Code: 1009, Details: fmt.Sprintf(
			"Parameter 'cert' has invalid value: the certificate was issued for +%s %s, not +%s %s", d.CC, d.PhoneNumber, req.CC, req.PhoneNumber)}
	}
	w, err := s.World(ctx)
	if err != nil {
		return network.CodeResult{}, err
	}
	p := pendingRegistration{
		Account:   network.Account{CC: req.CC, PhoneNumber: req.PhoneNumber, WaID: req.CC + req.PhoneNumber, VName: d.VName},
		Method:    req.Method,
		Code:      randomDigits(6),
		ExpiresAt: s.now().Add(time.Duration(w.CodeTTLSeconds) * time.Second).UnixMilli(),
	}
	if err := s.putPending(ctx, &p); err != nil {
		return network.CodeResult{}, err
	}
	return network.CodeResult{VName: d.VName}, nil
}

// Register implements network.Network.
func (s *Sandbox) Register(ctx context.Context, code string) (network.Account, error) {
	p, err := s.pendingRegistration(ctx)
	if err != nil {
		return network.Account{}, err
	}
	if p == nil || p.Code == "" {
		return network.Account{}, &network.Error{Code: 1005, Details: "No registration code was requested: call POST /v1/account first"}
	}
	if s.now().UnixMilli() > p.ExpiresAt {
		return network.Account{}, &network.Error{Code: 1005, Details: "The registration code has expired: request a new one"}
	}
	if !hmac.Equal([]byte(code), []byte(p.Code)) {
		return network.Account{}, &network.Error{Code: 1005, Details: "Invalid registration code"}
	}
	acct := p.Account
	if err := s.putPending(ctx, nil); err != nil {
		return network.Account{}, err
	}
	return acct, nil
}

// PendingCode is the code of the registration in progress ("" when none),
// as the business would have received it by SMS or voice.
func (s *Sandbox) PendingCode(ctx context.Context) (string, error) {
	p, err := s.pendingRegistration(ctx)
	if err != nil || p == nil || s.now().UnixMilli() > p.ExpiresAt {
		return "", err
	}
	return p.Code, nil
}

func (s *Sandbox) pendingRegistration(ctx context.Context) (*pendingRegistration, error) {
	doc, err := s.store.GetDocument(ctx, registrationDocument)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p pendingRegistration
	if err := json.Unmarshal(doc.Body, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// putPending stores (or, with nil, clears) the pending registration.
func (s *Sandbox) putPending(ctx context.Context, p *pendingRegistration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p == nil {
		p = &pendingRegistration{}
	}
	body, _ := json.Marshal(p)
	for attempt := 0; attempt < 5; attempt++ {
		version := int64(0)
		if doc, err := s.store.GetDocument(ctx, registrationDocument); err == nil {
			version = doc.Version
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		_, err := s.store.PutDocument(ctx, registrationDocument, body, version, s.now())
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return store.ErrConflict
}
