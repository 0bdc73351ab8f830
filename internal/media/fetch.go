package media

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// Media sent by link is downloaded by the server from a URL an API user
// chose. The download is bounded (time, size, redirects) and its dialer
// refuses the addresses a public media host never has, so a link cannot be
// used to reach the server's own network: loopback, private (RFC 1918, ULA),
// CGNAT, link-local (cloud metadata services), multicast, unspecified and
// reserved ranges. Intranet deployments (and tests) may allow loopback,
// private and CGNAT addresses; link-local and the metadata addresses stay
// refused whatever the setting. The check runs on the resolved address, in
// the dialer, so a name resolving to a refused address is refused too, and
// so is every redirect hop.

// FetchOptions bound link downloads.
type FetchOptions struct {
	ConnectTimeout time.Duration // default 10s
	Timeout        time.Duration // the whole download, body included; default 60s
	MaxRedirects   int           // default 3
	MaxBytes       int64         // default MaxUploadBytes
	// AllowPrivate lets links reach loopback, private and CGNAT addresses
	// (WABIZ_MEDIA_ALLOW_PRIVATE_LINKS).
	AllowPrivate bool
	UserAgent    string
}

// FetchReason classifies a failed download for the asynchronous error
// 400 "Media download error" of the send.
type FetchReason string

// Why a download failed.
const (
	FetchBadURL           FetchReason = "bad_url"
	FetchForbiddenAddress FetchReason = "forbidden_address"
	FetchUnreachable      FetchReason = "unreachable"
	FetchTimeout          FetchReason = "timeout"
	FetchTooLarge         FetchReason = "too_large"
	FetchTooManyRedirects FetchReason = "too_many_redirects"
	FetchHTTPStatus       FetchReason = "http_status"
)

// FetchError is a failed download. Its message is meant for the "details" of
// the asynchronous error; it never contains the URL's credentials or query.
type FetchError struct {
	Reason     FetchReason
	URL        string // redacted: scheme, host and path only
	StatusCode int    // for FetchHTTPStatus
	Err        error
}

func (e *FetchError) Error() string {
	var what string
	switch e.Reason {
	case FetchBadURL:
		what = "the link is not a valid http or https URL"
		if e.Err != nil {
			what = "it was redirected to a URL that is not http or https"
		}
	case FetchForbiddenAddress:
		what = "the link points to an address the server may not connect to"
		if e.Err != nil {
			what += " (" + e.Err.Error() + ")"
		}
	case FetchUnreachable:
		what = "the host could not be reached"
		if e.Err != nil {
			what += ": " + e.Err.Error()
		}
	case FetchTimeout:
		what = "the download timed out"
	case FetchTooLarge:
		what = "the media is larger than the limit"
	case FetchTooManyRedirects:
		what = "too many redirects"
	case FetchHTTPStatus:
		what = fmt.Sprintf("the server answered HTTP %d", e.StatusCode)
	default:
		what = string(e.Reason)
	}
	if e.URL == "" {
		return "media download failed: " + what
	}
	return "media download from " + e.URL + " failed: " + what
}

func (e *FetchError) Unwrap() error { return e.Err }

// Fetched is a download in progress: the caller reads and closes Body. Body
// fails with a *FetchError (FetchTooLarge) past the size limit.
type Fetched struct {
	Body     io.ReadCloser
	MimeType string // from Content-Type, normalised; "" when absent or unparsable (Save reads it with the bytes)
	Filename string // from Content-Disposition, else the URL path's last element
	Length   int64  // Content-Length, -1 when unknown
}

type fetcher struct {
	o      FetchOptions
	client *http.Client
}

var errRefusedAddress = errors.New("refused address")

func newFetcher(o FetchOptions) *fetcher {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = 3
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = MaxUploadBytes
	}
	if o.UserAgent == "" {
		o.UserAgent = "wabiz"
	}
	allowPrivate := o.AllowPrivate
	dialer := &net.Dialer{
		Timeout: o.ConnectTimeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			return guardAddress(address, allowPrivate)
		},
	}
	transport := &http.Transport{
		// No proxy: the guard would check the proxy's address, not the host's.
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   o.ConnectTimeout,
		ResponseHeaderTimeout: o.Timeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       30 * time.Second,
	}
	f := &fetcher{o: o}
	f.client = &http.Client{Transport: transport, Timeout: o.Timeout, CheckRedirect: f.checkRedirect}
	return f
}

// Errors of checkRedirect; the client wraps them.
var (
	errTooManyRedirects = errors.New("too many redirects")
	errBadRedirect      = errors.New("redirect to a URL that is not http or https")
)

func (f *fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > f.o.MaxRedirects {
		return errTooManyRedirects
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return errBadRedirect
	}
	// A provider's credentials are for the host the link names, never for
	// another host a redirect leads to (Go would keep them for subdomains).
	if !strings.EqualFold(req.URL.Host, via[0].URL.Host) || req.URL.Scheme != via[0].URL.Scheme {
		req.Header.Del("Authorization")
	}
	return nil
}

// Fetch starts downloading rawURL, sending auth's credentials (when not nil)
// to the link's own host only. The response body is limited to the size cap.
func (s *Service) Fetch(ctx context.Context, rawURL string, auth *ProviderAuth) (*Fetched, error) {
	return s.fetch.get(ctx, rawURL, auth)
}

