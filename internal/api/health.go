package api

import (
	"net/http"

	"github.com/wabiz/wabiz/internal/apierr"
)

type healthResponse struct {
	Health healthStatus `json:"health"`
}

type healthStatus struct {
	GatewayStatus string `json:"gateway_status"`
}

// health is GET /v1/health (Bearer or Apikey), limited server-wide as the
// Webapp limited it.
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	if !s.healthChecks.Allow("health") {
		return apierr.New(1015, "Rate limiting exceeded on health check")
	}
	status, err := s.messaging.GatewayStatus(r.Context())
	if err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, healthResponse{Health: healthStatus{GatewayStatus: status}})
	return nil
}
