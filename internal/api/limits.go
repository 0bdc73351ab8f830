package api

import (
	"log"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/metrics"
)

// The limits that keep one client, or many, from taking the server down:
// connection timeouts (NewHTTPServer), a body limit per route, a longer time
// for the routes that carry files (both declared with the route, routes.go), and a bound on the requests served at
// once. docs/operations.md lists them with what a client sees.

// Timeouts are the connection limits of the HTTP server.
type Timeouts struct {
	// ReadHeader bounds the TLS handshake and the request line and headers:
	// a client trickling its headers (slowloris) loses the connection.
	ReadHeader time.Duration
	// Read bounds a whole request, Write the time from the end of the
	// headers to the end of the answer; file routes get Deps.TransferTimeout.
	Read, Write time.Duration
	// Idle closes keep-alive connections that send nothing.
	Idle time.Duration
	// MaxHeaderBytes bounds the request line and headers (431 beyond).
	MaxHeaderBytes int
}

// NewHTTPServer is the http.Server every listener of wabiz uses.
func NewHTTPServer(h http.Handler, t Timeouts, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    t.MaxHeaderBytes,
		ErrorLog:          errorLog,
	}
}

// monitoringSlots is how many health, metrics, stats and support requests
// run at once besides the API bound: they have places of their own so that a
// full API still answers its monitoring, and a flood of monitoring cannot
// take the API's places.
const monitoringSlots = 32

// inFlight counts the requests served at once, in two pools, and bounds
// them (a limit of 0 counts without bounding).
type inFlight struct {
	apiLimit, monitoringLimit int64
	api, monitoring           atomic.Int64
}

func newInFlight(limit int) *inFlight {
	if limit <= 0 {
		return &inFlight{}
	}
	return &inFlight{apiLimit: int64(limit), monitoringLimit: monitoringSlots}
}

// isMonitoring reports the requests served from the monitoring pool.
func isMonitoring(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	p := strings.TrimSuffix(r.URL.Path, "/")
	return p == "/v1/health" || p == "/metrics" || p == "/v1/metrics" || p == "/v1/support" || strings.HasPrefix(p, "/v1/stats/")
}

// The in-flight gauges of the two pools, looked up once.
var (
	apiInFlight        = metrics.HTTPInFlight.WithLabelValues("api")
	monitoringInFlight = metrics.HTTPInFlight.WithLabelValues("monitoring")
)

func errOverloaded() *apierr.Error {
	return apierr.New(1016, "Too many requests in progress on this node: retry later")
}

// withInFlightBound answers 503/1016 at once, before reading the body or
// checking credentials, when the request's pool is full: waiting would only
// pile up more connections. Retry-After tells well-behaved clients when.
func (s *Server) withInFlightBound(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		count, limit, gauge := &s.inFlight.api, s.inFlight.apiLimit, apiInFlight
		if isMonitoring(r) {
			count, limit, gauge = &s.inFlight.monitoring, s.inFlight.monitoringLimit, monitoringInFlight
		}
		if n := count.Add(1); limit > 0 && n > limit {
			count.Add(-1)
			w.Header().Set("Retry-After", "1")
			s.writeError(w, r, errOverloaded())
			return
		}
		gauge.Inc()
		defer func() {
			gauge.Dec()
			count.Add(-1)
		}()
		next.ServeHTTP(w, r)
	})
}

// Body limits of the routes that take more than a small JSON document. The
// JSON limit is Deps.MaxBodyBytes.
const (
	// maxRestoreBodyBytes: the backup blob carries the profile photo.
	maxRestoreBodyBytes = 16 << 20
	// certBodyLimit: a long chain with 4096-bit RSA keys is a few tens of KB.
	certBodyLimit = 1 << 20
)

// allowTransfer gives an authenticated file transfer TransferTimeout to
// read its body and write its answer. It runs after authentication so that
// nobody without credentials holds a connection that long.
func (s *Server) allowTransfer(w http.ResponseWriter) {
	if s.transferTimeout <= 0 {
		return
	}
	// Real time: deadlines are the network's, not the injectable clock's.
	deadline := time.Now().Add(s.transferTimeout)
	rc := http.NewResponseController(w)
	// A writer without deadlines (tests' recorders) keeps the server's.
	rc.SetReadDeadline(deadline)
	rc.SetWriteDeadline(deadline)
}
