package api

// CertificateService is what the handlers of certificates: /v1/certificates/external, /v1/certificates/external/ca, /v1/certificates/webhooks/ca need.
// (Filled in by the work on that area.)
type CertificateService interface{}

// certificateRoutes registers the routes of certificates: /v1/certificates/external, /v1/certificates/external/ca, /v1/certificates/webhooks/ca, when the service is configured.
func (s *Server) certificateRoutes(sets map[string]*routeSet) {}
