package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/wabiz/wabiz/internal/api"
	"github.com/wabiz/wabiz/internal/backup"
	"github.com/wabiz/wabiz/internal/certs"
	"github.com/wabiz/wabiz/internal/config"
	"github.com/wabiz/wabiz/internal/core"
	"github.com/wabiz/wabiz/internal/gc"
	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/metrics"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/cloud"
	"github.com/wabiz/wabiz/internal/network/sandbox"
	"github.com/wabiz/wabiz/internal/profile"
	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/stickerpack"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/webhook"
)

// runServe wires every part of the server together and runs it until ctx
// ends (SIGINT or SIGTERM), then shuts down gracefully.
func runServe(ctx context.Context, e env, args []string) error {
	c, err := loadConfig(e, "serve", args, nil)
	if err != nil {
		return err
	}
	level := new(slog.LevelVar)
	log := newLogger(c, e.stderr, level)
	tuneGarbageCollector()

	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory %s: %w", c.DataDir, err)
	}
	s, applied, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer s.Close()
	log.Info("database ready", "engine", s.Dialect(), "database", s.Name(), "schema_version", store.LatestVersion(), "migrations_applied", applied)

	authSvc, err := newAuthService(ctx, c, s, time.Now)
	if err != nil {
		return err
	}
	if created, err := authSvc.EnsureAdmin(ctx); err != nil {
		return fmt.Errorf("create the built-in admin: %w", err)
	} else if created {
		log.Warn("created the built-in user admin with the factory password; its first login must set a new one")
	}

	settingsSvc, err := settings.NewService(ctx, s, settings.PatchRules{AllowHTTPWebhook: c.WebhookAllowHTTP}, time.Now)
	if err != nil {
		return err
	}
	configured := parseLevel(c.LogLevel)
	applyLogLevel(level, configured, settingsSvc.Current())
	settingsSvc.OnChange(func(a settings.Application) { applyLogLevel(level, configured, a) })

	mediaSvc, err := media.New(media.Options{Dir: c.MediaDir(), Store: s, Fetch: media.FetchOptions{
		Timeout: c.MediaLinkTimeout, AllowPrivate: c.MediaPrivateLinks, UserAgent: "wabiz/" + buildVersion(),
	}})
	if err != nil {
		return err
	}
	// Before the API: clients cache first-party sticker ids, which must work
	// from the first request on.
	stickerpacks := stickerpack.New(s, mediaSvc, nil)
	if err := stickerpacks.EnsureFirstParty(ctx); err != nil {
		return err
	}
	node := nodeID(c.NodeID)
	if r, err := s.ReleaseLeases(ctx, node); err != nil {
		return fmt.Errorf("release the leases of the previous run: %w", err)
	} else if r.Total() > 0 {
		log.Warn("took back work the previous run had claimed (it did not shut down cleanly)", "node", node,
			"messages", r.Messages, "callbacks", r.Callbacks, "sandbox_events", r.SandboxEvents, "cloud_events", r.CloudEvents)
	}
	hooks, err := webhook.New(ctx, webhook.Options{
		Store: s, Settings: settingsSvc.Current, Log: log, Version: buildVersion(), NodeID: node,
		BatchMax: c.WebhookBatchMax, Horizon: c.WebhookRetryHorizon, QueueLimit: c.WebhookQueueLimit,
		RequestTimeout: c.WebhookTimeout,
	})
	if err != nil {
		return err
	}
	// A new webhook URL or concurrency takes effect at once, not at the
	// dispatcher's next poll.
	settingsSvc.OnChange(func(settings.Application) { hooks.Wake() })
	// The network: the offline sandbox, or Meta's Cloud API.
	var (
		waNet      network.Network
		sandboxNet *sandbox.Sandbox
		cloudNet   *cloud.Network
		publisher  network.ProfilePublisher
	)
	switch c.Network {
	case "cloud":
		cloudNet = cloud.New(cloud.Options{
			GraphURL: c.Cloud.GraphURL, PhoneNumberID: c.Cloud.PhoneNumberID, WABAID: c.Cloud.WABAID,
			AccessToken: c.Cloud.AccessToken, AppSecret: c.Cloud.AppSecret, VerifyToken: c.Cloud.VerifyToken,
			AppID: c.Cloud.AppID, Store: s, Log: log, Rate: float64(c.Cloud.Rate),
		})
		waNet = cloudNet
	default:
		sandboxNet = sandbox.New(s, time.Now)
		waNet, publisher = sandboxNet, sandboxNet
		if path := c.SandboxTemplates; path != "" {
			// Before the core starts, so that its first template load sees them.
			defs, err := sandbox.ReadTemplateFile(path)
			var added, replaced int
			if err == nil {
				added, replaced, err = sandboxNet.SeedTemplates(ctx, defs)
			}
			if err != nil {
				return fmt.Errorf("sandbox templates file %s (WABIZ_SANDBOX_TEMPLATES): %w", path, err)
			}
			log.Info("sandbox templates loaded", "file", path, "added", added, "replaced", replaced)
		}
	}
	engine := core.New(core.Options{
		Store: s, Network: waNet, Hooks: hooks, Settings: settingsSvc, Media: mediaSvc, Log: log, NodeID: node,
		OfflineDrainLimit: c.StartupOfflineLimit, DBTimeout: c.DBTimeout, ConnectionLostAfter: c.ConnectionLostAfter,
	})

	// Before the API: the certificate service needs the listener's store,
	// and a certificate uploaded through the API replaces the self-signed
	// one from the first handshake on.
	certStore, defaultCA, err := serverCertificate(c, log)
	if err != nil {
		return err
	}
	certSvc, err := uploadedCertificates(ctx, c, s, certStore, defaultCA, hooks, log)
	if err != nil {
		return err
	}

	var (
		setPIN     func(context.Context, string) error
		compliance network.CompliancePublisher // the sandbox's users see no compliance information
	)
	if cloudNet != nil {
		setPIN = cloudNet.SetPIN
		publisher, compliance = cloudNet, cloudNet
	}
	profileSvc := profile.New(profile.Options{Store: s, Publisher: publisher, Compliance: compliance, SetPIN: setPIN, Log: log})
	securitySvc := backup.New(backup.Options{Store: s, TwoStep: profileSvc, Log: log,
		SettingsRules: settings.PatchRules{AllowHTTPWebhook: c.WebhookAllowHTTP},
		AfterRestore: []func(context.Context) error{settingsSvc.Refresh, engine.ReloadRegistration, profileSvc.Publish, profileSvc.PublishComplianceInfo,
			// A restored webhook CA bundle applies to deliveries at once.
			func(ctx context.Context) error { _, _, _, err := certSvc.Load(ctx); return err }}})

	// Operations: /v1/support, /v1/stats, /metrics and garbage collection.
	operations := operationsService{
		Service:   metrics.New(metrics.Options{Store: s, Hooks: hooks.Stats, DataDir: c.DataDir, MediaDir: c.MediaDir(), NodeID: node, Version: buildVersion()}),
		Collector: gc.New(ctx, gc.Options{Store: s, Media: mediaSvc, Hooks: hooks, Settings: settingsSvc.Current, Log: log}),
	}

	handler := api.New(api.Deps{
		Operations:        operations,
		Log:               log,
		Auth:              authSvc,
		Settings:          settingsSvc,
		Messaging:         engine,
		Sandbox:           sandboxControl(sandboxNet),
		Cloud:             cloudWebhook(cloudNet),
		MediaPublisher:    mediaPublisher(cloudNet),
		Media:             mediaSvc,
		Profile:           profileSvc,
		Security:          securitySvc,
		Certs:             certSvc,
		Stickerpacks:      stickerpacks,
		Version:           c.APIVersion,
		MaxBodyBytes:      c.MaxBodyBytes,
		LoginFailureLimit: c.LoginFailureLimit,
		HealthRateLimit:   c.HealthRateLimit,
		// A file transfer never gets less time than any other request.
		TransferTimeout:       max(c.TransferTimeout, c.ReadTimeout, c.WriteTimeout),
		MaxConcurrentRequests: c.MaxInFlight,
	})
	timeouts := api.Timeouts{
		ReadHeader: c.ReadHeaderTimeout, Read: c.ReadTimeout, Write: c.WriteTimeout, Idle: c.IdleTimeout,
		MaxHeaderBytes: c.MaxHeaderBytes,
	}
	errorLog := stdlog.New(handshakeNoiseFilter{log: log}, "", 0)

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	errc := make(chan error, 2)
	var servers []*http.Server

	httpsLn, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (WABIZ_LISTEN): %w", c.Listen, err)
	}
	httpsSrv := api.NewHTTPServer(handler, timeouts, errorLog)
	httpsSrv.TLSConfig = certs.ServerConfig(certStore)
	servers = append(servers, httpsSrv)
	log.Info("listening for HTTPS", "addr", httpsLn.Addr().String(), "server_name", c.ServerName)
	go func() { errc <- httpsSrv.ServeTLS(httpsLn, "", "") }()

	if c.HTTPListen != "" {
		httpLn, err := net.Listen("tcp", c.HTTPListen)
		if err != nil {
			return fmt.Errorf("listen on %s (WABIZ_HTTP_LISTEN): %w", c.HTTPListen, err)
		}
		httpSrv := api.NewHTTPServer(handler, timeouts, errorLog)
		servers = append(servers, httpSrv)
		log.Warn("PLAIN HTTP ENABLED: credentials and messages cross the network unencrypted on this address; use it only for local development, tests and benchmarks",
			"addr", httpLn.Addr().String())
		go func() { errc <- httpSrv.Serve(httpLn) }()
	}

	go settingsSvc.Run(runCtx, c.SettingsRefresh, log)
	go removeExpiredTokens(runCtx, s, log)
	go hooks.Run(runCtx)
	go operations.Run(runCtx) // daily message/media GC and the pass_through sweep
	if err := engine.Start(runCtx); err != nil {
		return err
	}
	go engine.Run(runCtx)
	log.Info("network selected", "network", c.Network, "node", node)

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

