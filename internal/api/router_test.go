package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestUnknownPathIs404(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	for _, path := range []string{"/", "/v1", "/v1/nope", "/v2/users", "/v1/users/a/b", "/metricsx"} {
		res := h.do(request{method: "GET", path: path})
		expectError(t, res, 404, e(1006, "Resource not found", "URL path not found"))
	}
}

func TestWrongMethodIs405(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	res := h.do(request{method: "DELETE", path: "/v1/health"})
	expectError(t, res, 405, e(1014, "Internal error", ""))
	if res.Header.Get("Allow") != "GET" {
		t.Fatalf("Allow = %q", res.Header.Get("Allow"))
	}
	res = h.do(request{method: "GET", path: "/v1/users/login/"})
	expectError(t, res, 405, e(1014, "Internal error", ""))
	if res.Header.Get("Allow") != "POST" {
		t.Fatalf("Allow = %q", res.Header.Get("Allow"))
	}
}

func TestEveryRouteWithAndWithoutTrailingSlash(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/health"},
		{"GET", "/v1/settings/application"},
		{"GET", "/v1/users/admin"},
	} {
		for _, p := range []string{c.path, c.path + "/"} {
			if res := h.do(request{method: c.method, path: p, header: bearer(admin)}); res.Status != 200 {
				t.Fatalf("%s %s: %d %s", c.method, p, res.Status, res.Raw)
			}
		}
	}
	for i, p := range []string{"/v1/users", "/v1/users/"} {
		res := h.do(request{method: "POST", path: p, header: bearer(admin), body: `{"username":"user` + string(rune('a'+i)) + `","password":"Passw0rd!"}`})
		if res.Status != 201 {
			t.Fatalf("POST %s: %d %s", p, res.Status, res.Raw)
		}
	}
	for _, p := range []string{"/v1/users/login", "/v1/users/login/"} {
		if res := h.do(request{method: "POST", path: p, header: basic("admin", testAdminPassword)}); res.Status != 200 {
			t.Fatalf("POST %s: %d", p, res.Status)
		}
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	res := h.do(request{method: "GET", path: "/nope", header: map[string]string{"X-Request-ID": "abc-123"}})
	if got := res.Header.Get("X-Request-ID"); got != "abc-123" {
		t.Fatalf("echoed id = %q", got)
	}
	for _, bad := range []string{"", "has space", strings.Repeat("x", 200), "new\nline"} {
		res := h.do(request{method: "GET", path: "/nope", header: map[string]string{"X-Request-ID": bad}})
		if got := res.Header.Get("X-Request-ID"); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(got) {
			t.Fatalf("generated id for %q = %q", bad, got)
		}
	}
}

func TestPanicIsRecoveredAs500(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	h.srv.HandleBasic("GET", "/v1/test-panic", func(w http.ResponseWriter, r *http.Request) error { panic("boom") })
	res := h.do(request{method: "GET", path: "/v1/test-panic"})
	expectError(t, res, 500, e(1014, "Internal error", ""))
	if !strings.Contains(h.logBuf.String(), "boom") {
		t.Fatalf("panic not logged: %s", h.logBuf.String())
	}
	// The server still answers.
	if res := h.do(request{method: "GET", path: "/nope"}); res.Status != 404 {
		t.Fatal("server broken after panic")
	}
}

func TestAccessLogLine(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	h.do(request{method: "GET", path: "/v1/nope", header: map[string]string{"X-Request-ID": "req-1"}})
	line := h.logBuf.String()
	for _, want := range []string{"msg=request", "request_id=req-1", "method=GET", "path=/v1/nope", "status=404"} {
		if !strings.Contains(line, want) {
			t.Fatalf("access log %q lacks %q", line, want)
		}
	}
}

func TestAnInternalErrorDoesNotLeakItsCause(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	// The token is checked once, and trusted for a moment after.
	h.do(request{method: "GET", path: "/v1/settings/application", header: bearer(admin)})
	h.store.Close() // the database goes away under the server
	res := h.do(request{method: "PATCH", path: "/v1/settings/application", header: bearer(admin), body: `{"sent_status":true}`})
	if res.Status != 500 {
		t.Fatalf("status %d: %s", res.Status, res.Raw)
	}
	if got := res.errorsList(); len(got) != 1 || got[0].Code != 1014 || strings.Contains(string(res.Raw), "sql") {
		t.Fatalf("body %s", res.Raw)
	}
}

// TestDatabaseFailureOnTheAcceptPath: where the failure can only be the
// database's (checking a token, storing a send), the answer says so with
// 500/1023, still without the cause.
func TestDatabaseFailureOnTheAcceptPath(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	h.ready(admin)
	h.do(request{method: "GET", path: "/v1/health", header: bearer(admin)}) // the token is trusted for a moment now
	other := h.login("admin", testAdminPassword)                            // and this one was never checked
	h.store.Close()
	for _, tc := range []struct {
		name, token, details string
	}{
		{"send", admin, "The message could not be stored: the database is unavailable or did not answer in time; retry later"},
		{"token", other, "The token could not be checked: the database is unavailable or did not answer in time; retry later"},
	} {
		res := h.do(request{method: "POST", path: "/v1/messages", header: bearer(tc.token),
			body: `{"to":"` + customer + `","type":"text","text":{"body":"hi"}}`})
		got := res.errorsList()
		if res.Status != 500 || len(got) != 1 || got[0].Code != 1023 || got[0].Title != "Database error occurred" || got[0].Details != tc.details {
			t.Errorf("%s: %d %s", tc.name, res.Status, res.Raw)
		}
	}
}
