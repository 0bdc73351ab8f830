package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/api"
	"github.com/wabiz/wabiz/internal/auth"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

var policy = e(1009, "Parameter value is not valid", auth.PasswordPolicyDetail)

func TestFirstLoginForcesPasswordChange(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		res := h.do(request{method: "POST", path: "/v1/users/login", header: basic("admin", "secret")})
		expectError(t, res, 401, e(1024, "Password change required", "Password must be changed"))
		if res.Header.Get("WWW-Authenticate") != `Basic realm="Secured"` {
			t.Fatalf("WWW-Authenticate = %q", res.Header.Get("WWW-Authenticate"))
		}
		// A weak new password is refused and changes nothing.
		res = h.do(request{method: "POST", path: "/v1/users/login", header: basic("admin", "secret"), body: `{"new_password":"short"}`})
		expectError(t, res, 400, policy)
		res = h.do(request{method: "POST", path: "/v1/users/login", header: basic("admin", "secret"), body: `{"new_password":42}`})
		expectError(t, res, 400, e(1009, "Parameter value is not valid", "Parameter 'new_password' has invalid value '42'"))

		res = h.do(request{method: "POST", path: "/v1/users/login", header: basic("admin", "secret"), body: `{"new_password":"` + testAdminPassword + `"}`})
		if res.Status != 200 {
			t.Fatalf("login with new password: %d %s", res.Status, res.Raw)
		}
		if !strings.HasPrefix(string(res.Raw), `{"users":[{"token":"`) {
			t.Fatalf("payload order: %s", res.Raw)
		}
		users := res.Body["users"].([]any)[0].(map[string]any)
		if users["expires_after"] != "2026-11-28 10:00:00+00:00" {
			t.Fatalf("expires_after = %v", users["expires_after"])
		}
		// The JWT carries the Webapp's claim names.
		parts := strings.Split(users["token"].(string), ".")
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var claims map[string]any
		json.Unmarshal(raw, &claims)
		if claims["user"] != "admin" || claims["iat"] != float64(h.clock.Now().Unix()) ||
			claims["exp"] != float64(h.clock.Now().Add(7*24*time.Hour).Unix()) || claims["wa:rand"] == nil {
			t.Fatalf("claims %v", claims)
		}
		// The factory password no longer works; the new one does without a change.
		res = h.do(request{method: "POST", path: "/v1/users/login", header: basic("admin", "secret")})
		expectError(t, res, 401, e(1005, "Access denied", "Invalid credentials."))
		h.login("admin", testAdminPassword)
	})
}

func TestLoginCredentialErrors(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	for name, hdr := range map[string]map[string]string{
		"no header":      nil,
		"bearer instead": bearer("x"),
		"lowercase":      {"Authorization": "basic " + base64.StdEncoding.EncodeToString([]byte("admin:secret"))},
		"not base64":     {"Authorization": "Basic !!!"},
	} {
		res := h.do(request{method: "POST", path: "/v1/users/login", header: hdr})
		expectError(t, res, 401, e(1005, "Access denied", "Missing or invalid authentication credentials"))
		if res.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("%s: no WWW-Authenticate", name)
		}
	}
	res := h.do(request{method: "POST", path: "/v1/users/login", header: basic("nobody", "secret")})
	expectError(t, res, 401, e(1005, "Access denied", "Invalid credentials."))
}

func TestLoginThrottledPerIP(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	const ip = "192.0.2.7:5555"
	for i := 1; i <= 30; i++ {
		res := h.do(request{method: "POST", path: "/v1/users/login", header: basic("admin", "wrong"), remote: ip})
		if res.Status != 401 {
			t.Fatalf("failure %d: %d", i, res.Status)
		}
	}
	tooMany := e(1015, "Too many requests", "Rate limiting exceeded on bad login attempts")
	expectError(t, h.do(request{method: "POST", path: "/v1/users/login", header: basic("admin", "wrong"), remote: ip}), 429, tooMany)
	// Even the right password is refused while the IP is over the limit.
	expectError(t, h.do(request{method: "POST", path: "/v1/users/login", header: basic("admin", "secret"), body: `{"new_password":"` + testAdminPassword + `"}`, remote: ip}), 429, tooMany)
	// Another address is not affected.
	if res := h.do(request{method: "POST", path: "/v1/users/login", header: basic("admin", "secret"), body: `{"new_password":"` + testAdminPassword + `"}`, remote: "192.0.2.8:1"}); res.Status != 200 {
		t.Fatalf("other IP: %d", res.Status)
	}
	// The window is an hour.
	h.clock.Advance(59 * time.Minute)
	expectError(t, h.do(request{method: "POST", path: "/v1/users/login", header: basic("admin", testAdminPassword), remote: ip}), 429, tooMany)
	h.clock.Advance(time.Minute)
	if res := h.do(request{method: "POST", path: "/v1/users/login", header: basic("admin", testAdminPassword), remote: ip}); res.Status != 200 {
		t.Fatalf("after an hour: %d %s", res.Status, res.Raw)
	}
}

