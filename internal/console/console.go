// Package console is the sandbox console at /console: server-rendered pages
// (html/template) with a little plain JavaScript, embedded in the binary,
// on the API's own listener. It logs in with wabiz's users (admin does
// everything, user reads), plays the simulated customers of the sandbox
// through the same control the sandbox API uses, and shows the webhook
// attempt log, the template catalogue, settings and health. Pages update
// live through server-sent events fed by what the database records
// (events.go), so a console works whichever node serves it.
//
// The package depends on the small interfaces below; internal/server
// builds it from the node's parts.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/auth"
	"github.com/wabiz/wabiz/internal/cluster"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/sandbox"
	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Sandbox is what the console needs of the sandbox network
// (*sandbox.Sandbox): everything its control API can do.
type Sandbox interface {
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
	ListTemplates(ctx context.Context) ([]network.Template, error)
	AddTemplates(ctx context.Context, defs []json.RawMessage) ([]network.Template, error)
	UpdateTemplate(ctx context.Context, name, language string, patch map[string]json.RawMessage) (network.Template, error)
	DeleteTemplate(ctx context.Context, name, language string) error
}

// Store is what the console reads of the database (*store.Store).
type Store interface {
	WebhookAttempts(ctx context.Context, f store.WebhookAttemptFilter) ([]store.WebhookAttempt, error)
	GetConsoleCursor(ctx context.Context) (store.ConsoleCursor, error)
	GetOutbox(ctx context.Context, id string) (store.OutboxMessage, error)
	GetSandboxMedia(ctx context.Context, id string) (mimeType, sha256 string, data []byte, err error)
}

// Auth is wabiz's users and sessions (*auth.Service).
type Auth interface {
	CheckCredentials(ctx context.Context, username, password string) (store.User, error)
	ChangePassword(ctx context.Context, username, newPassword string, by auth.Principal) error
	IssueToken(ctx context.Context, username string) (string, time.Time, error)
	Authenticate(ctx context.Context, token string) (auth.Principal, error)
	Logout(ctx context.Context, p auth.Principal) error
}

// Status is what the settings page shows of the node.
type Status interface {
	GatewayStatus(ctx context.Context) (string, error)
	Account() (network.Account, bool)
}

// Nodes lists the deployment's nodes (*cluster.Node); nil for none.
type Nodes interface {
	Health(ctx context.Context, ownStatus string) ([]cluster.NodeHealth, error)
}

// Options are what the console is built from.
type Options struct {
	Log      *slog.Logger
	Auth     Auth
	Store    Store
	Settings func() settings.Application
	Status   Status
	Nodes    Nodes
	// Sandbox is nil on the Cloud bridge: the console then shows only
	// the webhook log, messages, settings and health.
	Sandbox Sandbox
	// CSRFKey signs the per-session CSRF tokens; at least 32 bytes, the
	// same on every node.
	CSRFKey []byte
	// LoginFailureLimit is failed logins per hour per client before the
	// login form refuses (as /v1/users/login).
	LoginFailureLimit int
	// Poll is how often a live page looks for changes (700 ms).
	Poll time.Duration
	Now  func() time.Time
}

// Console is the http.Handler of /console.
type Console struct {
	o             Options
	log           *slog.Logger
	pages         map[string]*template.Template
	mux           *http.ServeMux
	loginFailures *auth.Limiter
	// done ends the event streams (Shutdown): an open page's stream
	// would otherwise hold a graceful shutdown for its whole timeout.
	done     chan struct{}
	shutdown sync.Once
}

// Shutdown ends every event stream; the pages reconnect to another node
// or when this one is back. Register it with http.Server.RegisterOnShutdown.
func (c *Console) Shutdown() { c.shutdown.Do(func() { close(c.done) }) }

// Prefix is where the console is served.
const Prefix = "/console"

// New builds the console.
func New(o Options) (*Console, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Poll <= 0 {
		o.Poll = 700 * time.Millisecond
	}
	if o.LoginFailureLimit <= 0 {
		o.LoginFailureLimit = 30
	}
	if len(o.CSRFKey) < 32 {
		return nil, errors.New("console: CSRF key shorter than 32 bytes")
	}
	c := &Console{o: o, log: o.Log, pages: map[string]*template.Template{}, mux: http.NewServeMux(),
		loginFailures: auth.NewLimiter(o.LoginFailureLimit, time.Hour, o.Now), done: make(chan struct{})}
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

func (c *Console) parseTemplates() error {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html", name)
		if err != nil {
			return fmt.Errorf("console template %s: %w", name, err)
		}
		c.pages[base] = t
	}
	return nil
}

