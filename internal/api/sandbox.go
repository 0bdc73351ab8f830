package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"unicode/utf8"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/auth"
	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/message"
	"github.com/wabiz/wabiz/internal/network/sandbox"
	"github.com/wabiz/wabiz/internal/store"
)

// The sandbox control API (/sandbox/v1/...) drives the simulated WhatsApp:
// certificates and registration codes, and simulated users who write, read,
// go offline, change number or block the business. It exists only when the
// sandbox network is selected, and only the admin may use it.

// sandboxRoutes are /sandbox/v1/... when the sandbox network is selected:
// admin only, since they play WhatsApp itself.
func (s *Server) sandboxRoutes() []Route {
	if s.sandbox == nil {
		return nil
	}
	routes := []Route{
		{Method: "POST", Pattern: "/sandbox/v1/certificates", Handler: s.sandboxCertificate},
		{Method: "GET", Pattern: "/sandbox/v1/account/code", Handler: s.sandboxCode},
		{Method: "GET", Pattern: "/sandbox/v1/users", Handler: s.sandboxUsers},
		{Method: "GET", Pattern: "/sandbox/v1/users/{wa_id}", Handler: s.sandboxUser},
		{Method: "PATCH", Pattern: "/sandbox/v1/users/{wa_id}", Handler: s.sandboxUpdateUser},
		{Method: "POST", Pattern: "/sandbox/v1/users/{wa_id}/messages", Handler: s.sandboxUserSends},
		{Method: "GET", Pattern: "/sandbox/v1/users/{wa_id}/messages", Handler: s.sandboxUserMessages},
		{Method: "POST", Pattern: "/sandbox/v1/users/{wa_id}/read", Handler: s.sandboxUserReads},
		{Method: "POST", Pattern: "/sandbox/v1/users/{wa_id}/number", Handler: s.sandboxChangeNumber},
		{Method: "POST", Pattern: "/sandbox/v1/users/{wa_id}/identity", Handler: s.sandboxChangeIdentity},
		{Method: "GET", Pattern: "/sandbox/v1/world", Handler: s.sandboxWorld},
		{Method: "PATCH", Pattern: "/sandbox/v1/world", Handler: s.sandboxSetWorld},
		{Method: "GET", Pattern: "/sandbox/v1/business", Handler: s.sandboxBusinessProfile},
		{Method: "GET", Pattern: "/sandbox/v1/templates", Handler: s.sandboxTemplates},
		{Method: "POST", Pattern: "/sandbox/v1/templates", Handler: s.sandboxAddTemplates},
		{Method: "GET", Pattern: "/sandbox/v1/templates/{name}/{language}", Handler: s.sandboxTemplate},
		{Method: "PATCH", Pattern: "/sandbox/v1/templates/{name}/{language}", Handler: s.sandboxUpdateTemplate},
		{Method: "DELETE", Pattern: "/sandbox/v1/templates/{name}/{language}", Handler: s.sandboxDeleteTemplate},
	}
	for i := range routes {
		routes[i].Auth, routes[i].Role = AuthToken, auth.RoleAdmin
	}
	return routes
}

var waIDPattern = regexp.MustCompile(`^[1-9][0-9]{6,14}$`)

type certificateResponse struct {
	Certificate string `json:"certificate"`
}

// sandboxCertificate is POST /sandbox/v1/certificates.
func (s *Server) sandboxCertificate(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	var errs apierr.List
	cc := requiredMatching(p, "cc", ccPattern, &errs)
	phone := requiredMatching(p, "phone_number", phonePattern, &errs)
	vname := requiredMatching(p, "vname", nil, &errs)
	if utf8.RuneCountInString(vname) > 256 {
		errs.Merge(apierr.InvalidValue("vname", vname))
	}
	if e := errs.Err(); e != nil {
		return e
	}
	cert, err := s.sandbox.IssueCertificate(r.Context(), cc, phone, vname)
	if err != nil {
		return err
	}
	s.writeOK(w, http.StatusCreated, certificateResponse{Certificate: cert})
	return nil
}

type codeResponse struct {
	Code string `json:"code"`
}

