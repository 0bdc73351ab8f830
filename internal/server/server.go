// Package server is the composition root: the one place that builds a wabiz
// node's parts from the configuration and says which role runs which of
// them. `wabiz serve` calls it, and so does the API test harness (with a
// configuration and Options of its own); the black-box tests and the
// benchmark run the binary, so they go through serve.
//
// A node has two parts. The web part is the HTTP API (Node.API): stateless
// apart from what it reads from the database. The core part is the
// messaging engine and its loops: the outbox worker and the network's
// events (Node.Core) and webhook delivery (Node.Hooks). WABIZ_ROLE says
// which run (all, web, core); every node joins the cluster (Node.Cluster),
// and the one holding the leader lease runs the jobs that must run once
// (the expiry sweep, template reloads from the network, the shared core
// state, garbage collection, expired tokens). Every part is built whichever role
// runs, so the answers of the API do not depend on which parts share its
// process.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wabiz/wabiz/internal/api"
	"github.com/wabiz/wabiz/internal/auth"
	"github.com/wabiz/wabiz/internal/backup"
	"github.com/wabiz/wabiz/internal/certs"
	"github.com/wabiz/wabiz/internal/cluster"
	"github.com/wabiz/wabiz/internal/config"
	"github.com/wabiz/wabiz/internal/console"
	"github.com/wabiz/wabiz/internal/core"
	"github.com/wabiz/wabiz/internal/docwatch"
	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/monitoring"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/cloud"
	"github.com/wabiz/wabiz/internal/network/cloud/cloudapi"
	"github.com/wabiz/wabiz/internal/network/sandbox"
	"github.com/wabiz/wabiz/internal/network/sandbox/sandboxapi"
	"github.com/wabiz/wabiz/internal/periodic"
	"github.com/wabiz/wabiz/internal/profile"
	"github.com/wabiz/wabiz/internal/retention"
	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/stickerpack"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/twostep"
	"github.com/wabiz/wabiz/internal/webhook"
)

// Options are what a caller may set beyond the configuration.
type Options struct {
	Log *slog.Logger
	// Now is every part's clock (time.Now when nil).
	Now func() time.Time
	// Version is the build's version: the webhooks' User-Agent and
	// /v1/support.
	Version string
	// WrapNetwork, when set, wraps the network the configuration selects
	// before the core uses it.
	WrapNetwork func(network.Network) network.Network
	// BackupKDF, when set, replaces the backup key derivation's cost.
	BackupKDF *backup.KDFParams
	// API, when set, may change the HTTP layer's dependencies before it is
	// built.
	API func(*api.Deps)
	// MediaMaxBytes, when set, lowers the media volume's file size limit
	// (media.MaxUploadBytes). For tests, which cannot upload 100 MB: the
	// limit is Meta's, and its error names it, so it is no configuration
	// option.
	MediaMaxBytes int64
}

// Node is every part of one wabiz node.
type Node struct {
	Config *config.Config
	Log    *slog.Logger
	// NodeID names this process in queue leases.
	NodeID string
	// Cluster is this node's membership of the deployment: its row in the
	// node registry, and the leader lease for a core node.
	Cluster *cluster.Node
	now     func() time.Time
	// clusterDone is closed once the membership has left the registry.
	clusterDone chan struct{}
	// engineDone is closed once the engine's loops RunCore started have
	// returned, their sends and deliveries ended; nil when never started.
	engineDone chan struct{}

	Store    *store.Store
	Auth     *auth.Service
	Settings *settings.Service
	Media    *media.Service
	Hooks    *webhook.Dispatcher
	Network  network.Network
	Sandbox  *sandbox.Sandbox // set when the sandbox network is selected
	Cloud    *cloud.Network   // set when the Cloud API is selected
	Core     *core.Core

	// Listener is the certificate the HTTPS listener serves; Certs changes
	// it when one is uploaded.
	Listener     *certs.Store
	Certs        *certs.Manager
	Profile      *profile.Service
	TwoStep      *twostep.Service
	Backup       *backup.Service
	Metrics      *monitoring.Service
	Collector    *retention.Collector
	Stickerpacks *stickerpack.Service
	// Watcher applies changes made through other nodes (Start runs it).
	Watcher *docwatch.Watcher

	// API is the web role's handler.
	API *api.Server
	// Console is the console at /console.
	Console *console.Console
	// HTTP is what the listeners serve: the console under /console, the
	// API everywhere else.
	HTTP http.Handler
}