func TestPasswordChangeRequiredCountsAsFailure(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t, withDeps(func(d *api.Deps) { d.LoginFailureLimit = 2 }))
	const ip = "192.0.2.9:1"
	for i := 0; i < 2; i++ {
		expectError(t, h.do(request{method: "POST", path: "/v1/users/login", header: basic("admin", "secret"), remote: ip}), 401,
			e(1024, "Password change required", "Password must be changed"))
	}
	expectError(t, h.do(request{method: "POST", path: "/v1/users/login", header: basic("admin", "secret"), remote: ip}), 429,
		e(1015, "Too many requests", "Rate limiting exceeded on bad login attempts"))
}

func TestBearerTokenRules(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	get := func(hdr map[string]string) response {
		return h.do(request{method: "GET", path: "/v1/users/admin", header: hdr})
	}
	missing := e(1005, "Access denied", "Missing or invalid authentication credentials")
	invalid := e(1005, "Access denied", "Invalid credentials.")
	expectError(t, get(nil), 401, missing)
	expectError(t, get(map[string]string{"Authorization": "bearer " + admin}), 401, missing)
	expectError(t, get(map[string]string{"Authorization": "Bearer"}), 401, missing)
	expectError(t, get(bearer("garbage")), 401, invalid)
	expectError(t, get(bearer(admin[:len(admin)-2]+"xx")), 401, invalid)
	if res := get(bearer(admin)); res.Status != 200 {
		t.Fatalf("valid token: %d", res.Status)
	}
	// Seven days, plus the 600 s clock-skew allowance.
	h.clock.Advance(7*24*time.Hour + 599*time.Second)
	if res := get(bearer(admin)); res.Status != 200 {
		t.Fatalf("within skew: %d", res.Status)
	}
	h.clock.Advance(2 * time.Second)
	expectError(t, get(bearer(admin)), 401, invalid)
}

