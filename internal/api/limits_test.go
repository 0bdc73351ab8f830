package api_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/api"
	"github.com/wabiz/wabiz/internal/core"
	"github.com/wabiz/wabiz/internal/network/cloud/cloudapi"
	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
	"github.com/wabiz/wabiz/internal/profile"
)

// gate holds the calls that reach it until it is opened, and reports each
// arrival: a test knows exactly how many requests are in progress.
type gate struct {
	arrived chan struct{}
	open    chan struct{}
}

func newGate() *gate { return &gate{arrived: make(chan struct{}, 1000), open: make(chan struct{})} }

func (g *gate) pass(ctx context.Context) error {
	if g == nil {
		return nil
	}
	g.arrived <- struct{}{}
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) waitArrivals(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-g.arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d requests arrived", i, n)
		}
	}
}

// gatedMessaging is the real core whose contact checks and health checks
// wait at gates.
type gatedMessaging struct {
	api.Messaging
	contacts, health *gate
}

func (g *gatedMessaging) setInner(m api.Messaging) { g.Messaging = m }

func (g *gatedMessaging) CheckContacts(ctx context.Context, inputs []string, _, _ bool) ([]core.ContactResult, error) {
	if err := g.contacts.pass(ctx); err != nil {
		return nil, err
	}
	return []core.ContactResult{{Input: inputs[0], Status: "valid", WaID: "15550001111"}}, nil
}

func (g *gatedMessaging) GatewayStatus(ctx context.Context) (string, error) {
	if err := g.health.pass(ctx); err != nil {
		return "", err
	}
	return g.Messaging.GatewayStatus(ctx)
}

// serveAsync runs one request in the background (the handler may block).
func (h *harness) serveAsync(method, path, body string, header map[string]string) <-chan *httptest.ResponseRecorder {
	done := make(chan *httptest.ResponseRecorder, 1)
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	go func() {
		w := httptest.NewRecorder()
		h.srv.ServeHTTP(w, r)
		done <- w
	}()
	return done
}

