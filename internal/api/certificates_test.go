package api_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/api"
	"github.com/wabiz/wabiz/internal/certs"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/webhook"
)

// --- a tiny PKI ---

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func keyPEM(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

var serial atomic.Int64

func sign(t *testing.T, tmpl *x509.Certificate, pub any, parent *x509.Certificate, key *ecdsa.PrivateKey) (*x509.Certificate, []byte) {
	t.Helper()
	tmpl.SerialNumber = big.NewInt(serial.Add(1))
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func newTestCA(t *testing.T, name string, now time.Time, validFor time.Duration) testCA {
	t.Helper()
	k := newKey(t)
	c, p := sign(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: name}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(validFor),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}, &k.PublicKey, nil, k)
	return testCA{cert: c, key: k, pem: p}
}

// leaf issues a server certificate for localhost and 127.0.0.1 (httptest and
// our listener bind there, and clients connect by IP: no SNI).
func (ca testCA) leaf(t *testing.T, now time.Time, validFor time.Duration) (cert *x509.Certificate, certPEM, key []byte) {
	t.Helper()
	k := newKey(t)
	c, p := sign(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "localhost"}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(validFor),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}, &k.PublicKey, ca.cert, ca.key)
	return c, p, keyPEM(t, k)
}

func join(parts ...[]byte) string { return string(bytes.Join(parts, nil)) }

// selfSignedCA is the CA of the certificate the node generated in its data
// directory, which it serves until one is uploaded.
func (h *harness) selfSignedCA(t *testing.T) []byte {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(h.node.Config.DataDir, "tls", certs.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	return caPEM
}

// writePair writes a certificate chain and its key where
// WABIZ_TLS_CERT_FILE and WABIZ_TLS_KEY_FILE can name them.
func writePair(t *testing.T, chainPEM, keyPEM []byte) (certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, chainPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// --- helpers ---

func (h *harness) postPEM(token, path, contentType, body string) response {
	h.t.Helper()
	return h.do(request{method: "POST", path: path, header: bearer(token), contentType: contentType, body: body})
}

// getPEM fetches a PEM answer (not JSON, so not through h.do).
func (h *harness) getPEM(t *testing.T, token, path string) *httptest.ResponseRecorder {
	t.Helper()
	return h.raw("GET", path, "", nil, bearer(token))
}

func wantPEM(t *testing.T, w *httptest.ResponseRecorder, want []byte) {
	t.Helper()
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body.Bytes())
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q", ct)
	}
	if !bytes.Equal(w.Body.Bytes(), want) {
		t.Fatalf("body:\n%s\nwant:\n%s", w.Body.Bytes(), want)
	}
}

func wantErr(t *testing.T, res response, status, code int, detail string) {
	t.Helper()
	errs := res.errorsList()
	if res.Status != status || len(errs) != 1 || errs[0].Code != code || !strings.Contains(errs[0].Details, detail) {
		t.Fatalf("got %d %s, want %d/%d with %q", res.Status, res.Raw, status, code, detail)
	}
}

// handshake serves the listener store exactly as wabiz serve does and
// returns the certificate a client connecting by IP is shown.
func handshake(t *testing.T, listener *certs.Store, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), TLSConfig: certs.ServerConfig(listener)}
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// --- POST /v1/certificates/external, GET /v1/certificates/external/ca ---

