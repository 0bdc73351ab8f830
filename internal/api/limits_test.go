package api

import (
	"bufio"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
	"github.com/wabiz/wabiz/internal/profile"
)

// hideLength makes a body of unknown length (sent chunked).
type hideLength struct{ io.Reader }

// TestRouteBodyLimits: each route's body limit, just under and just over,
// through the real handler; JSON routes share Deps.MaxBodyBytes (4096 here).
func TestRouteBodyLimits(t *testing.T) {
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
	expectError(t, post(photoPath, "image/jpeg", hideLength{strings.NewReader(strings.Repeat("a", profile.MaxPhotoBytes+1))}), 400,
		e(1009, "Parameter value is not valid", "Photo size too large. Max allowed size: 5242880 bytes"))
	notTooLarge("photo at the limit", post(photoPath, "image/jpeg", hideLength{strings.NewReader(strings.Repeat("a", profile.MaxPhotoBytes))}))

	// Restore: 16 MiB of JSON, whatever the JSON limit.
	restore := func(n int) io.Reader {
		return hideLength{io.MultiReader(strings.NewReader(`{"password":"x","data":"`), strings.NewReader(strings.Repeat("A", n-len(`{"password":"x","data":""}`))), strings.NewReader(`"}`))}
	}
	notTooLarge("restore of 64 KiB", post("/v1/settings/restore", "application/json", restore(64<<10)))
	expectError(t, post("/v1/settings/restore", "application/json", restore(maxRestoreBodyBytes+1)), 413,
		e(1025, "Request is not valid", "Request body is larger than 16777216 bytes"))

	// Certificates: 1 MiB of PEM.
	notTooLarge("certificate of 64 KiB", post("/v1/certificates/webhooks/ca", "text/plain", strings.NewReader(strings.Repeat("a", 64<<10))))
	expectError(t, post("/v1/certificates/webhooks/ca", "text/plain", strings.NewReader(strings.Repeat("a", certBodyLimit+1))), 400,
		e(1009, "Parameter value is not valid", "Request content exceeds size of 1024 KB"))
}

// TestCloudWebhookBodyLimit: Meta's deliveries may take 3 MiB whatever the
// JSON limit (the signature is checked on the whole body).
func TestCloudWebhookBodyLimit(t *testing.T) {
	h := sqliteHarness(t, withCloud(graphtest.New(t)))
	deliver := func(n int) response {
		body := `{"object":"whatsapp_business_account","x":"` + strings.Repeat("a", n-len(`{"object":"whatsapp_business_account","x":""}`)) + `"}`
		return asResponse(t, h.raw("POST", "/cloud/webhook", "application/json", strings.NewReader(body), map[string]string{"X-Hub-Signature-256": "sha256=00"}))
	}
	expectError(t, deliver(2<<20), 401, e(1005, "Access denied", "Invalid webhook signature"))
	expectError(t, deliver(maxCloudWebhookBytes+1), 413, e(1025, "Request is not valid", "Request body is larger than 3145728 bytes"))
}

// liveServer serves h through NewHTTPServer on a loopback port.
func (h *harness) liveServer(t *testing.T, to Timeouts) *httptest.Server {
	ts := httptest.NewUnstartedServer(h.srv)
	ts.Config = NewHTTPServer(h.srv, to, log.New(io.Discard, "", 0))
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

var roomyTimeouts = Timeouts{ReadHeader: 10 * time.Second, Read: 10 * time.Second, Write: 10 * time.Second, Idle: 10 * time.Second, MaxHeaderBytes: 64 << 10}

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
	h := sqliteHarness(t, withDeps(func(d *Deps) { d.TransferTimeout = 10 * time.Second }))
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
