package api

import (
	"context"
	"encoding/json"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/auth"
	"github.com/wabiz/wabiz/internal/core"
	"github.com/wabiz/wabiz/internal/metrics"
	"github.com/wabiz/wabiz/internal/monitoring"
)

// OperationsService is what the handlers of operations: /v1/support,
// /v1/stats/..., /metrics, /v1/services/.../gc need. internal/metrics and
// internal/retention implement it between them.
type OperationsService interface {
	Support(ctx context.Context, apiVersion string) (monitoring.Support, error)
	Stats(area string, internal bool) ([]*dto.MetricFamily, error)
	Gatherer() prometheus.Gatherer
	// StartGC begins the "message" or "media" collection in the background.
	StartGC(kind string) error
}

// operationsRoutes are the routes of operations when the service is
// configured: stats and metrics admit the API key, support and GC need a
// user.
func (s *Server) operationsRoutes() []Route {
	if s.operations == nil {
		return nil
	}
	routes := []Route{
		{Method: "GET", Pattern: "/v1/support", Auth: AuthToken, Role: auth.RoleUser, Handler: s.support},
		// Some SDKs call /v1/metrics: the same handler (spec §10.4).
		{Method: "GET", Pattern: "/metrics", Auth: AuthToken, Role: auth.RoleAPI, Handler: s.metrics},
		{Method: "GET", Pattern: "/v1/metrics", Auth: AuthToken, Role: auth.RoleAPI, Handler: s.metrics},
		{Method: "PUT", Pattern: "/v1/services/message/gc", Auth: AuthToken, Role: auth.RoleUser, Handler: s.startGC("message")},
		{Method: "PUT", Pattern: "/v1/services/media/gc", Auth: AuthToken, Role: auth.RoleUser, Handler: s.startGC("media")},
	}
	for _, area := range []string{"app", "db"} {
		routes = append(routes,
			Route{Method: "GET", Pattern: "/v1/stats/" + area, Auth: AuthToken, Role: auth.RoleAPI, Handler: s.stats(area, false)},
			Route{Method: "GET", Pattern: "/v1/stats/" + area + "/internal", Auth: AuthToken, Role: auth.RoleAPI, Handler: s.stats(area, true)})
	}
	return routes
}

type supportResponse struct {
	Support supportInfo `json:"support"`
}

// supportInfo is what the process knows of itself plus the registration
// and gateway state from the core. debug_info and socket_conn keep the
// documented meanings; vname, wa_id and gateway_status say the same in
// wabiz's words.
type supportInfo struct {
	monitoring.Support
	DebugInfo     string `json:"debug_info"`
	WaID          string `json:"wa_id"`
	VName         string `json:"vname"`
	GatewayStatus string `json:"gateway_status"`
	SocketConn    string `json:"socket_conn"`
}

// socketConn maps gateway states to the Coreapp's socket_conn codes.
var socketConn = map[string]string{core.StateConnected: "UP", core.StateConnecting: "SC", core.StateUnregistered: "DN"}

func (s *Server) support(w http.ResponseWriter, r *http.Request) error {
	info, err := s.ownSupport(r.Context())
	if err != nil {
		return err
	}
	nodes, err := s.nodeReadouts(r.Context(), info.GatewayStatus)
	if err != nil {
		return err
	}
	if nodes != nil {
		s.writeOK(w, http.StatusOK, map[string]any{"support": s.nodesSupport(nodes, info)})
		return nil
	}
	s.writeOK(w, http.StatusOK, supportResponse{Support: info})
	return nil
}

// ownSupport is this node's /v1/support object.
func (s *Server) ownSupport(ctx context.Context) (supportInfo, error) {
	var m meta
	json.Unmarshal(s.metaJSON, &m)
	base, err := s.operations.Support(ctx, m.Version)
	if err != nil {
		return supportInfo{}, err
	}
	status, err := s.messaging.GatewayStatus(ctx)
	if err != nil {
		return supportInfo{}, err
	}
	return s.supportWith(base, status), nil
}

// supportWith adds to a node's own read-out the registration, which is the
// deployment's, and the node's gateway status.
func (s *Server) supportWith(base monitoring.Support, status string) supportInfo {
	info := supportInfo{Support: base, DebugInfo: "unregistered"}
	if acct, ok := s.messaging.Account(); ok {
		info.DebugInfo, info.WaID, info.VName = acct.WaID, acct.WaID, acct.VName
	}
	info.GatewayStatus = status
	info.SocketConn = socketConn[status]
	if info.SocketConn == "" {
		info.SocketConn = "UNK"
	}
	return info
}

