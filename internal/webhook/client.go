package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// The webhook URL is chosen by an API user with settings access, so the
// dialer refuses the addresses no receiver legitimately has and that would
// hand out credentials or reach other hosts' services: link-local (the cloud
// metadata services live at 169.254.169.254), multicast, broadcast and
// unspecified addresses, plus the two metadata addresses outside those ranges.
// Loopback and private ranges stay allowed: admins run receivers on the same
// host or an internal network. The check runs on the resolved address, after
// DNS, so a name pointing at a refused address is refused too.

// errRefusedAddress marks a connection the guard stopped.
var errRefusedAddress = errors.New("webhook: refusing to connect")

var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),   // AWS instance metadata over IPv6
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud metadata
}

var thisNetwork = netip.MustParsePrefix("0.0.0.0/8") // Linux connects 0.x to the local host

// guardDial is a net.Dialer Control function: it runs after the name is
// resolved and before the connection is made.
func guardDial(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w to %q: %v", errRefusedAddress, address, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w to %q: not an IP address", errRefusedAddress, host)
	}
	if reason := refusedReason(ip); reason != "" {
		return fmt.Errorf("%w to %s: %s address", errRefusedAddress, ip, reason)
	}
	return nil
}

func refusedReason(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	switch {
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsMulticast():
		return "multicast"
	case ip.IsUnspecified() || ip.Is4() && thisNetwork.Contains(ip):
		return "unspecified"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	for _, m := range metadataAddrs {
		if ip == m {
			return "cloud metadata"
		}
	}
	return ""
}

// newHTTPClient is the default client: the guarded dialer, a connect and a
// whole-request timeout, no proxy from the environment (the guard would check
// the proxy's address, not the receiver's), and no redirects (a 3xx is a
// failed delivery, as any answer but 200).
func newHTTPClient(connectTimeout, requestTimeout time.Duration, roots *x509.CertPool) *http.Client {
	dialer := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second, Control: guardDial}
	transport := &http.Transport{
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots},
		TLSHandshakeTimeout:   connectTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   32, // above the highest max_concurrent_requests (24)
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   requestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// maxResponseDrain is how much of a response body is read (and discarded) so
// the connection can be reused; a receiver sending more gets its connection
// closed instead.
const maxResponseDrain = 64 << 10

// post sends body and returns the status code.
func (d *Dispatcher) post(ctx context.Context, rawURL string, body []byte) (int, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		// Settings validation keeps this from happening; say what is wrong
		// without echoing the URL, which may hold credentials.
		return 0, errors.New("webhooks.url is not an absolute http(s) URL")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "wabiz/"+d.o.Version)
	resp, err := d.httpClient().Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is known; it may hold credentials
		}
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseDrain))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// NewProbeClient is the client deliveries use (the guarded dialer, no proxy
// from the environment, no redirects) with one timeout for the whole
// request, so that a check of the webhook URL (wabiz doctor) meets exactly
// what a delivery would. roots nil means the system roots.
func NewProbeClient(timeout time.Duration, roots *x509.CertPool) *http.Client {
	return newHTTPClient(timeout, timeout, roots)
}

// RefusedByGuard reports whether err is the guard refusing an address no
// webhook receiver may have (link-local, cloud metadata, ...).
func RefusedByGuard(err error) bool { return errors.Is(err, errRefusedAddress) }