// sandboxCode is GET /sandbox/v1/account/code: the code "sent" by SMS or
// voice for the registration in progress.
func (s *Server) sandboxCode(w http.ResponseWriter, r *http.Request) error {
	code, err := s.sandbox.PendingCode(r.Context())
	if err != nil {
		return err
	}
	if code == "" {
		return apierr.New(1006, "No registration code is pending: request one with POST /v1/account")
	}
	s.writeOK(w, http.StatusOK, codeResponse{Code: code})
	return nil
}

// waIDFromPath reads {wa_id} from the path.
func waIDFromPath(r *http.Request) (string, error) {
	id := r.PathValue("wa_id")
	if !waIDPattern.MatchString(id) {
		return "", apierr.InvalidValue("wa_id", id)
	}
	return id, nil
}

// waIDAndParam reads {wa_id} from the path and one mandatory string
// parameter (matching pattern, when given) from the body: the shape of
// several nodes that act on one user.
func waIDAndParam(r *http.Request, name string, pattern *regexp.Regexp) (waID, value string, err error) {
	if waID, err = waIDFromPath(r); err != nil {
		return "", "", err
	}
	p, err := readParams(r)
	if err != nil {
		return "", "", err
	}
	var errs apierr.List
	value = requiredMatching(p, name, pattern, &errs)
	if e := errs.Err(); e != nil {
		return "", "", e
	}
	return waID, value, nil
}

// sandboxUserSends is POST /sandbox/v1/users/{wa_id}/messages: the user
// writes to the business. The body is the message as the user would send it.
func (s *Server) sandboxUserSends(w http.ResponseWriter, r *http.Request) error {
	waID, err := waIDFromPath(r)
	if err != nil {
		return err
	}
	p, err := readParams(r)
	if err != nil {
		return err
	}
	in, apiErr := message.DecodeInbound(p)
	if apiErr != nil {
		return apiErr
	}
	msg := sandbox.UserMessage{Type: in.Type, Content: in.Content}
	if in.Media != nil {
		file, err := s.userMediaFile(r, in)
		if err != nil {
			return err
		}
		msg.Media = file
	}
	id, err := s.sandbox.UserSends(r.Context(), waID, msg)
	if errors.Is(err, sandbox.ErrNotWhatsApp) {
		return apierr.New(1013, waID+" has no WhatsApp in this sandbox")
	}
	if err != nil {
		return err
	}
	s.writeOK(w, http.StatusCreated, messagesResponse{Messages: []messageID{{ID: id}}})
	return nil
}

type sandboxUserJSON struct {
	WaID        string `json:"wa_id"`
	DisplayName string `json:"display_name"`
	Online      bool   `json:"online"`
	AutoReadMs  int64  `json:"auto_read_ms"`
	Blocked     bool   `json:"blocked"`
	WhatsApp    bool   `json:"whatsapp"`
}

type sandboxUsersResponse struct {
	Users []sandboxUserJSON `json:"users"`
}

func userJSON(u store.SandboxUser) sandboxUserJSON {
	return sandboxUserJSON{WaID: u.WaID, DisplayName: u.DisplayName, Online: u.Online, AutoReadMs: u.AutoReadMs, Blocked: u.Blocked, WhatsApp: u.WhatsApp}
}

// sandboxUsers is GET /sandbox/v1/users.
func (s *Server) sandboxUsers(w http.ResponseWriter, r *http.Request) error {
	users, err := s.sandbox.Users(r.Context())
	if err != nil {
		return err
	}
	resp := sandboxUsersResponse{Users: []sandboxUserJSON{}}
	for _, u := range users {
		resp.Users = append(resp.Users, userJSON(u))
	}
	s.writeOK(w, http.StatusOK, resp)
	return nil
}

// sandboxUser is GET /sandbox/v1/users/{wa_id} (meeting the user if new).
func (s *Server) sandboxUser(w http.ResponseWriter, r *http.Request) error {
	waID, err := waIDFromPath(r)
	if err != nil {
		return err
	}
	u, err := s.sandbox.User(r.Context(), waID)
	if err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, sandboxUsersResponse{Users: []sandboxUserJSON{userJSON(u)}})
	return nil
}

