package client

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// recorded is one request a fake server saw.
type recorded struct {
	method, path, auth, contentType string
	body                            map[string]any
}

// fakeServer answers every request with the status and body routes gives
// for "METHOD /path" (404 envelope otherwise) and records what it got.
type fakeServer struct {
	mu   sync.Mutex
	seen []recorded
}

// answer is a canned response.
type answer struct {
	status int
	body   string
}

type routes map[string]answer

func (f *fakeServer) handler(routes routes) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := recorded{method: r.Method, path: r.URL.EscapedPath(), auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type")}
		if raw, _ := io.ReadAll(r.Body); len(raw) > 0 {
			json.Unmarshal(raw, &rec.body)
		}
		f.mu.Lock()
		f.seen = append(f.seen, rec)
		f.mu.Unlock()
		a, ok := routes[r.Method+" "+r.URL.EscapedPath()]
		if !ok {
			a = answer{404, `{"meta":{},"errors":[{"code":1006,"title":"Resource not found","details":"URL path not found"}]}`}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	})
}

func (f *fakeServer) last(t *testing.T) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.seen) == 0 {
		t.Fatal("the server saw no request")
	}
	return f.seen[len(f.seen)-1]
}

const meta = `"meta":{"api_status":"stable","version":"v2.51.2"}`

func TestLoginSendsBasicThenBearer(t *testing.T) {
	f := &fakeServer{}
	srv := httptest.NewServer(f.handler(routes{
		"POST /v1/users/login": {200, `{"users":[{"token":"tok-1","expires_after":"2026-11-28 16:24:59+00:00"}],` + meta + `}`},
		"GET /v1/health":       {200, `{"health":{"gateway_status":"connected"},` + meta + `}`},
	}))
	defer srv.Close()
	ctx := context.Background()

	c := New(srv.URL + "/") // a trailing slash must not double up
	token, expires, err := c.Login(ctx, "admin", "secret", "N3w-Passw0rd!")
	if err != nil {
		t.Fatal(err)
	}
	if token != "tok-1" || expires != "2026-11-28 16:24:59+00:00" || c.Token() != "tok-1" {
		t.Errorf("Login = %q, %q; Token() %q", token, expires, c.Token())
	}
	got := f.last(t)
	if got.auth != "Basic YWRtaW46c2VjcmV0" { // admin:secret
		t.Errorf("login Authorization %q", got.auth)
	}
	if got.body["new_password"] != "N3w-Passw0rd!" || got.contentType != "application/json" {
		t.Errorf("login body %v, Content-Type %q", got.body, got.contentType)
	}

	h, err := c.Health(ctx)
	if err != nil || h.GatewayStatus != "connected" {
		t.Fatalf("Health = %+v, %v", h, err)
	}
	if got := f.last(t); got.auth != "Bearer tok-1" || got.path != "/v1/health" {
		t.Errorf("health sent %q to %s", got.auth, got.path)
	}
	if got := f.last(t); got.contentType != "" {
		t.Errorf("a request without body sent Content-Type %q", got.contentType)
	}

	// Without new_password there is no body at all.
	if _, _, err := c.Login(ctx, "admin", "N3w-Passw0rd!", ""); err != nil {
		t.Fatal(err)
	}
	if got := f.last(t); got.body != nil {
		t.Errorf("login without a new password sent %v", got.body)
	}

	// WithToken skips the login.
	New(srv.URL, WithToken("given")).Health(ctx)
	if got := f.last(t); got.auth != "Bearer given" {
		t.Errorf("WithToken sent %q", got.auth)
	}
}

func TestErrorDecoding(t *testing.T) {
	srv := httptest.NewServer((&fakeServer{}).handler(routes{
		"POST /v1/messages": {400, `{` + meta + `,"errors":[{"code":1009,"title":"Parameter value is not valid","details":"Parameter 'to' has invalid value 'x'"}]}`},
		"POST /v1/account": {400, `{` + meta + `,"errors":[{"code":1008,"title":"Required parameter is missing","details":"Parameter 'cc' is required"},` +
			`{"code":1009,"title":"Parameter value is not valid"}]}`},
		"GET /v1/health":     {502, "<html>Bad Gateway</html>"},
		"PUT /v1/messages/x": {500, ""},
	}))
	defer srv.Close()
	ctx := context.Background()
	c := New(srv.URL, WithToken("t"))

	_, err := c.SendText(ctx, "x", "hi")
	var apiErr *Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("SendText error %T %v, want *Error", err, err)
	}
	if want := "HTTP 400: 1009 Parameter value is not valid: Parameter 'to' has invalid value 'x'"; err.Error() != want {
		t.Errorf("Error()\n got %q\nwant %q", err, want)
	}
	if apiErr.Status != 400 || len(apiErr.Errors) != 1 || !apiErr.Has(1009) || apiErr.Has(1008) {
		t.Errorf("decoded %+v", apiErr)
	}

	_, _, err = c.RequestCode(ctx, "", "5550100", "sms", "c")
	if want := "HTTP 400: 1008 Required parameter is missing: Parameter 'cc' is required; 1009 Parameter value is not valid"; err == nil || err.Error() != want {
		t.Errorf("two errors\n got %v\nwant %q", err, want)
	}

	_, err = c.Health(ctx)
	if err == nil || err.Error() != "HTTP 502: <html>Bad Gateway</html>" {
		t.Errorf("a non-envelope answer: %v", err)
	}
	if err := c.MarkRead(ctx, "x"); err == nil || err.Error() != "HTTP 500: Internal Server Error" {
		t.Errorf("an empty error answer: %v", err)
	}
}

