package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/api"
	"github.com/wabiz/wabiz/internal/auth"
	"github.com/wabiz/wabiz/internal/backup"
	"github.com/wabiz/wabiz/internal/certs"
	"github.com/wabiz/wabiz/internal/config"
	"github.com/wabiz/wabiz/internal/core"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
	"github.com/wabiz/wabiz/internal/network/sandbox"
	"github.com/wabiz/wabiz/internal/server"
	"github.com/wabiz/wabiz/internal/settings"
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

// harness is one node built by server.Build, as wabiz serve builds it, on a
// frozen clock and without its background loops: tests drive the outbox,
// deliveries and collections themselves.
type harness struct {
	t        testing.TB
	node     *server.Node
	srv      *api.Server
	clock    *clock
	store    *store.Store
	auth     *auth.Service
	settings *settings.Service
	core     *core.Core
	sandbox  *sandbox.Sandbox // nil on the cloud network
	hooks    *webhook.Dispatcher
	logBuf   *bytes.Buffer
}

// harnessSetup is what options may change before the node is built.
type harnessSetup struct {
	env     map[string]string // configuration, by environment variable name
	options server.Options
	deps    []func(*api.Deps)
	webOnly bool // the web role alone: the core is built but not started
}

type harnessOption func(*harnessSetup)

// withConfig sets one configuration option, by its environment variable
// name; an empty value leaves the option at its default.
func withConfig(name, value string) harnessOption {
	return func(s *harnessSetup) { s.env[name] = value }
}

// withDeps changes the API's dependencies. A Messaging it installs that has
// a setInner method gets the node's engine to pass calls on to.
func withDeps(fn func(*api.Deps)) harnessOption {
	return func(s *harnessSetup) { s.deps = append(s.deps, fn) }
}

// withCloud puts the node on the cloud network, talking to the Graph double g.
func withCloud(g *graphtest.Server) harnessOption {
	return func(s *harnessSetup) {
		for name, value := range map[string]string{
			"WABIZ_NETWORK": "cloud", "WABIZ_CLOUD_GRAPH_URL": g.GraphURL(),
			"WABIZ_CLOUD_PHONE_NUMBER_ID": g.PhoneNumberID, "WABIZ_CLOUD_WABA_ID": g.WABAID, "WABIZ_CLOUD_APP_ID": g.AppID,
			"WABIZ_CLOUD_ACCESS_TOKEN": g.Token, "WABIZ_CLOUD_APP_SECRET": testAppSecret, "WABIZ_CLOUD_VERIFY_TOKEN": "verify-me",
		} {
			s.env[name] = value
		}
	}
}

// withWebRoleOnly builds a node whose core does not run, as a web node of a
// deployment with its core elsewhere: it answers from what the running
// core keeps in the database. It has a node id of its own.
func withWebRoleOnly() harnessOption {
	return func(s *harnessSetup) {
		s.webOnly = true
		s.env["WABIZ_NODE_ID"] = "test-web"
	}
}

// withPrivateLinks lets media links reach loopback (httptest servers).
func withPrivateLinks() harnessOption { return withConfig("WABIZ_MEDIA_ALLOW_PRIVATE_LINKS", "true") }

// withMediaMaxBytes lowers the media volume's file size limit.
func withMediaMaxBytes(n int64) harnessOption {
	return func(s *harnessSetup) { s.options.MediaMaxBytes = n }
}

// withMediaDir uses another harness's media volume, for a restart.
func withMediaDir(dir string) harnessOption { return withConfig("WABIZ_MEDIA_DIR", dir) }

// withNetwork wraps the network the core uses, e.g. to block start-up.
func withNetwork(wrap func(network.Network) network.Network) harnessOption {
	return func(s *harnessSetup) { s.options.WrapNetwork = wrap }
}