// sandboxUpdateUser is PATCH /sandbox/v1/users/{wa_id}: display_name,
// online, auto_read_ms (-1 never, 0 the world's default), blocked, whatsapp.
func (s *Server) sandboxUpdateUser(w http.ResponseWriter, r *http.Request) error {
	waID, err := waIDFromPath(r)
	if err != nil {
		return err
	}
	p, err := readParams(r)
	if err != nil {
		return err
	}
	var upd sandbox.UserUpdate
	var errs apierr.List
	recognised := false
	decode := func(name string, dst any, valid func() bool) {
		raw, ok := p[name]
		if !ok {
			return
		}
		recognised = true
		if json.Unmarshal(raw, dst) != nil || string(bytes.TrimSpace(raw)) == "null" || !valid() {
			errs.Merge(apierr.InvalidValue(name, displayJSON(raw)))
		}
	}
	decode("display_name", &upd.DisplayName, func() bool { return upd.DisplayName != nil && utf8.RuneCountInString(*upd.DisplayName) <= 256 })
	decode("online", &upd.Online, func() bool { return true })
	decode("auto_read_ms", &upd.AutoReadMs, func() bool { return upd.AutoReadMs != nil && *upd.AutoReadMs >= -1 && *upd.AutoReadMs <= 86_400_000 })
	decode("blocked", &upd.Blocked, func() bool { return true })
	decode("whatsapp", &upd.WhatsApp, func() bool { return true })
	if e := errs.Err(); e != nil {
		return e
	}
	if !recognised {
		return apierr.New(1009, "No valid parameters provided")
	}
	u, err := s.sandbox.UpdateUser(r.Context(), waID, upd)
	if err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, sandboxUsersResponse{Users: []sandboxUserJSON{userJSON(u)}})
	return nil
}

type sandboxMessageJSON struct {
	ID        string          `json:"id"`
	Status    string          `json:"status,omitempty"`
	Timestamp string          `json:"timestamp"`
	Rendered  string          `json:"rendered,omitempty"`
	Message   json.RawMessage `json:"message"`
}

type sandboxConversationResponse struct {
	Received []sandboxMessageJSON `json:"received"`
	Sent     []sandboxMessageJSON `json:"sent"`
}

func messagesJSON(msgs []store.SandboxMessage) []sandboxMessageJSON {
	out := make([]sandboxMessageJSON, 0, len(msgs))
	for _, m := range msgs {
		body := json.RawMessage(m.Body)
		if !json.Valid(body) {
			body = json.RawMessage("null")
		}
		out = append(out, sandboxMessageJSON{ID: m.ID, Status: m.Status, Timestamp: formatUnix(m.At.Unix()), Rendered: sandbox.Render(body), Message: body})
	}
	return out
}

// sandboxUserMessages is GET /sandbox/v1/users/{wa_id}/messages: what the
// user's phone shows, received and sent, with their status.
func (s *Server) sandboxUserMessages(w http.ResponseWriter, r *http.Request) error {
	waID, err := waIDFromPath(r)
	if err != nil {
		return err
	}
	conv, err := s.sandbox.UserConversation(r.Context(), waID, 1000)
	if errors.Is(err, sandbox.ErrUnknownUser) {
		return apierr.New(1006, "The sandbox has no user "+waID)
	}
	if err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, sandboxConversationResponse{Received: messagesJSON(conv.Received), Sent: messagesJSON(conv.Sent)})
	return nil
}