// handler is a page: it writes its answer or returns an error that
// ServeHTTP renders.
type handler func(w http.ResponseWriter, r *http.Request, s *session) error

// route kinds: what a request must bring.
const (
	public   = iota // no session (login, static files)
	reader          // any logged-in user
	writer          // the admin: every POST that changes something
	sandboxR        // reader, sandbox network only
	sandboxW        // writer, sandbox network only
)

func (c *Console) routes() {
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix(Prefix+"/static/", http.FileServerFS(static))
	c.mux.Handle("GET "+Prefix+"/static/", withCaching(files))

	c.handle("GET "+Prefix+"/login", public, c.loginPage)
	c.handle("POST "+Prefix+"/login", public, c.login)
	c.handle("POST "+Prefix+"/logout", reader, c.logout)
	c.handle("GET "+Prefix+"/{$}", reader, c.home)
	c.handle("GET "+Prefix+"/events", reader, c.events)

	c.handle("GET "+Prefix+"/customers", sandboxR, c.customers)
	c.handle("POST "+Prefix+"/customers", sandboxW, c.createCustomer)
	c.handle("GET "+Prefix+"/customers/{wa_id}", sandboxR, c.chat)
	c.handle("GET "+Prefix+"/customers/{wa_id}/messages", sandboxR, c.chatMessages)
	c.handle("POST "+Prefix+"/customers/{wa_id}/update", sandboxW, c.updateCustomer)
	c.handle("POST "+Prefix+"/customers/{wa_id}/number", sandboxW, c.changeNumber)
	c.handle("POST "+Prefix+"/customers/{wa_id}/identity", sandboxW, c.changeIdentity)
	c.handle("POST "+Prefix+"/customers/{wa_id}/send", sandboxW, c.customerSends)
	c.handle("POST "+Prefix+"/customers/{wa_id}/read", sandboxW, c.customerReads)
	c.handle("GET "+Prefix+"/media/{key}", sandboxR, c.media)

	c.handle("GET "+Prefix+"/webhooks", reader, c.webhooks)
	c.handle("GET "+Prefix+"/webhooks/rows", reader, c.webhookRows)
	c.handle("GET "+Prefix+"/messages/{id}", reader, c.timeline)

	c.handle("GET "+Prefix+"/templates", sandboxR, c.templates)
	c.handle("POST "+Prefix+"/templates", sandboxW, c.createTemplate)
	c.handle("POST "+Prefix+"/templates/{name}/{language}", sandboxW, c.editTemplate)

	c.handle("GET "+Prefix+"/settings", reader, c.settingsPage)
	c.handle("POST "+Prefix+"/settings/world", sandboxW, c.setWorld)
	c.handle("POST "+Prefix+"/settings/certificate", sandboxW, c.issueCertificate)

	c.mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, nil, notFound("No such page"))
	})
}

func (c *Console) handle(pattern string, kind int, h handler) {
	c.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if kind == public {
			if err := h(w, r, nil); err != nil {
				c.fail(w, r, nil, err)
			}
			return
		}
		s, err := c.session(r)
		if err != nil {
			if r.Method == http.MethodGet && r.Header.Get("Accept") != "text/event-stream" {
				http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
				return
			}
			c.fail(w, r, nil, err)
			return
		}
		if (kind == sandboxR || kind == sandboxW) && c.o.Sandbox == nil {
			c.fail(w, r, s, notFound("This page exists only on the sandbox network"))
			return
		}
		if r.Method == http.MethodPost {
			if err := c.checkCSRF(r, s); err != nil {
				c.fail(w, r, s, err)
				return
			}
			if (kind == writer || kind == sandboxW) && s.role != auth.RoleAdmin {
				c.fail(w, r, s, forbidden("Only the admin may change things; your role reads"))
				return
			}
		}
		if err := h(w, r, s); err != nil {
			c.fail(w, r, s, err)
		}
	})
}