func waitAnswers(t *testing.T, held []<-chan *httptest.ResponseRecorder, status int) {
	t.Helper()
	for i, c := range held {
		select {
		case w := <-c:
			if w.Code != status {
				t.Fatalf("held request %d: %d %s", i, w.Code, w.Body.Bytes())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("held request %d never finished", i)
		}
	}
}

const contactsBody = `{"blocking":"wait","contacts":["+1 555 000 1111"]}`

var overloaded = e(1016, "System overloaded", "Too many requests in progress on this node: retry later")

// TestConcurrentRequestsAreBounded holds as many requests as the bound
// allows in a blocking handler: the next is refused at once with 503/1016,
// monitoring still answers, and the places come back when the held ones end.
func TestConcurrentRequestsAreBounded(t *testing.T) {
	t.Parallel()
	gated := &gatedMessaging{contacts: newGate()}
	h := sqliteHarness(t, withDeps(func(d *api.Deps) {
		d.MaxConcurrentRequests, d.Messaging, d.HealthRateLimit = 3, gated, 0
	}))
	admin := h.adminToken()

	var held []<-chan *httptest.ResponseRecorder
	for range 3 {
		held = append(held, h.serveAsync("POST", "/v1/contacts", contactsBody, bearer(admin)))
	}
	gated.contacts.waitArrivals(t, 3)

	res := h.do(request{method: "POST", path: "/v1/contacts", header: bearer(admin), body: contactsBody})
	expectError(t, res, 503, overloaded)
	if got := res.Header.Get("Retry-After"); got != "1" {
		t.Fatalf("Retry-After %q", got)
	}
	// Refused before credentials are looked at, and on every API route.
	expectError(t, h.do(request{method: "POST", path: "/v1/contacts", body: contactsBody}), 503, overloaded)
	expectError(t, h.do(request{method: "GET", path: "/v1/settings/application", header: bearer(admin)}), 503, overloaded)

	// Monitoring has places of its own.
	if res := h.do(request{method: "GET", path: "/v1/health", header: apikey()}); res.Status != 200 {
		t.Fatalf("health while the API is full: %d %s", res.Status, res.Raw)
	}
	mfs := h.scrape(apikey())
	if n := sample(mfs, "wabiz_http_requests_in_flight", map[string]string{"pool": "api"}); n < 3 {
		t.Fatalf("in-flight gauge %v, want at least 3", n)
	}

	close(gated.contacts.open)
	waitAnswers(t, held, 200)
	if res := h.do(request{method: "POST", path: "/v1/contacts", header: bearer(admin), body: contactsBody}); res.Status != 200 {
		t.Fatalf("after the held requests ended: %d %s", res.Status, res.Raw)
	}
}

// TestMonitoringHasPlacesOfItsOwn: a flood of health checks is bounded
// too, by its own pool, and leaves the API's places alone.
func TestMonitoringHasPlacesOfItsOwn(t *testing.T) {
	t.Parallel()
	gated := &gatedMessaging{health: newGate()}
	h := sqliteHarness(t, withDeps(func(d *api.Deps) {
		d.MaxConcurrentRequests, d.Messaging, d.HealthRateLimit = 1, gated, 0
	}))
	admin := h.adminToken()

	var held []<-chan *httptest.ResponseRecorder
	for range api.MonitoringSlots {
		held = append(held, h.serveAsync("GET", "/v1/health", "", apikey()))
	}
	gated.health.waitArrivals(t, api.MonitoringSlots)
	expectError(t, h.do(request{method: "GET", path: "/v1/health", header: apikey()}), 503, overloaded)
	expectError(t, h.do(request{method: "GET", path: "/metrics/", header: apikey()}), 503, overloaded)
	if res := h.do(request{method: "GET", path: "/v1/settings/application", header: bearer(admin)}); res.Status != 200 {
		t.Fatalf("API while monitoring is full: %d %s", res.Status, res.Raw)
	}
	close(gated.health.open)
	waitAnswers(t, held, 200)
}

func TestNoConcurrencyBoundWhenDisabled(t *testing.T) {
	t.Parallel()
	gated := &gatedMessaging{contacts: newGate()}
	h := sqliteHarness(t, withDeps(func(d *api.Deps) { d.MaxConcurrentRequests, d.Messaging = 0, gated }))
	admin := h.adminToken()
	var held []<-chan *httptest.ResponseRecorder
	for range 40 {
		held = append(held, h.serveAsync("POST", "/v1/contacts", contactsBody, bearer(admin)))
	}
	gated.contacts.waitArrivals(t, 40)
	if res := h.do(request{method: "GET", path: "/v1/settings/application", header: bearer(admin)}); res.Status != 200 {
		t.Fatalf("unbounded server refused: %d %s", res.Status, res.Raw)
	}
	close(gated.contacts.open)
	waitAnswers(t, held, 200)
}

// hideLength makes a body of unknown length (sent chunked).
type hideLength struct{ io.Reader }

// TestRouteBodyLimits: each route's body limit, just under and just over,
// through the real handler; JSON routes share api.Deps.MaxBodyBytes (4096 here).
func TestRouteBodyLimits(t *testing.T) {
	t.Parallel()
	const mediaMax = 64 << 10
	h := sqliteHarness(t, withMediaMaxBytes(mediaMax))
	admin := h.adminToken()
	auth := bearer(admin)
	post := func(path, contentType string, body io.Reader) response {
		t.Helper()
		return asResponse(t, h.raw("POST", path, contentType, body, auth))
	}
	notTooLarge := func(what string, res response) {
		t.Helper()
		for _, e := range res.errorsList() {
			if res.Status == 413 || strings.Contains(e.Details, "exceeds size") || strings.Contains(e.Details, "larger than") || strings.Contains(e.Details, "too large") {
				t.Fatalf("%s refused as too large: %d %s", what, res.Status, res.Raw)
			}
		}
	}

	// JSON: the configured limit.
	pad := func(n int) string {
		return `{"contacts":["1"],"x":"` + strings.Repeat("a", n-len(`{"contacts":["1"],"x":""}`)) + `"}`
	}
	expectError(t, post("/v1/contacts", "application/json", strings.NewReader(pad(4097))), 413,
		e(1025, "Request is not valid", "Request body is larger than 4096 bytes"))
	notTooLarge("JSON at the limit", post("/v1/settings/application", "application/json", strings.NewReader(`{"x":"`+strings.Repeat("a", 4096-8)+`"}`)))

	// Media uploads: the volume's limit, declared or streamed.
	tooBigUpload := e(1009, "Parameter value is not valid", "Request content exceeds size of 100 MB")
	if res := post("/v1/media", "text/plain", strings.NewReader(strings.Repeat("a", mediaMax))); res.Status != 201 {
		t.Fatalf("upload at the limit: %d %s", res.Status, res.Raw)
	}
	expectError(t, post("/v1/media", "text/plain", strings.NewReader(strings.Repeat("a", mediaMax+1))), 400, tooBigUpload)
	expectError(t, post("/v1/media", "text/plain", hideLength{strings.NewReader(strings.Repeat("a", mediaMax+1))}), 400, tooBigUpload)

	// The profile photo: 5 MiB.
	expectError(t, post(api.PhotoPath, "image/jpeg", hideLength{strings.NewReader(strings.Repeat("a", profile.MaxPhotoBytes+1))}), 400,
		e(1009, "Parameter value is not valid", "Photo size too large. Max allowed size: 5242880 bytes"))
	notTooLarge("photo at the limit", post(api.PhotoPath, "image/jpeg", hideLength{strings.NewReader(strings.Repeat("a", profile.MaxPhotoBytes))}))

	// Restore: 16 MiB of JSON, whatever the JSON limit.
	restore := func(n int) io.Reader {
		return hideLength{io.MultiReader(strings.NewReader(`{"password":"x","data":"`), strings.NewReader(strings.Repeat("A", n-len(`{"password":"x","data":""}`))), strings.NewReader(`"}`))}
	}
	notTooLarge("restore of 64 KiB", post("/v1/settings/restore", "application/json", restore(64<<10)))
	expectError(t, post("/v1/settings/restore", "application/json", restore(api.MaxRestoreBodyBytes+1)), 413,
		e(1025, "Request is not valid", "Request body is larger than 16777216 bytes"))

	// Certificates: 1 MiB of PEM.
	notTooLarge("certificate of 64 KiB", post("/v1/certificates/webhooks/ca", "text/plain", strings.NewReader(strings.Repeat("a", 64<<10))))
	expectError(t, post("/v1/certificates/webhooks/ca", "text/plain", strings.NewReader(strings.Repeat("a", api.CertBodyLimit+1))), 400,
		e(1009, "Parameter value is not valid", "Request content exceeds size of 1024 KB"))
}

// TestCloudWebhookBodyLimit: Meta's deliveries may take 3 MiB whatever the
// JSON limit (the signature is checked on the whole body).
func TestCloudWebhookBodyLimit(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t, withCloud(graphtest.New(t)))
	deliver := func(n int) response {
		body := `{"object":"whatsapp_business_account","x":"` + strings.Repeat("a", n-len(`{"object":"whatsapp_business_account","x":""}`)) + `"}`
		return asResponse(t, h.raw("POST", "/cloud/webhook", "application/json", strings.NewReader(body), map[string]string{"X-Hub-Signature-256": "sha256=00"}))
	}
	expectError(t, deliver(2<<20), 401, e(1005, "Access denied", "Invalid webhook signature"))
	expectError(t, deliver(cloudapi.MaxWebhookBytes+1), 413, e(1025, "Request is not valid", "Request body is larger than 3145728 bytes"))
}

