// Package certs provides the TLS material for the HTTPS API: a self-signed
// private CA plus server certificate kept on disk (Meta's Webapp served HTTPS
// out of the box the same way), loading and checking an operator-supplied
// certificate, and a Store that lets the listener switch certificates
// without a restart.
package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Bundle is PEM text of the serving certificate chain, its private key, and
// the CA that signed it. For the self-signed setup the chain is the leaf
// alone: clients must trust CAPEM explicitly, so sending the root as well
// would only add bytes to every handshake.
type Bundle struct{ CertPEM, KeyPEM, CAPEM []byte }

// File names inside the EnsureSelfSigned directory.
const (
	CAFile    = "ca.pem"
	CAKeyFile = "ca-key.pem"
	CertFile  = "cert.pem"
	KeyFile   = "key.pem"
)

const (
	// renewBefore leaves a month for clients and operators to notice a
	// renewal (and re-trust a new CA) before anything actually expires.
	renewBefore = 30 * 24 * time.Hour
	// serverValidity is the longest lifetime Apple platforms accept for a
	// TLS server certificate; anything longer is rejected outright there.
	serverValidity  = 825 * 24 * time.Hour
	caValidityYears = 10
	// backdate tolerates clients whose clocks run a little behind ours, which
	// would otherwise reject a certificate generated moments ago.
	backdate = time.Hour
)

// EnsureSelfSigned keeps a private CA and a server certificate signed by it
// in dir (created 0700 if missing): ca.pem, ca-key.pem, cert.pem, key.pem.
//
// It generates them on first use. The CA is reused while it is valid for at
// least another 30 days, its key matches and it is a CA; otherwise a new one
// is made (and the server certificate with it). The server certificate is
// regenerated when missing, unreadable, not matching key.pem, not signed by
// the CA, not yet valid, expiring within 30 days, or issued for a different
// serverName (Common Name and SAN list are compared).
//
// serverName is the Common Name and first SAN (an IP SAN if it parses as an
// IP, else a DNS name); "localhost", 127.0.0.1 and ::1 are always added. An
// empty serverName means "localhost".
//
// generated reports whether any file was written, so the caller can log it.
func EnsureSelfSigned(dir, serverName string, now time.Time) (b Bundle, generated bool, err error) {
	if dir == "" {
		return Bundle{}, false, errors.New("certs: no directory for the self-signed certificate")
	}
	serverName = normalizeName(serverName)
	// x509 stores whole seconds; dropping the rest (and the monotonic reading)
	// keeps what we compare equal to what we wrote.
	now = now.UTC().Truncate(time.Second)

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Bundle{}, false, fmt.Errorf("certs: create %s: %w", dir, err)
	}

	caPEM, caKeyPEM, ca, caKey := loadCA(dir, now)
	if ca == nil {
		caPEM, caKeyPEM, ca, caKey, err = newCA(now)
		if err != nil {
			return Bundle{}, false, err
		}
		// Key first: a crash between the two writes leaves a key that does
		// not match ca.pem, which the next start detects and repairs.
		if err := writeFileAtomic(dir, CAKeyFile, caKeyPEM, 0o600); err != nil {
			return Bundle{}, false, err
		}
		if err := writeFileAtomic(dir, CAFile, caPEM, 0o644); err != nil {
			return Bundle{}, false, err
		}
		generated = true
	}

	certPEM, keyPEM, ok := loadServer(dir, serverName, ca, now)
	if !ok {
		certPEM, keyPEM, err = newServer(serverName, ca, caKey, now)
		if err != nil {
			return Bundle{}, false, err
		}
		// Same ordering argument as for the CA.
		if err := writeFileAtomic(dir, KeyFile, keyPEM, 0o600); err != nil {
			return Bundle{}, false, err
		}
		if err := writeFileAtomic(dir, CertFile, certPEM, 0o644); err != nil {
			return Bundle{}, false, err
		}
		generated = true
	}

	return Bundle{CertPEM: certPEM, KeyPEM: keyPEM, CAPEM: caPEM}, generated, nil
}

// normalizeName makes equivalent spellings of one name produce one
// certificate, so a cosmetic config change does not force a regeneration.
func normalizeName(name string) string {
	name = strings.TrimSpace(name)
	if strings.HasPrefix(name, "[") && strings.HasSuffix(name, "]") {
		name = name[1 : len(name)-1]
	}
	if ip := net.ParseIP(name); ip != nil {
		return ip.String()
	}
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" {
		return "localhost"
	}
	return name
}

// sans lists the SANs for serverName: serverName first, then the loopback
// names so local tools and health checks work whatever serverName is.
func sans(serverName string) (dns []string, ips []net.IP) {
	if ip := net.ParseIP(serverName); ip != nil {
		ips = append(ips, ip)
	} else {
		dns = append(dns, serverName)
	}
	if !slices.Contains(dns, "localhost") {
		dns = append(dns, "localhost")
	}
	for _, lo := range []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback} {
		if !slices.ContainsFunc(ips, lo.Equal) {
			ips = append(ips, lo)
		}
	}
	return dns, ips
}

