package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/auth"
)

// Routes are data: every route is declared once, with what the router
// needs to serve it (how it authenticates, the role it needs, how much body
// it takes) next to its handler. The API's own routes are listed here and
// in the area files (profileRoutes, certificateRoutes, ...); the networks
// contribute theirs through RouteProvider (provider.go). routeTable
// concatenates them all.

// HandlerFunc is what every node implements: it writes a success response
// itself and returns an error for anything else, which the API renders.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// AuthMode says how a route authenticates.
type AuthMode int

const (
	// AuthToken: a Bearer token or the Apikey, and the route's Role.
	AuthToken AuthMode = iota
	// authBasic: HTTP Basic, checked by the handler (login only).
	authBasic
	// AuthNone: no wabiz credentials; the handler proves the caller (the
	// Cloud webhook checks Meta's signature).
	AuthNone
)

// Route is one declared route.
type Route struct {
	Method  string // GET also answers HEAD
	Pattern string // a net/http pattern path, without the trailing slash
	Auth    AuthMode
	// Role is the least role an AuthToken route needs (auth.RoleAdmin,
	// RoleUser, RoleAPI): 403/1005 below it. Required with AuthToken.
	Role string
	// MaxBody bounds the request body (0: Deps.MaxBodyBytes).
	MaxBody int64
	// File marks a request or answer that carries a file: once
	// authenticated, it gets Deps.TransferTimeout to read and write instead
	// of the server's timeouts.
	File    bool
	Handler HandlerFunc
}

// errNoPermission is the 403 of an authenticated caller below the route's
// role.
func errNoPermission() *apierr.Error {
	return apierr.New(1005, "User doesn't have permission")
}

// routeTable is every route the server serves, given the services it was
// built with: a nil service leaves its routes out, so its paths answer 404.
func (s *Server) routeTable() []Route {
	routes := []Route{
		{Method: "POST", Pattern: "/v1/users/login", Auth: authBasic, Role: auth.RoleUser, Handler: s.login},
		{Method: "POST", Pattern: "/v1/users/logout", Auth: AuthToken, Role: auth.RoleUser, Handler: s.logout},
		{Method: "POST", Pattern: "/v1/users", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.createUser},
		{Method: "GET", Pattern: "/v1/users/{username}", Auth: AuthToken, Role: auth.RoleUser, Handler: s.getUser},
		{Method: "PUT", Pattern: "/v1/users/{username}", Auth: AuthToken, Role: auth.RoleUser, Handler: s.updateUser},
		{Method: "DELETE", Pattern: "/v1/users/{username}", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.deleteUser},

		{Method: "GET", Pattern: "/v1/settings/application", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.getApplicationSettings},
		{Method: "PATCH", Pattern: "/v1/settings/application", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.patchApplicationSettings},
		{Method: "DELETE", Pattern: "/v1/settings/application", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.deleteApplicationSettings},

		// Meta's later docs admit the API key on health, metrics and stats.
		{Method: "GET", Pattern: "/v1/health", Auth: AuthToken, Role: auth.RoleAPI, Handler: s.health},

		{Method: "POST", Pattern: "/v1/account", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.requestCode},
		{Method: "POST", Pattern: "/v1/account/verify", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.verifyAccount},
		{Method: "GET", Pattern: "/v1/account/shards", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.getShards},
		{Method: "POST", Pattern: "/v1/account/shards", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.setShards},
		{Method: "POST", Pattern: "/v1/messages", Auth: AuthToken, Role: auth.RoleUser, Handler: s.sendMessage},
		{Method: "PUT", Pattern: "/v1/messages/{id}", Auth: AuthToken, Role: auth.RoleUser, Handler: s.markMessageRead},
		{Method: "POST", Pattern: "/v1/contacts", Auth: AuthToken, Role: auth.RoleUser, Handler: s.checkContacts},
		{Method: "GET", Pattern: "/v1/media/{id}/download", Auth: AuthToken, Role: auth.RoleUser, Handler: s.retryMediaDownload},
		{Method: "GET", Pattern: "/v1/contacts/{wa_id}/identity", Auth: AuthToken, Role: auth.RoleUser, Handler: s.getIdentity},
		{Method: "PUT", Pattern: "/v1/contacts/{wa_id}/identity", Auth: AuthToken, Role: auth.RoleUser, Handler: s.acknowledgeIdentity},
	}
	if s.media != nil {
		routes = append(routes, []Route{
			// Streamed to the media volume, never whole in memory.
			{Method: "POST", Pattern: "/v1/media", Auth: AuthToken, Role: auth.RoleUser, MaxBody: s.media.MaxBytes(), File: true, Handler: s.uploadMedia},
			{Method: "GET", Pattern: "/v1/media/{id}", Auth: AuthToken, Role: auth.RoleUser, File: true, Handler: s.downloadMedia},
			{Method: "DELETE", Pattern: "/v1/media/{id}", Auth: AuthToken, Role: auth.RoleUser, Handler: s.deleteMedia},
			{Method: "GET", Pattern: "/v1/settings/application/media/providers", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.getMediaProviders},
			{Method: "POST", Pattern: "/v1/settings/application/media/providers", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.postMediaProvider},
			{Method: "DELETE", Pattern: "/v1/settings/application/media/providers/{name}", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.deleteMediaProvider},
		}...)
	}
	for _, area := range [][]Route{
		// The admin surface, one table per area (each in its own file).
		s.profileRoutes(),
		s.accountSecurityRoutes(),
		s.certificateRoutes(),
		s.operationsRoutes(),
		s.stickerpackRoutes(),
		s.legacyRoutes(),
		s.openAPIRoutes(),
	} {
		routes = append(routes, area...)
	}
	for _, p := range s.providers {
		routes = append(routes, p.Routes(s)...)
	}
	return routes
}

