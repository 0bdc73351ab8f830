package blackbox

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// client is the small HTTPS client the suite drives a wabiz process with. It
// trusts only the CA the server generated in its data directory and checks
// the certificate against the name "localhost", so every test also proves
// that the self-signed setup works for a real client.
type client struct {
	base string
	http *http.Client
}

func newClient(t testing.TB, addr, dataDir string) *client {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(dataDir, "tls", "ca.pem"))
	if err != nil {
		t.Fatalf("read the server's CA: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatalf("no certificate in the server's ca.pem")
	}
	transport := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS12},
		DisableKeepAlives: true, // a restarted server must never meet a stale connection
	}
	return &client{base: "https://" + addr, http: &http.Client{Transport: transport, Timeout: 15 * time.Second}}
}

// response is one answer: status, headers, the raw body and its decoded
// envelope (numbers kept as json.Number so 5000 and "5000" differ).
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
	leaf   []byte // SHA-256 of the server certificate presented
}

func bearer(token string) string { return "Bearer " + token }
func apikey(key string) string   { return "Apikey " + key }
func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// do sends one request. auth is the whole Authorization header value (""
// for none); body is nil, a string of JSON, or a value to marshal; headers
// are extra name/value pairs.
func (c *client) do(t testing.TB, method, path, auth string, body any, headers ...string) *response {
	t.Helper()
	var payload io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		payload = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		payload = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, payload)
	if err != nil {
		t.Fatal(err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	r := &response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		sum := sha256.Sum256(resp.TLS.PeerCertificates[0].Raw)
		r.leaf = sum[:]
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&r.body); err != nil {
			t.Fatalf("%s %s: answer is not a JSON object: %v\n%s", method, path, err, raw)
		}
	}
	return r
}

// expect fails the test unless the status is want.
func (r *response) expect(t testing.TB, want int) *response {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d; body: %s", r.status, want, r.raw)
	}
	return r
}

// expectError checks status, the first error's code and its details text.
func (r *response) expectError(t testing.TB, status, code int, details string) {
	t.Helper()
	r.expect(t, status)
	errs, _ := r.body["errors"].([]any)
	if len(errs) == 0 {
		t.Fatalf("no errors in %s", r.raw)
	}
	first, _ := errs[0].(map[string]any)
	if got := fmt.Sprint(first["code"]); got != fmt.Sprint(code) {
		t.Fatalf("error code %s, want %d; body: %s", got, code, r.raw)
	}
	if got, _ := first["details"].(string); got != details {
		t.Fatalf("error details %q, want %q", got, details)
	}
}

// get walks the decoded body along keys (array elements by index "0", "1").
func (r *response) get(keys ...string) any {
	var v any = r.body
	for _, k := range keys {
		switch node := v.(type) {
		case map[string]any:
			v = node[k]
		case []any:
			var i int
			if _, err := fmt.Sscan(k, &i); err != nil || i < 0 || i >= len(node) {
				return nil
			}
			v = node[i]
		default:
			return nil
		}
	}
	return v
}

// topLevelKeys lists the keys of a JSON object in the order they appear in
// the bytes, which a map cannot tell.
func topLevelKeys(t testing.TB, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("body is not a JSON object: %s", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("bad JSON %s: %v", raw, err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("bad JSON %s: %v", raw, err)
		}
	}
	return keys
}

func fingerprint(b []byte) string { return hex.EncodeToString(b) }