// stats answers GET /v1/stats/{app,db}[/internal]: JSON by default, the
// Prometheus text exposition with ?format=prometheus.
func (s *Server) stats(area string, internal bool) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		mfs, err := s.operations.Stats(area, internal)
		if err != nil {
			return err
		}
		nodes, err := s.nodeReadouts(r.Context(), "")
		if err != nil {
			return err
		}
		if nodes != nil {
			return s.nodesStats(w, r, nodes, area, internal, mfs)
		}
		if r.URL.Query().Get("format") == "prometheus" {
			return writeExposition(w, mfs)
		}
		s.writeOK(w, http.StatusOK, map[string]any{"stats": map[string]any{area: statsBody(familiesJSON(mfs), internal)}})
		return nil
	}
}

// statsBody is one node's stats object: {"internal": ...} for the
// internal sets.
func statsBody(body map[string]statMetric, internal bool) any {
	if internal {
		return map[string]any{"internal": body}
	}
	return body
}

// metrics answers GET /metrics and /v1/metrics: the Webapp's JSON shape
// unless ?format=prometheus asks for the text exposition, or a scraper's
// Accept header names one of Prometheus's formats (so Prometheus needs no
// params in its scrape config). ?format= wins over Accept.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	switch format := q.Get("format"); {
	case format == "prometheus":
		s.exposition(w, r, promhttp.HandlerOpts{AcceptedFormats: []expfmt.Format{expfmt.FmtText}})
		return nil
	case q.Has("format") && format != "json":
		return apierr.InvalidValue("format", format)
	case !q.Has("format") && asksForExposition(r.Header.Values("Accept")):
		// Which exposition (protobuf or text 0.0.4) is promhttp's choice.
		// OpenMetrics is not offered: it renames counters that lack _total
		// (web_handled_requests) and writes le="1.0", so the series a
		// scraper stores would differ from the documented names.
		s.exposition(w, r, promhttp.HandlerOpts{})
		return nil
	}
	mfs, err := s.operations.Gatherer().Gather()
	if err != nil && len(mfs) == 0 {
		return err
	}
	if !q.Has("format") {
		w.Header().Add("Vary", "Accept") // as promhttp says of its answers
	}
	s.writeOK(w, http.StatusOK, map[string]any{"metrics": familiesJSON(mfs)})
	return nil
}

// exposition writes the /metrics registry in a Prometheus exposition format
// (compressed when the client accepts it); a family that fails to gather is
// left out rather than failing the scrape.
func (s *Server) exposition(w http.ResponseWriter, r *http.Request, opts promhttp.HandlerOpts) {
	opts.ErrorHandling = promhttp.ContinueOnError
	promhttp.HandlerFor(s.operations.Gatherer(), opts).ServeHTTP(w, r)
}

// asksForExposition reports whether an Accept header names a Prometheus
// exposition format (text/plain, application/openmetrics-text, or
// Prometheus's protobuf) with a higher weight than application/json.
// Wildcards name nothing: curl's */* and a browser's Accept get JSON.
// expfmt's negotiation cannot tell this, as it lets */* match its formats.
func asksForExposition(accept []string) bool {
	var expositionWeight, jsonWeight float64
	for _, header := range accept {
		for _, item := range strings.Split(header, ",") {
			mediaType, params, err := mime.ParseMediaType(item)
			if err != nil {
				continue
			}
			weight := 1.0
			if v, ok := params["q"]; ok {
				if weight, err = strconv.ParseFloat(v, 64); err != nil || weight < 0 || weight > 1 {
					continue
				}
			}
			switch {
			case mediaType == "application/json":
				jsonWeight = max(jsonWeight, weight)
			case mediaType == "text/plain", mediaType == expfmt.OpenMetricsType,
				mediaType == expfmt.ProtoType && params["proto"] == expfmt.ProtoProtocol:
				expositionWeight = max(expositionWeight, weight)
			}
		}
	}
	return expositionWeight > jsonWeight
}

func (s *Server) startGC(kind string) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := s.operations.StartGC(kind); err != nil {
			return err
		}
		s.writeOK(w, http.StatusOK, map[string]any{"services": map[string]any{kind: map[string]any{"gc": map[string]string{"status": "processing"}}}})
		return nil
	}
}

func writeExposition(w http.ResponseWriter, mfs []*dto.MetricFamily) error {
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	w.Header().Set("Content-Type", string(format))
	enc := expfmt.NewEncoder(w, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	return nil
}

// statMetric is one metric in the JSON shape of §10.3 and §10.4.
type statMetric struct {
	Type string       `json:"type"`
	Help string       `json:"help"`
	Data []statSample `json:"data"`
}

// statSample is one labelled sample: a value for counters and gauges; for
// histograms the cumulative count per upper bound (le, "+Inf" included),
// the sum and the count, as the text format's _bucket, _sum and _count
// lines; for summaries the sum, count and quantiles.
type statSample struct {
	Labels   map[string]string     `json:"labels"`
	Value    *jsonNumber           `json:"value,omitempty"`
	Bucket   map[string]uint64     `json:"bucket,omitempty"`
	Quantile map[string]jsonNumber `json:"quantile,omitempty"`
	Sum      *jsonNumber           `json:"sum,omitempty"`
	Count    *uint64               `json:"count,omitempty"`
}

// jsonNumber is a sample value. NaN and the infinities have no JSON number:
// they are written as null, where encoding/json would fail the whole answer.
type jsonNumber float64

func (n jsonNumber) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(n))
}

