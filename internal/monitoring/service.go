// Package monitoring is what an operator reads about a node: /v1/support,
// the /v1/stats read-outs and the registry behind /metrics, which collects
// the instruments of package metrics and the database's counts.
package monitoring

import (
	"context"
	"runtime"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

	"github.com/wabiz/wabiz/internal/metrics"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/webhook"
)

// Store is what the read-outs query.
type Store interface {
	Dialect() store.Dialect
	ServerVersion(ctx context.Context) (string, error)
	SchemaVersion(ctx context.Context) (int, error)
	CountOutboxByStatus(ctx context.Context) (map[string]int64, error)
	CountInbound(ctx context.Context) (int64, error)
	CountTableRows(ctx context.Context) (map[string]int64, error)
	CountCallbacks(ctx context.Context) (int64, error)
}

// Options configure a Service.
type Options struct {
	Store Store
	// Hooks reads the webhook dispatcher's counters.
	Hooks    func() webhook.Stats
	DataDir  string
	MediaDir string // "" when there is no media volume
	NodeID   string
	Version  string // wabiz's own version
	Now      func() time.Time
}

// Service answers the operations read-outs of one process.
type Service struct {
	o       Options
	started time.Time
	// metrics is /metrics; the four stats registries are built once so that
	// a scrape only collects.
	metrics                          *prometheus.Registry
	app, appInternal, db, dbInternal *prometheus.Registry
}

// New builds the service; the process counts its uptime from now.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{o: o, started: o.Now()}
	s.metrics = prometheus.NewRegistry()
	s.metrics.MustRegister(metrics.All...)
	s.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "web_uptime", Help: "Seconds since the server started."},
		func() float64 { return s.Uptime().Seconds() }))
	s.metrics.MustRegister(queueCollector{s}, pendingCollector{s})

	s.app = prometheus.NewRegistry()
	s.app.MustRegister(appCollector{s})
	s.appInternal = prometheus.NewRegistry()
	s.appInternal.MustRegister(queueCollector{s}, metrics.MessageStatuses, metrics.GCDeleted)
	s.db = prometheus.NewRegistry()
	s.db.MustRegister(dbCollector{s})
	s.dbInternal = prometheus.NewRegistry()
	s.dbInternal.MustRegister(metrics.DBQueryDuration)
	return s
}

// Uptime is how long this process has been serving.
func (s *Service) Uptime() time.Duration { return s.o.Now().Sub(s.started) }

// Gatherer is the /metrics registry.
func (s *Service) Gatherer() prometheus.Gatherer { return s.metrics }

// Stats gathers one of the stats sets: area "app" or "db", internal or not.
func (s *Service) Stats(area string, internal bool) ([]*dto.MetricFamily, error) {
	switch {
	case area == "app" && !internal:
		return s.app.Gather()
	case area == "app":
		return s.appInternal.Gather()
	case area == "db" && !internal:
		return s.db.Gather()
	default:
		return s.dbInternal.Gather()
	}
}

// Support is the process-side part of GET /v1/support; the API adds the
// registration and gateway state it gets from the core.
type Support struct {
	Description        string         `json:"description"`
	WabizVersion       string         `json:"wabiz_version"`
	APIVersion         string         `json:"api_version"`
	DBEngine           string         `json:"db_engine"`
	DBInfo             []string       `json:"db_info"`
	Schema             map[string]int `json:"schema"`
	FreeSpaceData      int64          `json:"free_space_data"`
	FreeSpaceMedia     int64          `json:"free_space_media"`
	Node               string         `json:"node"`
	UptimeSeconds      int64          `json:"uptime_seconds"`
	CallbackQueueSize  int64          `json:"callback_queue_size"`
	DeviceISO8601      string         `json:"device_iso8601"`
	OSName             string         `json:"os_name"`
	MultiConnect       bool           `json:"multi_connect"`
	GoVersion          string         `json:"go_version"`
	CallbackPersistent bool           `json:"callback_persistent"`
}

// Support reads what the process knows of itself. apiVersion is the
// On-Premises version it claims (meta.version).
func (s *Service) Support(ctx context.Context, apiVersion string) (Support, error) {
	out := Support{
		Description:  "wabiz " + s.o.Version + " (WhatsApp Business On-Premises API " + apiVersion + ")",
		WabizVersion: s.o.Version, APIVersion: apiVersion, DBEngine: string(s.o.Store.Dialect()),
		Node: s.o.NodeID, UptimeSeconds: int64(s.Uptime().Seconds()),
		DeviceISO8601: s.o.Now().UTC().Format("2006-01-02T15:04:05.000"),
		OSName:        runtime.GOOS + "-" + runtime.GOARCH, GoVersion: runtime.Version(),
		FreeSpaceData: freeSpace(s.o.DataDir), FreeSpaceMedia: freeSpace(s.o.MediaDir),
	}
	v, err := s.o.Store.ServerVersion(ctx)
	if err != nil {
		return Support{}, err
	}
	out.DBInfo = []string{v}
	schema, err := s.o.Store.SchemaVersion(ctx)
	if err != nil {
		return Support{}, err
	}
	out.Schema = map[string]int{"wabiz": schema}
	if s.o.Hooks != nil {
		st := s.o.Hooks()
		out.CallbackQueueSize, out.CallbackPersistent = st.Queued, st.Persistent
	}
	return out, nil
}

// freeSpace is the space an unprivileged writer may still use in dir, or -1
// when it cannot be read (no such directory, no volume configured).
func freeSpace(dir string) int64 {
	if dir == "" {
		return -1
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil {
		return -1
	}
	return int64(fs.Bavail) * int64(fs.Bsize)
}

// timed runs one stats query and records its duration.
func timed[T any](query string, fn func(ctx context.Context) (T, error)) (T, error) {
	// Collectors get no context from client_golang; a scrape must not hang
	// on a stuck database.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	v, err := fn(ctx)
	metrics.DBQueryDuration.WithLabelValues(query).Observe(time.Since(start).Seconds())
	return v, err
}
