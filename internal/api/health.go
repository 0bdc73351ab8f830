package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/cluster"
)

// ClusterHealth lists the nodes of a deployment of several nodes, from the
// node registry (internal/cluster).
type ClusterHealth interface {
	// ID is this node's key, "<host>:<name>".
	ID() string
	// Health is every registered node's entry, nil when the deployment
	// is this node alone; ownStatus replaces this node's own row.
	Health(ctx context.Context, ownStatus string) ([]cluster.NodeHealth, error)
	// Readouts is what every node last wrote of its own /v1/support and
	// /v1/stats read-outs, by id (monitoring.EncodeReadout).
	Readouts(ctx context.Context) (map[string][]byte, error)
}

type healthResponse struct {
	Health healthStatus `json:"health"`
}

type healthStatus struct {
	GatewayStatus string `json:"gateway_status"`
}

// nodesHealthResponse is the reference's answer of several nodes: one
// object per node keyed "<hostname>:<node>".
type nodesHealthResponse struct {
	Health map[string]nodeHealth `json:"health"`
}

// nodeHealth is a node's object: its status and role, or in their place
// the error of a node that cannot answer (here: one that stopped
// heartbeating).
type nodeHealth struct {
	GatewayStatus string          `json:"gateway_status,omitempty"`
	Role          string          `json:"role,omitempty"`
	Errors        []apierr.Detail `json:"errors,omitempty"`
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
	if s.cluster != nil {
		nodes, err := s.cluster.Health(r.Context(), status)
		if err != nil {
			return fmt.Errorf("read the node registry: %w", err)
		}
		if nodes != nil {
			s.writeOK(w, http.StatusOK, nodesHealthResponse{Health: nodesHealth(nodes)})
			return nil
		}
	}
	s.writeOK(w, http.StatusOK, healthResponse{Health: healthStatus{GatewayStatus: status}})
	return nil
}

func nodesHealth(nodes []cluster.NodeHealth) map[string]nodeHealth {
	m := make(map[string]nodeHealth, len(nodes))
	for _, n := range nodes {
		if n.Silent > 0 {
			m[n.ID] = nodeHealth{Errors: silentErrors(n)}
			continue
		}
		m[n.ID] = nodeHealth{GatewayStatus: n.GatewayStatus, Role: n.Role}
	}
	return m
}

// silentErrors is the entry of a node silent past unhealthy_interval.
func silentErrors(n cluster.NodeHealth) []apierr.Detail {
	return apierr.Newf(1014, "no heartbeat from this node for %d s (unhealthy_interval exceeded)", int64(n.Silent.Seconds())).Details
}

// monitorPaths are what a core node's monitoring listener serves.
var monitorPaths = map[string]bool{"/v1/health": true, "/metrics": true, "/v1/metrics": true}

// MonitorHandler serves a core node's monitoring listener
// (WABIZ_CORE_MONITOR_LISTEN): /v1/health and /metrics exactly as the API
// does, with its authentication, limits and access log; any other path is
// the API's 404, so that the engine's node offers no other surface.
func (s *Server) MonitorHandler() http.Handler {
	notFound := s.withRequestID(s.withAccessLog(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, apierr.New(1006, "URL path not found"))
	})))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		if len(path) > 1 {
			path = strings.TrimSuffix(path, "/")
		}
		if monitorPaths[path] {
			s.handler.ServeHTTP(w, r)
			return
		}
		notFound.ServeHTTP(w, r)
	})
}
