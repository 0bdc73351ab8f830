package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// t0 is an arbitrary fixed "now"; nothing here depends on the wall clock.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mustEnsure(t *testing.T, dir, name string, now time.Time) (Bundle, bool) {
	t.Helper()
	b, gen, err := EnsureSelfSigned(dir, name, now)
	if err != nil {
		t.Fatalf("EnsureSelfSigned(%q, %v): %v", name, now, err)
	}
	return b, gen
}

func parseCert(t *testing.T, p []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(p)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("no certificate in %q", p)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pool(t *testing.T, caPEM []byte) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA PEM not accepted")
	}
	return p
}

func verify(t *testing.T, b Bundle, name string, now time.Time) error {
	t.Helper()
	_, err := parseCert(t, b.CertPEM).Verify(x509.VerifyOptions{
		DNSName:     name,
		Roots:       pool(t, b.CAPEM),
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEnsureSelfSignedGeneratesThenReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	b1, gen := mustEnsure(t, dir, "wa.example.com", t0)
	if !gen {
		t.Fatal("first call: generated = false")
	}
	for name, want := range map[string][]byte{CAFile: b1.CAPEM, CAKeyFile: nil, CertFile: b1.CertPEM, KeyFile: b1.KeyPEM} {
		got := readFile(t, dir, name)
		if want != nil && !bytes.Equal(got, want) {
			t.Errorf("%s on disk differs from the returned bundle", name)
		}
	}
	if runtime.GOOS != "windows" {
		for name, perm := range map[string]fs.FileMode{".": 0o700, CAKeyFile: 0o600, KeyFile: 0o600} {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != perm {
				t.Errorf("%s mode = %o, want %o", name, got, perm)
			}
		}
	}
	// No temp files left behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 4 {
		t.Errorf("dir has %d entries, want 4: %v", len(ents), ents)
	}

	leaf := parseCert(t, b1.CertPEM)
	ca := parseCert(t, b1.CAPEM)
	if leaf.Subject.CommonName != "wa.example.com" || leaf.DNSNames[0] != "wa.example.com" {
		t.Errorf("CN %q, DNS SANs %v", leaf.Subject.CommonName, leaf.DNSNames)
	}
	if got := leaf.NotAfter.Sub(leaf.NotBefore); got != 825*24*time.Hour {
		t.Errorf("server validity = %v", got)
	}
	if got := ca.NotAfter.Sub(t0); got < 10*365*24*time.Hour-2*time.Hour {
		t.Errorf("CA validity = %v", got)
	}
	if leaf.SerialNumber.BitLen() > 128 || ca.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
		t.Errorf("serials %x %x", ca.SerialNumber, leaf.SerialNumber)
	}
	if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("ExtKeyUsage = %v", leaf.ExtKeyUsage)
	}

	// A later start, same name: nothing rewritten.
	b2, gen := mustEnsure(t, dir, "wa.example.com", t0.Add(24*time.Hour))
	if gen {
		t.Fatal("second call: generated = true")
	}
	if !bytes.Equal(b1.CertPEM, b2.CertPEM) || !bytes.Equal(b1.KeyPEM, b2.KeyPEM) || !bytes.Equal(b1.CAPEM, b2.CAPEM) {
		t.Fatal("second call returned different bytes")
	}
	// Equivalent spellings of the name do not count as a change.
	if _, gen := mustEnsure(t, dir, " WA.example.com. ", t0); gen {
		t.Error("cosmetically different name regenerated")
	}
}

func TestEnsureSelfSignedNameChangeKeepsCA(t *testing.T) {
	dir := t.TempDir()
	b1, _ := mustEnsure(t, dir, "old.example.com", t0)
	caKey := readFile(t, dir, CAKeyFile)
	b2, gen := mustEnsure(t, dir, "new.example.com", t0)
	if !gen {
		t.Fatal("new serverName: generated = false")
	}
	if !bytes.Equal(b1.CAPEM, b2.CAPEM) || !bytes.Equal(caKey, readFile(t, dir, CAKeyFile)) {
		t.Error("CA changed")
	}
	if bytes.Equal(b1.CertPEM, b2.CertPEM) || bytes.Equal(b1.KeyPEM, b2.KeyPEM) {
		t.Error("server cert or key not regenerated")
	}
	if !bytes.Equal(readFile(t, dir, CertFile), b2.CertPEM) {
		t.Error("cert.pem not updated")
	}
	if err := verify(t, b2, "new.example.com", t0); err != nil {
		t.Error(err)
	}
	if err := verify(t, b2, "old.example.com", t0); err == nil {
		t.Error("new certificate still valid for the old name")
	}
}

