package api

// AccountSecurity is what the handlers of two-step verification and backup/restore: /v1/settings/account/two-step, /v1/settings/backup, /v1/settings/restore need.
// (Filled in by the work on that area.)
type AccountSecurity interface{}

// accountSecurityRoutes registers the routes of two-step verification and backup/restore: /v1/settings/account/two-step, /v1/settings/backup, /v1/settings/restore, when the service is configured.
func (s *Server) accountSecurityRoutes(sets map[string]*routeSet) {}