// SaveLink downloads rawURL into the volume as a media of origin "link".
func (s *Service) SaveLink(ctx context.Context, rawURL string, auth *ProviderAuth) (store.Media, error) {
	fetched, err := s.Fetch(ctx, rawURL, auth)
	if err != nil {
		return store.Media{}, err
	}
	defer fetched.Body.Close()
	m, err := s.Save(ctx, fetched.Body, fetched.MimeType, fetched.Filename, store.MediaOriginLink)
	if errors.Is(err, ErrTooLarge) {
		return store.Media{}, &FetchError{Reason: FetchTooLarge, URL: redact(rawURL)}
	}
	return m, err
}

func (f *fetcher) get(ctx context.Context, rawURL string, auth *ProviderAuth) (*Fetched, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &FetchError{Reason: FetchBadURL, URL: redact(rawURL)}
	}
	shown := redact(rawURL)
	// The whole download, body included, is bounded by the client timeout;
	// the context also ends the body read when the caller gives up.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, &FetchError{Reason: FetchBadURL, URL: shown}
	}
	req.Header.Set("User-Agent", f.o.UserAgent)
	if auth != nil {
		auth.apply(req)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, classify(err, shown)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, &FetchError{Reason: FetchHTTPStatus, URL: shown, StatusCode: resp.StatusCode}
	}
	if resp.ContentLength > f.o.MaxBytes {
		resp.Body.Close()
		return nil, &FetchError{Reason: FetchTooLarge, URL: shown}
	}
	out := &Fetched{
		Body:   &cappedBody{rc: resp.Body, left: f.o.MaxBytes, url: shown},
		Length: resp.ContentLength,
	}
	if mt, err := NormalizeMIME(resp.Header.Get("Content-Type")); err == nil {
		out.MimeType = mt
	}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil && params["filename"] != "" {
		out.Filename = params["filename"]
	} else if base := path.Base(resp.Request.URL.Path); base != "/" && base != "." {
		out.Filename = base
	}
	return out, nil
}

// classify turns the client's error into a FetchError.
func classify(err error, shown string) *FetchError {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL may hold credentials; it is reported redacted
	}
	var ne net.Error
	switch {
	case errors.Is(err, errRefusedAddress):
		return &FetchError{Reason: FetchForbiddenAddress, URL: shown, Err: unwrapGuard(err)}
	case errors.Is(err, errTooManyRedirects):
		return &FetchError{Reason: FetchTooManyRedirects, URL: shown}
	case errors.Is(err, errBadRedirect):
		return &FetchError{Reason: FetchBadURL, URL: shown, Err: err}
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return &FetchError{Reason: FetchTimeout, URL: shown, Err: err}
	}
	return &FetchError{Reason: FetchUnreachable, URL: shown, Err: err}
}

// unwrapGuard digs out the guard's own message ("127.0.0.1 is a loopback
// address") from the dial error around it.
func unwrapGuard(err error) error {
	var g *guardError
	if errors.As(err, &g) {
		return g
	}
	return err
}

// cappedBody fails a read past the size limit, so a server that lied about
// (or left out) Content-Length cannot fill the volume.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
	url  string
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, &FetchError{Reason: FetchTooLarge, URL: c.url}
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.rc.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, &FetchError{Reason: FetchTooLarge, URL: c.url}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		err = classify(err, c.url)
	}
	return n, err
}

func (c *cappedBody) Close() error { return c.rc.Close() }

// redact keeps scheme, host and path: user info and query strings often
// carry credentials.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// guardError names the refused address and why.
type guardError struct {
	ip     netip.Addr
	reason string
}

func (g *guardError) Error() string {
	if !g.ip.IsValid() {
		return "not an IP address"
	}
	return fmt.Sprintf("%s is a %s address", g.ip, g.reason)
}
func (g *guardError) Unwrap() error { return errRefusedAddress }

var (
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	cgnat       = netip.MustParsePrefix("100.64.0.0/10")
	reserved4   = netip.MustParsePrefix("240.0.0.0/4")
	benchmark   = netip.MustParsePrefix("198.18.0.0/15")
	ietf4       = netip.MustParsePrefix("192.0.0.0/24")
	nat64       = netip.MustParsePrefix("64:ff9b::/96")
	// Cloud metadata services outside the link-local ranges.
	metadataAddrs = []netip.Addr{
		netip.MustParseAddr("fd00:ec2::254"),   // AWS over IPv6
		netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
	}
)

// guardAddress is the dialer's check of the resolved address.
func guardAddress(address string, allowPrivate bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return &guardError{reason: "malformed"}
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return &guardError{reason: "non-IP"}
	}
	if reason := refusedReason(ip, allowPrivate); reason != "" {
		return &guardError{ip: ip, reason: reason}
	}
	return nil
}

func refusedReason(ip netip.Addr, allowPrivate bool) string {
	ip = ip.Unmap().WithZone("")
	if nat64.Contains(ip) {
		// The well-known NAT64 prefix reaches the IPv4 address it embeds.
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	for _, m := range metadataAddrs {
		if ip == m {
			return "cloud metadata"
		}
	}
	switch {
	case ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast():
		return "link-local"
	case ip.IsMulticast() || ip.IsInterfaceLocalMulticast():
		return "multicast"
	case ip.IsUnspecified() || ip.Is4() && thisNetwork.Contains(ip):
		return "unspecified"
	case ip.Is4() && (reserved4.Contains(ip) || benchmark.Contains(ip) || ietf4.Contains(ip)):
		return "reserved"
	}
	if allowPrivate {
		return ""
	}
	switch {
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private"
	case cgnat.Contains(ip):
		return "shared (CGNAT)"
	}
	return ""
}
