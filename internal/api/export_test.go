package api

import (
	"net/http"
	"slices"
)

// Test-only names for the external tests (package api_test), which build
// the server through server.Build and so cannot be in this package.

const (
	PhotoPath           = photoPath
	ComplianceInfoPath  = complianceInfoPath
	MonitoringSlots     = monitoringSlots
	MaxRestoreBodyBytes = maxRestoreBodyBytes
	CertBodyLimit       = certBodyLimit
)

var ThrottleKey = throttleKey

// HandleBasic adds a route with HTTP Basic authentication, as login has,
// to a built server: a test route behind every middleware.
func (s *Server) HandleBasic(method, pattern string, h func(http.ResponseWriter, *http.Request) error) {
	s.register(Route{Method: method, Pattern: pattern, Auth: authBasic, Handler: h}, map[string]*routeSet{})
}

// DeclaredRoutes is every route the server serves, as declared.
func (s *Server) DeclaredRoutes() []Route { return slices.Clone(s.declared) }
