package api

// ProfileService is what the handlers of the business profile: /v1/settings/profile/about, /v1/settings/profile/photo, /v1/settings/business/profile need.
// (Filled in by the work on that area.)
type ProfileService interface{}

// profileRoutes registers the routes of the business profile: /v1/settings/profile/about, /v1/settings/profile/photo, /v1/settings/business/profile, when the service is configured.
func (s *Server) profileRoutes(sets map[string]*routeSet) {}
