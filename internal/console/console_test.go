package console_test

import (
	"context"
	"flag"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/config"
	"github.com/wabiz/wabiz/internal/console"
	"github.com/wabiz/wabiz/internal/server"
)

// testNode is a node built by server.Build, its HTTP handler on a TLS
// httptest server (the console's cookies are Secure there), without its
// loops: these tests need only pages.
func testNode(t *testing.T, extra map[string]string) (*server.Node, *httptest.Server) {
	t.Helper()
	env := map[string]string{"WABIZ_DATA_DIR": t.TempDir(), "WABIZ_NODE_ID": "unit", "WA_WEB_JWT_CRYPTO_KEY": strings.Repeat("u", 32), "WABIZ_BCRYPT_COST": "4"}
	for k, v := range extra {
		env[k] = v
	}
	c, err := config.Load(flag.NewFlagSet("unit", flag.ContinueOnError), nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	node, err := server.Build(context.Background(), c, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	srv := httptest.NewTLSServer(node.HTTP)
	t.Cleanup(srv.Close)
	return node, srv
}

type browser struct {
	t   *testing.T
	srv *httptest.Server
	c   *http.Client
}

func newBrowser(t *testing.T, srv *httptest.Server) *browser {
	jar, _ := cookiejar.New(nil)
	c := srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: t, srv: srv, c: c}
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.srv.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.PostForm(b.srv.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

// login logs in and returns the CSRF token of the page it lands on.
func (b *browser) login(user, password, newPassword string) string {
	b.t.Helper()
	_, page := b.get("/console/login")
	form := url.Values{"csrf": {csrfOf(b.t, page)}, "username": {user}, "password": {password}}
	if newPassword != "" {
		form.Set("new_password", newPassword)
	}
	resp, body := b.post("/console/login", form)
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("login: %d\n%s", resp.StatusCode, body)
	}
	_, page = b.get("/console/settings")
	return csrfOf(b.t, page)
}

func TestLoginForcedPasswordChangeCookieAndHeaders(t *testing.T) {
	t.Parallel()
	_, srv := testNode(t, nil)
	b := newBrowser(t, srv)
	resp, page := b.get("/console/customers")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
		t.Fatalf("a page without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = b.get("/console/login")
	if got := resp.Header.Get("Content-Security-Policy"); got != console.CSP || !strings.Contains(got, "default-src 'self'") || !strings.Contains(got, "frame-ancestors 'none'") {
		t.Fatalf("CSP %q", got)
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, " style=") {
		t.Fatal("the page has inline script or style, which the CSP forbids")
	}
	token := csrfOf(t, page)
	// Without the login form's token: refused.
	if resp, _ := b.post("/console/login", url.Values{"username": {"admin"}, "password": {"secret"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login without CSRF: %d", resp.StatusCode)
	}
	_, page = b.get("/console/login")
	token = csrfOf(t, page)
	resp, page = b.post("/console/login", url.Values{"csrf": {token}, "username": {"admin"}, "password": {"secret"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, `name="new_password"`) {
		t.Fatalf("the factory password must be changed first: %d", resp.StatusCode)
	}
	_, page = b.get("/console/login")
	resp, page = b.post("/console/login", url.Values{"csrf": {csrfOf(t, page)}, "username": {"admin"}, "password": {"secret"}, "new_password": {"short"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "1005") && !strings.Contains(page, "assword") {
		t.Fatalf("a weak new password: %d\n%s", resp.StatusCode, page)
	}
	_, page = b.get("/console/login")
	resp, _ = b.post("/console/login", url.Values{"csrf": {csrfOf(t, page)}, "username": {"admin"}, "password": {"secret"}, "new_password": {"Console#Pass1"}})
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "wabiz_console" && c.Value != "" {
			session = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || session == nil {
		t.Fatalf("login with the new password: %d", resp.StatusCode)
	}
	if !session.Secure || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/console" {
		t.Fatalf("session cookie %+v", session)
	}
	_, page = b.get("/console/customers")
	csrf := csrfOf(t, page)
	if resp, _ := b.post("/console/customers", url.Values{"wa_id": {"15550001111"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST without CSRF: %d", resp.StatusCode)
	}
	if resp, _ := b.post("/console/customers", url.Values{"wa_id": {"15550001111"}, "csrf": {"wrong"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST with a wrong CSRF token: %d", resp.StatusCode)
	}
	if resp, _ := b.post("/console/customers", url.Values{"wa_id": {"15550001111"}, "csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST with CSRF: %d", resp.StatusCode)
	}
	// Logging out revokes the session: the old cookie no longer works.
	if resp, _ := b.post("/console/logout", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	b.c.Jar.SetCookies(mustURL(t, srv.URL+"/console"), []*http.Cookie{session})
	if resp, _ := b.get("/console/customers"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a revoked session still works: %d", resp.StatusCode)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestReadOnlyUserIsRefusedEveryChange(t *testing.T) {
	t.Parallel()
	node, srv := testNode(t, nil)
	if err := node.Auth.CreateUser(context.Background(), "viewer", "Viewer#Pass1"); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, srv)
	csrf := b.login("viewer", "Viewer#Pass1", "")
	resp, page := b.get("/console/customers")
	if resp.StatusCode != http.StatusOK || strings.Contains(page, `id="create-customer"`) {
		t.Fatalf("the read-only page shows the create form (%d)", resp.StatusCode)
	}
	for _, path := range []string{"/console/customers", "/console/customers/15550001111/update", "/console/templates", "/console/settings/world"} {
		if resp, _ := b.post(path, url.Values{"csrf": {csrf}, "wa_id": {"15550001111"}}); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("POST %s as a user: %d", path, resp.StatusCode)
		}
	}
}

func TestLoginThrottled(t *testing.T) {
	t.Parallel()
	_, srv := testNode(t, map[string]string{"WABIZ_LOGIN_FAILURE_LIMIT": "2"})
	b := newBrowser(t, srv)
	var last int
	for range 3 {
		_, page := b.get("/console/login")
		resp, _ := b.post("/console/login", url.Values{"csrf": {csrfOf(t, page)}, "username": {"admin"}, "password": {"wrong"}})
		last = resp.StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("third failed login: %d, want 429", last)
	}
}

func TestFormatEscapesMarkup(t *testing.T) {
	got := string(console.FormatText("<script>alert(1)</script> *bold* _it_ ~gone~ ```x<y```\nnext"))
	want := "&lt;script&gt;alert(1)&lt;/script&gt; <strong>bold</strong> <em>it</em> <s>gone</s> <code>x&lt;y</code><br>next"
	if got != want {
		t.Fatalf("FormatText:\n got %s\nwant %s", got, want)
	}
}

// Bad input gets a clear 4xx, never a 500.
func TestBadInputAnswersClearErrors(t *testing.T) {
	t.Parallel()
	_, srv := testNode(t, nil)
	b := newBrowser(t, srv)
	csrf := b.login("admin", "secret", "Console#Pass1")
	if resp, _ := b.post("/console/customers", url.Values{"csrf": {csrf}, "wa_id": {"15550002222"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	posts := []struct {
		path string
		form url.Values
		want int
		text string
	}{
		{"/console/customers", url.Values{"wa_id": {"+abc"}}, 400, "is not a WhatsApp id"},
		{"/console/customers/15550002222/update", url.Values{"online": {"maybe"}}, 400, "must be yes or no"},
		{"/console/customers/15550002222/update", url.Values{"auto_read_ms": {"-5"}}, 400, "auto_read_ms"},
		{"/console/customers/15550002222/update", url.Values{}, 400, "Nothing to change"},
		{"/console/customers/19999999999/update", url.Values{"online": {"no"}}, 404, "no customer"},
		{"/console/customers/15550002222/number", url.Values{"new_wa_id": {"15550002222"}}, 400, "is not a new WhatsApp id"},
		{"/console/customers/15550002222/send", url.Values{"kind": {"nope"}}, 400, "Unknown kind"},
		{"/console/customers/15550002222/send", url.Values{"kind": {"text"}, "body": {" "}}, 400, "Write something"},
		{"/console/customers/15550002222/send", url.Values{"kind": {"location"}, "latitude": {"north"}}, 400, "must be numbers"},
		{"/console/customers/15550002222/send", url.Values{"kind": {"file"}}, 400, "Choose a file"},
		{"/console/customers/15550002222/send", url.Values{"kind": {"list_reply"}, "reply_id": {"a"}, "reply_title": {"A"}}, 400, "context"},
		{"/console/customers/15550002222/read", url.Values{"message_id": {"gBnope"}}, 404, "has no message"},
		{"/console/templates", url.Values{"definition": {"{"}}, 400, "one JSON object"},
		{"/console/templates", url.Values{"definition": {`{"name":"x"}`}}, 400, ""},
		{"/console/templates/none/en", url.Values{"action": {"pause"}}, 404, "not found"},
		{"/console/templates/none/en", url.Values{"action": {"explode"}}, 400, "Unknown action"},
		{"/console/settings/world", url.Values{"world": {`{"no_such":1}`}}, 400, "no setting"},
		{"/console/settings/world", url.Values{"world": {`{"auto_read":"yes"}`}}, 400, "Invalid world"},
		{"/console/settings/certificate", url.Values{"cc": {"x"}}, 400, "country code"},
	}
	for _, p := range posts {
		p.form.Set("csrf", csrf)
		resp, page := b.post(p.path, p.form)
		if resp.StatusCode != p.want || !strings.Contains(page, p.text) {
			t.Errorf("POST %s %v: %d, want %d with %q\n%s", p.path, p.form, resp.StatusCode, p.want, p.text, page)
		}
	}
	for _, g := range []struct {
		path string
		want int
	}{
		{"/console/customers/abc", 400}, {"/console/customers/19999999999", 404}, {"/console/webhooks?kind=bogus", 400},
		{"/console/webhooks?limit=0", 400}, {"/console/messages/gBunknown", 404}, {"/console/media/elsewhere", 404},
		{"/console/media/biz-missing", 404}, {"/console/nowhere", 404},
	} {
		if resp, page := b.get(g.path); resp.StatusCode != g.want {
			t.Errorf("GET %s: %d, want %d\n%s", g.path, resp.StatusCode, g.want, page)
		}
	}
}