func familiesJSON(mfs []*dto.MetricFamily) map[string]statMetric {
	out := make(map[string]statMetric, len(mfs))
	for _, mf := range mfs {
		sm := statMetric{Type: strings.ToLower(mf.GetType().String()), Help: mf.GetHelp(), Data: []statSample{}}
		for _, m := range mf.GetMetric() {
			smp := statSample{Labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				smp.Labels[l.GetName()] = l.GetValue()
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				smp.Value = ptr(jsonNumber(m.GetCounter().GetValue()))
			case dto.MetricType_GAUGE:
				smp.Value = ptr(jsonNumber(m.GetGauge().GetValue()))
			case dto.MetricType_UNTYPED:
				smp.Value = ptr(jsonNumber(m.GetUntyped().GetValue()))
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				h := m.GetHistogram()
				smp.Bucket = map[string]uint64{"+Inf": h.GetSampleCount()}
				for _, b := range h.GetBucket() {
					smp.Bucket[formatBound(b.GetUpperBound())] = b.GetCumulativeCount()
				}
				smp.Sum, smp.Count = ptr(jsonNumber(h.GetSampleSum())), ptr(h.GetSampleCount())
			case dto.MetricType_SUMMARY:
				sum := m.GetSummary()
				if qs := sum.GetQuantile(); len(qs) > 0 {
					smp.Quantile = make(map[string]jsonNumber, len(qs))
					for _, q := range qs {
						smp.Quantile[formatBound(q.GetQuantile())] = jsonNumber(q.GetValue())
					}
				}
				smp.Sum, smp.Count = ptr(jsonNumber(sum.GetSampleSum())), ptr(sum.GetSampleCount())
			}
			sm.Data = append(sm.Data, smp)
		}
		out[mf.GetName()] = sm
	}
	return out
}

// formatBound writes a bucket bound or quantile as the text format's le and
// quantile labels do.
func formatBound(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func ptr[T any](v T) *T { return &v }

// observeRequest moves the request instruments; the access log calls it for
// every request. Labels are bounded: the route is the registered pattern
// (never the raw path) and unknown methods count as OTHER.
func (s *Server) observeRequest(r *http.Request, route string, status int, elapsed time.Duration) {
	if route == "" {
		route = s.routeOf(r) // not routed by a route set: "other", or a mux redirect
	}
	method := r.Method
	switch method {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
	default:
		method = "OTHER"
	}
	o := s.observers.get(observerKey{route: route, method: method, status: status})
	o.requests.Inc()
	o.duration.Observe(elapsed.Seconds())
	o.apiDuration.Observe(float64(elapsed) / float64(time.Millisecond))
	metrics.WebHandledRequests.Inc()
}

// observerKey names one request series: route, method and status.
type observerKey struct {
	route, method string
	status        int
}

// routeObservers are the series of one observerKey, resolved once: a
// request then costs no label hashing, formatting or replacing.
type routeObservers struct {
	requests    prometheus.Counter
	duration    prometheus.Observer
	apiDuration prometheus.Observer
}

// observerCache holds the routeObservers met so far. Routes, methods and
// statuses are few, so it stays small.
type observerCache struct {
	mu sync.RWMutex
	m  map[observerKey]*routeObservers
}

func (c *observerCache) get(k observerKey) *routeObservers {
	c.mu.RLock()
	o := c.m[k]
	c.mu.RUnlock()
	if o != nil {
		return o
	}
	code := strconv.Itoa(k.status)
	o = &routeObservers{
		requests:    metrics.HTTPRequests.WithLabelValues(k.route, k.method, code),
		duration:    metrics.HTTPDuration.WithLabelValues(k.route, k.method, code),
		apiDuration: metrics.APIRequestsDuration.WithLabelValues(routeKey(k.method, k.route), code),
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[observerKey]*routeObservers{}
	}
	if existing := c.m[k]; existing != nil {
		return existing
	}
	c.m[k] = o
	return o
}

// routeOf is the pattern the mux routes r to, with the trailing slash
// folded as withTrailingSlashFolded does; "other" for unknown paths.
func (s *Server) routeOf(r *http.Request) string {
	if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
		r2 := *r
		u := *r.URL
		u.Path, u.RawPath = strings.TrimSuffix(p, "/"), ""
		r2.URL = &u
		r = &r2
	}
	_, pattern := s.mux.Handler(r)
	if pattern == "" || pattern == "/" {
		return "other"
	}
	return pattern
}

// routeKey is the Webapp's method label: POST_v1_messages, PUT_v1_messages_id.
func routeKey(method, route string) string {
	if route == "other" {
		return method + "_other"
	}
	key := strings.NewReplacer("/", "_", "{", "", "}", "").Replace(route)
	return method + "_" + strings.Trim(key, "_")
}
