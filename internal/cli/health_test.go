package cli

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/certs"
)

const testAPIKey = "health-probe-key-0123"

// nodeServer is an HTTPS server presenting the certificate a wabiz node
// with dataDir would generate, answering /v1/health with handler.
func nodeServer(t *testing.T, dataDir string, handler http.HandlerFunc) *httptest.Server {
	t.Helper()
	bundle, _, err := certs.EnsureSelfSigned(filepath.Join(dataDir, "tls"), "localhost", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(bundle.CertPEM, bundle.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(handler)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// healthHandler answers like GET /v1/health: the key checked first, then
// the given status and body.
func healthHandler(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/v1/health" {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"meta":{},"errors":[{"code":1006,"title":"Resource not found","details":"URL path not found"}]}`))
			return
		}
		if r.Header.Get("Authorization") != "Apikey "+testAPIKey {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"meta":{},"errors":[{"code":1005,"title":"Access denied","details":"Invalid credentials"}]}`))
			return
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

func listenAddr(srv *httptest.Server) string { return srv.Listener.Addr().String() }

// runHealthWith runs `wabiz health args...` with only the given
// environment and returns the exit code and both outputs.
func runHealthWith(vars map[string]string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := Run(append([]string{"health"}, args...), func(k string) string { return vars[k] }, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestHealthHealthy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, want string
	}{
		{"one node", `{"health":{"gateway_status":"connected"},"meta":{}}`, "healthy: gateway_status connected\n"},
		{"unregistered", `{"health":{"gateway_status":"unregistered"},"meta":{}}`, "healthy: gateway_status unregistered\n"},
		{"several nodes", `{"health":{"h:web1":{"gateway_status":"connected","role":"web"},"h:core1":{"errors":[{"code":1014,"title":"Internal error"}]}},"meta":{}}`,
			"healthy: 2 nodes: h:core1 silent, h:web1 web connected\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dataDir := t.TempDir()
			srv := nodeServer(t, dataDir, healthHandler(http.StatusOK, tc.body))
			code, out, errOut := runHealthWith(map[string]string{
				"WABIZ_DATA_DIR": dataDir, "WABIZ_LISTEN": listenAddr(srv), "WA_API_KEY": testAPIKey,
			})
			if code != 0 || out != tc.want {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and %q", code, out, errOut, tc.want)
			}
		})
	}
}

// A default setup has no API key: wabiz's own 401 proves the listener.
func TestHealthWithoutAPIKeyIsLiveness(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	srv := nodeServer(t, dataDir, healthHandler(http.StatusOK, `{"health":{"gateway_status":"connected"}}`))
	code, out, errOut := runHealthWith(map[string]string{"WABIZ_DATA_DIR": dataDir, "WABIZ_LISTEN": listenAddr(srv)})
	if code != 0 || !strings.HasPrefix(out, "listening (set WA_API_KEY") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// The listen address's unspecified host is probed on loopback.
func TestHealthProbesLoopbackForWildcardListen(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	srv := nodeServer(t, dataDir, healthHandler(http.StatusOK, `{"health":{"gateway_status":"connected"}}`))
	_, port, _ := net.SplitHostPort(listenAddr(srv))
	code, out, errOut := runHealthWith(map[string]string{"WABIZ_DATA_DIR": dataDir, "WABIZ_LISTEN": ":" + port, "WA_API_KEY": testAPIKey})
	if code != 0 || !strings.HasPrefix(out, "healthy") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// An operator's certificate (WABIZ_TLS_CERT_FILE) is trusted as it is,
// whatever signed it.
func TestHealthTrustsTheConfiguredCertificate(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(healthHandler(http.StatusOK, `{"health":{"gateway_status":"connected"}}`))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	certFile := filepath.Join(dir, "cert.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	// The key file only has to exist for the configuration to load; the
	// probe never reads it.
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, []byte("unused"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runHealthWith(map[string]string{
		"WABIZ_DATA_DIR": filepath.Join(dir, "data"), "WABIZ_LISTEN": listenAddr(srv), "WA_API_KEY": testAPIKey,
		"WABIZ_TLS_CERT_FILE": certFile, "WABIZ_TLS_KEY_FILE": keyFile,
	})
	if code != 0 || !strings.HasPrefix(out, "healthy") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestHealthCoreNodeProbesItsMonitoringListener(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(healthHandler(http.StatusOK, `{"health":{"gateway_status":"connected"}}`))
	t.Cleanup(srv.Close)
	code, out, errOut := runHealthWith(map[string]string{
		"WABIZ_DATA_DIR": t.TempDir(), "WABIZ_ROLE": "core", "WA_DB_ENGINE": "PGSQL",
		"WABIZ_CORE_MONITOR_LISTEN": listenAddr(srv), "WA_API_KEY": testAPIKey,
	})
	if code != 0 || out != "healthy: gateway_status connected\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestHealthUnhealthy(t *testing.T) {
	t.Parallel()
	closedAddr := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	cases := []struct {
		name string
		// setup returns the environment and extra arguments.
		setup func(t *testing.T) (map[string]string, []string)
		want  string
	}{
		{"nothing listens", func(t *testing.T) (map[string]string, []string) {
			dataDir := t.TempDir()
			nodeServer(t, dataDir, healthHandler(http.StatusOK, `{}`)) // only for the CA
			return map[string]string{"WABIZ_DATA_DIR": dataDir, "WABIZ_LISTEN": closedAddr(t), "WA_API_KEY": testAPIKey}, nil
		}, "connection refused"},
		{"database error", func(t *testing.T) (map[string]string, []string) {
			dataDir := t.TempDir()
			srv := nodeServer(t, dataDir, healthHandler(http.StatusInternalServerError,
				`{"meta":{},"errors":[{"code":1014,"title":"Internal error","details":"the database does not answer"}]}`))
			return map[string]string{"WABIZ_DATA_DIR": dataDir, "WABIZ_LISTEN": listenAddr(srv), "WA_API_KEY": testAPIKey}, nil
		}, "HTTP 500: 1014 Internal error: the database does not answer"},
		{"wrong API key", func(t *testing.T) (map[string]string, []string) {
			dataDir := t.TempDir()
			srv := nodeServer(t, dataDir, healthHandler(http.StatusOK, `{"health":{"gateway_status":"connected"}}`))
			return map[string]string{"WABIZ_DATA_DIR": dataDir, "WABIZ_LISTEN": listenAddr(srv), "WA_API_KEY": "some-other-key-987"}, nil
		}, "HTTP 401: 1005 Access denied: Invalid credentials (does WA_API_KEY match"},
		{"not wabiz", func(t *testing.T) (map[string]string, []string) {
			dataDir := t.TempDir()
			srv := nodeServer(t, dataDir, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>proxy</html>")) })
			return map[string]string{"WABIZ_DATA_DIR": dataDir, "WABIZ_LISTEN": listenAddr(srv), "WA_API_KEY": testAPIKey}, nil
		}, "HTTP 200 with a body that is not wabiz's JSON envelope"},
		{"200 without status", func(t *testing.T) (map[string]string, []string) {
			dataDir := t.TempDir()
			srv := nodeServer(t, dataDir, healthHandler(http.StatusOK, `{"meta":{}}`))
			return map[string]string{"WABIZ_DATA_DIR": dataDir, "WABIZ_LISTEN": listenAddr(srv), "WA_API_KEY": testAPIKey}, nil
		}, "HTTP 200 without a health status"},
		{"another node's certificate", func(t *testing.T) (map[string]string, []string) {
			dataDir := t.TempDir()
			nodeServer(t, dataDir, healthHandler(http.StatusOK, `{}`)) // this node's CA
			foreign := httptest.NewTLSServer(healthHandler(http.StatusOK, `{"health":{"gateway_status":"connected"}}`))
			t.Cleanup(foreign.Close)
			return map[string]string{"WABIZ_DATA_DIR": dataDir, "WABIZ_LISTEN": listenAddr(foreign), "WA_API_KEY": testAPIKey}, nil
		}, "is not this node's"},
		{"no certificate to trust", func(t *testing.T) (map[string]string, []string) {
			return map[string]string{"WABIZ_DATA_DIR": t.TempDir(), "WABIZ_LISTEN": closedAddr(t)}, nil
		}, "nothing to verify the node's certificate with"},
		{"core node without monitoring listener", func(t *testing.T) (map[string]string, []string) {
			return map[string]string{"WABIZ_DATA_DIR": t.TempDir(), "WABIZ_ROLE": "core", "WA_DB_ENGINE": "MYSQL"}, nil
		}, "set WABIZ_CORE_MONITOR_LISTEN"},
		{"port chosen at start", func(t *testing.T) (map[string]string, []string) {
			return map[string]string{"WABIZ_DATA_DIR": t.TempDir(), "WABIZ_LISTEN": "127.0.0.1:0"}, nil
		}, "no known port to probe"},
		{"unreadable --cacert", func(t *testing.T) (map[string]string, []string) {
			return map[string]string{"WABIZ_DATA_DIR": t.TempDir(), "WABIZ_LISTEN": closedAddr(t)}, []string{"--cacert", filepath.Join(t.TempDir(), "missing.pem")}
		}, "--cacert: open"},
		{"bad timeout", func(t *testing.T) (map[string]string, []string) {
			return map[string]string{"WABIZ_DATA_DIR": t.TempDir()}, []string{"--timeout", "0s"}
		}, "--timeout must be positive"},
		{"bad configuration", func(t *testing.T) (map[string]string, []string) {
			return map[string]string{"WABIZ_LISTEN": "nope"}, nil
		}, "WABIZ_LISTEN"},
		{"no answer in time", func(t *testing.T) (map[string]string, []string) {
			dataDir := t.TempDir()
			srv := nodeServer(t, dataDir, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
			return map[string]string{"WABIZ_DATA_DIR": dataDir, "WABIZ_LISTEN": listenAddr(srv), "WA_API_KEY": testAPIKey}, []string{"--timeout", "200ms"}
		}, "context deadline exceeded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vars, args := tc.setup(t)
			code, out, errOut := runHealthWith(vars, args...)
			if code == 0 {
				t.Fatalf("exit 0 (stdout %q), want a failure", out)
			}
			if !strings.HasPrefix(errOut, "wabiz health: ") || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("stderr %q, want one line 'wabiz health: ...%s...'", errOut, tc.want)
			}
		})
	}
}