func TestDoDecodesPayloadAndRaw(t *testing.T) {
	body := `{"users":[{"wa_id":"15550001111","display_name":"Dana","online":false,"auto_read_ms":-1,"blocked":true,"whatsapp":true}],` + meta + `}`
	var hooked []string
	srv := httptest.NewServer((&fakeServer{}).handler(routes{"GET /sandbox/v1/users": {200, body}}))
	defer srv.Close()
	c := New(srv.URL, WithResponseHook(func(method, path string, status int, b []byte) {
		hooked = append(hooked, method+" "+path+" "+string(rune('0'+status/100)))
	}))
	ctx := context.Background()

	users, err := c.SandboxUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := SandboxUser{WaID: "15550001111", DisplayName: "Dana", AutoReadMs: -1, Blocked: true, WhatsApp: true}
	if len(users) != 1 || users[0] != want {
		t.Errorf("SandboxUsers = %+v", users)
	}

	var raw json.RawMessage
	if err := c.Do(ctx, "GET", "/sandbox/v1/users", nil, &raw); err != nil || string(raw) != body {
		t.Errorf("raw answer %s, %v", raw, err)
	}
	c.Do(ctx, "GET", "/nowhere", nil, nil)
	if strings.Join(hooked, ",") != "GET /sandbox/v1/users 2,GET /sandbox/v1/users 2,GET /nowhere 4" {
		t.Errorf("response hook saw %v", hooked)
	}
}

func TestRequestCodeCreatedVersusAccepted(t *testing.T) {
	f := &fakeServer{}
	var registered atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := answer{202, `{"account":[{"vname":"Acme"}],` + meta + `}`}
		if registered.Load() {
			a = answer{201, `{` + meta + `}`}
		}
		f.handler(routes{"POST /v1/account": a}).ServeHTTP(w, r)
	}))
	defer srv.Close()
	c := New(srv.URL)
	vname, already, err := c.RequestCode(context.Background(), "1", "5550100", "sms", "CERT")
	if err != nil || vname != "Acme" || already {
		t.Errorf("202: %q %v %v", vname, already, err)
	}
	got := f.last(t)
	for k, v := range map[string]string{"cc": "1", "phone_number": "5550100", "method": "sms", "cert": "CERT"} {
		if got.body[k] != v {
			t.Errorf("body %s = %v, want %s", k, got.body[k], v)
		}
	}
	registered.Store(true)
	vname, already, err = c.RequestCode(context.Background(), "1", "5550100", "sms", "CERT")
	if err != nil || vname != "" || !already {
		t.Errorf("201: %q %v %v", vname, already, err)
	}
}

