package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/auth"
)

// accessRule is one row of the Webapp's access table: the first rule whose
// path and method match decides the role a request needs.
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

// checkAccess applies the table: 403/1005 when the role is not enough.
func checkAccess(method, path, role string) error {
	for _, rule := range accessRules {
		if rule.matches(method, path) {
			if auth.Satisfies(role, rule.role) {
				return nil
			}
			return apierr.New(1005, "User doesn't have permission")
		}
	}
	return nil
}

// errMissingCredentials is the 401 for a request with no usable credentials.
var errMissingCredentials = errors.New("missing credentials")

// authenticate reads "Authorization: Bearer <token>" or "Apikey <key>". The
// scheme is matched exactly as written, as the Webapp did.
func (s *Server) authenticate(r *http.Request) (auth.Principal, error) {
	scheme, credential, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || credential == "" {
		return auth.Principal{}, errMissingCredentials
	}
	switch scheme {
	case "Bearer":
		return s.auth.Authenticate(r.Context(), credential)
	case "Apikey":
		return s.auth.AuthenticateAPIKey(credential)
	default:
		return auth.Principal{}, errMissingCredentials
	}
}

// writeAuthError answers 401/1005 for rejected credentials, saying which way
// they were wrong; a storage failure is a 500.
func (s *Server) writeAuthError(w http.ResponseWriter, r *http.Request, err error) {
	var details string
	switch {
	case errors.Is(err, errMissingCredentials):
		details = "Missing or invalid authentication credentials"
	case errors.Is(err, auth.ErrBadCredentials):
		details = "Invalid credentials."
	case errors.Is(err, auth.ErrUnknownUser):
		details = "Username could not be found."
	case errors.Is(err, context.Canceled):
		return
	case errors.Is(err, auth.ErrTokenLookup):
		// The token could not be checked: the database is down or slow.
		// The same answer as a send that cannot be stored.
		s.log.Error("request not authenticated: database error", "request_id", requestID(r.Context()), "method", r.Method, "path", r.URL.Path, "err", err)
		s.writeError(w, r, apierr.New(1023, "The token could not be checked: the database is unavailable or did not answer in time; retry later"))
		return
	default:
		s.writeError(w, r, err)
		return
	}
	s.writeError(w, r, apierr.New(1005, details).WithStatus(http.StatusUnauthorized))
}
