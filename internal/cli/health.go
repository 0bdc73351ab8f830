package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/wabiz/wabiz/internal/certs"
	"github.com/wabiz/wabiz/internal/cluster"
	"github.com/wabiz/wabiz/internal/config"
)

// runHealth is `wabiz health`: the probe a container's HEALTHCHECK, a
// Kubernetes probe or a systemd watchdog runs next to the server. It reads
// the same configuration as `serve`, so in a container it needs no
// arguments, and asks this node's own listener for GET /v1/health. It exits
// 0 when the node answers and 1 with a one-line reason otherwise.
func runHealth(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 5*time.Second, "give up on the node after this long (connecting, TLS and the answer)")
	cacert := fs.String("cacert", "", "also trust certificates signed by this PEM CA for WA_WEB_SERVERNAME (for a certificate uploaded through POST /v1/certificates/external)")
	c, err := loadConfig(e, "health", args, fs)
	if err != nil {
		return err
	}
	if *timeout <= 0 {
		return fmt.Errorf("--timeout must be positive, not %s", *timeout)
	}
	probe, err := newHealthProbe(c, *cacert)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	report, err := probe.check(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, report)
	return nil
}

// healthProbe is one node's health endpoint and how to trust it.
type healthProbe struct {
	url    string
	apiKey string
	client *http.Client
}

func newHealthProbe(c *config.Config, cacert string) (*healthProbe, error) {
	p := &healthProbe{apiKey: c.APIKey}
	transport := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	p.client = &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	if c.Role == cluster.RoleCore {
		// A core node has no API listener; its monitoring listener is
		// plain HTTP by design (loopback or a private network).
		if c.CoreMonitorListen == "" {
			return nil, errors.New("a core node (WABIZ_ROLE=core) has no listener to probe: set WABIZ_CORE_MONITOR_LISTEN (e.g. 127.0.0.1:9091)")
		}
		addr, err := loopbackAddr(c.CoreMonitorListen, "WABIZ_CORE_MONITOR_LISTEN")
		if err != nil {
			return nil, err
		}
		p.url = "http://" + addr + "/v1/health"
		return p, nil
	}
	addr, err := loopbackAddr(c.Listen, "WABIZ_LISTEN")
	if err != nil {
		return nil, err
	}
	trust, err := nodeTrust(c, cacert)
	if err != nil {
		return nil, err
	}
	transport.TLSClientConfig = &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: c.ServerName,
		// Go's own verification is replaced by VerifyConnection, which
		// accepts only this node's certificate (see nodeTrust): nothing is
		// skipped, the check is narrower than the system's roots would be.
		InsecureSkipVerify: true,
		VerifyConnection:   trust.verify,
	}
	p.url = "https://" + addr + "/v1/health"
	return p, nil
}

// loopbackAddr turns a listen address into the address this machine reaches
// it on: an empty or unspecified host becomes loopback, so the probe never
// leaves the machine (and never needs the node's public name to resolve).
func loopbackAddr(listen, option string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("%s %q: %v", option, listen, err)
	}
	if port == "0" {
		return "", fmt.Errorf("%s %q picks a free port at start: there is no known port to probe", option, listen)
	}
	switch ip := net.ParseIP(host); {
	case host == "" || (ip != nil && ip.To4() != nil && ip.IsUnspecified()):
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return net.JoinHostPort(host, port), nil
}

// nodeCertificates is what the probe accepts from the HTTPS listener:
// this node's own certificate, not anything the system's roots would vouch
// for. A process that took the port while the server was down could
// otherwise present any public certificate and read the API key.
type nodeCertificates struct {
	pinned     [][]byte       // WABIZ_TLS_CERT_FILE's leaf, accepted as it is
	privateCA  *x509.CertPool // <data dir>/tls/ca.pem: its key never leaves the node
	extraCA    *x509.CertPool // --cacert, checked against WA_WEB_SERVERNAME
	serverName string
}

func nodeTrust(c *config.Config, cacert string) (*nodeCertificates, error) {
	t := &nodeCertificates{serverName: c.ServerName}
	if c.TLSCertFile != "" {
		leaf, err := firstCertificate(c.TLSCertFile)
		if err != nil {
			return nil, fmt.Errorf("WABIZ_TLS_CERT_FILE: %v", err)
		}
		t.pinned = append(t.pinned, leaf)
	}
	caFile := filepath.Join(c.DataDir, "tls", certs.CAFile)
	if pemBytes, err := os.ReadFile(caFile); err == nil {
		t.privateCA = x509.NewCertPool()
		if !t.privateCA.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read the node's CA: %v", err)
	}
	if cacert != "" {
		pemBytes, err := os.ReadFile(cacert)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %v", err)
		}
		t.extraCA = x509.NewCertPool()
		if !t.extraCA.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("--cacert %s holds no PEM certificate", cacert)
		}
	}
	if t.pinned == nil && t.privateCA == nil && t.extraCA == nil {
		return nil, fmt.Errorf("nothing to verify the node's certificate with: no %s yet (has the server started with this WABIZ_DATA_DIR?) and no WABIZ_TLS_CERT_FILE or --cacert", caFile)
	}
	return t, nil
}

