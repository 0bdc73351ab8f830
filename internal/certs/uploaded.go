package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// Certificates uploaded through /v1/certificates live in the documents table
// so that every node sharing the database finds them at start. Meta's Webapp
// kept the external certificate, private key included, in its certs table
// the same way; the database's own access control protects the key.
const (
	ExternalDocument  = "certificates.external"
	WebhookCADocument = "certificates.webhooks_ca"
)

// InvalidError is uploaded material that cannot be used; its message is
// meant for the API client verbatim (the API answers 1009).
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

func invalidf(format string, args ...any) error {
	return &InvalidError{Msg: fmt.Sprintf(format, args...)}
}

// ErrPinned refuses an upload when the operator configured the certificate
// files: the configuration wins at every start, so an upload would silently
// stop applying at the next restart.
var ErrPinned = errors.New("certs: the TLS certificate is set by WABIZ_TLS_CERT_FILE")

// External is a parsed uploaded bundle: the pair to serve and the PEM of the
// CA certificates it came with.
type External struct {
	Pair  tls.Certificate
	CAPEM []byte
}

// pemBlocks splits data into PEM blocks and rejects text that is not PEM
// at all, so a JSON or DER body gets a clear answer instead of "no
// certificate".
func pemBlocks(data []byte) ([]*pem.Block, error) {
	var blocks []*pem.Block
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		blocks = append(blocks, b)
	}
	if len(blocks) == 0 {
		return nil, invalidf("request body is not PEM text (no -----BEGIN ...----- block found)")
	}
	if len(bytes.TrimSpace(rest)) > 0 && bytes.Contains(rest, []byte("-----BEGIN")) {
		return nil, invalidf("request body holds a PEM block that does not decode (check the -----END----- lines)")
	}
	return blocks, nil
}

// ParseExternal checks an uploaded server bundle: one unencrypted private
// key, the server certificate first among the certificates, then at least one
// CA certificate (the Webapp required one), the server certificate signed by
// one of them and valid at now. The private key may stand anywhere (Meta's
// docs put it first).
func ParseExternal(data []byte, now time.Time) (External, error) {
	blocks, err := pemBlocks(data)
	if err != nil {
		return External{}, err
	}
	var (
		certPEM, keyPEM []byte
		keys            int
		ders            [][]byte
	)
	for _, b := range blocks {
		switch {
		case b.Type == "CERTIFICATE":
			ders = append(ders, b.Bytes)
			certPEM = append(certPEM, pem.EncodeToMemory(b)...)
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			keys++
			keyPEM = append(keyPEM, pem.EncodeToMemory(b)...)
		case b.Type == "EC PARAMETERS":
			// OpenSSL's preamble to an EC key; harmless.
		default:
			return External{}, invalidf("unexpected PEM block %q: the bundle holds a private key and certificates only", b.Type)
		}
	}
	switch {
	case keys == 0:
		return External{}, invalidf("Certificate must contain private key, cert and at least one CA certificate sections: no private key found")
	case keys > 1:
		return External{}, invalidf("the bundle holds %d private keys; it must hold exactly one", keys)
	case len(ders) < 2:
		return External{}, invalidf("Certificate must contain private key, cert and at least one CA certificate sections: found %d certificate(s)", len(ders))
	}
	pair, err := ParsePair(certPEM, keyPEM, now)
	if err != nil {
		return External{}, &InvalidError{Msg: err.Error()}
	}
	leaf := pair.Leaf
	roots := x509.NewCertPool()
	var (
		caPEM []byte
		chain = [][]byte{pair.Certificate[0]}
	)
	for i, der := range pair.Certificate[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil { // ParsePair parsed them all already
			return External{}, invalidf("certificate %d is invalid: %v", i+2, err)
		}
		if !c.BasicConstraintsValid || !c.IsCA {
			return External{}, invalidf("certificate %d (%s) is not a CA certificate; after the server certificate the bundle may hold CA certificates only", i+2, c.Subject)
		}
		if now.After(c.NotAfter) {
			return External{}, invalidf("CA certificate %d (%s) expired on %s", i+2, c.Subject, c.NotAfter.UTC().Format(time.DateOnly))
		}
		roots.AddCert(c)
		caPEM = append(caPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
		// A self-signed root adds bytes to every handshake and nothing
		// else: clients trust it or not whatever we send.
		if !bytes.Equal(c.RawSubject, c.RawIssuer) || c.CheckSignatureFrom(c) != nil {
			chain = append(chain, der)
		}
	}
	// Any CA of the bundle counts as an anchor here: the point is to catch a
	// bundle whose CA did not sign this certificate, which clients trusting
	// that CA would reject.
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return External{}, invalidf("the server certificate (%s) is not signed by the CA certificates of the bundle: %v", leaf.Subject, err)
	}
	pair.Certificate = chain
	return External{Pair: pair, CAPEM: caPEM}, nil
}

