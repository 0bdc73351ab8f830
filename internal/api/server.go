// Package api is the HTTP layer: the router, middleware, the response
// envelope, and one file per API node. Handlers return errors; one function
// renders them.
package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/auth"
	"github.com/wabiz/wabiz/internal/core"
	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/message"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/sandbox"
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

// SandboxControl is the sandbox network's control surface.
type SandboxControl interface {
	IssueCertificate(ctx context.Context, cc, phone, vname string) (string, error)
	PendingCode(ctx context.Context) (string, error)
	UserSends(ctx context.Context, waID string, m sandbox.UserMessage) (string, error)
	UserReads(ctx context.Context, waID, messageID string) error
	User(ctx context.Context, waID string) (store.SandboxUser, error)
	Users(ctx context.Context) ([]store.SandboxUser, error)
	UpdateUser(ctx context.Context, waID string, upd sandbox.UserUpdate) (store.SandboxUser, error)
	UserConversation(ctx context.Context, waID string, limit int) (sandbox.Conversation, error)
	ChangeNumber(ctx context.Context, oldWaID, newWaID string) error
	ChangeIdentity(ctx context.Context, waID string) (string, error)
	World(ctx context.Context) (sandbox.World, error)
	SetWorld(ctx context.Context, w sandbox.World) error
	Namespace(ctx context.Context) (string, error)
	ListTemplates(ctx context.Context) ([]network.Template, error)
	Template(ctx context.Context, name, language string) (network.Template, error)
	AddTemplates(ctx context.Context, defs []json.RawMessage) ([]network.Template, error)
	UpdateTemplate(ctx context.Context, name, language string, patch map[string]json.RawMessage) (network.Template, error)
	DeleteTemplate(ctx context.Context, name, language string) error
}

// Deps are what the HTTP layer is built from.
type Deps struct {
	Log      *slog.Logger
	Auth     *auth.Service
	Settings *settings.Service
	// Messaging is the core; it also answers /v1/health.
	Messaging Messaging
	// Sandbox is set only when the sandbox network is selected: the
	// /sandbox/v1 routes exist only then.
	Sandbox SandboxControl
	// Media is the media volume: /v1/media and the media providers exist
	// only when it is set.
	Media *media.Service
	// The admin surface's services; a nil one leaves its routes out.
	Profile      ProfileService
	Security     AccountSecurity
	Certs        CertificateService
	Operations   OperationsService
	Stickerpacks StickerpackService
	// Cloud receives Meta's webhooks when the cloud network is selected.
	Cloud CloudWebhook
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
	log       *slog.Logger
	auth      *auth.Service
	settings  *settings.Service
	messaging Messaging
	sandbox   SandboxControl
	media     *media.Service
	now       func() time.Time

	profile      ProfileService
	security     AccountSecurity
	certs        CertificateService
	operations   OperationsService
	stickerpacks StickerpackService
	cloud        CloudWebhook
	mediaPub     MediaPublisher

	maxBody         int64
	transferTimeout time.Duration
	inFlight        *inFlight
	metaJSON        []byte

	loginFailures *auth.Limiter
	userCreates   *auth.Limiter
	userUpdates   *auth.Limiter
	healthChecks  *auth.Limiter

	mux     *http.ServeMux
	handler http.Handler
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
		log: d.Log, auth: d.Auth, settings: d.Settings, messaging: d.Messaging, sandbox: d.Sandbox, media: d.Media, now: d.Now,
		profile: d.Profile, security: d.Security, certs: d.Certs, operations: d.Operations, stickerpacks: d.Stickerpacks, cloud: d.Cloud,
		mediaPub: d.MediaPublisher,
		maxBody:  d.MaxBodyBytes, transferTimeout: d.TransferTimeout, inFlight: newInFlight(d.MaxConcurrentRequests),
		metaJSON:      newMetaJSON(d.Version),
		loginFailures: auth.NewLimiter(d.LoginFailureLimit, time.Hour, d.Now),
		userCreates:   auth.NewLimiter(userWriteLimit, time.Hour, d.Now),
		userUpdates:   auth.NewLimiter(userWriteLimit, time.Hour, d.Now),
		healthChecks:  auth.NewLimiter(d.HealthRateLimit, time.Minute, d.Now),
		mux:           http.NewServeMux(),
	}
	s.routes()
	s.handler = s.withRequestID(s.withAccessLog(s.withRecover(s.withInFlightBound(s.withBodyLimit(s.withTrailingSlashFolded(s.mux))))))
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// handlerFunc is what every node implements: it writes a success response
// itself and returns an error for anything else.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// authMode says how a route authenticates.
type authMode int