func TestSandboxPathsAndBodies(t *testing.T) {
	f := &fakeServer{}
	srv := httptest.NewServer(f.handler(routes{
		"POST /sandbox/v1/users/15550001111/messages": {201, `{"messages":[{"id":"ABGGFlA"}],` + meta + `}`},
		"POST /sandbox/v1/users/15550001111/read":     {200, `{` + meta + `}`},
		"PATCH /sandbox/v1/world":                     {200, `{"world":{"non_whatsapp_pattern":"^1555999","non_whatsapp":[],"delivery_delay_ms":5,"read_delay_ms":7,"auto_read":false,"code_ttl_seconds":600},` + meta + `}`},
		"GET /sandbox/v1/users/15550001111/messages": {200, `{"received":[{"id":"gB1","status":"read","timestamp":"1700000000","message":{"to":"15550001111","type":"text","text":{"body":"hello"}}}],` +
			`"sent":[{"id":"AB1","timestamp":"1700000001","message":{"text":{"body":"hi"}}}],` + meta + `}`},
	}))
	defer srv.Close()
	ctx := context.Background()
	c := New(srv.URL)

	id, err := c.SandboxUserSend(ctx, "15550001111", "hi there")
	if err != nil || id != "ABGGFlA" {
		t.Fatalf("SandboxUserSend = %q, %v", id, err)
	}
	if got := f.last(t); got.body["type"] != "text" || got.body["text"].(map[string]any)["body"] != "hi there" {
		t.Errorf("user message body %v", got.body)
	}
	if err := c.SandboxUserRead(ctx, "15550001111", "gB1"); err != nil {
		t.Fatal(err)
	}
	if got := f.last(t); got.body["message_id"] != "gB1" {
		t.Errorf("read body %v", got.body)
	}
	// Path parameters are escaped: a stray slash cannot reach another route.
	c.SandboxUser(ctx, "1/2")
	if got := f.last(t); got.path != "/sandbox/v1/users/1%2F2" {
		t.Errorf("escaped path %q", got.path)
	}

	w, err := c.SandboxSetWorld(ctx, map[string]any{"auto_read": false})
	if err != nil || w.AutoRead || w.NonWhatsAppPattern != "^1555999" || w.ReadDelayMs != 7 {
		t.Errorf("SandboxSetWorld = %+v, %v", w, err)
	}

	conv, err := c.SandboxUserMessages(ctx, "15550001111")
	if err != nil || len(conv.Received) != 1 || len(conv.Sent) != 1 {
		t.Fatalf("SandboxUserMessages = %+v, %v", conv, err)
	}
	if r := conv.Received[0]; r.Status != "read" || r.Text() != "hello" || r.Timestamp != "1700000000" {
		t.Errorf("received %+v text %q", r, r.Text())
	}
	if s := conv.Sent[0]; s.Status != "" || s.Text() != "hi" {
		t.Errorf("sent %+v text %q", s, s.Text())
	}
	if got := (SandboxMessage{Message: json.RawMessage(`{"type":"image","image":{}}`)}).Text(); got != "[image]" {
		t.Errorf("Text of an image %q", got)
	}
}

func TestTLSOptions(t *testing.T) {
	srv := httptest.NewUnstartedServer((&fakeServer{}).handler(routes{"GET /v1/health": {200, `{"health":{"gateway_status":"unregistered"},` + meta + `}`}}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	defer srv.Close()
	ctx := context.Background()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	if _, err := New(srv.URL).Health(ctx); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("an unknown CA was accepted: %v", err)
	}
	if _, err := New(srv.URL, WithCAPEM(caPEM)).Health(ctx); err != nil {
		t.Errorf("WithCAPEM: %v", err)
	}
	if _, err := New(srv.URL, WithInsecureSkipVerify()).Health(ctx); err != nil {
		t.Errorf("WithInsecureSkipVerify: %v", err)
	}

	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(srv.URL, WithCACertFile(file)).Health(ctx); err != nil {
		t.Errorf("WithCACertFile: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "none.pem")
	if _, err := New(srv.URL, WithCACertFile(missing)).Health(ctx); err == nil || !strings.Contains(err.Error(), "none.pem") {
		t.Errorf("a missing CA file: %v", err)
	}
	if _, err := New(srv.URL, WithCAPEM([]byte("junk"))).Health(ctx); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a CA text without certificate: %v", err)
	}

	// The TLS options apply to a copy of the caller's client.
	own := &http.Client{Transport: &http.Transport{}}
	if _, err := New(srv.URL, WithHTTPClient(own), WithCAPEM(caPEM)).Health(ctx); err != nil {
		t.Errorf("WithHTTPClient + WithCAPEM: %v", err)
	}
	// (http.Transport.Clone itself may fill in the original's HTTP/2 defaults.)
	if tr := own.Transport.(*http.Transport); tr.TLSClientConfig != nil && tr.TLSClientConfig.RootCAs != nil {
		t.Error("the caller's transport got our CA")
	}
	// Without TLS options the caller's client is used as is.
	if _, err := New(srv.URL, WithHTTPClient(srv.Client())).Health(ctx); err != nil {
		t.Errorf("WithHTTPClient(srv.Client()): %v", err)
	}
	odd := &http.Client{Transport: roundTripper(func(*http.Request) (*http.Response, error) { return nil, errors.New("unused") })}
	if _, err := New(srv.URL, WithHTTPClient(odd), WithInsecureSkipVerify()).Health(ctx); err == nil || !strings.Contains(err.Error(), "TLS options") {
		t.Errorf("TLS options on a foreign transport: %v", err)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