func TestExternalCertificateInstalledAtOnceAndKept(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	user := h.createUser(admin, "alice", "Alice#Pass1")
	now := h.clock.Now()
	listener := h.node.Listener

	// Before any upload: the CA of the self-signed certificate served.
	wantPEM(t, h.getPEM(t, user, "/v1/certificates/external/ca"), h.selfSignedCA(t))

	ca := newTestCA(t, "test CA", now, 365*24*time.Hour)
	leaf, leafPEM, key := ca.leaf(t, now, 90*24*time.Hour)
	res := h.postPEM(admin, "/v1/certificates/external", "text/plain", join(key, leafPEM, ca.pem))
	if res.Status != 201 || res.errorsList() != nil {
		t.Fatalf("upload: %d %s", res.Status, res.Raw)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	// A real handshake with no restart; the self-signed root is not sent.
	if got := handshake(t, listener, roots); !got.Equal(leaf) {
		t.Fatalf("served %s, want the uploaded certificate", got.Subject)
	}
	if n := len(listener.Current().Certificate); n != 1 {
		t.Fatalf("chain of %d certificates; the self-signed root should be left out", n)
	}
	wantPEM(t, h.getPEM(t, user, "/v1/certificates/external/ca"), ca.pem)

	// A second upload (another CA, key first is not required; an
	// intermediate is sent in the chain) replaces the first at once.
	root2 := newTestCA(t, "root 2", now, 365*24*time.Hour)
	ik := newKey(t)
	inter, interPEM := sign(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "intermediate"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(300 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}, &ik.PublicKey, root2.cert, root2.key)
	leaf2, leaf2PEM, key2 := testCA{cert: inter, key: ik}.leaf(t, now, 30*24*time.Hour)
	res = h.postPEM(admin, "/v1/certificates/external/", "application/x-pem-file", join(leaf2PEM, interPEM, root2.pem, key2))
	if res.Status != 201 {
		t.Fatalf("second upload: %d %s", res.Status, res.Raw)
	}
	roots2 := x509.NewCertPool()
	roots2.AddCert(root2.cert)
	if got := handshake(t, listener, roots2); !got.Equal(leaf2) {
		t.Fatalf("served %s after the second upload", got.Subject)
	}
	if n := len(listener.Current().Certificate); n != 2 {
		t.Fatalf("chain of %d certificates, want leaf + intermediate", n)
	}
	wantPEM(t, h.getPEM(t, user, "/v1/certificates/external/ca"), []byte(join(interPEM, root2.pem)))

	// A restart: a fresh manager over the same database serves it again.
	listener = &certs.Store{}
	m := certs.NewManager(certs.ManagerOptions{Docs: h.store, Listener: listener, Now: h.clock.Now})
	external, _, skipped, err := m.Load(context.Background())
	if err != nil || !external || skipped != nil {
		t.Fatalf("load: external=%v skipped=%v err=%v", external, skipped, err)
	}
	if !listener.Current().Leaf.Equal(leaf2) {
		t.Fatal("the stored certificate is not served after a restart")
	}
	// Once expired, a restart skips it (and keeps its own certificate)
	// instead of failing to start.
	h.clock.Advance(31 * 24 * time.Hour)
	listener = &certs.Store{}
	m = certs.NewManager(certs.ManagerOptions{Docs: h.store, Listener: listener, Now: h.clock.Now})
	external, _, skipped, err = m.Load(context.Background())
	if err != nil || external || len(skipped) != 1 || !strings.Contains(skipped[0].Error(), "expired") || listener.Current() != nil {
		t.Fatalf("expired load: external=%v skipped=%v err=%v", external, skipped, err)
	}
}

func TestExternalCertificateDefaultCA(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	wantPEM(t, h.getPEM(t, admin, "/v1/certificates/external/ca"), h.selfSignedCA(t))
	if w := h.getPEM(t, admin, "/v1/certificates/external/ca"); w.Header().Get("Content-Disposition") != `attachment; filename="ca.pem"` {
		t.Fatalf("Content-Disposition %q", w.Header().Get("Content-Disposition"))
	}
}

func TestExternalCertificateErrors(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	selfSigned := h.node.Listener.Current()
	admin := h.adminToken()
	user := h.createUser(admin, "alice", "Alice#Pass1")
	now := h.clock.Now()
	ca := newTestCA(t, "test CA", now, 365*24*time.Hour)
	other := newTestCA(t, "other CA", now, 365*24*time.Hour)
	_, leafPEM, key := ca.leaf(t, now, 90*24*time.Hour)
	_, _, otherKey := ca.leaf(t, now, 90*24*time.Hour)
	_, expiredPEM, expiredKey := ca.leaf(t, now.Add(-100*24*time.Hour), 10*24*time.Hour)
	_, strayPEM, strayKey := other.leaf(t, now, 90*24*time.Hour)
	_, notCAPEM, _ := ca.leaf(t, now, 90*24*time.Hour)
	expiredCA := newTestCA(t, "old CA", now.Add(-400*24*time.Hour), 10*24*time.Hour)
	_, oldLeafPEM, oldLeafKey := expiredCA.leaf(t, now.Add(-300*24*time.Hour), 600*24*time.Hour)

	for _, tc := range []struct {
		name, contentType, body string
		status, code            int
		detail                  string
	}{
		{"json content type", "application/json", join(key, leafPEM, ca.pem), 400, 1009, "Content-Type must be text/plain"},
		{"empty", "text/plain", "", 400, 1009, "Request had no (empty) content"},
		{"not PEM", "text/plain", "hello", 400, 1009, "not PEM"},
		{"no CA", "text/plain", join(key, leafPEM), 400, 1009, "at least one CA certificate"},
		{"no key", "text/plain", join(leafPEM, ca.pem), 400, 1009, "no private key"},
		{"two keys", "text/plain", join(key, otherKey, leafPEM, ca.pem), 400, 1009, "2 private keys"},
		{"wrong key", "text/plain", join(otherKey, leafPEM, ca.pem), 400, 1009, "does not match"},
		{"CA first", "text/plain", join(key, ca.pem, leafPEM), 400, 1009, "server certificate must come first"},
		{"expired", "text/plain", join(expiredKey, expiredPEM, ca.pem), 400, 1009, "expired"},
		{"other CA", "text/plain", join(strayKey, strayPEM, ca.pem), 400, 1009, "not signed by the CA certificates"},
		{"leaf as CA", "text/plain", join(key, leafPEM, notCAPEM), 400, 1009, "is not a CA certificate"},
		{"expired CA", "text/plain", join(oldLeafKey, oldLeafPEM, expiredCA.pem), 400, 1009, "expired"},
		{"other block", "text/plain", join(key, leafPEM, ca.pem, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}})), 400, 1009, `unexpected PEM block "PUBLIC KEY"`},
		{"too large", "text/plain", join(key, leafPEM, ca.pem) + strings.Repeat("#", 1<<20), 400, 1009, "exceeds size of 1024 KB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, h.postPEM(admin, "/v1/certificates/external", tc.contentType, tc.body), tc.status, tc.code, tc.detail)
		})
	}
	wantErr(t, h.postPEM(user, "/v1/certificates/external", "text/plain", join(key, leafPEM, ca.pem)), 403, 1005, "")
	if h.node.Listener.Current() != selfSigned {
		t.Fatal("a refused upload changed the served certificate")
	}
	wantPEM(t, h.getPEM(t, admin, "/v1/certificates/external/ca"), h.selfSignedCA(t))

	// Configuration files pin the certificate; their CA is unknown.
	certFile, keyFile := writePair(t, []byte(join(leafPEM, ca.pem)), key)
	pinned := sqliteHarness(t, withConfig("WABIZ_TLS_CERT_FILE", certFile), withConfig("WABIZ_TLS_KEY_FILE", keyFile))
	pinnedAdmin := pinned.adminToken()
	wantErr(t, pinned.postPEM(pinnedAdmin, "/v1/certificates/external", "text/plain", join(key, leafPEM, ca.pem)), 403, 1005, "WABIZ_TLS_CERT_FILE")
	expectError(t, asResponse(t, pinned.getPEM(t, pinnedAdmin, "/v1/certificates/external/ca")), 404,
		errorItem{Code: 1006, Title: "Resource not found", Details: "External CA cert file not found"})

	// A storage failure installs nothing and says so.
	listener := &certs.Store{}
	failing := sqliteHarness(t, withDeps(func(d *api.Deps) {
		d.Certs = certs.NewManager(certs.ManagerOptions{Docs: failingDocs{}, Listener: listener, Now: d.Now})
	}))
	failingAdmin := failing.adminToken()
	wantErr(t, failing.postPEM(failingAdmin, "/v1/certificates/external", "text/plain", join(key, leafPEM, ca.pem)), 500, 1000, "Updating certificate in database failed")
	wantErr(t, failing.postPEM(failingAdmin, "/v1/certificates/webhooks/ca", "text/plain", string(ca.pem)), 500, 1000, "Updating certificate in database failed")
	if listener.Current() != nil {
		t.Fatal("served a certificate that was not stored")
	}
}