// ServeHTTP serves /console with the console's security headers.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	defer func() {
		// A page that panics answers an error page, not a dropped
		// connection, and says so in the log.
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			c.log.Error("console page panicked", "path", r.URL.Path, "panic", v)
			c.fail(w, r, nil, fmt.Errorf("panic: %v", v))
		}
	}()
	began := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	w = rec
	defer func() {
		// One line per request, as the API logs them; the embedded files at
		// debug, failures of the server as errors, the rest (4xx too) info.
		level := slog.LevelInfo
		switch {
		case rec.status >= 500:
			level = slog.LevelError
		case strings.HasPrefix(r.URL.Path, Prefix+"/static/"):
			level = slog.LevelDebug
		}
		c.log.Log(r.Context(), level, "console request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration", time.Since(began).String(), "remote", r.RemoteAddr)
	}()
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if r.URL.Path == Prefix {
			http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
			return
		}
	}
	c.mux.ServeHTTP(w, r)
}

// statusRecorder keeps the status for the log line; Unwrap lets
// http.ResponseController reach the connection (the event stream flushes
// and extends its write deadline through it).
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// CSP allows nothing from outside: scripts and styles are the embedded
// files, media the console's own routes (or data: and blob: URLs the
// scripts make for previews).
const CSP = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

func withCaching(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The files change only with the binary; a short cache spares
		// reloads without serving an old script after an upgrade for long.
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(w, r)
	})
}

// pageError is an error with the status and text the user sees.
type pageError struct {
	status int
	text   string
}

func (e *pageError) Error() string { return e.text }

func badRequest(format string, args ...any) error {
	return &pageError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}
func notFound(text string) error  { return &pageError{http.StatusNotFound, text} }
func forbidden(text string) error { return &pageError{http.StatusForbidden, text} }

// fail renders err: its own status and text for a pageError, 500 with a
// generic text (and an error log line) for anything else. 4xx log at
// debug: they are the user's mistakes.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	var pe *pageError
	var ae *apierr.Error
	switch {
	case errors.As(err, &pe):
	case errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500:
		pe = &pageError{ae.Status, ae.Error()}
	case errors.Is(err, sandbox.ErrUnknownUser):
		pe = &pageError{http.StatusNotFound, "The sandbox has no such customer"}
	case errors.Is(err, sandbox.ErrNotWhatsApp):
		pe = &pageError{http.StatusBadRequest, "This number has no WhatsApp in the sandbox"}
	}
	if pe == nil {
		if errors.Is(err, context.Canceled) {
			return
		}
		c.log.Error("console page failed", "path", r.URL.Path, "err", err)
		pe = &pageError{http.StatusInternalServerError, "Something went wrong on the server; the log says what"}
	} else {
		c.log.Debug("console request refused", "path", r.URL.Path, "status", pe.status, "reason", pe.text)
	}
	if r.Header.Get("X-Requested-With") == "fetch" || r.Header.Get("Accept") == "text/event-stream" {
		http.Error(w, pe.text, pe.status)
		return
	}
	c.render(w, r, s, pe.status, "error", map[string]any{"Status": pe.status, "Text": pe.text})
}

// page is what every page's layout reads.
type page struct {
	Title   string
	Active  string
	User    string
	Admin   bool
	Sandbox bool
	CSRF    string
	Notice  string
	Data    any
}

// render writes a page. Rendering goes to a buffer first so that a
// template error answers 500 rather than half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, status int, name string, data any) {
	t := c.pages[name]
	p := page{Title: name, Active: name, Sandbox: c.o.Sandbox != nil, Data: data, Notice: r.URL.Query().Get("notice")}
	if s != nil {
		p.User, p.Admin, p.CSRF = s.username, s.role == auth.RoleAdmin, s.csrf
	}
	var b strings.Builder
	if err := t.Execute(&b, p); err != nil {
		c.log.Error("console template failed", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprint(w, b.String())
}

// fragment renders one named template of a page alone (a live update).
func (c *Console) fragment(w http.ResponseWriter, page, name string, data any) error {
	var b strings.Builder
	if err := c.pages[page].ExecuteTemplate(&b, name, data); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err := fmt.Fprint(w, b.String())
	return err
}

// back redirects after a POST to where the form was, with a notice.
func back(w http.ResponseWriter, r *http.Request, to, notice string) error {
	if notice != "" {
		sep := "?"
		if strings.Contains(to, "?") {
			sep = "&"
		}
		to += sep + "notice=" + urlQueryEscape(notice)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func (c *Console) home(w http.ResponseWriter, r *http.Request, s *session) error {
	if c.o.Sandbox != nil {
		http.Redirect(w, r, Prefix+"/customers", http.StatusSeeOther)
	} else {
		http.Redirect(w, r, Prefix+"/webhooks", http.StatusSeeOther)
	}
	return nil
}
