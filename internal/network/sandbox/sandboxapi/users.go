package sandboxapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/wabiz/wabiz/internal/api"
	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/message"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/sandbox"
	"github.com/wabiz/wabiz/internal/store"
)

type certificateResponse struct {
	Certificate string `json:"certificate"`
}

// certificate is POST /sandbox/v1/certificates.
func (h handlers) certificate(w http.ResponseWriter, r *http.Request) error {
	p, err := api.ReadParams(r)
	if err != nil {
		return err
	}
	var errs apierr.List
	cc := api.RequiredMatching(p, "cc", api.CCPattern, &errs)
	phone := api.RequiredMatching(p, "phone_number", api.PhonePattern, &errs)
	vname := api.RequiredMatching(p, "vname", nil, &errs)
	if utf8.RuneCountInString(vname) > 256 {
		errs.Merge(apierr.InvalidValue("vname", vname))
	}
	if e := errs.Err(); e != nil {
		return e
	}
	cert, err := h.control.IssueCertificate(r.Context(), cc, phone, vname)
	if err != nil {
		return err
	}
	h.env.WriteOK(w, http.StatusCreated, certificateResponse{Certificate: cert})
	return nil
}

type codeResponse struct {
	Code string `json:"code"`
}

// code is GET /sandbox/v1/account/code: the code "sent" by SMS or
// voice for the registration in progress.
func (h handlers) code(w http.ResponseWriter, r *http.Request) error {
	code, err := h.control.PendingCode(r.Context())
	if err != nil {
		return err
	}
	if code == "" {
		return apierr.New(1006, "No registration code is pending: request one with POST /v1/account")
	}
	h.env.WriteOK(w, http.StatusOK, codeResponse{Code: code})
	return nil
}

// userSends is POST /sandbox/v1/users/{wa_id}/messages: the user
// writes to the business. The body is the message as the user would send it.
func (h handlers) userSends(w http.ResponseWriter, r *http.Request) error {
	waID, err := api.WaIDFromPath(r)
	if err != nil {
		return err
	}
	p, err := api.ReadParams(r)
	if err != nil {
		return err
	}
	in, apiErr := message.DecodeInbound(p)
	if apiErr != nil {
		return apiErr
	}
	msg := sandbox.UserMessage{Type: in.Type, Content: in.Content}
	if in.Media != nil {
		file, err := h.userMediaFile(r, in)
		if err != nil {
			return err
		}
		msg.Media = file
	}
	id, err := h.control.UserSends(r.Context(), waID, msg)
	if errors.Is(err, sandbox.ErrNotWhatsApp) {
		return apierr.New(1013, waID+" has no WhatsApp in this sandbox")
	}
	if err != nil {
		return err
	}
	h.env.WriteOK(w, http.StatusCreated, messagesResponse{Messages: []messageID{{ID: id}}})
	return nil
}

// messagesResponse is the answer of a send, as POST /v1/messages answers.
type messagesResponse struct {
	Messages []messageID `json:"messages"`
}

type messageID struct {
	ID string `json:"id"`
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

// users is GET /sandbox/v1/users.
func (h handlers) users(w http.ResponseWriter, r *http.Request) error {
	users, err := h.control.Users(r.Context())
	if err != nil {
		return err
	}
	resp := sandboxUsersResponse{Users: []sandboxUserJSON{}}
	for _, u := range users {
		resp.Users = append(resp.Users, userJSON(u))
	}
	h.env.WriteOK(w, http.StatusOK, resp)
	return nil
}

// user is GET /sandbox/v1/users/{wa_id} (meeting the user if new).
func (h handlers) user(w http.ResponseWriter, r *http.Request) error {
	waID, err := api.WaIDFromPath(r)
	if err != nil {
		return err
	}
	u, err := h.control.User(r.Context(), waID)
	if err != nil {
		return err
	}
	h.env.WriteOK(w, http.StatusOK, sandboxUsersResponse{Users: []sandboxUserJSON{userJSON(u)}})
	return nil
}

// updateUser is PATCH /sandbox/v1/users/{wa_id}: display_name,
// online, auto_read_ms (-1 never, 0 the world's default), blocked, whatsapp.
func (h handlers) updateUser(w http.ResponseWriter, r *http.Request) error {
	waID, err := api.WaIDFromPath(r)
	if err != nil {
		return err
	}
	p, err := api.ReadParams(r)
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
			errs.Merge(apierr.InvalidValue(name, api.DisplayJSON(raw)))
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
	u, err := h.control.UpdateUser(r.Context(), waID, upd)
	if err != nil {
		return err
	}
	h.env.WriteOK(w, http.StatusOK, sandboxUsersResponse{Users: []sandboxUserJSON{userJSON(u)}})
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
		out = append(out, sandboxMessageJSON{ID: m.ID, Status: m.Status, Timestamp: strconv.FormatInt(m.At.Unix(), 10), Rendered: sandbox.Render(body), Message: body})
	}
	return out
}