// needsRenewal is the single renewal rule for both CA and server
// certificate: not yet valid (clock moved back) or less than renewBefore left.
func needsRenewal(c *x509.Certificate, now time.Time) bool {
	return now.Before(c.NotBefore) || now.Add(renewBefore).After(c.NotAfter)
}

// loadCA returns the stored CA, or nil values when it must be (re)generated.
// Read and parse errors are not returned: any unusable CA is replaced.
func loadCA(dir string, now time.Time) (certPEM, keyPEM []byte, cert *x509.Certificate, key crypto.Signer) {
	certPEM, err1 := os.ReadFile(filepath.Join(dir, CAFile))
	keyPEM, err2 := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err1 != nil || err2 != nil {
		return nil, nil, nil, nil
	}
	pair, err := parsePair(certPEM, keyPEM, CAFile, CAKeyFile, now)
	if err != nil {
		return nil, nil, nil, nil
	}
	c := pair.Leaf
	if !c.BasicConstraintsValid || !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 || needsRenewal(c, now) {
		return nil, nil, nil, nil
	}
	return certPEM, keyPEM, c, pair.PrivateKey.(crypto.Signer)
}

// loadServer returns the stored server certificate and key and whether they
// can be served as they are.
func loadServer(dir, serverName string, ca *x509.Certificate, now time.Time) (certPEM, keyPEM []byte, ok bool) {
	certPEM, err1 := os.ReadFile(filepath.Join(dir, CertFile))
	keyPEM, err2 := os.ReadFile(filepath.Join(dir, KeyFile))
	if err1 != nil || err2 != nil {
		return nil, nil, false
	}
	pair, err := parsePair(certPEM, keyPEM, CertFile, KeyFile, now)
	if err != nil {
		return nil, nil, false
	}
	c := pair.Leaf
	if needsRenewal(c, now) || c.CheckSignatureFrom(ca) != nil || c.Subject.CommonName != serverName {
		return nil, nil, false
	}
	dns, ips := sans(serverName)
	if !slices.Equal(c.DNSNames, dns) || !slices.EqualFunc(c.IPAddresses, ips, net.IP.Equal) {
		return nil, nil, false
	}
	return certPEM, keyPEM, true
}

func newCA(now time.Time) (certPEM, keyPEM []byte, cert *x509.Certificate, key *ecdsa.PrivateKey, err error) {
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("certs: generate CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	notBefore := now.Add(-backdate)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		// The serial suffix tells apart the CAs of several installations
		// once an operator has added more than one to a trust store.
		Subject:               pkix.Name{CommonName: fmt.Sprintf("wabiz local CA %.8x", serial.Bytes()), Organization: []string{"wabiz"}},
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(caValidityYears, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// The CA only ever signs leaves; forbidding intermediates limits
		// what a stolen CA key could be used for.
		MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("certs: create CA certificate: %w", err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("certs: parse new CA certificate: %w", err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, cert, key, nil
}

func newServer(serverName string, ca *x509.Certificate, caKey crypto.Signer, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: generate server key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	notBefore := now.Add(-backdate)
	notAfter := notBefore.Add(serverValidity)
	// A leaf outliving its CA could not be verified past the CA's end anyway;
	// capping keeps NotAfter honest so the renewal check fires in time.
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	dns, ips := sans(serverName)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: serverName},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              dns,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: create server certificate for %q: %w", serverName, err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// newSerial returns a random positive 128-bit serial; x509 rejects zero,
// hence the nudge in the (astronomically unlikely) case it comes up.
func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("certs: generate serial number: %w", err)
	}
	if n.Sign() == 0 {
		n.SetInt64(1)
	}
	return n, nil
}

func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("certs: encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// writeFileAtomic replaces dir/name with data so that a crash leaves either
// the old file or the new one, never a truncated mix: write a temp file in
// the same directory, fsync it, rename over the target, fsync the directory.
func writeFileAtomic(dir, name string, data []byte, perm os.FileMode) (err error) {
	target := filepath.Join(dir, name)
	// CreateTemp makes the file 0600, so key bytes are never readable by
	// others, not even briefly before the Chmod below.
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("certs: write %s: %w", target, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("certs: write %s: %w", target, err)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, target); err != nil {
		return err
	}
	// Persist the rename itself. Best effort: some platforms cannot open or
	// sync a directory, and the data is already safely in the file.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// LoadPair reads a certificate chain and private key from PEM files, checks
// that they belong together and that the leaf (first certificate) is valid at
// now, and returns the parsed pair with Leaf set.
func LoadPair(certFile, keyFile string, now time.Time) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("read certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("read private key: %w", err)
	}
	return parsePair(certPEM, keyPEM, certFile, keyFile, now)
}

// ParsePair is LoadPair for PEM bytes already in memory (an uploaded
// certificate, for instance).
func ParsePair(certPEM, keyPEM []byte, now time.Time) (tls.Certificate, error) {
	return parsePair(certPEM, keyPEM, "certificate PEM", "key PEM", now)
}

// parsePair does the work of LoadPair and ParsePair. certName and keyName
// only label errors, which are meant to be shown to an operator verbatim.
func parsePair(certPEM, keyPEM []byte, certName, keyName string, now time.Time) (tls.Certificate, error) {
	var (
		ders   [][]byte
		hasKey bool
		rest   = certPEM
	)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch {
		case block.Type == "CERTIFICATE":
			ders = append(ders, block.Bytes)
		case strings.HasSuffix(block.Type, "PRIVATE KEY"):
			hasKey = true
		}
	}
	if len(ders) == 0 {
		switch {
		case hasKey:
			return tls.Certificate{}, fmt.Errorf("no certificate in %s (it holds a private key; are the certificate and key swapped?)", certName)
		case looksLikeDER(certPEM):
			return tls.Certificate{}, fmt.Errorf("no certificate in %s (it looks DER-encoded; convert it to PEM)", certName)
		}
		return tls.Certificate{}, fmt.Errorf("no certificate in %s", certName)
	}
	chain := make([]*x509.Certificate, len(ders))
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("certificate %d in %s is invalid: %v", i+1, certName, err)
		}
		chain[i] = c
	}
	leaf := chain[0]

	key, err := parseKey(keyPEM, keyName)
	if err != nil {
		return tls.Certificate{}, err
	}
	if !publicKeyMatches(leaf.PublicKey, key.Public()) {
		for i, c := range chain[1:] {
			if publicKeyMatches(c.PublicKey, key.Public()) {
				return tls.Certificate{}, fmt.Errorf("private key does not match certificate: it matches certificate %d in %s; the server certificate must come first", i+2, certName)
			}
		}
		return tls.Certificate{}, errors.New("private key does not match certificate")
	}

	if now.Before(leaf.NotBefore) {
		return tls.Certificate{}, fmt.Errorf("certificate is not valid until %s", leaf.NotBefore.UTC().Format(time.DateTime+" MST"))
	}
	if now.After(leaf.NotAfter) {
		return tls.Certificate{}, fmt.Errorf("certificate expired on %s", leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	// Every client would refuse such a certificate for HTTPS; better to say
	// so at load time than leave the operator with opaque handshake errors.
	if len(leaf.ExtKeyUsage) > 0 &&
		!slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) &&
		!slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny) {
		return tls.Certificate{}, errors.New("certificate is not for TLS servers (its extended key usage lacks serverAuth)")
	}

	return tls.Certificate{Certificate: ders, PrivateKey: key, Leaf: leaf}, nil
}

