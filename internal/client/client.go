// Package client is a small Go client of a running wabiz server: the
// On-Premises API (/v1/...) and the sandbox control API (/sandbox/v1/...).
// The wabiz sandbox command and the black-box tests use it, so what a user
// scripts against is what is tested. It depends on the standard library
// only, and decodes the On-Premises envelope: the payload's keys at the top
// level next to "meta", and an "errors" array on failure.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Client talks to one wabiz server. It is safe for concurrent use.
type Client struct {
	base string
	http *http.Client
	// err is a configuration error from an option (an unreadable CA file),
	// returned by every call: New has no error result, so that a client can
	// be built in one expression.
	err    error
	onResp func(method, path string, status int, body []byte)

	mu    sync.Mutex
	token string
}

// Option configures a Client.
type Option func(*settings)

// settings collects the options before New builds the HTTP client from them,
// so their order does not matter.
type settings struct {
	httpClient *http.Client
	roots      *x509.CertPool
	insecure   bool
	token      string
	onResp     func(method, path string, status int, body []byte)
	err        error
}

// WithCACertFile trusts the CA certificates in a PEM file, for example the
// self-signed server's <data-dir>/tls/ca.pem. Like curl --cacert, the given
// CAs replace the system's roots. Several calls add up.
func WithCACertFile(path string) Option {
	return func(s *settings) {
		pem, err := os.ReadFile(path)
		if err != nil {
			s.fail(fmt.Errorf("client: read CA certificates: %w", err))
			return
		}
		s.addCAs(pem, path)
	}
}

// WithCAPEM trusts the CA certificates in PEM text (see WithCACertFile).
func WithCAPEM(pem []byte) Option {
	return func(s *settings) { s.addCAs(pem, "the CA text") }
}

// WithInsecureSkipVerify accepts any server certificate, like curl -k. The
// connection is still encrypted, but anyone who can intercept it can read
// the token and the messages and answer in the server's place: use it only
// against a test server on a network you trust; prefer WithCACertFile.
func WithInsecureSkipVerify() Option {
	return func(s *settings) { s.insecure = true }
}

// WithHTTPClient sends requests through hc (timeouts, proxies, tracing). If
// TLS options are given too, hc's transport must be an *http.Transport (or
// nil): a copy of it gets the TLS settings; hc itself is never modified.
func WithHTTPClient(hc *http.Client) Option {
	return func(s *settings) { s.httpClient = hc }
}

// WithToken authenticates with a token from an earlier login.
func WithToken(token string) Option {
	return func(s *settings) { s.token = token }
}

// WithResponseHook calls fn with every answer the server gives, before it is
// decoded: for logging, or to show the raw JSON (wabiz sandbox --json). The
// body must not be modified or kept.
func WithResponseHook(fn func(method, path string, status int, body []byte)) Option {
	return func(s *settings) { s.onResp = fn }
}

func (s *settings) addCAs(pem []byte, source string) {
	if s.roots == nil {
		s.roots = x509.NewCertPool()
	}
	if !s.roots.AppendCertsFromPEM(pem) {
		s.fail(fmt.Errorf("client: no PEM certificate in %s", source))
	}
}

func (s *settings) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// New returns a client of the server at baseURL ("https://localhost:9090";
// a path prefix is kept, for servers behind a reverse proxy). An option
// that fails (an unreadable CA file) makes every call return its error.
func New(baseURL string, opts ...Option) *Client {
	var s settings
	for _, o := range opts {
		o(&s)
	}
	c := &Client{base: strings.TrimRight(baseURL, "/"), token: s.token, onResp: s.onResp, err: s.err}
	hc, err := buildHTTPClient(&s)
	if err != nil && c.err == nil {
		c.err = err
	}
	c.http = hc
	return c
}

