package api

// OperationsService is what the handlers of operations: /v1/support, /v1/stats/..., /metrics, /v1/services/.../gc need.
// (Filled in by the work on that area.)
type OperationsService interface{}

// operationsRoutes registers the routes of operations: /v1/support, /v1/stats/..., /metrics, /v1/services/.../gc, when the service is configured.
func (s *Server) operationsRoutes(sets map[string]*routeSet) {}