// parseKey returns the first private key in keyPEM. Other blocks are skipped
// so that combined cert+key files and OpenSSL's "EC PARAMETERS" preamble work.
func parseKey(keyPEM []byte, keyName string) (crypto.Signer, error) {
	rest := keyPEM
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
			continue
		}
		if block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
			return nil, fmt.Errorf("private key in %s is encrypted; supply it without a passphrase", keyName)
		}
		var (
			k   any
			err error
		)
		switch block.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			return nil, fmt.Errorf("private key in %s has unsupported type %q", keyName, block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("private key in %s is invalid: %v", keyName, err)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			return k.(crypto.Signer), nil
		default:
			return nil, fmt.Errorf("private key in %s is of unsupported type %T (want RSA, ECDSA or Ed25519)", keyName, k)
		}
	}
	return nil, fmt.Errorf("no private key in %s", keyName)
}

func publicKeyMatches(certKey, priv crypto.PublicKey) bool {
	k, ok := certKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(priv)
}

// looksLikeDER only feeds an error hint, so a cheap check is enough.
func looksLikeDER(b []byte) bool {
	if len(b) == 0 || bytes.Contains(b, []byte("-----BEGIN")) {
		return false
	}
	_, err := x509.ParseCertificate(b)
	return err == nil
}

// Store holds the certificate the listener serves. Reads happen on every
// handshake and writes almost never, so an atomic pointer beats a mutex.
// The zero Store serves nothing until Set is called.
type Store struct {
	cur atomic.Pointer[tls.Certificate]
}

// NewStore returns a Store serving c.
func NewStore(c tls.Certificate) *Store {
	s := &Store{}
	s.Set(c)
	return s
}

// Set makes c the certificate for every handshake from now on; connections
// already established keep the certificate they negotiated.
func (s *Store) Set(c tls.Certificate) { s.cur.Store(&c) }

// Current returns the certificate being served, or nil before the first Set.
// The caller must not modify it: handshakes share it.
func (s *Store) Current() *tls.Certificate { return s.cur.Load() }

// GetCertificate implements tls.Config.GetCertificate.
func (s *Store) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := s.cur.Load(); c != nil {
		return c, nil
	}
	return nil, errors.New("certs: no certificate configured")
}

// ServerConfig returns the tls.Config for the API listener: TLS 1.2 or newer,
// the certificate from s, and ALPN for HTTP/2 and HTTP/1.1.
//
// Leave Certificates empty in the returned config: crypto/tls consults
// GetCertificate only when Certificates is empty or the client sent SNI, and
// clients connecting by IP address send no SNI.
func ServerConfig(s *Store) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: s.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}
}