func firstCertificate(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("%s holds no PEM certificate", path)
		}
		if block.Type == "CERTIFICATE" {
			return block.Bytes, nil
		}
	}
}

func (t *nodeCertificates) verify(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the listener presented no certificate")
	}
	leaf := cs.PeerCertificates[0]
	for _, raw := range t.pinned {
		if bytes.Equal(raw, leaf.Raw) {
			return nil
		}
	}
	intermediates := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		intermediates.AddCert(c)
	}
	if t.privateCA != nil {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: t.privateCA, Intermediates: intermediates}); err == nil {
			return nil
		}
	}
	if t.extraCA != nil {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: t.extraCA, Intermediates: intermediates, DNSName: t.serverName}); err == nil {
			return nil
		}
	}
	return fmt.Errorf("the listener's certificate (%s) is not this node's: neither WABIZ_TLS_CERT_FILE nor the data directory's CA nor --cacert vouches for it", leaf.Subject)
}

// healthAnswer is the body of GET /v1/health: one node's status, or with
// several nodes an object per node.
type healthAnswer struct {
	Health json.RawMessage `json:"health"`
	Errors []struct {
		Code    int    `json:"code"`
		Title   string `json:"title"`
		Details string `json:"details"`
	} `json:"errors"`
}

func (p *healthProbe) check(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return "", err
	}
	if p.apiKey != "" {
		req.Header.Set("Authorization", "Apikey "+p.apiKey)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%s: %v", p.url, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("%s: reading the answer: %v", p.url, err)
	}
	var answer healthAnswer
	if err := json.Unmarshal(body, &answer); err != nil {
		return "", fmt.Errorf("%s: HTTP %d with a body that is not wabiz's JSON envelope", p.url, resp.StatusCode)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		status, err := describeHealth(answer.Health)
		if err != nil {
			return "", fmt.Errorf("%s: %v", p.url, err)
		}
		return "healthy: " + status, nil
	case resp.StatusCode == http.StatusUnauthorized && p.apiKey == "" && len(answer.Errors) > 0:
		// Without WA_API_KEY there are no credentials to read the status
		// with, but wabiz's own refusal proves the listener, TLS and the
		// router are up: enough for a liveness probe of a default setup.
		return "listening (set WA_API_KEY to read the gateway status)", nil
	case resp.StatusCode == http.StatusTooManyRequests && len(answer.Errors) > 0:
		// The rate limit (WABIZ_HEALTH_RATE_LIMIT) is checked after the
		// credentials: the node is up and accepted the key.
		return "listening (health is rate-limited: WABIZ_HEALTH_RATE_LIMIT)", nil
	}
	reason := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if len(answer.Errors) > 0 {
		e := answer.Errors[0]
		reason += fmt.Sprintf(": %d %s", e.Code, e.Title)
		if e.Details != "" {
			reason += ": " + e.Details
		}
	}
	if resp.StatusCode == http.StatusUnauthorized {
		reason += " (does WA_API_KEY match the server's?)"
	}
	return "", fmt.Errorf("%s: %s", p.url, reason)
}

// describeHealth reads {"gateway_status": ...} or, with several nodes,
// {"<host>:<node>": {"gateway_status": ..., "role": ...} | {"errors": ...}}.
func describeHealth(raw json.RawMessage) (string, error) {
	var single struct {
		GatewayStatus string `json:"gateway_status"`
	}
	if err := json.Unmarshal(raw, &single); err == nil && single.GatewayStatus != "" {
		return "gateway_status " + single.GatewayStatus, nil
	}
	var nodes map[string]struct {
		GatewayStatus string            `json:"gateway_status"`
		Role          string            `json:"role"`
		Errors        []json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(raw, &nodes); err != nil || len(nodes) == 0 {
		return "", errors.New("HTTP 200 without a health status")
	}
	parts := make([]string, 0, len(nodes))
	for id, n := range nodes {
		switch {
		case len(n.Errors) > 0:
			parts = append(parts, id+" silent")
		case n.Role != "":
			parts = append(parts, fmt.Sprintf("%s %s %s", id, n.Role, n.GatewayStatus))
		default:
			parts = append(parts, id+" "+n.GatewayStatus)
		}
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d nodes: %s", len(nodes), strings.Join(parts, ", ")), nil
}

// unwrapURLError drops net/http's "Get \"url\": " prefix, which the
// message already carries.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