type failingDocs struct{}

func (failingDocs) GetDocument(context.Context, string) (store.Document, error) {
	return store.Document{}, errors.New("database down")
}

func (failingDocs) PutDocument(context.Context, string, []byte, int64, time.Time) (int64, error) {
	return 0, errors.New("database down")
}

// --- /v1/certificates/webhooks/ca ---

func TestWebhookCAErrorsAndAccess(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	user := h.createUser(admin, "alice", "Alice#Pass1")
	now := h.clock.Now()
	ca := newTestCA(t, "hook CA", now, 365*24*time.Hour)
	_, leafPEM, key := ca.leaf(t, now, 90*24*time.Hour)
	old := newTestCA(t, "old CA", now.Add(-400*24*time.Hour), 10*24*time.Hour)
	const path = "/v1/certificates/webhooks/ca"

	expectError(t, asResponse(t, h.getPEM(t, admin, path)), 404, errorItem{Code: 1006, Title: "Resource not found", Details: "Webhook CA cert file not found"})
	for _, tc := range []struct {
		name, contentType, body string
		code                    int
		detail                  string
	}{
		{"empty", "text/plain", "", 1008, "No cert data found"},
		{"json", "application/json", string(ca.pem), 1009, "Content-Type must be text/plain"},
		{"no content type", "", string(ca.pem), 1009, "Content-Type must be text/plain"},
		{"not PEM", "text/plain", "not a certificate", 1009, "not PEM"},
		{"leaf", "text/plain", join(ca.pem, leafPEM), 1009, "certificate 2 (CN=localhost) is not a CA certificate"},
		{"key", "text/plain", join(ca.pem, key), 1009, "block 2 is a private key"},
		{"expired", "text/plain", string(old.pem), 1009, "expired"},
		{"garbage DER", "text/plain", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})), 1009, "certificate 1 is invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := h.raw("POST", path, tc.contentType, strings.NewReader(tc.body), bearer(admin))
			wantErr(t, asResponse(t, w), 400, tc.code, tc.detail)
		})
	}
	for _, m := range []string{"GET", "POST", "DELETE"} {
		w := h.raw(m, path, "text/plain", strings.NewReader(string(ca.pem)), bearer(user))
		wantErr(t, asResponse(t, w), 403, 1005, "")
	}
	w := h.raw("PUT", path, "text/plain", strings.NewReader(string(ca.pem)), bearer(admin))
	if w.Code != 405 {
		t.Fatalf("PUT: %d", w.Code)
	}
	// Deleting when nothing is stored is fine.
	if res := h.do(request{method: "DELETE", path: path, header: bearer(admin)}); res.Status != 200 {
		t.Fatalf("delete: %d %s", res.Status, res.Raw)
	}
}