// userMessages is GET /sandbox/v1/users/{wa_id}/messages: what the
// user's phone shows, received and sent, with their status.
func (h handlers) userMessages(w http.ResponseWriter, r *http.Request) error {
	waID, err := api.WaIDFromPath(r)
	if err != nil {
		return err
	}
	conv, err := h.control.UserConversation(r.Context(), waID, 1000)
	if errors.Is(err, sandbox.ErrUnknownUser) {
		return apierr.New(1006, "The sandbox has no user "+waID)
	}
	if err != nil {
		return err
	}
	h.env.WriteOK(w, http.StatusOK, sandboxConversationResponse{Received: messagesJSON(conv.Received), Sent: messagesJSON(conv.Sent)})
	return nil
}

// userReads is POST /sandbox/v1/users/{wa_id}/read {"message_id"}.
func (h handlers) userReads(w http.ResponseWriter, r *http.Request) error {
	waID, id, err := api.WaIDAndParam(r, "message_id", nil)
	if err != nil {
		return err
	}
	err = h.control.UserReads(r.Context(), waID, id)
	if errors.Is(err, sandbox.ErrUnknownMessage) {
		return apierr.New(1006, "User "+waID+" has no message "+id)
	}
	if err != nil {
		return err
	}
	h.env.WriteOK(w, http.StatusOK, nil)
	return nil
}

// changeNumber is POST /sandbox/v1/users/{wa_id}/number {"new_wa_id"}.
func (h handlers) changeNumber(w http.ResponseWriter, r *http.Request) error {
	waID, newID, err := api.WaIDAndParam(r, "new_wa_id", api.WaIDPattern)
	if err != nil {
		return err
	}
	if newID == waID {
		return apierr.InvalidValue("new_wa_id", newID)
	}
	if err := h.control.ChangeNumber(r.Context(), waID, newID); err != nil {
		return err
	}
	h.env.WriteOK(w, http.StatusOK, nil)
	return nil
}

type worldResponse struct {
	World sandbox.World `json:"world"`
}

// world is GET /sandbox/v1/world: the rules simulated users follow.
func (h handlers) world(w http.ResponseWriter, r *http.Request) error {
	world, err := h.control.World(r.Context())
	if err != nil {
		return err
	}
	h.env.WriteOK(w, http.StatusOK, worldResponse{World: world})
	return nil
}

// setWorld is PATCH /sandbox/v1/world: a partial update of the rules.
func (h handlers) setWorld(w http.ResponseWriter, r *http.Request) error {
	p, err := api.ReadParams(r)
	if err != nil {
		return err
	}
	world, err := h.control.World(r.Context())
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
			errs.Merge(apierr.InvalidValue(k, api.DisplayJSON(v)))
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
	if err := h.control.SetWorld(r.Context(), next); err != nil {
		return apierr.New(1009, "Invalid world: "+err.Error())
	}
	h.env.WriteOK(w, http.StatusOK, worldResponse{World: next})
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
func (h handlers) userMediaFile(r *http.Request, in *message.Inbound) (*sandbox.UserMedia, error) {
	file := &sandbox.UserMedia{Kind: in.Type, MimeType: in.Media.MimeType, Filename: in.Media.Filename}
	if in.Media.MediaID == "" {
		// The sample's own type: the bytes decide what the file is.
		file.Data, file.MimeType = media.Sample(in.Type)
		return file, nil
	}
	if h.files == nil {
		return nil, apierr.Newf(1006, "File with id %s not found", in.Media.MediaID)
	}
	rec, body, err := h.files.Open(r.Context(), in.Media.MediaID)
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

type sandboxIdentityResponse struct {
	Identity struct {
		Hash string `json:"hash"`
	} `json:"identity"`
}

// changeIdentity is POST /sandbox/v1/users/{wa_id}/identity: the
// user's identity changes (a new phone), and the business is told.
func (h handlers) changeIdentity(w http.ResponseWriter, r *http.Request) error {
	waID, err := api.WaIDFromPath(r)
	if err != nil {
		return err
	}
	hash, err := h.control.ChangeIdentity(r.Context(), waID)
	if err != nil {
		return err
	}
	var resp sandboxIdentityResponse
	resp.Identity.Hash = hash
	h.env.WriteOK(w, http.StatusOK, resp)
	return nil
}

// businessProfile is GET /sandbox/v1/business: the profile as the
// simulated users see it.
func (h handlers) businessProfile(w http.ResponseWriter, r *http.Request) error {
	p, err := h.control.BusinessProfile(r.Context())
	if err != nil {
		return err
	}
	h.env.WriteOK(w, http.StatusOK, struct {
		Business network.BusinessProfile `json:"business"`
	}{p})
	return nil
}