// Build opens (and migrates) the database and builds every part. Nothing
// runs yet: RunCore starts the core role's work. Close the node when done.
func Build(ctx context.Context, c *config.Config, o Options) (_ *Node, err error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Version == "" {
		o.Version = "devel"
	}
	log, now := o.Log, o.Now
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", c.DataDir, err)
	}
	name, err := NodeName(c)
	if err != nil {
		return nil, err
	}
	n := &Node{Config: c, Log: log, NodeID: NodeID(c.NodeID, name), now: now}
	s, applied, err := OpenStore(ctx, c)
	if err != nil {
		return nil, err
	}
	n.Store = s
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	log.Info("database ready", "engine", s.Dialect(), "database", s.Name(), "schema_version", store.LatestVersion(), "migrations_applied", applied)
	if err := n.watchSharedDocuments(ctx); err != nil {
		return nil, err
	}

	if n.Auth, err = NewAuthService(ctx, c, s, now); err != nil {
		return nil, err
	}
	if created, err := n.Auth.EnsureAdmin(ctx); err != nil {
		return nil, fmt.Errorf("create the built-in admin: %w", err)
	} else if created {
		log.Warn("created the built-in user admin with the factory password; its first login must set a new one")
	}
	rules := settings.PatchRules{AllowHTTPWebhook: c.WebhookAllowHTTP}
	if n.Settings, err = settings.NewService(ctx, s, rules, now); err != nil {
		return nil, err
	}
	if n.Media, err = media.New(media.Options{Dir: c.MediaDir(), Store: s, Now: now, MaxBytes: o.MediaMaxBytes, Fetch: media.FetchOptions{
		Timeout: c.MediaLinkTimeout, AllowPrivate: c.MediaPrivateLinks, UserAgent: "wabiz/" + o.Version,
	}}); err != nil {
		return nil, err
	}
	// Before the API: clients cache first-party sticker ids, which must work
	// from the first request on.
	n.Stickerpacks = stickerpack.New(s, n.Media, now)
	if err := n.Stickerpacks.EnsureFirstParty(ctx); err != nil {
		return nil, err
	}
	if r, err := s.ReleaseLeases(ctx, n.NodeID); err != nil {
		return nil, fmt.Errorf("release the leases of the previous run: %w", err)
	} else if r.Total() > 0 {
		log.Warn("took back work the previous run had claimed (it did not shut down cleanly)", "node", n.NodeID,
			"messages", r.Messages, "callbacks", r.Callbacks, "sandbox_events", r.SandboxEvents, "cloud_events", r.CloudEvents)
	}
	hookOptions := webhook.Options{
		Store: s, Settings: n.Settings.Current, Log: log, Now: now, Version: o.Version, NodeID: n.NodeID,
		BatchMax: c.WebhookBatchMax, Horizon: c.WebhookRetryHorizon, QueueLimit: c.WebhookQueueLimit,
		RequestTimeout: c.WebhookTimeout,
	}
	if c.WebhookAttemptLog > 0 {
		hookOptions.Attempts = s
	}
	if n.Hooks, err = webhook.New(ctx, hookOptions); err != nil {
		return nil, err
	}
	// A new webhook URL or concurrency takes effect at once, not at the
	// dispatcher's next poll.
	n.Settings.OnChange(func(settings.Application) { n.Hooks.Wake() })

	if err := n.buildNetwork(ctx, now); err != nil {
		return nil, err
	}
	waNet := n.Network
	if o.WrapNetwork != nil {
		waNet = o.WrapNetwork(waNet)
	}
	n.Core = core.New(core.Options{
		Store: s, Network: waNet, Hooks: n.Hooks, Settings: n.Settings, Media: n.Media, Log: log, Now: now, NodeID: n.NodeID,
		OfflineDrainLimit: c.StartupOfflineLimit, DBTimeout: c.DBTimeout, ConnectionLostAfter: c.ConnectionLostAfter,
		SendConcurrency: c.SendConcurrency,
	})

	// Before the API: a certificate uploaded through it replaces the
	// self-signed one from the next handshake on.
	listener, defaultCA, err := serverCertificate(c, log, now)
	if err != nil {
		return nil, err
	}
	n.Listener = listener
	if n.Certs, err = uploadedCertificates(ctx, c, s, listener, defaultCA, n.Hooks, log, now); err != nil {
		return nil, err
	}

	n.buildAccountServices(o, rules)
	n.Metrics = monitoring.New(monitoring.Options{Store: s, Hooks: n.Hooks.Stats, DataDir: c.DataDir, MediaDir: c.MediaDir(), NodeID: n.NodeID, Version: o.Version, Now: now})
	n.Collector = retention.New(ctx, retention.Options{Store: s, Media: n.Media, Hooks: n.Hooks, Settings: n.Settings.Current, Log: log, Now: now})
	self := cluster.Self{Host: hostName(), Name: name, Role: c.Role, Address: c.Listen, Version: o.Version, QueueOwner: n.NodeID}
	if c.Role == cluster.RoleCore {
		self.Address = "" // no listener
	}
	co := cluster.Options{Store: s, Self: self, Settings: n.Settings.Current, Status: n.Core.GatewayStatus,
		Readout: n.readout, Leading: n.leaderJobs, ShardCount: n.Core.Shards, EngineStopped: n.engineStopped, Log: log, Now: now}
	if c.Role != cluster.RoleWeb {
		// The engine sends only for the shards this node holds.
		co.SetShards = n.Core.ClaimShards
		if n.Cloud != nil {
			// WABIZ_CLOUD_RATE is the deployment's: each node takes the
			// part of its shards (docs/cloud-bridge.md).
			co.Share = n.Cloud.SetShare
		}
	}
	n.Cluster = cluster.New(co)

	deps := api.Deps{
		Operations:        operations{n.Metrics, n.Collector},
		Log:               log,
		Auth:              n.Auth,
		Settings:          n.Settings,
		Messaging:         n.Core,
		Media:             n.Media,
		Profile:           n.Profile,
		Security:          n.Backup,
		TwoStep:           n.TwoStep,
		Certs:             n.Certs,
		Stickerpacks:      n.Stickerpacks,
		Cluster:           n.Cluster,
		Version:           c.APIVersion,
		MaxBodyBytes:      c.MaxBodyBytes,
		LoginFailureLimit: c.LoginFailureLimit,
		HealthRateLimit:   c.HealthRateLimit,
		// A file transfer never gets less time than any other request.
		TransferTimeout:       max(c.TransferTimeout, c.ReadTimeout, c.WriteTimeout),
		MaxConcurrentRequests: c.MaxInFlight,
		Now:                   now,
	}
	// The selected network brings its own HTTP surface; a nil network stays
	// a nil interface, so the API leaves out what it does not do.
	if n.Sandbox != nil {
		deps.Routes = append(deps.Routes, sandboxapi.New(n.Sandbox, n.Media))
	}
	if n.Cloud != nil {
		deps.Routes = append(deps.Routes, cloudapi.New(n.Cloud, log))
		deps.MediaPublisher = n.Cloud
	}
	if o.API != nil {
		o.API(&deps)
	}
	n.API = api.New(deps)
	if err := n.buildConsole(ctx, c.LoginFailureLimit); err != nil {
		return nil, err
	}
	return n, nil
}