func TestEnsureSelfSignedRenewal(t *testing.T) {
	dir := t.TempDir()
	b1, _ := mustEnsure(t, dir, "wa.example.com", t0)
	leaf := parseCert(t, b1.CertPEM)
	threshold := leaf.NotAfter.Add(-30 * 24 * time.Hour)

	if _, gen := mustEnsure(t, dir, "wa.example.com", threshold.Add(-time.Hour)); gen {
		t.Error("regenerated more than 30 days before expiry")
	}
	now := threshold.Add(time.Hour)
	b2, gen := mustEnsure(t, dir, "wa.example.com", now)
	if !gen {
		t.Fatal("not regenerated within 30 days of expiry")
	}
	if !bytes.Equal(b1.CAPEM, b2.CAPEM) {
		t.Error("CA replaced although it has years left")
	}
	if l2 := parseCert(t, b2.CertPEM); !l2.NotAfter.After(leaf.NotAfter) {
		t.Errorf("new NotAfter %v not after old %v", l2.NotAfter, leaf.NotAfter)
	}
	if err := verify(t, b2, "wa.example.com", now); err != nil {
		t.Error(err)
	}

	// Near the CA's end both are replaced, and the new leaf chains to the new CA.
	ca := parseCert(t, b2.CAPEM)
	now = ca.NotAfter.Add(-29 * 24 * time.Hour)
	b3, gen := mustEnsure(t, dir, "wa.example.com", now)
	if !gen || bytes.Equal(b3.CAPEM, b2.CAPEM) || bytes.Equal(b3.CertPEM, b2.CertPEM) {
		t.Fatal("CA near expiry not replaced")
	}
	if err := verify(t, b3, "wa.example.com", now); err != nil {
		t.Error(err)
	}
}

func TestEnsureSelfSignedCapsLeafAtCA(t *testing.T) {
	dir := t.TempDir()
	b1, _ := mustEnsure(t, dir, "a.example", t0)
	ca := parseCert(t, b1.CAPEM)
	// 40 days before the CA ends: CA kept, leaf may not outlive it.
	now := ca.NotAfter.Add(-40 * 24 * time.Hour)
	b2, _ := mustEnsure(t, dir, "b.example", now)
	if !bytes.Equal(b1.CAPEM, b2.CAPEM) {
		t.Fatal("CA replaced with 40 days left")
	}
	if got := parseCert(t, b2.CertPEM).NotAfter; got.After(ca.NotAfter) {
		t.Errorf("leaf NotAfter %v after CA NotAfter %v", got, ca.NotAfter)
	}
}

func TestEnsureSelfSignedRepairsDamage(t *testing.T) {
	dir := t.TempDir()
	b1, _ := mustEnsure(t, dir, "wa.example.com", t0)
	other := t.TempDir()
	ob, _ := mustEnsure(t, other, "wa.example.com", t0)

	cases := []struct {
		name  string
		files map[string][]byte
		newCA bool
	}{
		{"garbage cert", map[string][]byte{CertFile: []byte("not a certificate")}, false},
		{"empty key", map[string][]byte{KeyFile: nil}, false},
		{"foreign key", map[string][]byte{KeyFile: ob.KeyPEM}, false},
		{"pair from another CA", map[string][]byte{CertFile: ob.CertPEM, KeyFile: ob.KeyPEM}, false},
		{"foreign CA key", map[string][]byte{CAKeyFile: readFile(t, other, CAKeyFile)}, true},
		{"garbage CA", map[string][]byte{CAFile: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")}, true},
	}
	prev := b1
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for name, data := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			b, gen := mustEnsure(t, dir, "wa.example.com", t0)
			if !gen {
				t.Fatal("damage not repaired")
			}
			if got := !bytes.Equal(b.CAPEM, prev.CAPEM); got != tc.newCA {
				t.Errorf("CA replaced = %v, want %v", got, tc.newCA)
			}
			if err := verify(t, b, "wa.example.com", t0); err != nil {
				t.Error(err)
			}
			if _, err := ParsePair(b.CertPEM, b.KeyPEM, t0); err != nil {
				t.Error(err)
			}
			prev = b
		})
	}
	// Missing server files (e.g. deleted by an operator).
	os.Remove(filepath.Join(dir, CertFile))
	if _, gen := mustEnsure(t, dir, "wa.example.com", t0); !gen {
		t.Error("missing cert.pem not regenerated")
	}
}

