package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/wabiz/wabiz/internal/api"
	"github.com/wabiz/wabiz/internal/certs"
	"github.com/wabiz/wabiz/internal/cluster"
	"github.com/wabiz/wabiz/internal/config"
	"github.com/wabiz/wabiz/internal/server"
	"github.com/wabiz/wabiz/internal/settings"
)

// runServe builds the node (internal/server) and runs its role (WABIZ_ROLE)
// until ctx ends (SIGINT or SIGTERM), then shuts down gracefully: the node
// leaves the registry, giving up the leader lease, before the database
// closes.
func runServe(ctx context.Context, e env, args []string) error {
	c, err := loadConfig(e, "serve", args, nil)
	if err != nil {
		return err
	}
	level := new(slog.LevelVar)
	log := newLogger(c, e.stderr, level)
	tuneGarbageCollector()

	node, err := server.Build(ctx, c, server.Options{Log: log, Version: buildVersion()})
	if err != nil {
		return err
	}
	defer node.Close()
	configured := parseLevel(c.LogLevel)
	applyLogLevel(level, configured, node.Settings.Current())
	node.Settings.OnChange(func(a settings.Application) { applyLogLevel(level, configured, a) })
	handler := node.HTTP

	timeouts := api.Timeouts{
		ReadHeader: c.ReadHeaderTimeout, Read: c.ReadTimeout, Write: c.WriteTimeout, Idle: c.IdleTimeout,
		MaxHeaderBytes: c.MaxHeaderBytes,
	}
	errorLog := stdlog.New(handshakeNoiseFilter{log: log}, "", 0)

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	errc := make(chan error, 2)
	var servers []*http.Server

	// The node starts before its listeners open: a node that runs the core
	// then answers from its own engine (starting up: 1011) from the first
	// request on, never from the state the previous run of the core left in
	// the database (which may say connected, seconds before this run's
	// start-up takes readiness away again).
	if err := node.Start(runCtx); err != nil {
		return err
	}
	log.Info("node started", "role", c.Role, "node", node.Cluster.ID(), "lease_owner", node.NodeID, "network", c.Network)

	// A core node has no API listener: the web nodes take the requests.
	// It may have a monitoring one.
	if c.Role != cluster.RoleCore {
		if servers, err = listen(c, handler, node, timeouts, errorLog, log, errc); err != nil {
			shutdown(servers, c.ShutdownTimeout)
			return err
		}
	} else if c.CoreMonitorListen != "" {
		ln, err := net.Listen("tcp", c.CoreMonitorListen)
		if err != nil {
			return fmt.Errorf("listen on %s (WABIZ_CORE_MONITOR_LISTEN): %w", c.CoreMonitorListen, err)
		}
		srv := api.NewHTTPServer(node.API.MonitorHandler(), timeouts, errorLog)
		servers = append(servers, srv)
		log.Info("listening for health and metrics over plain HTTP", "addr", ln.Addr().String())
		go func() { errc <- srv.Serve(ln) }()
	}

	if c.PprofListen != "" {
		ln, err := net.Listen("tcp", c.PprofListen)
		if err != nil {
			shutdown(servers, c.ShutdownTimeout)
			return fmt.Errorf("listen on %s (WABIZ_PPROF_LISTEN): %w", c.PprofListen, err)
		}
		srv := &http.Server{Handler: profilerHandler(), ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		log.Warn("Go's profiler listens without authentication", "addr", ln.Addr().String())
		go func() { errc <- srv.Serve(ln) }()
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Error("server stopped", "err", err)
			shutdown(servers, c.ShutdownTimeout)
			return err
		}
	}
	stop()
	shutdown(servers, c.ShutdownTimeout)
	return nil
}

// listen starts the HTTPS listener, and the plain-HTTP one when
// configured, serving handler; a server that stops sends its error to errc.
func listen(c *config.Config, handler http.Handler, node *server.Node, timeouts api.Timeouts, errorLog *stdlog.Logger, log *slog.Logger, errc chan<- error) ([]*http.Server, error) {
	var servers []*http.Server
	httpsLn, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (WABIZ_LISTEN): %w", c.Listen, err)
	}
	httpsSrv := api.NewHTTPServer(handler, timeouts, errorLog)
	httpsSrv.RegisterOnShutdown(node.Console.Shutdown)
	httpsSrv.TLSConfig = certs.ServerConfig(node.Listener)
	servers = append(servers, httpsSrv)
	log.Info("listening for HTTPS", "addr", httpsLn.Addr().String(), "server_name", c.ServerName)
	go func() { errc <- httpsSrv.ServeTLS(httpsLn, "", "") }()

	if c.HTTPListen != "" {
		httpLn, err := net.Listen("tcp", c.HTTPListen)
		if err != nil {
			return servers, fmt.Errorf("listen on %s (WABIZ_HTTP_LISTEN): %w", c.HTTPListen, err)
		}
		httpSrv := api.NewHTTPServer(handler, timeouts, errorLog)
		httpSrv.RegisterOnShutdown(node.Console.Shutdown)
		servers = append(servers, httpSrv)
		log.Warn("PLAIN HTTP ENABLED: credentials and messages cross the network unencrypted on this address; use it only for local development, tests and benchmarks",
			"addr", httpLn.Addr().String())
		go func() { errc <- httpSrv.Serve(httpLn) }()
	}
	return servers, nil
}

// handshakeNoiseFilter sends net/http's own error lines to slog, demoting
// failed TLS handshakes to debug: every TCP health probe of a load balancer
// produces one, and they would bury the warnings that matter.
type handshakeNoiseFilter struct{ log *slog.Logger }

func (f handshakeNoiseFilter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	if strings.Contains(msg, "TLS handshake error") {
		f.log.Debug(msg)
	} else {
		f.log.Warn(msg)
	}
	return len(p), nil
}

func shutdown(servers []*http.Server, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, srv := range servers {
		srv.Shutdown(ctx)
	}
}

func newLogger(c *config.Config, w io.Writer, level *slog.LevelVar) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func parseLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// applyLogLevel sets the more verbose of the configured level and the
// application settings (log_level, or debug when verbose_logging is on), so
// an operator can turn on debugging through the API without a restart.
func applyLogLevel(level *slog.LevelVar, configured slog.Level, a settings.Application) {
	fromSettings := parseLevel(a.LogLevel)
	if a.VerboseLogging {
		fromSettings = slog.LevelDebug
	}
	level.Set(min(configured, fromSettings))
}

// serverGCPercent is the garbage collector's target when GOGC is not set:
// the server's live heap is small (tens of MiB) and most of what it
// allocates lives for one request, so collecting at twice the live heap
// instead of Go's default 100 % spends less CPU on collection for a few MiB.
// GOGC and GOMEMLIMIT, when set, are the runtime's as usual.
const serverGCPercent = 200

func tuneGarbageCollector() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(serverGCPercent)
	}
}

// profilerHandler serves net/http/pprof's pages on a mux of their own (the
// package's init registers them on the default mux, which nothing serves).
func profilerHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