// newHarness builds a node on the database cfg names. Opening the same cfg
// again is a restart: the second node finds what the first left.
func newHarness(t testing.TB, cfg store.Config, opts ...harnessOption) *harness {
	t.Helper()
	ctx := context.Background()
	storetest.Prepare(t, cfg)
	clk := &clock{t: harnessStart}
	dataDir := t.TempDir()
	seedSelfSigned(t, dataDir)
	var logBuf bytes.Buffer
	logW := &syncWriter{w: &logBuf}
	t.Cleanup(func() {
		if t.Failed() {
			logW.mu.Lock()
			t.Logf("server log:\n%s", logBuf.String())
			logW.mu.Unlock()
		}
	})
	setup := harnessSetup{
		env: map[string]string{
			"WABIZ_DATA_DIR":        dataDir,
			"WABIZ_NODE_ID":         "test",
			"WA_VERSION":            "v2.51.2", // what h.do expects in meta
			"WA_API_KEY":            testAPIKey,
			"WA_WEB_JWT_CRYPTO_KEY": strings.Repeat("k", 32),
			"WABIZ_BCRYPT_COST":     "4", // the lowest: tests log in a lot
			// Webhook receivers in tests are plain-HTTP httptest servers.
			"WABIZ_WEBHOOK_ALLOW_HTTP":  "true",
			"WABIZ_MAX_BODY_BYTES":      "4096",
			"WABIZ_LOGIN_FAILURE_LIMIT": "30",
			"WABIZ_HEALTH_RATE_LIMIT":   "10",
		},
		options: server.Options{
			Log:       slog.New(slog.NewTextHandler(logW, nil)),
			Now:       clk.Now,
			BackupKDF: &backup.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}, // backups in milliseconds
		},
	}
	for _, kv := range storetest.Env(cfg) {
		name, value, _ := strings.Cut(kv, "=")
		setup.env[name] = value
	}
	if cfg.MaxOpenConns > 0 {
		setup.env["WABIZ_DB_MAX_OPEN_CONNS"] = strconv.Itoa(cfg.MaxOpenConns)
	}
	for _, o := range opts {
		o(&setup)
	}
	setup.options.API = func(d *api.Deps) {
		engine := d.Messaging
		for _, fn := range setup.deps {
			fn(d)
		}
		if wrap, ok := d.Messaging.(interface{ setInner(api.Messaging) }); ok {
			wrap.setInner(engine)
		}
	}
	c, err := config.Load(flag.NewFlagSet("harness", flag.ContinueOnError), nil, func(name string) string { return setup.env[name] })
	if err != nil {
		t.Fatal(err)
	}
	node, err := server.Build(ctx, c, setup.options)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	if !setup.webOnly {
		if err := node.Core.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return &harness{t: t, node: node, srv: node.API, clock: clk, store: node.Store, auth: node.Auth, settings: node.Settings,
		core: node.Core, sandbox: node.Sandbox, hooks: node.Hooks, logBuf: &logBuf}
}

// harnessStart is where every harness's clock starts.
var harnessStart = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// selfSigned is one generated TLS directory, which seedSelfSigned copies
// into every harness's data directory: the node then finds its certificate
// as a restarted one does. Generating a CA and a certificate, and syncing
// their four files, for every test would cost more than most tests do.
var selfSigned struct {
	once  sync.Once
	files map[string][]byte
	err   error
}

func seedSelfSigned(t testing.TB, dataDir string) {
	t.Helper()
	selfSigned.once.Do(func() {
		dir, err := os.MkdirTemp("", "wabiz-harness-tls-")
		if err != nil {
			selfSigned.err = err
			return
		}
		defer os.RemoveAll(dir)
		if _, _, err := certs.EnsureSelfSigned(dir, "localhost", harnessStart); err != nil {
			selfSigned.err = err
			return
		}
		selfSigned.files = map[string][]byte{}
		for _, name := range []string{certs.CAFile, certs.CAKeyFile, certs.CertFile, certs.KeyFile} {
			if selfSigned.files[name], err = os.ReadFile(filepath.Join(dir, name)); err != nil {
				selfSigned.err = err
				return
			}
		}
	})
	if selfSigned.err != nil {
		t.Fatalf("self-signed certificate for the harness: %v", selfSigned.err)
	}
	dir := filepath.Join(dataDir, "tls")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range selfSigned.files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
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

// threeNodes builds two core nodes (core-a, core-b) and a web-only node
// (web-1) on one database, each with opts; every node leaves the registry
// before the database closes, so a leader's jobs stop first. The cores do
// the deployment's once-only work only while they lead, as under serve.
func threeNodes(t *testing.T, cfg store.Config, opts ...harnessOption) (a, b, web *harness) {
	t.Helper()
	a = newHarness(t, cfg, append(slices.Clone(opts), withNode("core", "core-a"))...)
	b = newHarness(t, cfg, append(slices.Clone(opts), withNode("core", "core-b"))...)
	web = newHarness(t, cfg, append(slices.Clone(opts), withWebRoleOnly(), withNode("web", "web-1"))...)
	for _, h := range []*harness{a, b, web} {
		h.core.Follow()
		t.Cleanup(func() { h.node.Cluster.Leave(context.Background()) })
	}
	return a, b, web
}