func TestEnsureSelfSignedVerifies(t *testing.T) {
	b, _ := mustEnsure(t, t.TempDir(), "wa.example.com", t0)
	for _, name := range []string{"wa.example.com", "localhost", "127.0.0.1", "::1"} {
		if err := verify(t, b, name, t0); err != nil {
			t.Errorf("verify %s: %v", name, err)
		}
	}
	if err := verify(t, b, "evil.example.com", t0); err == nil {
		t.Error("verified for a name not in the certificate")
	}
}

func TestEnsureSelfSignedIPName(t *testing.T) {
	for _, name := range []string{"192.0.2.10", "2001:db8::1", "[2001:db8::1]"} {
		b, _ := mustEnsure(t, t.TempDir(), name, t0)
		leaf := parseCert(t, b.CertPEM)
		want := net.ParseIP(strings.Trim(name, "[]"))
		if len(leaf.IPAddresses) == 0 || !leaf.IPAddresses[0].Equal(want) {
			t.Errorf("%s: IP SANs %v", name, leaf.IPAddresses)
		}
		if leaf.Subject.CommonName != want.String() {
			t.Errorf("%s: CN %q", name, leaf.Subject.CommonName)
		}
		if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "localhost" {
			t.Errorf("%s: DNS SANs %v", name, leaf.DNSNames)
		}
		if err := verify(t, b, want.String(), t0); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A loopback serverName is not listed twice.
	b, _ := mustEnsure(t, t.TempDir(), "127.0.0.1", t0)
	if ips := parseCert(t, b.CertPEM).IPAddresses; len(ips) != 2 {
		t.Errorf("IP SANs %v", ips)
	}
}

func writeTemp(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadPair(t *testing.T) {
	dir := t.TempDir()
	b, _ := mustEnsure(t, filepath.Join(dir, "a"), "wa.example.com", t0)
	ob, _ := mustEnsure(t, filepath.Join(dir, "b"), "wa.example.com", t0)
	leaf := parseCert(t, b.CertPEM)

	cert := writeTemp(t, dir, "cert.pem", b.CertPEM)
	key := writeTemp(t, dir, "key.pem", b.KeyPEM)
	otherKey := writeTemp(t, dir, "other-key.pem", ob.KeyPEM)
	garbage := writeTemp(t, dir, "garbage.pem", []byte("hello\n"))
	fullchain := writeTemp(t, dir, "fullchain.pem", append(append([]byte{}, b.CertPEM...), b.CAPEM...))
	wrongOrder := writeTemp(t, dir, "wrong-order.pem", append(append([]byte{}, b.CAPEM...), b.CertPEM...))
	combined := writeTemp(t, dir, "combined.pem", append(append([]byte{}, b.CertPEM...), b.KeyPEM...))

	c, err := LoadPair(cert, key, t0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Leaf == nil || !c.Leaf.Equal(leaf) || c.PrivateKey == nil {
		t.Error("Leaf or PrivateKey not set")
	}
	if c, err := LoadPair(fullchain, combined, t0); err != nil || len(c.Certificate) != 2 {
		t.Errorf("full chain + combined key file: %v", err)
	}

	expiredAt := leaf.NotAfter.Add(time.Second)
	for _, tc := range []struct {
		name, cert, key string
		now             time.Time
		want            string
	}{
		{"mismatched key", cert, otherKey, t0, "private key does not match certificate"},
		{"wrong order", wrongOrder, key, t0, "server certificate must come first"},
		{"expired", cert, key, expiredAt, "certificate expired on " + leaf.NotAfter.UTC().Format("2006-01-02")},
		{"not yet valid", cert, key, leaf.NotBefore.Add(-time.Second), "certificate is not valid until"},
		{"garbage cert", garbage, key, t0, "no certificate in " + garbage},
		{"garbage key", cert, garbage, t0, "no private key in " + garbage},
		{"swapped", key, cert, t0, "are the certificate and key swapped"},
	} {
		_, err := LoadPair(tc.cert, tc.key, tc.now)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}

	_, err = LoadPair(filepath.Join(dir, "missing.pem"), key, t0)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("missing file: %v", err)
	}
	_, err = LoadPair(cert, filepath.Join(dir, "missing-key.pem"), t0)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing key file: %v", err)
	}
}

func TestParsePairRejects(t *testing.T) {
	b, _ := mustEnsure(t, t.TempDir(), "wa.example.com", t0)
	if _, err := ParsePair(b.CertPEM, b.KeyPEM, t0); err != nil {
		t.Fatal(err)
	}
	encrypted := []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
	if _, err := ParsePair(b.CertPEM, encrypted, t0); err == nil || !strings.Contains(err.Error(), "encrypted") {
		t.Errorf("encrypted key: %v", err)
	}
	der, _ := pem.Decode(b.CertPEM)
	if _, err := ParsePair(der.Bytes, b.KeyPEM, t0); err == nil || !strings.Contains(err.Error(), "DER") {
		t.Errorf("DER certificate: %v", err)
	}
	// The CA has no serverAuth problem (no EKU) but its key is not ours.
	if _, err := ParsePair(b.CAPEM, b.KeyPEM, t0); err == nil {
		t.Error("CA certificate accepted with the server key")
	}
}

// serve starts an HTTPS test server the way the API listener is configured.
func serve(t *testing.T, store *Store) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	}))
	srv.TLS = ServerConfig(store)
	// Handshake failures are expected here; keep them out of the test log.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// clientConfig trusts only caPEM and evaluates validity at now. ServerName