func TestTokenSignedWithAnotherKeyIsRejected(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	h.adminToken()
	other, err := auth.NewService(h.store, auth.Options{SigningKey: []byte(strings.Repeat("z", 32)), BcryptCost: 4, Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	forged, _, err := other.IssueToken(t.Context(), "admin") // recorded in the table, wrong signature for this server
	if err != nil {
		t.Fatal(err)
	}
	expectError(t, h.do(request{method: "GET", path: "/v1/users/admin", header: bearer(forged)}), 401, e(1005, "Access denied", "Invalid credentials."))
}

func TestLogoutRevokesOnlyThatToken(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	first := h.adminToken()
	second := h.login("admin", testAdminPassword)
	if res := h.do(request{method: "POST", path: "/v1/users/logout", header: bearer(first)}); res.Status != 200 || string(res.Raw) != `{"meta":{"api_status":"stable","version":"v2.51.2"}}`+"\n" {
		t.Fatalf("logout: %d %s", res.Status, res.Raw)
	}
	expectError(t, h.do(request{method: "GET", path: "/v1/health", header: bearer(first)}), 401, e(1005, "Access denied", "Invalid credentials."))
	if res := h.do(request{method: "GET", path: "/v1/health", header: bearer(second)}); res.Status != 200 {
		t.Fatalf("other token after logout: %d", res.Status)
	}
}

func TestUserManagement(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		admin := h.adminToken()
		res := h.do(request{method: "POST", path: "/v1/users", header: bearer(admin), body: `{"username":"ops_team","password":"Passw0rd!"}`})
		if res.Status != 201 || !strings.HasPrefix(string(res.Raw), `{"users":[{"username":"ops_team"}],"meta":`) {
			t.Fatalf("create: %d %s", res.Status, res.Raw)
		}
		expectError(t, h.do(request{method: "POST", path: "/v1/users", header: bearer(admin), body: `{"username":"ops_team","password":"Passw0rd!"}`}),
			500, e(1014, "Internal error", "Unable to create user. Already exist?"))
		ops := h.login("ops_team", "Passw0rd!")

		// Reading users.
		res = h.do(request{method: "GET", path: "/v1/users/ops_team", header: bearer(ops)})
		if res.Status != 200 || !strings.HasPrefix(string(res.Raw), `{"users":[{"ROLES":"ROLE_USER","username":"ops_team"}]`) {
			t.Fatalf("self read: %d %s", res.Status, res.Raw)
		}
		res = h.do(request{method: "GET", path: "/v1/users/admin", header: bearer(admin)})
		if !strings.HasPrefix(string(res.Raw), `{"users":[{"ROLES":"ROLE_ADMIN","username":"admin"}]`) {
			t.Fatalf("admin read: %s", res.Raw)
		}
		expectError(t, h.do(request{method: "GET", path: "/v1/users/admin", header: bearer(ops)}), 403,
			e(1005, "Access denied", "Regular user cannot read other user information"))
		expectError(t, h.do(request{method: "GET", path: "/v1/users/ghost", header: bearer(admin)}), 404,
			e(1006, "Resource not found", "User does not exist"))

		// Only the admin creates and deletes.
		forbidden := e(1005, "Access denied", "User doesn't have permission")
		expectError(t, h.do(request{method: "POST", path: "/v1/users", header: bearer(ops), body: `{"username":"other","password":"Passw0rd!"}`}), 403, forbidden)
		expectError(t, h.do(request{method: "DELETE", path: "/v1/users/ops_team", header: bearer(ops)}), 403, forbidden)

		// Changing passwords: self yes, others no. A change revokes the user's
		// other sessions but keeps the one that made it.
		expectError(t, h.do(request{method: "PUT", path: "/v1/users/admin", header: bearer(ops), body: `{"password":"Passw0rd!2"}`}), 403,
			e(1005, "Access denied", "Regular user cannot modify other user"))
		expectError(t, h.do(request{method: "PUT", path: "/v1/users/ops_team", header: bearer(ops), body: `{"password":"weak"}`}), 400, policy)
		expectError(t, h.do(request{method: "PUT", path: "/v1/users/ops_team", header: bearer(ops), body: `{}`}), 400, policy)
		otherSession := h.login("ops_team", "Passw0rd!")
		res = h.do(request{method: "PUT", path: "/v1/users/ops_team", header: bearer(ops), body: `{"password":"N3w-Passw0rd"}`})
		if res.Status != 200 || !strings.HasPrefix(string(res.Raw), `{"users":[{"username":"ops_team"}]`) {
			t.Fatalf("self update: %d %s", res.Status, res.Raw)
		}
		if res := h.do(request{method: "GET", path: "/v1/users/ops_team", header: bearer(ops)}); res.Status != 200 {
			t.Fatalf("the session that changed the password: %d %s", res.Status, res.Raw)
		}
		expectError(t, h.do(request{method: "GET", path: "/v1/users/ops_team", header: bearer(otherSession)}), 401, e(1005, "Access denied", "Invalid credentials."))
		expectError(t, h.do(request{method: "POST", path: "/v1/users/login", header: basic("ops_team", "Passw0rd!")}), 401, e(1005, "Access denied", "Invalid credentials."))
		h.login("ops_team", "N3w-Passw0rd")
		expectError(t, h.do(request{method: "PUT", path: "/v1/users/ghost", header: bearer(admin), body: `{"password":"N3w-Passw0rd"}`}), 404,
			e(1006, "Resource not found", "User does not exist"))
		// An admin's change ends every session of that user.
		if res := h.do(request{method: "PUT", path: "/v1/users/ops_team", header: bearer(admin), body: `{"password":"Adm1n-Set!"}`}); res.Status != 200 {
			t.Fatalf("admin sets password: %d", res.Status)
		}
		expectError(t, h.do(request{method: "GET", path: "/v1/users/ops_team", header: bearer(ops)}), 401, e(1005, "Access denied", "Invalid credentials."))
		ops = h.login("ops_team", "Adm1n-Set!")

		// Deleting.
		expectError(t, h.do(request{method: "DELETE", path: "/v1/users/admin", header: bearer(admin)}), 400,
			e(1009, "Parameter value is not valid", "Admin user cannot be deleted"))
		expectError(t, h.do(request{method: "DELETE", path: "/v1/users/ghost", header: bearer(admin)}), 404,
			e(1006, "Resource not found", "User does not exist"))
		res = h.do(request{method: "DELETE", path: "/v1/users/ops_team", header: bearer(admin)})
		if res.Status != 200 || !strings.HasPrefix(string(res.Raw), `{"users":[{"username":"ops_team"}]`) {
			t.Fatalf("delete: %d %s", res.Status, res.Raw)
		}
		expectError(t, h.do(request{method: "GET", path: "/v1/health", header: bearer(ops)}), 401, e(1005, "Access denied", "Invalid credentials."))
	})
}

