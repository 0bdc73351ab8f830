// Package api is the HTTP layer: the router, middleware, the response
// envelope, and one file per API node. Handlers return errors; one function
// renders them.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/wabiz/wabiz/internal/auth"
	"github.com/wabiz/wabiz/internal/core"
	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/message"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
)

// Gateway reports the connection state shown by /v1/health.
type Gateway interface {
	GatewayStatus(ctx context.Context) (string, error)
}

// Messaging is what the messaging nodes need of the core.
type Messaging interface {
	Gateway
	Account() (network.Account, bool)
	RequestCode(ctx context.Context, req network.CodeRequest) (vname string, already bool, err error)
	Verify(ctx context.Context, code string) error
	Send(ctx context.Context, out *message.Outbound) (string, error)
	MarkRead(ctx context.Context, id string) error
	CheckContacts(ctx context.Context, inputs []string, wait, force bool) ([]core.ContactResult, error)
	Identity(ctx context.Context, waID string) (store.Identity, error)
	AcknowledgeIdentity(ctx context.Context, waID, hash string) error
	DownloadMedia(ctx context.Context, id string) error
	Shards(ctx context.Context) (int, error)
	SetShards(ctx context.Context, cc, phone string, shards int, pin string) error
}

// Deps are what the HTTP layer is built from.
type Deps struct {
	Log      *slog.Logger
	Auth     *auth.Service
	Settings *settings.Service
	// Messaging is the core; it also answers /v1/health.
	Messaging Messaging
	// Routes are the routes of the parts outside the API (the selected
	// network's own surface: the sandbox's control API, the Cloud
	// webhook), served after the API's own.
	Routes []RouteProvider
	// Media is the media volume: /v1/media and the media providers exist
	// only when it is set.
	Media *media.Service
	// The admin surface's services; a nil one leaves its routes out.
	Profile      ProfileService
	Security     AccountSecurity
	TwoStep      TwoStep
	Certs        CertificateService
	Operations   OperationsService
	Stickerpacks StickerpackService
	// Cluster, when set, lists the deployment's nodes for /v1/health.
	Cluster ClusterHealth
	// MediaPublisher, when set, puts every file uploaded with POST
	// /v1/media on the network at once (the Cloud bridge).
	MediaPublisher MediaPublisher
	// Version is meta.version of every response.
	Version string
	// MaxBodyBytes bounds JSON request bodies.
	MaxBodyBytes int64
	// MaxConcurrentRequests bounds the API requests served at once (0: no
	// bound); beyond it requests answer 503/1016 at once. Monitoring has
	// places of its own (limits.go).
	MaxConcurrentRequests int
	// TransferTimeout is the read and write time of an authenticated
	// request that carries a file, instead of the server's timeouts (0:
	// those apply).
	TransferTimeout time.Duration
	// LoginFailureLimit is the number of failed logins per hour per IP before 429.
	LoginFailureLimit int
	// HealthRateLimit is the number of health checks per minute (0: no limit).
	HealthRateLimit int
	Now             func() time.Time
}

// Server is the http.Handler of the API.
type Server struct {
	observers observerCache // operations.go: the request metrics' series
	log       *slog.Logger
	auth      *auth.Service
	settings  *settings.Service
	messaging Messaging
	media     *media.Service
	now       func() time.Time

	profile      ProfileService
	security     AccountSecurity
	twoStep      TwoStep
	certs        CertificateService
	operations   OperationsService
	stickerpacks StickerpackService
	cluster      ClusterHealth
	providers    []RouteProvider
	mediaPub     MediaPublisher

	maxBody         int64
	transferTimeout time.Duration
	inFlight        *inFlight
	metaJSON        []byte

	loginFailures *auth.Limiter
	userCreates   *auth.Limiter
	userUpdates   *auth.Limiter
	healthChecks  *auth.Limiter

	// declared is every route served, as declared (routes.go).
	declared []Route
	mux      *http.ServeMux
	handler  http.Handler
}

// userWriteLimit is the Webapp's allowance of create/update-user calls per
// hour per client IP.
const userWriteLimit = 256

// New builds the API handler.
func New(d Deps) *Server {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = 1 << 20
	}
	if d.LoginFailureLimit <= 0 {
		d.LoginFailureLimit = 30
	}
	s := &Server{
		log: d.Log, auth: d.Auth, settings: d.Settings, messaging: d.Messaging, media: d.Media, now: d.Now,
		profile: d.Profile, security: d.Security, twoStep: d.TwoStep, certs: d.Certs, operations: d.Operations, stickerpacks: d.Stickerpacks, cluster: d.Cluster, providers: d.Routes,
		mediaPub: d.MediaPublisher,
		maxBody:  d.MaxBodyBytes, transferTimeout: d.TransferTimeout, inFlight: newInFlight(d.MaxConcurrentRequests),
		metaJSON:      newMetaJSON(d.Version),
		loginFailures: auth.NewLimiter(d.LoginFailureLimit, time.Hour, d.Now),
		userCreates:   auth.NewLimiter(userWriteLimit, time.Hour, d.Now),
		userUpdates:   auth.NewLimiter(userWriteLimit, time.Hour, d.Now),
		healthChecks:  auth.NewLimiter(d.HealthRateLimit, time.Minute, d.Now),
		mux:           http.NewServeMux(),
	}
	s.serveRoutes(s.routeTable())
	s.handler = s.withRequestID(s.withAccessLog(s.withRecover(s.withInFlightBound(s.withTrailingSlashFolded(s.mux)))))
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func formatUnix(sec int64) string { return strconv.FormatInt(sec, 10) }
