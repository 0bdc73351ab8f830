package blackbox

import (
	"encoding/json"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

const (
	apiVersion = "v2.47.1"
	apiKey     = "bb-api-key-0123456789"
	adminPass  = "Walk#Through9"
)

// TestGettingStartedWalkthrough follows the getting-started path a new
// operator takes: first login, password change, application settings,
// health with a token and with the API key.
func TestGettingStartedWalkthrough(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine store.Dialect) {
		in := newInstance(t, engine, "WA_API_KEY="+apiKey, "WA_VERSION="+apiVersion)
		c := in.start()

		// First login without new_password: the factory password must be changed.
		r := c.do(t, "POST", "/v1/users/login", basic("admin", "secret"), nil)
		r.expectError(t, 401, 1024, "Password must be changed")
		if got := r.header.Get("WWW-Authenticate"); got != `Basic realm="Secured"` {
			t.Errorf("WWW-Authenticate %q", got)
		}
		if got := topLevelKeys(t, r.raw); !slices.Equal(got, []string{"meta", "errors"}) {
			t.Errorf("error envelope keys %v, want [meta errors]", got)
		}

		// A weak new password is refused and changes nothing.
		c.do(t, "POST", "/v1/users/login", basic("admin", "secret"), `{"new_password":"weak"}`).
			expectError(t, 400, 1009, passwordPolicy)

		// The change itself.
		before := time.Now()
		r = c.do(t, "POST", "/v1/users/login", basic("admin", "secret"), map[string]string{"new_password": adminPass},
			"X-Request-ID", "walkthrough-login.1")
		r.expect(t, 200)
		if got := topLevelKeys(t, r.raw); !slices.Equal(got, []string{"users", "meta"}) {
			t.Errorf("login envelope keys %v, want [users meta] (payload, then meta, no errors)", got)
		}
		if got := r.header.Get("X-Request-ID"); got != "walkthrough-login.1" {
			t.Errorf("X-Request-ID %q, want the one sent", got)
		}
		if got := r.get("meta", "version"); got != apiVersion {
			t.Errorf("meta.version %v, want %s (WA_VERSION)", got, apiVersion)
		}
		if got := r.get("meta", "api_status"); got != "stable" {
			t.Errorf("meta.api_status %v", got)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		token, _ := r.get("users", "0", "token").(string)
		if token == "" {
			t.Fatalf("no users[0].token in %s", r.raw)
		}
		expires, _ := r.get("users", "0", "expires_after").(string)
		if !regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00$`).MatchString(expires) {
			t.Fatalf("expires_after %q is not YYYY-MM-DD HH:MM:SS+00:00", expires)
		}
		at, err := time.Parse("2006-01-02 15:04:05-07:00", expires)
		if err != nil {
			t.Fatal(err)
		}
		week := 7 * 24 * time.Hour
		if at.Before(before.Add(week).Add(-2*time.Second)) || at.After(time.Now().Add(week).Add(2*time.Second)) {
			t.Errorf("expires_after %s is not 7 days from now", expires)
		}

		// Without an X-Request-ID the server makes one up: 32 hex characters.
		r = c.do(t, "GET", "/v1/health", bearer(token), nil).expect(t, 200)
		if id := r.header.Get("X-Request-ID"); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
			t.Errorf("generated X-Request-ID %q, want 32 hex characters", id)
		}

		// The factory password no longer works; the new one does, without
		// asking for another change.
		r = c.do(t, "POST", "/v1/users/login", basic("admin", "secret"), nil)
		r.expect(t, 401)
		if got := r.header.Get("WWW-Authenticate"); got != `Basic realm="Secured"` {
			t.Errorf("WWW-Authenticate on a wrong password %q", got)
		}
		c.do(t, "POST", "/v1/users/login", basic("admin", adminPass), nil).expect(t, 200)

		admin := bearer(token)
		t.Run("settings", func(t *testing.T) { walkSettings(t, c, admin) })
		t.Run("health and access", func(t *testing.T) { walkHealth(t, c, admin) })
		in.stop()
	})
}

func walkSettings(t *testing.T, c *client, admin string) {
	const path = "/v1/settings/application"
	r := c.do(t, "GET", path, admin, nil).expect(t, 200)
	if got := topLevelKeys(t, r.raw); !slices.Equal(got, []string{"settings", "meta"}) {
		t.Errorf("settings envelope keys %v", got)
	}
	checkDefaults(t, r)

	r = c.do(t, "PATCH", path, admin,
		`{"webhooks":{"url":"https://hooks.example.org/wa"},"sent_status":true,"callback_backoff_delay_ms":"5000"}`)
	r.expect(t, 200)
	if got := topLevelKeys(t, r.raw); !slices.Equal(got, []string{"meta"}) {
		t.Errorf("PATCH answered %s, want only meta", r.raw)
	}

	r = c.do(t, "GET", path, admin, nil).expect(t, 200)
	app := func(keys ...string) any { return r.get(append([]string{"settings", "application"}, keys...)...) }
	if got := app("webhooks", "url"); got != "https://hooks.example.org/wa" {
		t.Errorf("webhooks.url %v", got)
	}
	if got := app("sent_status"); got != true {
		t.Errorf("sent_status %v", got)
	}
	if got, ok := app("callback_backoff_delay_ms").(json.Number); !ok || got != "5000" {
		t.Errorf("callback_backoff_delay_ms %#v, want the number 5000", app("callback_backoff_delay_ms"))
	}
	if got := app("webhooks", "max_concurrent_requests"); got != json.Number("6") {
		t.Errorf("webhooks.max_concurrent_requests %v after a PATCH of webhooks.url only, want 6 kept", got)
	}

	// Booleans must be JSON booleans; a refused PATCH changes nothing.
	c.do(t, "PATCH", path, admin, `{"sent_status":"true","callback_backoff_delay_ms":7000}`).
		expectError(t, 400, 1009, "Parameter 'sent_status' has invalid value 'true'")
	r = c.do(t, "GET", path, admin, nil).expect(t, 200)
	if got := r.get("settings", "application", "callback_backoff_delay_ms"); got != json.Number("5000") {
		t.Errorf("callback_backoff_delay_ms %v after a refused PATCH, want 5000", got)
	}

	r = c.do(t, "DELETE", path, admin, nil).expect(t, 200)
	if got := topLevelKeys(t, r.raw); !slices.Equal(got, []string{"meta"}) {
		t.Errorf("DELETE answered %s, want only meta", r.raw)
	}
	checkDefaults(t, c.do(t, "GET", path, admin, nil).expect(t, 200))
}

func checkDefaults(t *testing.T, r *response) {
	t.Helper()
	app := func(keys ...string) any { return r.get(append([]string{"settings", "application"}, keys...)...) }
	for _, c := range []struct {
		key  []string
		want any
	}{
		{[]string{"callback_backoff_delay_ms"}, json.Number("3000")},
		{[]string{"max_callback_backoff_delay_ms"}, json.Number("900000")},
		{[]string{"webhooks", "max_concurrent_requests"}, json.Number("6")},
		{[]string{"callback_persist"}, true},
		{[]string{"sent_status"}, false},
		{[]string{"pass_through"}, false},
	} {
		if got := app(c.key...); got != c.want {
			t.Errorf("default %v = %#v, want %#v", c.key, got, c.want)
		}
	}
	if url := app("webhooks", "url"); url != nil && url != "" {
		t.Errorf("default webhooks.url %v, want unset", url)
	}
}

func walkHealth(t *testing.T, c *client, admin string) {
	r := c.do(t, "GET", "/v1/health", admin, nil).expect(t, 200)
	if got := r.get("health", "gateway_status"); got != "unregistered" {
		t.Errorf("gateway_status %v, want unregistered", got)
	}
	if got := topLevelKeys(t, r.raw); !slices.Equal(got, []string{"health", "meta"}) {
		t.Errorf("health envelope keys %v", got)
	}
	// Trailing slash is the same route.
	c.do(t, "GET", "/v1/health/", admin, nil).expect(t, 200)

	r = c.do(t, "GET", "/v1/health", apikey(apiKey), nil).expect(t, 200)
	if got := r.get("health", "gateway_status"); got != "unregistered" {
		t.Errorf("gateway_status with Apikey %v", got)
	}
	c.do(t, "GET", "/v1/settings/application", apikey(apiKey), nil).
		expectError(t, 403, 1005, "User doesn't have permission")
	c.do(t, "POST", "/v1/users/logout", apikey(apiKey), nil).
		expectError(t, 403, 1005, "User doesn't have permission")

	c.do(t, "GET", "/v1/health", "", nil).
		expectError(t, 401, 1005, "Missing or invalid authentication credentials")
	c.do(t, "GET", "/v1/health", apikey("not-the-key-at-all"), nil).expect(t, 401)
	c.do(t, "GET", "/v1/health", bearer("not.a.token"), nil).expect(t, 401)
	c.do(t, "GET", "/v1/settings/application", "", nil).
		expectError(t, 401, 1005, "Missing or invalid authentication credentials")

	c.do(t, "GET", "/v1/no/such/node", admin, nil).expectError(t, 404, 1006, "URL path not found")
}

// TestHealthRateLimit runs with the default limit of 10 health checks a
// minute, server-wide (spec §1.5, §10.1).
func TestHealthRateLimit(t *testing.T) {
	t.Parallel()
	in := newInstance(t, store.SQLite, "WA_API_KEY="+apiKey)
	c := in.start("WABIZ_HEALTH_RATE_LIMIT=10")
	for i := 1; i <= 10; i++ {
		c.do(t, "GET", "/v1/health", apikey(apiKey), nil).expect(t, 200)
	}
	c.do(t, "GET", "/v1/health", apikey(apiKey), nil).
		expectError(t, 429, 1015, "Rate limiting exceeded on health check")
	in.stop()
}

// passwordPolicy is the spec's 1009 text for a password that fails the
// complexity rule (§2).
const passwordPolicy = "Password doesn't meet complexity requirements: length between 8 and 64 characters, " +
	"at least 1 each of upper-case character, lower-case character, digit, special character " +
	"(!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~) are required"