func TestCreateUserValidation(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	invalid := func(details string) errorItem { return e(1009, "Parameter value is not valid", details) }
	cases := []struct {
		body string
		want errorItem
	}{
		{`{"username":"_apiuser","password":"Passw0rd!"}`, invalid("Invalid Username")},
		{`{"username":"abc","password":"Passw0rd!"}`, invalid("Username doesn't meet length requirements")},
		{`{"username":"` + strings.Repeat("a", 33) + `","password":"Passw0rd!"}`, invalid("Username doesn't meet length requirements")},
		{`{"password":"Passw0rd!"}`, invalid("Username doesn't meet length requirements")},
		{`{"username":"bad name","password":"Passw0rd!"}`, invalid("Username contains prohibited characters")},
		{`{"username":"bad/name","password":"Passw0rd!"}`, invalid("Username contains prohibited characters")},
		{`{"username":"ünïcode","password":"Passw0rd!"}`, invalid("Username contains prohibited characters")},
		{`{"username":"good_name"}`, policy},
		{`{"username":"good_name","password":"alllowercase1!"}`, policy},
		{`{"username":"good_name","password":"NoDigits!!"}`, policy},
		{`{"username":"good_name","password":"NoSpecial12"}`, policy},
		{`{"username":"good_name","password":"Sh0rt!"}`, policy},
		{`{"username":"good_name","password":"Has Space1!"}`, policy},
		{`{"username":"good_name","password":"` + strings.Repeat("Aa1!", 17) + `"}`, policy},
	}
	for _, c := range cases {
		expectError(t, h.do(request{method: "POST", path: "/v1/users", header: bearer(admin), body: c.body}), 400, c.want)
	}
	// The limits themselves are allowed.
	for _, body := range []string{
		`{"username":"abcd","password":"Aa1!Aa1!"}`,
		`{"username":"` + strings.Repeat("b", 32) + `","password":"` + strings.Repeat("Aa1!", 16) + `"}`,
		`{"username":"a.b-c_d","password":"Aa1!Aa1!"}`,
	} {
		if res := h.do(request{method: "POST", path: "/v1/users", header: bearer(admin), body: body}); res.Status != 201 {
			t.Fatalf("%s: %d %s", body, res.Status, res.Raw)
		}
	}
}

func TestUserWritesAreRateLimited(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	for i := 0; i < 256; i++ {
		res := h.do(request{method: "POST", path: "/v1/users", header: bearer(admin), body: `{"username":"u"}`})
		if res.Status != 400 {
			t.Fatalf("call %d: %d", i, res.Status)
		}
	}
	expectError(t, h.do(request{method: "POST", path: "/v1/users", header: bearer(admin), body: `{"username":"u"}`}), 429,
		e(1015, "Too many requests", "Rate limiting exceeded on create user"))
	for i := 0; i < 256; i++ {
		h.do(request{method: "PUT", path: "/v1/users/admin", header: bearer(admin), body: `{}`})
	}
	expectError(t, h.do(request{method: "PUT", path: "/v1/users/admin", header: bearer(admin), body: `{}`}), 429,
		e(1015, "Too many requests", "Rate limiting exceeded on update user"))
}

func TestAPIKeyOnlyReachesHealth(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	key := map[string]string{"Authorization": "Apikey " + testAPIKey}
	res := h.do(request{method: "GET", path: "/v1/health", header: key})
	if res.Status != 200 || !strings.HasPrefix(string(res.Raw), `{"health":{"gateway_status":"unregistered"},"meta":`) {
		t.Fatalf("health with Apikey: %d %s", res.Status, res.Raw)
	}
	forbidden := e(1005, "Access denied", "User doesn't have permission")
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/settings/application"}, {"GET", "/v1/users/admin"}, {"POST", "/v1/users/logout"}, {"POST", "/v1/users"},
	} {
		expectError(t, h.do(request{method: c.method, path: c.path, header: key}), 403, forbidden)
	}
	expectError(t, h.do(request{method: "GET", path: "/v1/health", header: map[string]string{"Authorization": "Apikey wrong-key-000000"}}), 401,
		e(1005, "Access denied", "Invalid credentials."))

	noKey := sqliteHarness(t, withConfig("WA_API_KEY", ""))
	expectError(t, noKey.do(request{method: "GET", path: "/v1/health", header: key}), 401, e(1005, "Access denied", "Invalid credentials."))
}

