package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/auth"
	"github.com/wabiz/wabiz/internal/core"
	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/cloud"
	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
	"github.com/wabiz/wabiz/internal/network/sandbox"
	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/stickerpack"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
	"github.com/wabiz/wabiz/internal/webhook"
)

// clock is a frozen, manually advanced time source: token expiry and rate
// windows are tested without sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const (
	testAppSecret     = "app-secret-for-tests"
	testAPIKey        = "test-api-key-0123456789"
	testAdminPassword = "Admin#Pass1"
)

type harness struct {
	t        testing.TB
	srv      *Server
	clock    *clock
	store    *store.Store
	auth     *auth.Service
	settings *settings.Service
	core     *core.Core
	sandbox  *sandbox.Sandbox
	hooks    *webhook.Dispatcher
	logBuf   *bytes.Buffer
}

// harnessSetup is what options may change before the server is built.
type harnessSetup struct {
	graph             *graphtest.Server // when set, the cloud network talks to this Graph double
	deps              *Deps
	allowPrivateLinks bool                                  // media links may reach loopback (httptest servers)
	mediaMaxBytes     int64                                 // when set, the media volume's file size limit
	mediaDir          string                                // when set, the media volume (another harness's, for a restart)
	network           func(network.Network) network.Network // wraps the sandbox, e.g. to block start-up
}

type harnessOption func(*harnessSetup)

func withDeps(fn func(*Deps)) harnessOption { return func(s *harnessSetup) { fn(s.deps) } }

func withCloud(g *graphtest.Server) harnessOption { return func(s *harnessSetup) { s.graph = g } }

func withPrivateLinks() harnessOption { return func(s *harnessSetup) { s.allowPrivateLinks = true } }

func withMediaMaxBytes(n int64) harnessOption { return func(s *harnessSetup) { s.mediaMaxBytes = n } }

func withMediaDir(dir string) harnessOption { return func(s *harnessSetup) { s.mediaDir = dir } }

func withNetwork(wrap func(network.Network) network.Network) harnessOption {
	return func(s *harnessSetup) { s.network = wrap }
}