// buildConsole builds /console beside the API, on the same listeners.
// Its CSRF key is stored like the token signing key, so every node checks
// the tokens of every other.
func (n *Node) buildConsole(ctx context.Context, loginFailureLimit int) error {
	key, err := n.Store.Secret(ctx, "console_csrf_key", n.now())
	if err != nil {
		return fmt.Errorf("read the console's CSRF key: %w", err)
	}
	co := console.Options{Log: n.Log, Auth: n.Auth, Store: n.Store, Settings: n.Settings.Current, Status: n.Core,
		Nodes: n.Cluster, CSRFKey: []byte(key), LoginFailureLimit: loginFailureLimit, Now: n.now}
	if n.Sandbox != nil {
		co.Sandbox = n.Sandbox // a nil *Sandbox must stay a nil interface
	}
	if n.Console, err = console.New(co); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(console.Prefix, n.Console)
	mux.Handle(console.Prefix+"/", n.Console)
	mux.Handle("/", n.API)
	n.HTTP = mux
	return nil
}

// watchSharedDocuments registers, before the parts load them, the stored
// documents a node keeps applied in memory, so that a change made through
// another node takes effect here at the watcher's next pass (Start runs it
// every WABIZ_SETTINGS_REFRESH). What is read from the database at each use
// (media providers, two-step, the profile) needs no watching, and the
// template catalogue follows its own version on use (core).
func (n *Node) watchSharedDocuments(ctx context.Context) error {
	n.Watcher = docwatch.New(n.Store, n.Log)
	n.Watcher.Watch("settings", func(ctx context.Context) error { return n.Settings.Refresh(ctx) }, settings.DocumentName)
	n.Watcher.Watch("certificates", n.reloadCertificates, certs.ExternalDocument, certs.WebhookCADocument)
	if err := n.Watcher.Prime(ctx); err != nil {
		return fmt.Errorf("read the versions of the shared documents: %w", err)
	}
	return nil
}