// ParseCABundle checks a bundle of CA certificates (the webhook trust):
// PEM, certificates only, each a CA valid at now. It returns the pool and the
// bundle re-encoded without text between the blocks.
func ParseCABundle(data []byte, now time.Time) (*x509.CertPool, []byte, error) {
	blocks, err := pemBlocks(data)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	var out []byte
	for i, b := range blocks {
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			return nil, nil, invalidf("block %d is a private key: upload CA certificates only (and treat that key as exposed)", i+1)
		}
		if b.Type != "CERTIFICATE" {
			return nil, nil, invalidf("block %d is a %q, not a CERTIFICATE", i+1, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, nil, invalidf("certificate %d is invalid: %v", i+1, err)
		}
		if !c.BasicConstraintsValid || !c.IsCA {
			return nil, nil, invalidf("certificate %d (%s) is not a CA certificate", i+1, c.Subject)
		}
		if now.After(c.NotAfter) {
			return nil, nil, invalidf("CA certificate %d (%s) expired on %s", i+1, c.Subject, c.NotAfter.UTC().Format(time.DateOnly))
		}
		pool.AddCert(c)
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b.Bytes})...)
	}
	return pool, out, nil
}

// Documents is the part of the store the Manager uses.
type Documents interface {
	GetDocument(ctx context.Context, name string) (store.Document, error)
	PutDocument(ctx context.Context, name string, body []byte, expectVersion int64, now time.Time) (int64, error)
}

// pemDocument is the stored form. Base64 keeps PEM's line breaks intact
// through every engine's text column and JSON; an empty PEM means "none"
// (the store has no delete for documents).
type pemDocument struct {
	PEM []byte `json:"pem"`
}

// ManagerOptions configure a Manager.
type ManagerOptions struct {
	Docs Documents
	// Listener is the store the HTTPS listener serves from; an uploaded
	// external certificate is set there at once.
	Listener *Store
	// DefaultCAPEM is the CA of the certificate served when none was
	// uploaded (the self-signed CA); nil when unknown (operator files).
	DefaultCAPEM []byte
	// Pinned refuses external uploads (WABIZ_TLS_CERT_FILE is set).
	Pinned bool
	// ApplyWebhookCA installs the webhook trust; nil means the system roots.
	ApplyWebhookCA func(*x509.CertPool)
	Now            func() time.Time
}

// Manager serves /v1/certificates: it validates, stores and applies
// uploaded material.
type Manager struct {
	o  ManagerOptions
	mu sync.Mutex // serializes uploads so the applied state matches the stored one
	// externalCA is the CA PEM of the uploaded certificate being served.
	externalCA []byte
	// webhookCA reports whether an uploaded bundle is applied, so that a
	// Load after another node deleted it goes back to the system roots.
	webhookCA bool
}

// NewManager returns a Manager; call Load before serving.
func NewManager(o ManagerOptions) *Manager {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ApplyWebhookCA == nil {
		o.ApplyWebhookCA = func(*x509.CertPool) {}
	}
	return &Manager{o: o}
}