// liveServer serves h through api.NewHTTPServer on a loopback port.
func (h *harness) liveServer(t *testing.T, to api.Timeouts) *httptest.Server {
	ts := httptest.NewUnstartedServer(h.srv)
	ts.Config = api.NewHTTPServer(h.srv, to, log.New(io.Discard, "", 0))
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

var roomyTimeouts = api.Timeouts{ReadHeader: 10 * time.Second, Read: 10 * time.Second, Write: 10 * time.Second, Idle: 10 * time.Second, MaxHeaderBytes: 64 << 10}

// closedWithin reads from conn until the server closes it, failing after
// limit; it returns what the server sent.
func closedWithin(t *testing.T, conn net.Conn, limit time.Duration) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(limit))
	got, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %s (read %q)", limit, got)
	}
	return string(got)
}

// TestSlowClientsLoseTheirConnection: a client that trickles its headers
// (slowloris) or sits idle on a keep-alive connection is cut off.
func TestSlowClientsLoseTheirConnection(t *testing.T) {
	// Not parallel: real-time timeouts of 100 ms, best kept away from a busy machine.
	h := sqliteHarness(t)
	to := roomyTimeouts
	to.ReadHeader, to.Idle = 100*time.Millisecond, 100*time.Millisecond
	ts := h.liveServer(t, to)

	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /v1/health HTTP/1.1\r\nHost: wabiz\r\nX-Slow: ")
	if got := closedWithin(t, conn, 5*time.Second); got != "" {
		t.Fatalf("slow headers answered %q", got)
	}

	// A whole request is answered; then the idle connection is closed.
	idle, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	io.WriteString(idle, "GET /v1/health HTTP/1.1\r\nHost: wabiz\r\nAuthorization: Apikey "+testAPIKey+"\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	closedWithin(t, idle, 5*time.Second)
}

func TestOversizedHeadersAre431(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	to := roomyTimeouts
	to.MaxHeaderBytes = 4096
	ts := h.liveServer(t, to)
	req, _ := http.NewRequest("GET", ts.URL+"/v1/health", nil)
	req.Header.Set("X-Pad", strings.Repeat("a", 16<<10)) // past the limit and net/http's 4 KiB of slack
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", resp.StatusCode)
	}
}

