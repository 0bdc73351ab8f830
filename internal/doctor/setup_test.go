package doctor

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/certs"
	"github.com/wabiz/wabiz/internal/config"
	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// setup is one deployment under test: a migrated database, a data
// directory with a media volume and a generated certificate, and options
// whose free space is plentiful.
type setup struct {
	t     *testing.T
	ctx   context.Context
	store *store.Store
	opts  Options
}

func newSetup(t *testing.T, engine store.Dialect) *setup {
	t.Helper()
	cfg := storetest.Config(t, engine)
	s := storetest.OpenConfig(t, cfg)
	c := config.Default()
	c.DataDir = t.TempDir()
	c.DB.Engine = string(engine)
	if err := os.MkdirAll(c.MediaDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := certs.EnsureSelfSigned(filepath.Join(c.DataDir, "tls"), c.ServerName, time.Now()); err != nil {
		t.Fatal(err)
	}
	return &setup{t: t, ctx: context.Background(), store: s, opts: Options{
		Config: c, Store: cfg, Version: "v9.9.9-test", Timeout: 5 * time.Second,
		Statfs: func(string) (Space, error) { return Space{Free: 100 << 30, Total: 200 << 30}, nil },
	}}
}

func (s *setup) run() Report { return Run(s.ctx, s.opts).Report }

// setWebhookURL stores webhooks.url through the settings service, as the
// API does.
func (s *setup) setWebhookURL(u string) {
	s.t.Helper()
	svc, err := settings.NewService(s.ctx, s.store, settings.PatchRules{AllowHTTPWebhook: true}, time.Now)
	if err != nil {
		s.t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"url": u})
	if err := svc.Patch(s.ctx, map[string]json.RawMessage{"webhooks": body}); err != nil {
		s.t.Fatal(err)
	}
}

// uploadWebhookCA stores a webhook CA bundle, as
// POST /v1/certificates/webhooks/ca does.
func (s *setup) uploadWebhookCA(caPEM []byte) {
	s.t.Helper()
	m := certs.NewManager(certs.ManagerOptions{Docs: s.store, Listener: &certs.Store{}})
	if err := m.SetWebhookCA(s.ctx, caPEM); err != nil {
		s.t.Fatal(err)
	}
}

// testCA is a private CA that signs server certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "doctor test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// leaf signs a server certificate for the names (IP addresses or DNS
// names) valid from notBefore to notAfter; it returns the pair and its PEM.
func (ca *testCA) leaf(t *testing.T, notBefore, notAfter time.Time, names ...string) (tls.Certificate, []byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair, certPEM, keyPEM
}

// receiver is a webhook receiver over TLS with the given certificate,
// answering status; it stops with the test.
func receiver(t *testing.T, pair tls.Certificate, status int) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want a JSON POST", http.StatusBadRequest)
			return
		}
		w.WriteHeader(status)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	// The failing cases' refused handshakes are the point, not noise to log.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// closedPort is a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// expect checks one check's status and that its detail holds every part.
func expect(t *testing.T, rep Report, name string, status Status, parts ...string) {
	t.Helper()
	got, ok := rep.Result(name)
	if !ok {
		t.Fatalf("no %s check in %+v", name, rep.Checks)
	}
	if got.Status != status {
		t.Errorf("%s = %s (%s), want %s", name, got.Status, got.Detail, status)
	}
	for _, p := range parts {
		if !strings.Contains(got.Detail, p) {
			t.Errorf("%s detail %q lacks %q", name, got.Detail, p)
		}
	}
}