func buildHTTPClient(s *settings) (*http.Client, error) {
	tlsWanted := s.roots != nil || s.insecure
	if s.httpClient != nil && !tlsWanted {
		return s.httpClient, nil
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	var transport *http.Transport
	if s.httpClient != nil {
		copied := *s.httpClient
		hc = &copied
		switch t := s.httpClient.Transport.(type) {
		case nil:
		case *http.Transport:
			transport = t.Clone()
		default:
			return hc, fmt.Errorf("client: cannot apply the TLS options to a transport of type %T", t)
		}
	}
	if transport == nil {
		transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if transport.TLSClientConfig == nil {
		transport.TLSClientConfig = &tls.Config{}
	}
	transport.TLSClientConfig.MinVersion = tls.VersionTLS12
	if s.roots != nil {
		transport.TLSClientConfig.RootCAs = s.roots
	}
	if s.insecure {
		transport.TLSClientConfig.InsecureSkipVerify = true
	}
	hc.Transport = transport
	return hc, nil
}

// Token returns the token requests are sent with ("" before a login).
func (c *Client) Token() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

// SetToken replaces the token requests are sent with.
func (c *Client) SetToken(token string) {
	c.mu.Lock()
	c.token = token
	c.mu.Unlock()
}

// ErrorDetail is one element of the envelope's "errors" array.
type ErrorDetail struct {
	Code    int    `json:"code"`
	Title   string `json:"title"`
	Details string `json:"details,omitempty"`
	Href    string `json:"href,omitempty"`
}

// Error is a refusal by the server: an answer outside 2xx.
type Error struct {
	Status int
	Errors []ErrorDetail
	// Body is the start of an answer that was not an envelope (a proxy's
	// HTML page), to show something when Errors is empty.
	Body string
}

// Error reads "HTTP 400: 1009 Parameter value is not valid: Parameter 'to'
// has invalid value 'x'", with several errors separated by "; ".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d:", e.Status)
	for i, d := range e.Errors {
		if i > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, " %d %s", d.Code, d.Title)
		if d.Details != "" {
			b.WriteString(": " + d.Details)
		}
	}
	if len(e.Errors) == 0 {
		if body := strings.TrimSpace(e.Body); body != "" {
			b.WriteString(" " + body)
		} else {
			b.WriteString(" " + http.StatusText(e.Status))
		}
	}
	return b.String()
}

// Has reports whether the server gave error code among its errors.
func (e *Error) Has(code int) bool {
	for _, d := range e.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

// Do sends one request and decodes the answer. body is nil (no body), a
// json.RawMessage or []byte sent as is, or a value to marshal. out, unless
// nil, receives the envelope's payload keys (a struct with a field tagged
// "users" gets the "users" array); a *json.RawMessage gets the whole answer.
// An answer outside 2xx is returned as *Error.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	_, err := c.do(ctx, method, path, body, out, "")
	return err
}

// do is Do that also returns the status (201 and 202 mean different things
// on /v1/account) and takes an explicit Authorization header value.
func (c *Client) do(ctx context.Context, method, path string, body, out any, authorization string) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	var payload io.Reader
	switch b := body.(type) {
	case nil:
	case json.RawMessage:
		payload = bytes.NewReader(b)
	case []byte:
		payload = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return 0, fmt.Errorf("client: encode the request body: %w", err)
		}
		payload = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, payload)
	if err != nil {
		return 0, fmt.Errorf("client: %w", err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if authorization == "" {
		if token := c.Token(); token != "" {
			authorization = "Bearer " + token
		}
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err // *url.Error already names the method and URL
	}
	defer resp.Body.Close()
	// Bounded: every answer of the API is small, and a misdirected URL
	// must not make us read a download into memory.
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	if c.onResp != nil {
		c.onResp(method, path, resp.StatusCode, raw)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, decodeError(resp.StatusCode, raw)
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return resp.StatusCode, nil
	}
	if r, ok := out.(*json.RawMessage); ok {
		*r = append((*r)[:0], raw...)
		return resp.StatusCode, nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: answer is not the expected JSON: %w", method, path, err)
	}
	return resp.StatusCode, nil
}

func decodeError(status int, raw []byte) *Error {
	e := &Error{Status: status}
	var env struct {
		Errors []ErrorDetail `json:"errors"`
	}
	if json.Unmarshal(raw, &env) == nil && len(env.Errors) > 0 {
		e.Errors = env.Errors
		return e
	}
	body := string(raw)
	if len(body) > 200 {
		body = body[:200] + "..."
	}
	e.Body = body
	return e
}

// Login is POST /v1/users/login with HTTP Basic. newPassword, if not empty,
// sets a new password (required at admin's first login). The token it
// returns is also used for the client's next requests; expiresAfter is the
// server's text ("2026-11-28 16:24:59+00:00").
func (c *Client) Login(ctx context.Context, user, password, newPassword string) (token, expiresAfter string, err error) {
	var body any
	if newPassword != "" {
		body = map[string]string{"new_password": newPassword}
	}
	var out struct {
		Users []struct {
			Token        string `json:"token"`
			ExpiresAfter string `json:"expires_after"`
		} `json:"users"`
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	if _, err := c.do(ctx, "POST", "/v1/users/login", body, &out, basic); err != nil {
		return "", "", err
	}
	if len(out.Users) == 0 || out.Users[0].Token == "" {
		return "", "", errors.New("client: the login answer carries no token")
	}
	c.SetToken(out.Users[0].Token)
	return out.Users[0].Token, out.Users[0].ExpiresAfter, nil
}

// Logout is POST /v1/users/logout: the server forgets the client's token.
func (c *Client) Logout(ctx context.Context) error {
	if err := c.Do(ctx, "POST", "/v1/users/logout", nil, nil); err != nil {
		return err
	}
	c.SetToken("")
	return nil
}