// reloadCertificates applies the external certificate and the webhook CA
// bundle another node stored. The uploading node validated them, so one
// skipped here has expired since: a warning, the node keeps what it serves.
func (n *Node) reloadCertificates(ctx context.Context) error {
	_, _, skipped, err := n.Certs.Load(ctx)
	for _, e := range skipped {
		n.Log.Warn("certificate changed through another node not applied", "err", e)
	}
	return err
}

// buildNetwork builds the network the configuration selects: the offline
// sandbox (with its templates file, before the core's first template load
// can miss them), or Meta's Cloud API.
func (n *Node) buildNetwork(ctx context.Context, now func() time.Time) error {
	c := n.Config
	if c.Network == "cloud" {
		n.Cloud = cloud.New(cloud.Options{
			GraphURL: c.Cloud.GraphURL, PhoneNumberID: c.Cloud.PhoneNumberID, WABAID: c.Cloud.WABAID,
			AccessToken: c.Cloud.AccessToken, AppSecret: c.Cloud.AppSecret, VerifyToken: c.Cloud.VerifyToken,
			AppID: c.Cloud.AppID, Store: n.Store, Log: n.Log, Now: now, Rate: float64(c.Cloud.Rate),
		})
		n.Network = n.Cloud
		return nil
	}
	n.Sandbox = sandbox.New(n.Store, now)
	n.Network = n.Sandbox
	if path := c.SandboxTemplates; path != "" {
		defs, err := sandbox.ReadTemplateFile(path)
		var added, replaced int
		if err == nil {
			added, replaced, err = n.Sandbox.SeedTemplates(ctx, defs)
		}
		if err != nil {
			return fmt.Errorf("sandbox templates file %s (WABIZ_SANDBOX_TEMPLATES): %w", path, err)
		}
		n.Log.Info("sandbox templates loaded", "file", path, "added", added, "replaced", replaced)
	}
	return nil
}

// buildAccountServices builds the profile, two-step and backup services.
// The sandbox shows its users the profile but no compliance information;
// the Cloud API takes both and the two-step PIN.
func (n *Node) buildAccountServices(o Options, rules settings.PatchRules) {
	// Nil networks stay nil interfaces: the profile tells only the network
	// that is there.
	po := profile.Options{Store: n.Store, Log: n.Log, Now: o.Now}
	var pin twostep.PINKeeper
	switch {
	case n.Cloud != nil:
		po.Publisher, po.Compliance, pin = n.Cloud, n.Cloud, n.Cloud
	case n.Sandbox != nil:
		po.Publisher = n.Sandbox
	}
	n.Profile = profile.New(po)
	n.TwoStep = twostep.New(n.Store, pin, o.Now)
	bo := backup.Options{Store: n.Store, Log: n.Log, Now: o.Now, SettingsRules: rules,
		AfterRestore: []func(context.Context) error{n.Settings.Refresh, n.Core.ReloadRegistration, n.Profile.Publish, n.Profile.PublishComplianceInfo,
			// A restored webhook CA bundle applies to deliveries at once.
			func(ctx context.Context) error { _, _, _, err := n.Certs.Load(ctx); return err }}}
	if o.BackupKDF != nil {
		bo.KDF = *o.BackupKDF
	}
	n.Backup = backup.New(bo)
}

// readout is what this node writes into its registry row for the others
// to answer /v1/support and /v1/stats with.
func (n *Node) readout(ctx context.Context) ([]byte, error) {
	r, err := n.Metrics.Readout(ctx, n.Config.APIVersion)
	if err != nil {
		return nil, err
	}
	return monitoring.EncodeReadout(r)
}

// operations joins the read-outs and the collectors into
// api.OperationsService.
type operations struct {
	*monitoring.Service
	*retention.Collector
}

