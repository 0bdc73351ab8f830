// Package sandboxapi is the sandbox network's HTTP surface, /sandbox/v1/...:
// it drives the simulated WhatsApp (certificates and registration codes,
// simulated users who write, read, go offline, change number or block the
// business, the rules of the world, the template catalogue). It exists only
// when the sandbox network is selected, and only the admin may use it.
//
// The routes are the sandbox's, served by the API: the package contributes
// them as an api.RouteProvider, and the API authenticates, checks the role,
// bounds the body and renders the envelope and errors as it does for its
// own. The API does not know the sandbox; internal/server joins the two.
package sandboxapi

import (
	"context"
	"encoding/json"
	"io"

	"github.com/wabiz/wabiz/internal/api"
	"github.com/wabiz/wabiz/internal/auth"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/sandbox"
	"github.com/wabiz/wabiz/internal/store"
)

// Control is what the routes need of the sandbox network (*sandbox.Sandbox).
type Control interface {
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
	BusinessProfile(ctx context.Context) (network.BusinessProfile, error)
	Namespace(ctx context.Context) (string, error)
	ListTemplates(ctx context.Context) ([]network.Template, error)
	Template(ctx context.Context, name, language string) (network.Template, error)
	AddTemplates(ctx context.Context, defs []json.RawMessage) ([]network.Template, error)
	UpdateTemplate(ctx context.Context, name, language string, patch map[string]json.RawMessage) (network.Template, error)
	DeleteTemplate(ctx context.Context, name, language string) error
}

// Files opens a file uploaded through /v1/media (*media.Service), for a
// simulated user to send it.
type Files interface {
	Open(ctx context.Context, id string) (store.Media, io.ReadSeekCloser, error)
}

// Provider contributes the /sandbox/v1 routes to the API.
type Provider struct {
	control Control
	files   Files
}

// New builds the routes over the sandbox. files may be nil (no media
// volume): then a user can send only the sandbox's sample files.
func New(control Control, files Files) *Provider {
	return &Provider{control: control, files: files}
}

// handlers are the routes' handlers, with the API's envelope.
type handlers struct {
	*Provider
	env api.Envelope
}

// Routes implements api.RouteProvider: every route is admin only, since it
// plays WhatsApp itself.
func (p *Provider) Routes(env api.Envelope) []api.Route {
	h := handlers{Provider: p, env: env}
	routes := []api.Route{
		{Method: "POST", Pattern: "/sandbox/v1/certificates", Handler: h.certificate},
		{Method: "GET", Pattern: "/sandbox/v1/account/code", Handler: h.code},
		{Method: "GET", Pattern: "/sandbox/v1/users", Handler: h.users},
		{Method: "GET", Pattern: "/sandbox/v1/users/{wa_id}", Handler: h.user},
		{Method: "PATCH", Pattern: "/sandbox/v1/users/{wa_id}", Handler: h.updateUser},
		{Method: "POST", Pattern: "/sandbox/v1/users/{wa_id}/messages", Handler: h.userSends},
		{Method: "GET", Pattern: "/sandbox/v1/users/{wa_id}/messages", Handler: h.userMessages},
		{Method: "POST", Pattern: "/sandbox/v1/users/{wa_id}/read", Handler: h.userReads},
		{Method: "POST", Pattern: "/sandbox/v1/users/{wa_id}/number", Handler: h.changeNumber},
		{Method: "POST", Pattern: "/sandbox/v1/users/{wa_id}/identity", Handler: h.changeIdentity},
		{Method: "GET", Pattern: "/sandbox/v1/world", Handler: h.world},
		{Method: "PATCH", Pattern: "/sandbox/v1/world", Handler: h.setWorld},
		{Method: "GET", Pattern: "/sandbox/v1/business", Handler: h.businessProfile},
		{Method: "GET", Pattern: "/sandbox/v1/templates", Handler: h.templates},
		{Method: "POST", Pattern: "/sandbox/v1/templates", Handler: h.addTemplates},
		{Method: "GET", Pattern: "/sandbox/v1/templates/{name}/{language}", Handler: h.template},
		{Method: "PATCH", Pattern: "/sandbox/v1/templates/{name}/{language}", Handler: h.updateTemplate},
		{Method: "DELETE", Pattern: "/sandbox/v1/templates/{name}/{language}", Handler: h.deleteTemplate},
	}
	for i := range routes {
		routes[i].Auth, routes[i].Role = api.AuthToken, auth.RoleAdmin
	}
	return routes
}
