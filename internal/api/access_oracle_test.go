package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/api"
	"github.com/wabiz/wabiz/internal/auth"
	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
)

// The Webapp's access table (onprem-rest §1.4), kept as the oracle of the
// roles the routes declare: the first rule whose path and method match
// decides the role a request needs. The router no longer reads it; each
// route declares its role (routes.go), and TestDeclaredRolesFollowTheWebappTable
// holds the two together.

type accessRule struct {
	prefix   string   // path must start with this ("" = any), or
	contains string   // path must contain this
	methods  []string // nil = any method
	role     string
}

var accessRules = []accessRule{
	{prefix: "/v1/admin", role: auth.RoleAdmin},
	{prefix: "/v1/account", role: auth.RoleAdmin},
	{prefix: "/v1/settings", role: auth.RoleAdmin},
	// The sandbox control API plays WhatsApp itself: admin only.
	{prefix: "/sandbox", role: auth.RoleAdmin},
	{contains: "/v1/users/log", methods: []string{"POST"}, role: auth.RoleUser},
	{contains: "/v1/users", methods: []string{"POST", "DELETE"}, role: auth.RoleAdmin},
	{contains: "/v1/certificates", methods: []string{"POST", "DELETE"}, role: auth.RoleAdmin},
	{contains: "/v1/certificates/webhooks", methods: []string{"GET"}, role: auth.RoleAdmin},
	{contains: "/v1/health", methods: []string{"GET", "HEAD"}, role: auth.RoleAPI},
	// Meta's later docs admit the API key on metrics and stats as well.
	{prefix: "/metrics", methods: []string{"GET", "HEAD"}, role: auth.RoleAPI},
	{prefix: "/v1/metrics", methods: []string{"GET", "HEAD"}, role: auth.RoleAPI},
	{prefix: "/v1/stats", methods: []string{"GET", "HEAD"}, role: auth.RoleAPI},
	{role: auth.RoleUser},
}

func (r accessRule) matches(method, path string) bool {
	if r.prefix != "" && !strings.HasPrefix(path, r.prefix) {
		return false
	}
	if r.contains != "" && !strings.Contains(path, r.contains) {
		return false
	}
	if r.methods == nil {
		return true
	}
	for _, m := range r.methods {
		if m == method {
			return true
		}
	}
	return false
}

// webappRole is the role the Webapp's table requires of method and path.
func webappRole(method, path string) string {
	for _, rule := range accessRules {
		if rule.matches(method, path) {
			return rule.role
		}
	}
	return ""
}

// samplePath fills a pattern's wildcards with a value no rule looks for.
func samplePath(pattern string) string {
	return regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(pattern, "sample")
}

// TestDeclaredRolesFollowTheWebappTable checks, for every route a node
// declares on either network (with every optional service), that the role
// it declares is the one the Webapp's table gives its method and path, and
// that every route that takes wabiz credentials declares one.
func TestDeclaredRolesFollowTheWebappTable(t *testing.T) {
	t.Parallel()
	nodes := map[string]*api.Server{
		"sandbox": sqliteHarness(t).srv,
		"cloud":   sqliteHarness(t, withCloud(graphtest.New(t))).srv,
	}
	seen := map[string]bool{}
	for network, srv := range nodes {
		routes := srv.DeclaredRoutes()
		if len(routes) < 60 {
			t.Fatalf("%s: only %d routes declared", network, len(routes))
		}
		for _, rt := range routes {
			name := network + ": " + rt.Method + " " + rt.Pattern
			seen[rt.Pattern] = true
			switch rt.Auth {
			case api.AuthNone:
				// Nobody is authenticated, so no role can be asked for.
				if rt.Role != "" {
					t.Errorf("%s: no authentication but role %s", name, rt.Role)
				}
				continue
			case api.AuthToken:
				if rt.Role == "" {
					t.Errorf("%s: no role declared", name)
					continue
				}
			}
			if want := webappRole(rt.Method, samplePath(rt.Pattern)); rt.Role != want {
				t.Errorf("%s: declared %s, the Webapp's table says %s", name, rt.Role, want)
			}
		}
	}
	// Both networks' own surfaces were among them.
	for _, p := range []string{"/sandbox/v1/users/{wa_id}", "/cloud/webhook", "/v1/settings/profile/photo", "/v1/stats/app/internal"} {
		if !seen[p] {
			t.Errorf("no node declared %s", p)
		}
	}
}

// TestHeadNeedsTheRoleOfGet: HEAD is served by the GET route, so it needs
// GET's role. The Webapp's table named GET alone for the webhook CA bundle,
// which let a user learn by HEAD whether an admin-only bundle exists.
func TestHeadNeedsTheRoleOfGet(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	user := h.createUser(admin, "alice", "Alice#Pass1")
	for _, method := range []string{"GET", "HEAD"} {
		res := h.do(request{method: method, path: "/v1/certificates/webhooks/ca", header: bearer(user)})
		if res.Status != http.StatusForbidden {
			t.Errorf("%s by a user: %d %s, want 403", method, res.Status, res.Raw)
		}
		if res := h.do(request{method: method, path: "/v1/certificates/webhooks/ca", header: bearer(admin)}); res.Status != http.StatusNotFound {
			t.Errorf("%s by the admin: %d %s, want 404 (no bundle)", method, res.Status, res.Raw)
		}
	}
}
