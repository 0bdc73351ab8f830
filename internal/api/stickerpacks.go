package api

// StickerpackService is what the handlers of stickerpacks: /v1/stickerpacks/... need.
// (Filled in by the work on that area.)
type StickerpackService interface{}

// stickerpackRoutes registers the routes of stickerpacks: /v1/stickerpacks/..., when the service is configured.
func (s *Server) stickerpackRoutes(sets map[string]*routeSet) {}