// Start runs what the node's role runs until ctx ends: every role applies
// changes made through other nodes (the watcher) and joins the node
// registry (a first heartbeat before Start returns, so a core node may
// already lead); the core and all roles run the engine (RunCore). It
// returns once those have started.
func (n *Node) Start(ctx context.Context) error {
	go n.Watcher.Run(ctx, n.Config.SettingsRefresh)
	// The engine does the deployment's once-only work while this node
	// leads, from the first heartbeat on (a node alone leads at once).
	n.Core.Follow()
	if err := n.Cluster.Beat(ctx); err != nil {
		return fmt.Errorf("register in the node registry: %w", err)
	}
	if n.Config.Role != cluster.RoleWeb {
		n.engineDone = make(chan struct{}) // before the membership may leave and wait for it
	}
	n.clusterDone = make(chan struct{})
	go func() {
		defer close(n.clusterDone)
		n.Cluster.Run(ctx)
	}()
	if n.Config.Role == cluster.RoleWeb {
		return nil
	}
	return n.RunCore(ctx)
}

// RunCore runs the core role until ctx ends: the engine (start-up, then the
// outbox worker and the network's events), webhook delivery, and the watch
// for a registration made through another node. It returns once the engine
// has started; the loops stop with ctx. The jobs that run once per
// deployment run on the leader (leaderJobs).
func (n *Node) RunCore(ctx context.Context) error {
	var loops sync.WaitGroup
	loops.Go(func() { n.Hooks.Run(ctx) })
	if err := n.Core.Start(ctx); err != nil {
		return err
	}
	loops.Go(func() { n.Core.Run(ctx) })
	if done := n.engineDone; done != nil {
		go func() { loops.Wait(); close(done) }()
	}
	// A web node records a registration without starting on it: the core
	// nodes find it here.
	go periodic.Every(ctx, n.Config.SettingsRefresh, func(ctx context.Context) {
		if err := n.Core.ReloadRegistration(ctx); err != nil && ctx.Err() == nil {
			n.Log.Warn("reading the registration", "err", err)
		}
	})
	return nil
}

// engineStopped waits until the engine's loops have returned, or ctx
// ends; false when the engine never ran here or did not stop in time.
func (n *Node) engineStopped(ctx context.Context) bool {
	if n.engineDone == nil {
		return false
	}
	select {
	case <-n.engineDone:
		return true
	case <-ctx.Done():
		return false
	}
}

// leaderJobs are the jobs that must run once per deployment, run by the
// leader while it leads: the engine's (the expiry sweep, the template
// catalogue fetched from the network and stored for the others, the state
// the web nodes answer from: core.Lead), the daily message and media
// collections with the pass_through sweep, and the removal of expired
// tokens. Only nodes that run the engine compete for the lease.
func (n *Node) leaderJobs(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { n.Core.Lead(ctx) })
	wg.Go(func() { removeExpiredTokens(ctx, n.Store, n.Log, n.now) })
	wg.Go(func() { pruneAttemptLog(ctx, n.Store, n.Config.WebhookAttemptLog, n.Log) })
	wg.Go(func() { operations{n.Metrics, n.Collector}.Run(ctx) })
	wg.Wait()
}

// Close releases the database, once the node has left the registry when
// Start ran (cancel Start's context first).
func (n *Node) Close() error {
	if n.clusterDone != nil {
		<-n.clusterDone
	}
	return n.Store.Close()
}

// OpenStore connects and migrates: every command that touches the database
// brings the schema up to date first, as the server does at start.
func OpenStore(ctx context.Context, c *config.Config) (*store.Store, []int, error) {
	s, err := store.Open(ctx, StoreConfig(c))
	if err != nil {
		return nil, nil, err
	}
	applied, err := s.Migrate(ctx)
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, applied, nil
}

// StoreConfig translates the configuration into the store's terms.
func StoreConfig(c *config.Config) store.Config {
	return store.Config{
		Engine:          store.Dialect(c.DB.Engine),
		SQLitePath:      c.SQLitePath(),
		Host:            c.DB.Hostname,
		Port:            c.DB.Port,
		User:            c.DB.Username,
		Password:        c.DB.Password,
		NamePrefix:      c.DB.NamePrefix,
		SSLCA:           c.DB.SSLCA,
		SSLCert:         c.DB.SSLCert,
		SSLKey:          c.DB.SSLKey,
		SSLVerify:       c.DB.SSLVerify,
		ConnIdleTimeout: c.DB.ConnIdleTimeout,
		MaxOpenConns:    c.DB.MaxOpenConns,
	}
}