// is set so SNI is sent: httptest fills tls.Config.Certificates with its own
// certificate, which crypto/tls prefers over GetCertificate when there is no
// SNI. The real listener leaves Certificates empty.
func clientConfig(t *testing.T, caPEM []byte, now time.Time) *tls.Config {
	return &tls.Config{
		RootCAs:    pool(t, caPEM),
		ServerName: "localhost",
		Time:       func() time.Time { return now },
	}
}

func TestHandshakeAndHotSwap(t *testing.T) {
	dir := t.TempDir()
	b, _ := mustEnsure(t, dir, "wa.example.com", t0)
	pair, err := ParsePair(b.CertPEM, b.KeyPEM, t0)
	if err != nil {
		t.Fatal(err)
	}
	store := NewStore(pair)
	srv := serve(t, store)
	addr := srv.Listener.Addr().String()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: clientConfig(t, b.CAPEM, t0)}}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}

	// ALPN offers h2.
	cfg := clientConfig(t, b.CAPEM, t0)
	cfg.NextProtos = []string{"h2", "http/1.1"}
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Errorf("negotiated %q, want h2", p)
	}
	conn.Close()

	// Swap in a new certificate (same CA, new name) without restarting.
	b2, _ := mustEnsure(t, dir, "swapped.example.com", t0)
	pair2, err := ParsePair(b2.CertPEM, b2.KeyPEM, t0)
	if err != nil {
		t.Fatal(err)
	}
	store.Set(pair2)
	if store.Current().Leaf != pair2.Leaf {
		t.Error("Current does not return the new certificate")
	}
	conn, err = tls.Dial("tcp", addr, clientConfig(t, b2.CAPEM, t0))
	if err != nil {
		t.Fatal(err)
	}
	got := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	if got.Subject.CommonName != "swapped.example.com" || !got.Equal(pair2.Leaf) {
		t.Errorf("after Set, server presented %q", got.Subject.CommonName)
	}
}

func TestRejectsOldTLS(t *testing.T) {
	b, _ := mustEnsure(t, t.TempDir(), "wa.example.com", t0)
	pair, err := ParsePair(b.CertPEM, b.KeyPEM, t0)
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, NewStore(pair))
	cfg := clientConfig(t, b.CAPEM, t0)
	// MinVersion too, or the client gives up on its own (its default floor is
	// TLS 1.2) and the server is never tested.
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), cfg)
	if err == nil {
		conn.Close()
		t.Fatal("TLS 1.1 handshake succeeded")
	}
	if !strings.Contains(err.Error(), "protocol version") {
		t.Errorf("unexpected failure (want a protocol version alert from the server): %v", err)
	}
}

func TestZeroStore(t *testing.T) {
	var s Store
	if s.Current() != nil {
		t.Error("zero Store has a certificate")
	}
	if c, err := s.GetCertificate(&tls.ClientHelloInfo{}); c != nil || err == nil {
		t.Error("zero Store: GetCertificate should fail")
	}
}