func TestHealth(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	expectError(t, h.do(request{method: "GET", path: "/v1/health"}), 401, e(1005, "Access denied", "Missing or invalid authentication credentials"))
	for i := 0; i < 10; i++ {
		if res := h.do(request{method: "GET", path: "/v1/health", header: bearer(admin)}); res.Status != 200 {
			t.Fatalf("check %d: %d", i, res.Status)
		}
	}
	limited := e(1015, "Too many requests", "Rate limiting exceeded on health check")
	expectError(t, h.do(request{method: "GET", path: "/v1/health", header: bearer(admin)}), 429, limited)
	// The limit is server-wide, whoever asks.
	expectError(t, h.do(request{method: "GET", path: "/v1/health", header: map[string]string{"Authorization": "Apikey " + testAPIKey}}), 429, limited)
	h.clock.Advance(time.Minute)
	if res := h.do(request{method: "GET", path: "/v1/health", header: bearer(admin)}); res.Status != 200 {
		t.Fatalf("after a minute: %d", res.Status)
	}

	unlimited := sqliteHarness(t, withDeps(func(d *api.Deps) { d.HealthRateLimit = 0 }))
	tok := unlimited.adminToken()
	for i := 0; i < 50; i++ {
		if res := unlimited.do(request{method: "GET", path: "/v1/health", header: bearer(tok)}); res.Status != 200 {
			t.Fatalf("unlimited check %d: %d", i, res.Status)
		}
	}
}

func TestHealthReportsGatewayFailure(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t, withDeps(func(d *api.Deps) { d.Messaging = &failingGateway{} }))
	admin := h.adminToken()
	res := h.do(request{method: "GET", path: "/v1/health", header: bearer(admin)})
	expectError(t, res, 500, e(1014, "Internal error", ""))
}

// failingGateway is the real core whose health check fails.
type failingGateway struct{ api.Messaging }

func (f *failingGateway) setInner(m api.Messaging) { f.Messaging = m }

func (*failingGateway) GatewayStatus(context.Context) (string, error) {
	return "", errors.New("database unreachable")
}

func TestLoginThrottleCountsParallelAttempts(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t, withDeps(func(d *api.Deps) { d.LoginFailureLimit = 5 }))
	results := make(chan int, 20)
	for range 20 {
		go func() {
			r := httptest.NewRequest("POST", "/v1/users/login", nil)
			r.SetBasicAuth("admin", "wrong")
			r.RemoteAddr = "192.0.2.50:1"
			w := httptest.NewRecorder()
			h.srv.ServeHTTP(w, r)
			results <- w.Code
		}()
	}
	counts := map[int]int{}
	for range 20 {
		counts[<-results]++
	}
	if counts[401] != 5 || counts[429] != 15 {
		t.Fatalf("20 parallel bad logins with a limit of 5: %v", counts)
	}
}

// TestLoginThrottleKeysIPv6ByPrefix: an IPv6 client cannot start afresh
// from another address of its /64.
func TestLoginThrottleKeysIPv6ByPrefix(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t, withDeps(func(d *api.Deps) { d.LoginFailureLimit = 2 }))
	login := func(remote string) int {
		return h.do(request{method: "POST", path: "/v1/users/login", header: basic("admin", "wrong"), remote: remote}).Status
	}
	login("[2001:db8:1:2::1]:1000")
	login("[2001:db8:1:2::2]:1000")
	if got := login("[2001:db8:1:2:ffff::9]:1000"); got != 429 {
		t.Fatalf("same /64: %d, want 429", got)
	}
	if got := login("[2001:db8:1:3::1]:1000"); got != 401 {
		t.Fatalf("another /64: %d, want 401", got)
	}
	for ip, want := range map[string]string{
		"192.0.2.1":            "192.0.2.1",
		"2001:db8::1":          "2001:db8::/64",
		"::ffff:192.0.2.1":     "::ffff:192.0.2.1",
		"fe80::1%eth0":         "fe80::/64",
		"not an address":       "not an address",
		"2001:db8:a:b:c:d:e:f": "2001:db8:a:b::/64",
	} {
		if got := api.ThrottleKey(ip); got != want {
			t.Errorf("throttleKey(%q) = %q, want %q", ip, got, want)
		}
	}
}