// Load applies what is stored: the uploaded external certificate (unless
// pinned) and the webhook CA bundle, or the system roots again when the
// bundle applied before was deleted (through another node). A stored item
// that no longer validates (an expired certificate, typically) is skipped
// and reported in skipped rather than failing the start: the server keeps
// its own certificate and the system roots, and the operator can upload
// again.
func (m *Manager) Load(ctx context.Context) (external bool, webhookCA bool, skipped []error, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.o.Now()
	if !m.o.Pinned {
		data, _, err := m.read(ctx, ExternalDocument)
		if err != nil {
			return false, false, nil, err
		}
		if len(data) > 0 {
			ext, perr := ParseExternal(data, now)
			if perr != nil {
				skipped = append(skipped, fmt.Errorf("uploaded TLS certificate not used: %w", perr))
			} else {
				m.o.Listener.Set(ext.Pair)
				m.externalCA = ext.CAPEM
				external = true
			}
		}
	}
	data, _, err := m.read(ctx, WebhookCADocument)
	if err != nil {
		return external, false, skipped, err
	}
	if len(data) > 0 {
		pool, _, perr := ParseCABundle(data, now)
		if perr != nil {
			skipped = append(skipped, fmt.Errorf("uploaded webhook CA bundle not used: %w", perr))
		} else {
			m.o.ApplyWebhookCA(pool)
			webhookCA = true
		}
	} else if m.webhookCA {
		m.o.ApplyWebhookCA(nil)
	}
	m.webhookCA = webhookCA
	return external, webhookCA, skipped, nil
}

// InstallExternal validates, stores and serves an uploaded server bundle.
// Stored first: a certificate served but not stored would vanish at the
// next restart without anyone noticing.
func (m *Manager) InstallExternal(ctx context.Context, data []byte) error {
	if m.o.Pinned {
		return ErrPinned
	}
	ext, err := ParseExternal(data, m.o.Now())
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.write(ctx, ExternalDocument, data); err != nil {
		return err
	}
	m.o.Listener.Set(ext.Pair)
	m.externalCA = ext.CAPEM
	return nil
}

// ExternalCA is the CA PEM of the certificate being served, nil when unknown.
func (m *Manager) ExternalCA(context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.externalCA != nil {
		return m.externalCA, nil
	}
	return m.o.DefaultCAPEM, nil
}

// WebhookCA is the stored webhook CA bundle, nil when none.
func (m *Manager) WebhookCA(ctx context.Context) ([]byte, error) {
	data, _, err := m.read(ctx, WebhookCADocument)
	return data, err
}

// SetWebhookCA validates, stores and applies a webhook CA bundle.
func (m *Manager) SetWebhookCA(ctx context.Context, data []byte) error {
	pool, normalized, err := ParseCABundle(data, m.o.Now())
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.write(ctx, WebhookCADocument, normalized); err != nil {
		return err
	}
	m.o.ApplyWebhookCA(pool)
	m.webhookCA = true
	return nil
}

// DeleteWebhookCA forgets the bundle: deliveries trust the system roots again.
func (m *Manager) DeleteWebhookCA(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.write(ctx, WebhookCADocument, nil); err != nil {
		return err
	}
	m.o.ApplyWebhookCA(nil)
	m.webhookCA = false
	return nil
}

func (m *Manager) read(ctx context.Context, name string) ([]byte, int64, error) {
	d, err := m.o.Docs.GetDocument(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var doc pemDocument
	if err := json.Unmarshal(d.Body, &doc); err != nil {
		return nil, 0, fmt.Errorf("certs: stored %s is not readable: %w", name, err)
	}
	if len(doc.PEM) == 0 {
		return nil, d.Version, nil
	}
	return doc.PEM, d.Version, nil
}

// CheckWebhookCADocument reports whether body is a webhook CA document
// that loads: none, or PEM certificates that are CAs. Expiry is not
// checked (a backup may be older than its CA; the server logs and skips an
// expired one at start). A restore checks the part of a backup with it.
func CheckWebhookCADocument(body []byte) error {
	var doc pemDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		return fmt.Errorf("certs: %s is not readable: %w", WebhookCADocument, err)
	}
	if len(doc.PEM) == 0 {
		return nil
	}
	// At the zero time nothing has expired yet: only the other checks apply.
	_, _, err := ParseCABundle(doc.PEM, time.Time{})
	return err
}

// write replaces a document whatever its version: the last upload wins, as
// in the Webapp. A conflict only means another node wrote in between, so
// read the version again and retry a few times.
func (m *Manager) write(ctx context.Context, name string, data []byte) error {
	body, err := json.Marshal(pemDocument{PEM: data})
	if err != nil {
		return err
	}
	for range 5 {
		var version int64
		d, err := m.o.Docs.GetDocument(ctx, name)
		switch {
		case err == nil:
			version = d.Version
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		_, err = m.o.Docs.PutDocument(ctx, name, body, version, m.o.Now())
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("certs: %s changed concurrently too often", name)
}
