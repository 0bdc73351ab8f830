package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/wabiz/wabiz/internal/message"
	"github.com/wabiz/wabiz/internal/network/sandbox"
	"github.com/wabiz/wabiz/internal/store"
)

// The chat page: one customer's phone. The customer writes text, sends a
// file, a location, a contact, a reaction or a reply, taps a button or a
// list row, and reads. Every send goes through sandbox.UserSends as the
// sandbox API's does, validated by message.DecodeInbound, so what the
// webhook receives is what a real phone's message would produce.

// maxUpload bounds a file the customer sends (a phone's video limit is
// 16 MB; documents may be larger, but a console test rarely needs them).
const maxUpload = 16 << 20

const chatLimit = 500

type chatData struct {
	User    store.SandboxUser
	Bubbles []Bubble
	CanEdit bool
	CSRF    string
}

func (c *Console) chatData(r *http.Request, s *session) (chatData, error) {
	u, err := c.knownUser(r)
	if err != nil {
		return chatData{}, err
	}
	conv, err := c.o.Sandbox.UserConversation(r.Context(), u.WaID, chatLimit)
	if isUnknownUser(err) {
		return chatData{}, notFound("The sandbox has no customer " + u.WaID)
	}
	if err != nil {
		return chatData{}, err
	}
	return chatData{User: u, Bubbles: Bubbles(conv.Received, conv.Sent), CanEdit: s.role == "ROLE_ADMIN", CSRF: s.csrf}, nil
}

func (c *Console) chat(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.chatData(r, s)
	if err != nil {
		return err
	}
	c.render(w, r, s, http.StatusOK, "chat", d)
	return nil
}

// chatMessages is the bubbles alone, for the live update.
func (c *Console) chatMessages(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.chatData(r, s)
	if err != nil {
		return err
	}
	return c.fragment(w, "chat", "bubbles", d)
}

// customerSends builds the message the form describes and sends it.
func (c *Console) customerSends(w http.ResponseWriter, r *http.Request, s *session) error {
	u, err := c.knownUser(r)
	if err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload+64<<10)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return badRequest("The form could not be read (a file over 16 MB?): %v", err)
		}
	}
	params := map[string]any{}
	var file *sandbox.UserMedia
	kind := r.FormValue("kind")
	ctxID := strings.TrimSpace(r.FormValue("context"))
	if ctxID != "" {
		params["context"] = map[string]string{"id": ctxID}
	}
	switch kind {
	case "text":
		body := r.FormValue("body")
		if strings.TrimSpace(body) == "" {
			return badRequest("Write something first")
		}
		params["type"], params["text"] = "text", map[string]string{"body": body}
	case "location":
		lat, err1 := strconv.ParseFloat(strings.TrimSpace(r.FormValue("latitude")), 64)
		lng, err2 := strconv.ParseFloat(strings.TrimSpace(r.FormValue("longitude")), 64)
		if err1 != nil || err2 != nil {
			return badRequest("Latitude and longitude must be numbers")
		}
		loc := map[string]any{"latitude": lat, "longitude": lng}
		if n := strings.TrimSpace(r.FormValue("name")); n != "" {
			loc["name"] = n
		}
		if a := strings.TrimSpace(r.FormValue("address")); a != "" {
			loc["address"] = a
		}
		params["type"], params["location"] = "location", loc
	case "contact":
		name, phone := strings.TrimSpace(r.FormValue("name")), strings.TrimSpace(r.FormValue("phone"))
		if name == "" {
			return badRequest("A contact card needs a name")
		}
		card := map[string]any{"name": map[string]string{"formatted_name": name, "first_name": name}}
		if phone != "" {
			card["phones"] = []map[string]string{{"phone": phone, "type": "CELL"}}
		}
		params["type"], params["contacts"] = "contacts", []any{card}
	case "reaction":
		id := strings.TrimSpace(r.FormValue("message_id"))
		if id == "" {
			return badRequest("A reaction needs the message it reacts to")
		}
		// Reactions reach the business as the reaction type of the
		// Cloud era only; On-Premises shows them as text with context.
		params["type"], params["text"] = "text", map[string]string{"body": r.FormValue("emoji")}
		params["context"] = map[string]string{"id": id}
	case "button_reply", "list_reply":
		reply := map[string]string{"id": r.FormValue("reply_id"), "title": r.FormValue("reply_title")}
		if d := r.FormValue("reply_description"); d != "" && kind == "list_reply" {
			reply["description"] = d
		}
		params["type"], params["interactive"] = "interactive", map[string]any{"type": kind, kind: reply}
	case "button":
		params["type"], params["button"] = "button", map[string]string{"payload": r.FormValue("payload"), "text": r.FormValue("text")}
	case "file":
		if file, err = uploadedFile(r); err != nil {
			return err
		}
		obj := map[string]string{"mime_type": file.MimeType}
		if cap := r.FormValue("caption"); cap != "" && file.Kind != "audio" && file.Kind != "sticker" {
			obj["caption"] = cap
		}
		if file.Kind == "document" {
			obj["filename"] = file.Filename
		}
		params["type"], params[file.Kind] = file.Kind, obj
	default:
		return badRequest("Unknown kind of message %q", kind)
	}
	raw, _ := json.Marshal(params)
	var p map[string]json.RawMessage
	json.Unmarshal(raw, &p)
	in, apiErr := message.DecodeInbound(p)
	if apiErr != nil {
		return badRequest("The message is not valid: %s", apiErr.Error())
	}
	msg := sandbox.UserMessage{Type: in.Type, Content: in.Content}
	if file != nil {
		file.MimeType = in.Media.MimeType
		msg.Media = file
	}
	id, err := c.o.Sandbox.UserSends(r.Context(), u.WaID, msg)
	if errors.Is(err, sandbox.ErrNotWhatsApp) {
		return badRequest("%s has no WhatsApp in this sandbox: turn WhatsApp on first", u.WaID)
	}
	if err != nil {
		return err
	}
	if r.Header.Get("X-Requested-With") == "fetch" {
		w.Header().Set("Content-Type", "application/json")
		return json.NewEncoder(w).Encode(map[string]string{"id": id})
	}
	return back(w, r, Prefix+"/customers/"+u.WaID, "")
}