const (
	authToken authMode = iota // Bearer token or Apikey; the access rules decide the role
	authBasic                 // HTTP Basic, checked by the handler (login only)
	authNone                  // no wabiz credentials: the handler proves the caller (Cloud webhooks)
)

type endpoint struct {
	auth    authMode
	handler handlerFunc
}

// routeSet collects the methods of one path so that a known path with a
// wrong method answers 405 rather than 404.
type routeSet struct {
	pattern string
	methods map[string]endpoint
}

func (s *Server) handle(method, pattern string, mode authMode, h handlerFunc, sets map[string]*routeSet) {
	rs := sets[pattern]
	if rs == nil {
		rs = &routeSet{pattern: pattern, methods: map[string]endpoint{}}
		sets[pattern] = rs
		s.mux.Handle(pattern, rs.dispatch(s))
	}
	rs.methods[method] = endpoint{auth: mode, handler: h}
}

func (rs *routeSet) dispatch(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := r.Method
		if method == http.MethodHead {
			method = http.MethodGet
		}
		ep, ok := rs.methods[method]
		if !ok {
			allowed := make([]string, 0, len(rs.methods))
			for m := range rs.methods {
				allowed = append(allowed, m)
			}
			slices.Sort(allowed)
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			// The Webapp's framework answered a wrong method with a bare 1014.
			s.writeError(w, r, (&apierr.Error{Details: []apierr.Detail{{Code: 1014, Title: "Internal error"}}}).WithStatus(http.StatusMethodNotAllowed))
			return
		}
		if ep.auth == authToken {
			p, err := s.authenticate(r)
			if err != nil {
				s.writeAuthError(w, r, err)
				return
			}
			setLogUser(r.Context(), p.Username)
			if err := checkAccess(r.Method, r.URL.Path, p.Role); err != nil {
				s.writeError(w, r, err)
				return
			}
			r = r.WithContext(withPrincipal(r.Context(), p))
			s.allowTransfer(w, r)
		}
		if err := ep.handler(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// routes declares every node. Handlers live in one file per node.
func (s *Server) routes() {
	sets := map[string]*routeSet{}
	s.handle("POST", "/v1/users/login", authBasic, s.login, sets)
	s.handle("POST", "/v1/users/logout", authToken, s.logout, sets)
	s.handle("POST", "/v1/users", authToken, s.createUser, sets)
	s.handle("GET", "/v1/users/{username}", authToken, s.getUser, sets)
	s.handle("PUT", "/v1/users/{username}", authToken, s.updateUser, sets)
	s.handle("DELETE", "/v1/users/{username}", authToken, s.deleteUser, sets)

	s.handle("GET", "/v1/settings/application", authToken, s.getApplicationSettings, sets)
	s.handle("PATCH", "/v1/settings/application", authToken, s.patchApplicationSettings, sets)
	s.handle("DELETE", "/v1/settings/application", authToken, s.deleteApplicationSettings, sets)

	s.handle("GET", "/v1/health", authToken, s.health, sets)

	s.handle("POST", "/v1/account", authToken, s.requestCode, sets)
	s.handle("POST", "/v1/account/verify", authToken, s.verifyAccount, sets)
	s.handle("GET", "/v1/account/shards", authToken, s.getShards, sets)
	s.handle("POST", "/v1/account/shards", authToken, s.setShards, sets)
	s.handle("POST", "/v1/messages", authToken, s.sendMessage, sets)
	s.handle("PUT", "/v1/messages/{id}", authToken, s.markMessageRead, sets)
	s.handle("POST", "/v1/contacts", authToken, s.checkContacts, sets)
	s.handle("GET", "/v1/media/{id}/download", authToken, s.retryMediaDownload, sets)
	s.handle("GET", "/v1/contacts/{wa_id}/identity", authToken, s.getIdentity, sets)
	s.handle("PUT", "/v1/contacts/{wa_id}/identity", authToken, s.acknowledgeIdentity, sets)

	if s.media != nil {
		s.handle("POST", "/v1/media", authToken, s.uploadMedia, sets)
		s.handle("GET", "/v1/media/{id}", authToken, s.downloadMedia, sets)
		s.handle("DELETE", "/v1/media/{id}", authToken, s.deleteMedia, sets)
		s.handle("GET", "/v1/settings/application/media/providers", authToken, s.getMediaProviders, sets)
		s.handle("POST", "/v1/settings/application/media/providers", authToken, s.postMediaProvider, sets)
		s.handle("DELETE", "/v1/settings/application/media/providers/{name}", authToken, s.deleteMediaProvider, sets)
	}

	if s.sandbox != nil {
		s.handle("POST", "/sandbox/v1/certificates", authToken, s.sandboxCertificate, sets)
		s.handle("GET", "/sandbox/v1/account/code", authToken, s.sandboxCode, sets)
		s.handle("GET", "/sandbox/v1/users", authToken, s.sandboxUsers, sets)
		s.handle("GET", "/sandbox/v1/users/{wa_id}", authToken, s.sandboxUser, sets)
		s.handle("PATCH", "/sandbox/v1/users/{wa_id}", authToken, s.sandboxUpdateUser, sets)
		s.handle("POST", "/sandbox/v1/users/{wa_id}/messages", authToken, s.sandboxUserSends, sets)
		s.handle("GET", "/sandbox/v1/users/{wa_id}/messages", authToken, s.sandboxUserMessages, sets)
		s.handle("POST", "/sandbox/v1/users/{wa_id}/read", authToken, s.sandboxUserReads, sets)
		s.handle("POST", "/sandbox/v1/users/{wa_id}/number", authToken, s.sandboxChangeNumber, sets)
		s.handle("POST", "/sandbox/v1/users/{wa_id}/identity", authToken, s.sandboxChangeIdentity, sets)
		s.handle("GET", "/sandbox/v1/world", authToken, s.sandboxWorld, sets)
		s.handle("PATCH", "/sandbox/v1/world", authToken, s.sandboxSetWorld, sets)
		s.handle("GET", "/sandbox/v1/business", authToken, s.sandboxBusinessProfile, sets)
		s.handle("GET", "/sandbox/v1/templates", authToken, s.sandboxTemplates, sets)
		s.handle("POST", "/sandbox/v1/templates", authToken, s.sandboxAddTemplates, sets)
		s.handle("GET", "/sandbox/v1/templates/{name}/{language}", authToken, s.sandboxTemplate, sets)
		s.handle("PATCH", "/sandbox/v1/templates/{name}/{language}", authToken, s.sandboxUpdateTemplate, sets)
		s.handle("DELETE", "/sandbox/v1/templates/{name}/{language}", authToken, s.sandboxDeleteTemplate, sets)
	}

	// The admin surface, one registration per area (each in its own file).
	s.profileRoutes(sets)
	s.accountSecurityRoutes(sets)
	s.certificateRoutes(sets)
	s.operationsRoutes(sets)
	s.stickerpackRoutes(sets)
	s.cloudRoutes(sets)
	s.legacyRoutes(sets)

	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, apierr.New(1006, "URL path not found"))
	})
}

func formatUnix(sec int64) string { return strconv.FormatInt(sec, 10) }