func TestWebhookCATrustedAtOnce(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	var received atomic.Int32
	ca, url := privateReceiver(t, h.clock.Now(), func(w http.ResponseWriter, r *http.Request) { received.Add(1) })
	h.setWebhook(admin, url)
	const path = "/v1/certificates/webhooks/ca"
	ctx := context.Background()

	deliver := func() webhook.Result {
		t.Helper()
		if err := h.hooks.Enqueue(ctx, webhook.Notification{Kind: webhook.KindStatuses, Payload: json.RawMessage(`{"statuses":[]}`)}); err != nil {
			t.Fatal(err)
		}
		return h.runHooks()
	}
	if res := deliver(); res.Delivered != 0 || res.Retried != 1 {
		t.Fatalf("before the CA upload: %+v", res)
	}
	if log := h.logText(); !strings.Contains(log, "certificate signed by unknown authority") {
		t.Fatalf("the failure is not logged as a certificate error:\n%s", log)
	}

	// Text around the blocks is dropped; the bundle is stored as parsed.
	other := newTestCA(t, "another CA", h.clock.Now(), 365*24*time.Hour)
	res := h.postPEM(admin, path, "text/plain; charset=utf-8", "# our CAs\n"+join(other.pem, ca.pem))
	if res.Status != 200 || res.errorsList() != nil {
		t.Fatalf("upload: %d %s", res.Status, res.Raw)
	}
	h.clock.Advance(time.Hour) // past the retry delay
	if res := h.runHooks(); res.Delivered != 1 {
		t.Fatalf("after the CA upload: %+v", res)
	}
	if received.Load() != 1 {
		t.Fatalf("receiver got %d POSTs", received.Load())
	}
	wantPEM(t, h.getPEM(t, admin, path), []byte(join(other.pem, ca.pem)))
	// Kept for the next start.
	var applied *x509.CertPool
	m := certs.NewManager(certs.ManagerOptions{Docs: h.store, Listener: &certs.Store{}, Now: h.clock.Now, ApplyWebhookCA: func(p *x509.CertPool) { applied = p }})
	if _, hook, _, err := m.Load(ctx); err != nil || !hook || applied == nil {
		t.Fatalf("load: %v %v", hook, err)
	}

	if res := h.do(request{method: "DELETE", path: path, header: bearer(admin)}); res.Status != 200 {
		t.Fatalf("delete: %d %s", res.Status, res.Raw)
	}
	if w := h.getPEM(t, admin, path); w.Code != 404 {
		t.Fatalf("GET after DELETE: %d", w.Code)
	}
	if res := deliver(); res.Delivered != 0 || res.Retried != 1 {
		t.Fatalf("after DELETE the system roots should apply again: %+v", res)
	}
	applied = nil
	if _, hook, _, err := m.Load(ctx); err != nil || hook || applied != nil {
		t.Fatalf("load after DELETE: %v %v", hook, err)
	}
}