// uploadedFile reads the form's file and decides what kind of message it
// makes from its bytes.
func uploadedFile(r *http.Request) (*sandbox.UserMedia, error) {
	f, hdr, err := r.FormFile("file")
	if err != nil {
		return nil, badRequest("Choose a file to send")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxUpload+1))
	if err != nil {
		return nil, badRequest("The file could not be read: %v", err)
	}
	if len(data) == 0 || len(data) > maxUpload {
		return nil, badRequest("The file must hold 1 byte to 16 MB")
	}
	mimeType := sniff(data, hdr)
	kind := "document"
	switch {
	case r.FormValue("as") == "sticker" && mimeType == "image/webp":
		kind = "sticker"
	case strings.HasPrefix(mimeType, "image/"):
		kind = "image"
	case strings.HasPrefix(mimeType, "video/"):
		kind = "video"
	case strings.HasPrefix(mimeType, "audio/"):
		kind = "audio"
	}
	return &sandbox.UserMedia{Kind: kind, MimeType: mimeType, Data: data, Filename: hdr.Filename}, nil
}

func sniff(data []byte, hdr *multipart.FileHeader) string {
	t := http.DetectContentType(data)
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = t[:i]
	}
	if t == "application/octet-stream" || t == "text/plain" {
		if ct := hdr.Header.Get("Content-Type"); ct != "" {
			t = ct
		}
	}
	return t
}

// customerReads marks one business message read, or all of them.
func (c *Console) customerReads(w http.ResponseWriter, r *http.Request, s *session) error {
	u, err := c.knownUser(r)
	if err != nil {
		return err
	}
	ids := []string{strings.TrimSpace(r.PostFormValue("message_id"))}
	if ids[0] == "" {
		conv, err := c.o.Sandbox.UserConversation(r.Context(), u.WaID, chatLimit)
		if err != nil {
			return err
		}
		ids = ids[:0]
		for _, m := range conv.Received {
			if m.Status != "read" {
				ids = append(ids, m.ID)
			}
		}
	}
	for _, id := range ids {
		err := c.o.Sandbox.UserReads(r.Context(), u.WaID, id)
		if errors.Is(err, sandbox.ErrUnknownMessage) {
			return notFound(u.WaID + " has no message " + id)
		}
		if err != nil {
			return err
		}
	}
	if r.Header.Get("X-Requested-With") == "fetch" {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return back(w, r, Prefix+"/customers/"+u.WaID, "")
}

// media streams a file of a chat from the sandbox's media store: biz-<id>
// is a file the business sent, sbx-<message id> one the customer sent.
func (c *Console) media(w http.ResponseWriter, r *http.Request, s *session) error {
	key := r.PathValue("key")
	if !strings.HasPrefix(key, "biz-") && !strings.HasPrefix(key, "sbx-") || len(key) > 200 {
		return notFound("No such file")
	}
	mimeType, _, data, err := c.o.Store.GetSandboxMedia(r.Context(), key)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("No such file")
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", mimeType)
	w.Header().Set("Cache-Control", "private, max-age=3600")
	// Files are shown inline only when the browser draws them safely;
	// anything else downloads.
	if !strings.HasPrefix(mimeType, "image/") && !strings.HasPrefix(mimeType, "video/") && !strings.HasPrefix(mimeType, "audio/") || mimeType == "image/svg+xml" {
		w.Header().Set("Content-Disposition", "attachment")
	}
	http.ServeContent(w, r, "", timeZero, bytes.NewReader(data))
	return nil
}