// trickle yields its chunks with a pause before each: a slow client.
type trickle struct {
	chunks []string
	pause  time.Duration
}

func (s *trickle) Read(p []byte) (int, error) {
	if len(s.chunks) == 0 {
		return 0, io.EOF
	}
	time.Sleep(s.pause)
	n := copy(p, s.chunks[0])
	s.chunks = s.chunks[1:]
	return n, nil
}

// TestFileTransfersGetTheTransferTimeout: with read and write timeouts far
// shorter than a slow client needs, an authenticated upload still completes
// (it has TransferTimeout) while a JSON request as slow is cut off.
func TestFileTransfersGetTheTransferTimeout(t *testing.T) {
	// Not parallel: real-time timeouts of 100 ms, best kept away from a busy machine.
	h := sqliteHarness(t, withDeps(func(d *api.Deps) { d.TransferTimeout = 10 * time.Second }))
	admin := h.adminToken()
	to := roomyTimeouts
	to.Read, to.Write = 100*time.Millisecond, 100*time.Millisecond
	ts := h.liveServer(t, to)
	send := func(path, contentType string, body io.Reader) (int, error) {
		req, _ := http.NewRequest("POST", ts.URL+path, body)
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := ts.Client().Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	slow := func(chunks ...string) io.Reader { return &trickle{chunks: chunks, pause: 60 * time.Millisecond} }

	if status, err := send("/v1/media", "text/plain", slow("slow ", "upload ", "of ", "a ", "file")); err != nil || status != 201 {
		t.Fatalf("slow upload: %d %v", status, err)
	}
	status, err := send("/v1/contacts", "application/json", slow(`{"contacts":`, `["+1 555 000 1111"],`, `"blocking":`, `"wait"`, `}`))
	if err == nil && status != 400 {
		t.Fatalf("slow JSON request: %d, want a cut connection or 400", status)
	}
}