func newHarness(t testing.TB, cfg store.Config, opts ...harnessOption) *harness {
	t.Helper()
	ctx := context.Background()
	st := storetest.OpenConfig(t, cfg)
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	authSvc, err := auth.NewService(st, auth.Options{
		SigningKey: bytes.Repeat([]byte("k"), 32), APIKey: testAPIKey, BcryptCost: 4, Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := authSvc.EnsureAdmin(ctx); err != nil {
		t.Fatal(err)
	}
	// Webhook receivers in tests are plain-HTTP httptest servers.
	settingsSvc, err := settings.NewService(ctx, st, settings.PatchRules{AllowHTTPWebhook: true}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	logW := &syncWriter{w: &logBuf}
	log := slog.New(slog.NewTextHandler(logW, nil))
	t.Cleanup(func() {
		if t.Failed() {
			logW.mu.Lock()
			t.Logf("server log:\n%s", logBuf.String())
			logW.mu.Unlock()
		}
	})
	hooks, err := webhook.New(ctx, webhook.Options{Store: st, Settings: settingsSvc.Current, Now: clk.Now, Log: log, NodeID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	sandboxNet := sandbox.New(st, clk.Now)
	d := Deps{
		Log: log, Auth: authSvc, Settings: settingsSvc, Sandbox: sandboxNet,
		Media:   newTestMedia(t, st, clk.Now),
		Certs:   newTestCerts(st, hooks, clk.Now), // certificates_test.go
		Version: "v2.51.2", MaxBodyBytes: 4096, LoginFailureLimit: 30, HealthRateLimit: 10, Now: clk.Now,
	}
	setup := harnessSetup{deps: &d, network: func(n network.Network) network.Network { return n }}
	for _, o := range opts {
		o(&setup)
	}
	if setup.allowPrivateLinks || setup.mediaMaxBytes > 0 || setup.mediaDir != "" {
		dir := setup.mediaDir
		if dir == "" {
			dir = filepath.Join(t.TempDir(), "media-custom")
		}
		m, err := media.New(media.Options{Dir: dir, Store: st, Now: clk.Now,
			MaxBytes: setup.mediaMaxBytes, Fetch: media.FetchOptions{AllowPrivate: setup.allowPrivateLinks}})
		if err != nil {
			t.Fatal(err)
		}
		d.Media = m
	}
	if d.Stickerpacks == nil {
		stickerpacks := stickerpack.New(st, d.Media, clk.Now)
		if err := stickerpacks.EnsureFirstParty(ctx); err != nil { // as serve does at start-up
			t.Fatal(err)
		}
		d.Stickerpacks = stickerpacks
	}
	var (
		base       network.Network          = sandboxNet
		publisher  network.ProfilePublisher = sandboxNet
		compliance network.CompliancePublisher
		setPIN     func(context.Context, string) error
	)
	if g := setup.graph; g != nil {
		cloudNet := cloud.New(cloud.Options{GraphURL: g.GraphURL(), PhoneNumberID: g.PhoneNumberID, WABAID: g.WABAID,
			AccessToken: g.Token, AppSecret: testAppSecret, VerifyToken: "verify-me", AppID: g.AppID, Store: st, Now: clk.Now, Log: log})
		base, d.Sandbox, d.Cloud, d.MediaPublisher = cloudNet, nil, cloudNet, cloudNet
		publisher, compliance, setPIN = cloudNet, cloudNet, cloudNet.SetPIN
	}
	engine := core.New(core.Options{Store: st, Network: setup.network(base), Hooks: hooks, Settings: settingsSvc, Media: d.Media, Log: log, Now: clk.Now, NodeID: "test"})
	if err := engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	d.Profile, d.Security = newAccountServices(st, publisher, compliance, setPIN, settingsSvc, engine, log, clk.Now)
	if d.Messaging == nil {
		d.Messaging = engine
	} else if wrap, ok := d.Messaging.(interface{ setInner(Messaging) }); ok {
		wrap.setInner(engine)
	}
	d.Operations = newTestOperations(st, hooks, settingsSvc, d.Media, clk.Now) // operations_test.go
	return &harness{t: t, srv: New(d), clock: clk, store: st, auth: authSvc, settings: settingsSvc,
		core: engine, sandbox: sandboxNet, hooks: hooks, logBuf: &logBuf}
}

func sqliteHarness(t testing.TB, opts ...harnessOption) *harness {
	return newHarness(t, storetest.Config(t, store.SQLite), opts...)
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// response is a decoded envelope plus the raw answer.
type response struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

// errorsList returns the "errors" array as (code, title, details) triples.
func (r response) errorsList() []errorItem {
	var env struct {
		Errors []errorItem `json:"errors"`
	}
	json.Unmarshal(r.Raw, &env)
	return env.Errors
}

type errorItem struct {
	Code    int    `json:"code"`
	Title   string `json:"title"`
	Details string `json:"details"`
}

type request struct {
	method, path string
	body         string
	contentType  string // default application/json when body is set
	header       map[string]string
	remote       string
}

func (h *harness) do(req request) response {
	h.t.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	r := httptest.NewRequest(req.method, req.path, body)
	if req.body != "" {
		ct := req.contentType
		if ct == "" {
			ct = "application/json"
		}
		r.Header.Set("Content-Type", ct)
	} else if req.contentType != "" {
		r.Header.Set("Content-Type", req.contentType)
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	if req.remote != "" {
		r.RemoteAddr = req.remote
	}
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, r)
	res := response{Status: w.Code, Header: w.Header(), Raw: w.Body.Bytes()}
	if len(res.Raw) > 0 {
		if err := json.Unmarshal(res.Raw, &res.Body); err != nil {
			h.t.Fatalf("%s %s: response is not JSON: %q", req.method, req.path, res.Raw)
		}
		if meta, _ := res.Body["meta"].(map[string]any); meta["api_status"] != "stable" || meta["version"] != "v2.51.2" {
			h.t.Fatalf("%s %s: bad meta in %s", req.method, req.path, res.Raw)
		}
	}
	return res
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

func basic(user, pass string) map[string]string {
	return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
}

// adminToken performs the first login (with the forced password change) and
// returns the admin's token.
func (h *harness) adminToken() string {
	h.t.Helper()
	res := h.do(request{method: "POST", path: "/v1/users/login", header: basic("admin", "secret"),
		body: `{"new_password":"` + testAdminPassword + `"}`})
	if res.Status != 200 {
		h.t.Fatalf("first admin login: %d %s", res.Status, res.Raw)
	}
	return tokenOf(h.t, res)
}

func (h *harness) login(user, pass string) string {
	h.t.Helper()
	res := h.do(request{method: "POST", path: "/v1/users/login", header: basic(user, pass)})
	if res.Status != 200 {
		h.t.Fatalf("login %s: %d %s", user, res.Status, res.Raw)
	}
	return tokenOf(h.t, res)
}

// createUser makes a ROLE_USER and returns its token.
func (h *harness) createUser(adminToken, name, pass string) string {
	h.t.Helper()
	res := h.do(request{method: "POST", path: "/v1/users", header: bearer(adminToken),
		body: `{"username":"` + name + `","password":"` + pass + `"}`})
	if res.Status != 201 {
		h.t.Fatalf("create %s: %d %s", name, res.Status, res.Raw)
	}
	return h.login(name, pass)
}

func tokenOf(t testing.TB, res response) string {
	t.Helper()
	users, _ := res.Body["users"].([]any)
	if len(users) != 1 {
		t.Fatalf("no users[] in %s", res.Raw)
	}
	tok, _ := users[0].(map[string]any)["token"].(string)
	if tok == "" {
		t.Fatalf("no token in %s", res.Raw)
	}
	return tok
}

// expectError asserts status and the exact (code, title, details) list.
func expectError(t *testing.T, res response, status int, want ...errorItem) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d, want %d: %s", res.Status, status, res.Raw)
	}
	got := res.errorsList()
	if len(got) != len(want) {
		t.Fatalf("errors %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("error %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// Payload keys, then meta, then errors — nothing after errors.
	if !bytes.Contains(res.Raw, []byte(`"meta":`)) || bytes.Index(res.Raw, []byte(`"errors":`)) < bytes.Index(res.Raw, []byte(`"meta":`)) {
		t.Fatalf("envelope order wrong: %s", res.Raw)
	}
}

func e(code int, title, details string) errorItem { return errorItem{code, title, details} }