// operationsService joins the read-outs and the collectors into
// api.OperationsService.
type operationsService struct {
	*metrics.Service
	*gc.Collector
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

// serverCertificate loads the configured pair, or keeps a self-signed one in
// the data directory (generated on first start, renewed before it expires).
// caPEM is the self-signed CA, nil for configured files (their CA is unknown).
func serverCertificate(c *config.Config, log *slog.Logger) (_ *certs.Store, caPEM []byte, _ error) {
	if c.TLSCertFile != "" {
		pair, err := certs.LoadPair(c.TLSCertFile, c.TLSKeyFile, time.Now())
		if err != nil {
			return nil, nil, fmt.Errorf("WABIZ_TLS_CERT_FILE/WABIZ_TLS_KEY_FILE: %w", err)
		}
		return certs.NewStore(pair), nil, nil
	}
	dir := filepath.Join(c.DataDir, "tls")
	bundle, generated, err := certs.EnsureSelfSigned(dir, c.ServerName, time.Now())
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed certificate in %s: %w", dir, err)
	}
	if generated {
		log.Info("generated a self-signed TLS certificate; clients can trust its CA", "server_name", c.ServerName, "ca_file", filepath.Join(dir, certs.CAFile))
	}
	pair, err := tls.X509KeyPair(bundle.CertPEM, bundle.KeyPEM)
	if err != nil {
		return nil, nil, err
	}
	return certs.NewStore(pair), bundle.CAPEM, nil
}