// endpoint is one method of a path, as the router serves it.
type endpoint struct {
	Route
	maxBody int64
}

// routeSet collects the methods of one path so that a known path with a
// wrong method answers 405 rather than 404.
type routeSet struct {
	pattern string
	methods map[string]endpoint
}

// serveRoutes puts every declared route on the mux; anything else is 404.
func (s *Server) serveRoutes(routes []Route) {
	sets := map[string]*routeSet{}
	for _, rt := range routes {
		s.register(rt, sets)
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, apierr.New(1006, "URL path not found"))
	})
}

// register adds one route. A route declared without what the router needs
// is a programming error, found at start.
func (s *Server) register(rt Route, sets map[string]*routeSet) {
	if rt.Handler == nil || (rt.Auth == AuthToken && rt.Role == "") {
		panic(fmt.Sprintf("api: route %s %s lacks a handler or a role", rt.Method, rt.Pattern))
	}
	rs := sets[rt.Pattern]
	if rs == nil {
		rs = &routeSet{pattern: rt.Pattern, methods: map[string]endpoint{}}
		sets[rt.Pattern] = rs
		s.mux.Handle(rt.Pattern, rs.dispatch(s))
	}
	if _, dup := rs.methods[rt.Method]; dup {
		panic(fmt.Sprintf("api: route %s %s declared twice", rt.Method, rt.Pattern))
	}
	ep := endpoint{Route: rt, maxBody: rt.MaxBody}
	if ep.maxBody <= 0 {
		ep.maxBody = s.maxBody
	}
	rs.methods[rt.Method] = ep
	s.declared = append(s.declared, rt)
}

func (rs *routeSet) dispatch(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The metrics' route label, without matching the request again.
		if li, ok := r.Context().Value(logInfoKey).(*logInfo); ok {
			li.route = rs.pattern
		}
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
		r.Body = http.MaxBytesReader(w, r.Body, ep.maxBody)
		if ep.Auth == AuthToken {
			p, err := s.authenticate(r)
			if err != nil {
				s.writeAuthError(w, r, err)
				return
			}
			setLogUser(r.Context(), p.Username)
			if !auth.Satisfies(p.Role, ep.Role) {
				s.writeError(w, r, errNoPermission())
				return
			}
			r = r.WithContext(withPrincipal(r.Context(), p))
			if ep.File {
				s.allowTransfer(w)
			}
		}
		if err := ep.Handler(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}