// NewAuthService builds the auth service with the deployment's signing key:
// WA_WEB_JWT_CRYPTO_KEY when set, else the key the first node stored.
func NewAuthService(ctx context.Context, c *config.Config, s *store.Store, now func() time.Time) (*auth.Service, error) {
	key := c.JWTKey
	if key == "" {
		var err error
		if key, err = s.Secret(ctx, "jwt_signing_key", now()); err != nil {
			return nil, fmt.Errorf("read the token signing key: %w", err)
		}
	}
	return auth.NewService(s, auth.Options{
		SigningKey:    []byte(key),
		APIKey:        c.APIKey,
		TokenLifetime: c.TokenLifetime,
		BcryptCost:    c.BcryptCost,
		LookupTimeout: c.DBTimeout,
		Now:           now,
	})
}

// NodeID names this process in queue leases: the configured id, or the
// node's name. It is stable across restarts on purpose: at start a process
// gives back what its previous run had claimed (see ReleaseLeases), so after
// a crash nothing waits for a lease to run out.
func NodeID(configured, nodeName string) string {
	if configured != "" {
		return configured
	}
	return nodeName
}

// nodeNameFile keeps the generated node name in the data directory.
const nodeNameFile = "node-name"

// NodeName is WABIZ_NODE_NAME, or the random id generated at the node's
// first start and kept in the data directory, so a restarted node is the
// same node in the registry and in leases.
func NodeName(c *config.Config) (string, error) {
	if c.NodeName != "" {
		return c.NodeName, nil
	}
	path := filepath.Join(c.DataDir, nodeNameFile)
	if b, err := os.ReadFile(path); err == nil {
		if name := strings.TrimSpace(string(b)); name != "" {
			return name, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read the node name: %w", err)
	}
	raw := make([]byte, 6)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	name := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(name+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("keep the node name in %s: %w", path, err)
	}
	return name, nil
}

// hostName is the host part of the node's registry key.
func hostName() string {
	if host, err := os.Hostname(); err == nil && host != "" {
		return host
	}
	return "localhost"
}

// serverCertificate loads the configured pair, or keeps a self-signed one in
// the data directory (generated on first start, renewed before it expires).
// caPEM is the self-signed CA, nil for configured files (their CA is unknown).
func serverCertificate(c *config.Config, log *slog.Logger, now func() time.Time) (_ *certs.Store, caPEM []byte, _ error) {
	if c.TLSCertFile != "" {
		pair, err := certs.LoadPair(c.TLSCertFile, c.TLSKeyFile, now())
		if err != nil {
			return nil, nil, fmt.Errorf("WABIZ_TLS_CERT_FILE/WABIZ_TLS_KEY_FILE: %w", err)
		}
		return certs.NewStore(pair), nil, nil
	}
	dir := filepath.Join(c.DataDir, "tls")
	bundle, generated, err := certs.EnsureSelfSigned(dir, c.ServerName, now())
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
func uploadedCertificates(ctx context.Context, c *config.Config, s *store.Store, listener *certs.Store, defaultCA []byte, hooks *webhook.Dispatcher, log *slog.Logger, now func() time.Time) (*certs.Manager, error) {
	m := certs.NewManager(certs.ManagerOptions{
		Docs: s, Listener: listener, DefaultCAPEM: defaultCA, Pinned: c.TLSCertFile != "",
		ApplyWebhookCA: hooks.SetRootCAs, Now: now,
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

// pruneAttemptLog keeps the console's webhook attempt log to its newest
// keep rows (WABIZ_WEBHOOK_ATTEMPT_LOG; 0 empties it once, as nothing is
// written then).
func pruneAttemptLog(ctx context.Context, s *store.Store, keep int, log *slog.Logger) {
	periodic.Every(ctx, time.Minute, func(ctx context.Context) {
		if n, err := s.PruneWebhookAttempts(ctx, keep); err != nil && ctx.Err() == nil {
			log.Warn("prune the webhook attempt log", "err", err)
		} else if n > 0 {
			log.Debug("pruned the webhook attempt log", "removed", n)
		}
	})
}

// removeExpiredTokens keeps the tokens table from growing with sessions
// nobody logged out of.
func removeExpiredTokens(ctx context.Context, s *store.Store, log *slog.Logger, now func() time.Time) {
	periodic.Every(ctx, time.Hour, func(ctx context.Context) {
		// Past the 600 s clock-skew allowance a token can never be accepted again.
		n, err := s.DeleteExpiredTokens(ctx, now().Add(-10*time.Minute))
		if err != nil && ctx.Err() == nil {
			log.Warn("remove expired tokens", "err", err)
		} else if n > 0 {
			log.Debug("removed expired tokens", "count", n)
		}
	})
}