// TestRestoredWebhookCATrustedAtOnce: a restore that brings back a webhook
// CA bundle applies it to deliveries without a restart.
func TestRestoredWebhookCATrustedAtOnce(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	ca, url := privateReceiver(t, h.clock.Now(), func(w http.ResponseWriter, r *http.Request) {})
	h.setWebhook(admin, url)
	const path = "/v1/certificates/webhooks/ca"
	if res := h.postPEM(admin, path, "text/plain", string(ca.pem)); res.Status != 200 {
		t.Fatalf("upload: %d %s", res.Status, res.Raw)
	}
	data := h.backup(t, admin, "s3cret pass")
	if res := h.do(request{method: "DELETE", path: path, header: bearer(admin)}); res.Status != 200 {
		t.Fatalf("delete: %d %s", res.Status, res.Raw)
	}
	ctx := context.Background()
	if err := h.hooks.Enqueue(ctx, webhook.Notification{Kind: webhook.KindStatuses, Payload: json.RawMessage(`{"statuses":[]}`)}); err != nil {
		t.Fatal(err)
	}
	if res := h.runHooks(); res.Delivered != 0 || res.Retried != 1 {
		t.Fatalf("without the CA: %+v", res)
	}

	if res := h.do(request{method: "POST", path: "/v1/settings/restore", header: bearer(admin), body: `{"password":"s3cret pass","data":"` + data + `"}`}); res.Status != 200 {
		t.Fatalf("restore: %d %s", res.Status, res.Raw)
	}
	wantPEM(t, h.getPEM(t, admin, path), ca.pem)
	h.clock.Advance(time.Hour) // past the retry delay
	if res := h.runHooks(); res.Delivered != 1 {
		t.Fatalf("after the restore: %+v", res)
	}
}

// runHooks runs one dispatcher round and waits for its POSTs.
func (h *harness) runHooks() webhook.Result {
	h.t.Helper()
	res, err := h.hooks.RunOnce(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return res
}

func (h *harness) logText() string {
	h.t.Helper()
	// The handler writes through a syncWriter; reading after RunOnce
	// returned is race-free because no delivery is under way.
	return h.logBuf.String()
}

// privateReceiver starts a webhook receiver serving a certificate of a new
// private CA (valid from now), calling handle for each request, and returns
// the CA and the receiver's URL; it stops when the test ends.
func privateReceiver(t *testing.T, now time.Time, handle http.HandlerFunc) (testCA, string) {
	t.Helper()
	ca := newTestCA(t, "private hook CA", now, 365*24*time.Hour)
	_, leafPEM, key := ca.leaf(t, now, 90*24*time.Hour)
	pair, err := tls.X509KeyPair(leafPEM, key)
	if err != nil {
		t.Fatal(err)
	}
	rcv := httptest.NewUnstartedServer(handle)
	rcv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	rcv.StartTLS()
	t.Cleanup(rcv.Close)
	return ca, rcv.URL
}