// uploadedCertificates builds the /v1/certificates service and applies what
// was uploaded before: the external certificate (unless configuration files
// pin the certificate) and the webhook CA bundle. A stored item that no
// longer validates is logged and skipped so the server still starts.
func uploadedCertificates(ctx context.Context, c *config.Config, s *store.Store, listener *certs.Store, defaultCA []byte, hooks *webhook.Dispatcher, log *slog.Logger) (*certs.Manager, error) {
	m := certs.NewManager(certs.ManagerOptions{
		Docs: s, Listener: listener, DefaultCAPEM: defaultCA, Pinned: c.TLSCertFile != "",
		ApplyWebhookCA: hooks.SetRootCAs,
	})
	external, webhookCA, skipped, err := m.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("load uploaded certificates: %w", err)
	}
	for _, e := range skipped {
		log.Error("certificate from the database skipped", "err", e)
	}
	if external {
		log.Info("serving the TLS certificate uploaded through /v1/certificates/external")
	}
	if webhookCA {
		log.Info("webhook deliveries trust the CA bundle uploaded through /v1/certificates/webhooks/ca")
	}
	return m, nil
}

// removeExpiredTokens keeps the tokens table from growing with sessions
// nobody logged out of.
func removeExpiredTokens(ctx context.Context, s *store.Store, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// Past the 600 s clock-skew allowance a token can never be accepted again.
			n, err := s.DeleteExpiredTokens(ctx, time.Now().Add(-10*time.Minute))
			if err != nil && ctx.Err() == nil {
				log.Warn("remove expired tokens", "err", err)
			} else if n > 0 {
				log.Debug("removed expired tokens", "count", n)
			}
		}
	}
}

// nodeID names this process in queue leases: the configured name, or the
// host name. It is stable across restarts on purpose: at start a process
// gives back what its previous run had claimed (see ReleaseLeases), so after
// a crash nothing waits for a lease to run out. Processes sharing a database
// on one host must set WABIZ_NODE_ID.
func nodeID(configured string) string {
	if configured != "" {
		return configured
	}
	if host, err := os.Hostname(); err == nil && host != "" {
		return host
	}
	return "wabiz"
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

// sandboxControl, cloudWebhook and mediaPublisher keep a nil network a nil
// interface, so the API leaves out what the selected network does not do.
func sandboxControl(s *sandbox.Sandbox) api.SandboxControl {
	if s == nil {
		return nil
	}
	return s
}

func cloudWebhook(n *cloud.Network) api.CloudWebhook {
	if n == nil {
		return nil
	}
	return n
}

func mediaPublisher(n *cloud.Network) api.MediaPublisher {
	if n == nil {
		return nil
	}
	return n
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