// sandboxUserReads is POST /sandbox/v1/users/{wa_id}/read {"message_id"}.
func (s *Server) sandboxUserReads(w http.ResponseWriter, r *http.Request) error {
	waID, id, err := waIDAndParam(r, "message_id", nil)
	if err != nil {
		return err
	}
	err = s.sandbox.UserReads(r.Context(), waID, id)
	if errors.Is(err, sandbox.ErrUnknownMessage) {
		return apierr.New(1006, "User "+waID+" has no message "+id)
	}
	if err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

// sandboxChangeNumber is POST /sandbox/v1/users/{wa_id}/number {"new_wa_id"}.
func (s *Server) sandboxChangeNumber(w http.ResponseWriter, r *http.Request) error {
	waID, newID, err := waIDAndParam(r, "new_wa_id", waIDPattern)
	if err != nil {
		return err
	}
	if newID == waID {
		return apierr.InvalidValue("new_wa_id", newID)
	}
	if err := s.sandbox.ChangeNumber(r.Context(), waID, newID); err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

type worldResponse struct {
	World sandbox.World `json:"world"`
}

// sandboxWorld is GET /sandbox/v1/world: the rules simulated users follow.
func (s *Server) sandboxWorld(w http.ResponseWriter, r *http.Request) error {
	world, err := s.sandbox.World(r.Context())
	if err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, worldResponse{World: world})
	return nil
}

// sandboxSetWorld is PATCH /sandbox/v1/world: a partial update of the rules.
func (s *Server) sandboxSetWorld(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	world, err := s.sandbox.World(r.Context())
	if err != nil {
		return err
	}
	// Merge key by key so each bad value is named the way the API names
	// them; unknown keys are ignored, as settings PATCH ignores them.
	current, _ := json.Marshal(world)
	var fields map[string]json.RawMessage
	json.Unmarshal(current, &fields)
	var errs apierr.List
	recognised := false
	for _, k := range slices.Sorted(maps.Keys(p)) {
		v := p[k]
		old, ok := fields[k]
		if !ok {
			continue
		}
		recognised = true
		if !sameJSONKind(old, v) {
			errs.Merge(apierr.InvalidValue(k, displayJSON(v)))
			continue
		}
		fields[k] = v
	}
	if e := errs.Err(); e != nil {
		return e
	}
	if !recognised {
		return apierr.New(1009, "No valid parameters provided")
	}
	merged, _ := json.Marshal(fields)
	var next sandbox.World
	if err := json.Unmarshal(merged, &next); err != nil {
		return apierr.New(1009, "Invalid world: "+err.Error())
	}
	if err := s.sandbox.SetWorld(r.Context(), next); err != nil {
		return apierr.New(1009, "Invalid world: "+err.Error())
	}
	s.writeOK(w, http.StatusOK, worldResponse{World: next})
	return nil
}

// sameJSONKind reports whether v has the JSON type of old (string, number,
// boolean, array), so a world field keeps its type.
func sameJSONKind(old, v json.RawMessage) bool {
	kind := func(raw json.RawMessage) byte {
		t := bytes.TrimSpace(raw)
		if len(t) == 0 {
			return 0
		}
		switch t[0] {
		case 't', 'f':
			return 'b'
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return 'n'
		}
		return t[0]
	}
	if kind(v) == 'n' && kind(old) == 'n' {
		var n int64
		return json.Unmarshal(v, &n) == nil
	}
	return kind(old) == kind(v)
}

// userMediaFile is the file a simulated user sends: the bytes of a media id
// uploaded through /v1/media, or a small valid sample the sandbox makes for
// the kind.
func (s *Server) userMediaFile(r *http.Request, in *message.Inbound) (*sandbox.UserMedia, error) {
	file := &sandbox.UserMedia{Kind: in.Type, MimeType: in.Media.MimeType, Filename: in.Media.Filename}
	if in.Media.MediaID == "" {
		// The sample's own type: the bytes decide what the file is.
		file.Data, file.MimeType = media.Sample(in.Type)
		return file, nil
	}
	if s.media == nil {
		return nil, apierr.Newf(1006, "File with id %s not found", in.Media.MediaID)
	}
	rec, body, err := s.media.Open(r.Context(), in.Media.MediaID)
	if errors.Is(err, media.ErrNotFound) || errors.Is(err, media.ErrPending) {
		return nil, apierr.Newf(1006, "File with id %s not found", in.Media.MediaID)
	}
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	if file.MimeType == "" {
		file.MimeType = rec.MimeType
	}
	if file.Filename == "" {
		file.Filename = rec.Filename
	}
	file.Data = data
	return file, nil
}
