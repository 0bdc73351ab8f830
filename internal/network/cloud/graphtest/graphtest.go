// Package graphtest is a Graph API test double for the Cloud bridge: an
// httptest server that checks what Meta's documented contract requires
// (paths under the version prefix, the Bearer token, "messaging_product":
// "whatsapp"), answers as the Graph does, records every send, serves
// paginated templates and media, fails on demand, and builds signed
// webhook deliveries.
package graphtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version is the path prefix the double serves, as GraphURL ends.
const Version = "/v21.0"

// Failure is an answer to give instead of the normal one.
type Failure struct {
	HTTPStatus int // default 400
	Code       int
	Subcode    int
	Message    string
	Hang       bool // close the connection without answering (an ambiguous failure)
	Stall      bool // answer nothing until the caller gives up (a timeout)
	// Raw, when set, is the body instead of a Graph error: what a proxy
	// or load balancer in front of the Graph answers.
	Raw string
}

// Server is the double.
type Server struct {
	*httptest.Server
	PhoneNumberID, WABAID, Token, Namespace, VerifiedName, DisplayNumber string
	// AppID is the Meta app whose Resumable Upload API takes the profile photo.
	AppID    string
	PageSize int
	// IgnoreRange serves whole files to Range requests, as a server
	// without range support does.
	IgnoreRange bool

	mu         sync.Mutex
	sendDelay  time.Duration // see SetSendDelay
	after      func(time.Duration) <-chan time.Time
	sends      []map[string]any
	sentIDs    []string
	requests   []string
	failures   []Failure
	templates  []map[string]any
	media      map[string]media
	nextID     int
	uploads    int
	profile    map[string]any
	compliance map[string]any // the business compliance information last set
	pin        string
	tickets    map[string]string // media URL ticket -> media id, while the URL is valid
	cutAfter   []int             // byte counts after which the next file downloads break off
	stale      int               // how many of the next media URLs are handed out expired
	sessions   map[string]*uploadSession
	handles    map[string][]byte // file handles of finished uploads -> bytes
	photo      []byte            // the profile photo set with profile_picture_handle
	scopes     []string          // the permissions debug_token reports for Token
	expiresAt  int64             // debug_token's expires_at for Token (0 = never)
}

// uploadSession is one Resumable Upload API session.
type uploadSession struct {
	sig      string
	length   int
	fileType string
	data     []byte
}

type media struct {
	mime string
	data []byte
}

// New starts a double; it stops with the test.
func New(t testing.TB) *Server {
	s := Start()
	t.Cleanup(s.Close)
	return s
}

// Start starts a double outside a test (the benchmark program); the
// caller stops it with Close.
func Start() *Server {
	s := &Server{PhoneNumberID: "106540352242922", WABAID: "102290129340398", Token: "test-token",
		Namespace: "b9b5d5e7_2f5a_4d3b_8f4e_1c2d3e4f5a6b", VerifiedName: "Wabiz Test", DisplayNumber: "+1 555-010-0000",
		AppID:    "1234567890123456",
		PageSize: 2, media: map[string]media{}, tickets: map[string]string{},
		sessions: map[string]*uploadSession{}, handles: map[string][]byte{}, after: time.After,
		scopes: []string{"whatsapp_business_management", "whatsapp_business_messaging"}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// GraphURL is what Options.GraphURL should be.
func (s *Server) GraphURL() string { return s.URL + Version }

// FailNext makes the next n Graph calls (any path but media files) answer f.
func (s *Server) FailNext(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, f)
	}
}

// SetSendDelay makes every POST /{phone-number-id}/messages answer d after
// it arrived, as a Graph round trip of that length; sends overlap (no lock
// is held while one waits), so a client sending k at once gets k/d per
// second. The benchmark measures scaling with it.
func (s *Server) SetSendDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendDelay = d
}

// Sends returns the bodies of the accepted and refused sends, in order.
func (s *Server) Sends() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.sends...)
}

// SentIDs are the message ids the double answered sends with, in order.
func (s *Server) SentIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sentIDs...)
}

// Requests lists "METHOD path" of every call.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// AddTemplate adds a template in the Cloud's shape.
func (s *Server) AddTemplate(t map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.templates = append(s.templates, t)
}

// AddMedia stores a file users sent; it answers GET /{id}.
func (s *Server) AddMedia(id, mime string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.media[id] = media{mime, data}
}

// ExpireMedia forgets a media id, as the Cloud does 30 days after an
// upload: sends naming it are refused.
func (s *Server) ExpireMedia(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.media, id)
}

// ExpireMediaURLs makes every media URL handed out so far invalid, as the
// Cloud's expire minutes after GET /{media-id}: a download must ask for a
// new one.
func (s *Server) ExpireMediaURLs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tickets)
}

// HandOutExpiredURLs makes the next n GET /{media-id} answers carry URLs
// that have expired already (a download that starts too late); 0 makes
// them valid again.
func (s *Server) HandOutExpiredURLs(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stale = n
}

// CutNextDownload makes the next file download break off after n bytes
// (the connection closes mid-body); its URL expires at the same moment.
func (s *Server) CutNextDownload(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cutAfter = append(s.cutAfter, n)
}

// Uploads is the number of media uploads accepted.
func (s *Server) Uploads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uploads
}

// Profile is the business profile as the updates made it (nil before any).
func (s *Server) Profile() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.profile == nil {
		return nil
	}
	out := map[string]any{}
	for k, v := range s.profile {
		out[k] = v
	}
	return out
}

// ProfilePhoto is the photo the last profile_picture_handle named (nil
// before any).
func (s *Server) ProfilePhoto() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.photo...)
}

// PIN is the two-step verification PIN last set with POST /{phone-number-id}.
func (s *Server) PIN() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pin
}

// Sign is the X-Hub-Signature-256 of body.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Delivery builds a webhook body for this number carrying value's keys
// (contacts, messages, statuses) and its signature under secret.
func (s *Server) Delivery(secret string, value map[string]any) ([]byte, string) {
	v := map[string]any{"messaging_product": "whatsapp",
		"metadata": map[string]any{"display_phone_number": "15550100000", "phone_number_id": s.PhoneNumberID}}
	for k, x := range value {
		v[k] = x
	}
	body, _ := json.Marshal(map[string]any{"object": "whatsapp_business_account",
		"entry": []any{map[string]any{"id": s.WABAID, "changes": []any{map[string]any{"field": "messages", "value": v}}}}})
	return body, Sign(secret, body)
}

func graphError(w http.ResponseWriter, status, code, subcode int, msg string) {
	graphErrorDetails(w, status, code, subcode, msg, "")
}

func graphErrorDetails(w http.ResponseWriter, status, code, subcode int, msg, details string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	e := map[string]any{"message": msg, "type": "OAuthException", "code": code, "error_subcode": subcode, "fbtrace_id": "AbCdEfGhIjK"}
	if details != "" {
		e["error_data"] = map[string]any{"messaging_product": "whatsapp", "details": details}
	}
	json.NewEncoder(w).Encode(map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	if strings.HasPrefix(r.URL.Path, "/files/") {
		s.serveFile(w, r)
		return
	}
	// Upload sessions of the Resumable Upload API take "OAuth <token>";
	// every other call the Bearer token.
	session := strings.HasPrefix(r.URL.Path, Version+"/upload:")
	switch auth := r.Header.Get("Authorization"); {
	case session && auth != "OAuth "+s.Token:
		graphError(w, 401, 190, 0, `Error validating access token: an upload session needs "Authorization: OAuth <token>"`)
		return
	case !session && auth != "Bearer "+s.Token:
		graphError(w, 401, 190, 463, "Error validating access token: Session has expired.")
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, Version+"/")
	if !ok {
		graphError(w, 400, 2500, 0, "Unknown path components: "+r.URL.Path)
		return
	}
	s.mu.Lock()
	var fail *Failure
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		fail = &f
	}
	s.mu.Unlock()
	var body map[string]any
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			graphError(w, 400, 100, 0, "(#100) Invalid JSON")
			return
		}
	}
	if fail != nil {
		if path == s.PhoneNumberID+"/messages" && body != nil && body["status"] == nil {
			s.mu.Lock()
			s.sends = append(s.sends, body)
			s.mu.Unlock()
		}
		if fail.Stall {
			<-r.Context().Done()
			return
		}
		if fail.Hang {
			if hj, ok := w.(http.Hijacker); ok {
				conn, _, _ := hj.Hijack()
				conn.Close()
				return
			}
		}
		st := fail.HTTPStatus
		if st == 0 {
			st = 400
		}
		if fail.Raw != "" {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(st)
			io.WriteString(w, fail.Raw)
			return
		}
		graphError(w, st, fail.Code, fail.Subcode, fmt.Sprintf("(#%d) %s", fail.Code, fail.Message))
		return
	}
	switch {
	case session:
		s.uploadData(w, r)
	case r.Method == http.MethodPost && path == s.PhoneNumberID+"/messages":
		s.mu.Lock()
		delay := s.sendDelay
		s.mu.Unlock()
		if delay > 0 {
			select {
			case <-s.after(delay):
			case <-r.Context().Done():
				return // the caller gave up: no answer, nothing recorded
			}
		}
		s.messages(w, body)
	case r.Method == http.MethodPost && path == s.PhoneNumberID+"/media":
		s.upload(w, r)
	case r.Method == http.MethodPost && path == s.PhoneNumberID+"/whatsapp_business_profile":
		s.updateProfile(w, body)
	case r.Method == http.MethodPost && path == s.PhoneNumberID+"/business_compliance_info":
		s.updateCompliance(w, body)
	case r.Method == http.MethodPost && path == s.AppID+"/uploads":
		s.openUpload(w, r)
	case r.Method == http.MethodPost && path == s.PhoneNumberID:
		pin, _ := body["pin"].(string)
		if len(body) != 1 || len(pin) != 6 || strings.Trim(pin, "0123456789") != "" {
			graphError(w, 400, 100, 0, "(#100) Param pin must be a 6-digit number")
			return
		}
		s.mu.Lock()
		s.pin = pin
		s.mu.Unlock()
		writeJSON(w, map[string]any{"success": true})
	case r.Method == http.MethodPost && (path == s.PhoneNumberID+"/request_code" || path == s.PhoneNumberID+"/verify_code"):
		writeJSON(w, map[string]any{"success": true})
	case r.Method == http.MethodPost && path == s.PhoneNumberID+"/register":
		if body["messaging_product"] != "whatsapp" || body["pin"] == nil {
			graphError(w, 400, 100, 0, "(#100) The parameter pin is required.")
			return
		}
		writeJSON(w, map[string]any{"success": true})
	case r.Method == http.MethodGet && path == s.PhoneNumberID:
		writeJSON(w, map[string]any{"id": s.PhoneNumberID, "verified_name": s.VerifiedName, "display_phone_number": s.DisplayNumber})
	case r.Method == http.MethodGet && path == "debug_token":
		s.debugToken(w, r)
	case r.Method == http.MethodGet && path == s.WABAID:
		writeJSON(w, map[string]any{"id": s.WABAID, "message_template_namespace": s.Namespace})
	case r.Method == http.MethodGet && path == s.WABAID+"/message_templates":
		s.listTemplates(w, r)
	case r.Method == http.MethodGet:
		s.mu.Lock()
		m, ok := s.media[path]
		s.mu.Unlock()
		if !ok {
			graphError(w, 400, 100, 33, "Unsupported get request. Object with ID '"+path+"' does not exist")
			return
		}
		sum := sha256.Sum256(m.data)
		s.mu.Lock()
		s.nextID++
		ticket := strconv.Itoa(s.nextID)
		if s.stale > 0 {
			s.stale--
		} else {
			s.tickets[ticket] = path
		}
		s.mu.Unlock()
		writeJSON(w, map[string]any{"messaging_product": "whatsapp", "url": s.URL + "/files/" + path + "?ticket=" + ticket, "mime_type": m.mime,
			"sha256": hex.EncodeToString(sum[:]), "file_size": len(m.data), "id": path})
	default:
		graphError(w, 400, 100, 0, "Unsupported request: "+r.Method+" "+path)
	}
}

func (s *Server) messages(w http.ResponseWriter, body map[string]any) {
	if body["messaging_product"] != "whatsapp" {
		graphError(w, 400, 100, 0, "(#100) The parameter messaging_product is required.")
		return
	}
	if body["status"] == "read" {
		if id, _ := body["message_id"].(string); id == "" {
			graphError(w, 400, 100, 0, "(#100) The parameter message_id is required.")
			return
		}
		writeJSON(w, map[string]any{"success": true})
		return
	}
	to, _ := body["to"].(string)
	typ, _ := body["type"].(string)
	if to == "" || typ == "" || body[typ] == nil {
		graphError(w, 400, 131008, 0, "(#131008) Required parameter is missing")
		return
	}
	if bad, key := s.unknownMedia(typ, body[typ]); bad != "" {
		s.mu.Lock()
		s.sends = append(s.sends, body)
		s.mu.Unlock()
		graphErrorDetails(w, 400, 100, 0, "(#100) Invalid parameter",
			fmt.Sprintf("Param %s['id'] is not a valid whatsapp business account media attachment ID", key))
		return
	}
	s.mu.Lock()
	s.sends = append(s.sends, body)
	s.nextID++
	id := fmt.Sprintf("wamid.HBgL%s%04d", to, s.nextID)
	s.sentIDs = append(s.sentIDs, id)
	s.mu.Unlock()
	writeJSON(w, map[string]any{"messaging_product": "whatsapp",
		"contacts": []any{map[string]any{"input": to, "wa_id": to}}, "messages": []any{map[string]any{"id": id}}})
}

// mediaKinds are the keys under which a send names a media object.
var mediaKinds = map[string]bool{"image": true, "video": true, "audio": true, "document": true, "sticker": true}

// unknownMedia finds a media object (a media message, an interactive
// header, a template header parameter) whose id the double does not hold,
// and returns the id and the key it was under.
func (s *Server) unknownMedia(key string, v any) (string, string) {
	switch x := v.(type) {
	case map[string]any:
		if id, ok := x["id"].(string); ok && mediaKinds[key] {
			s.mu.Lock()
			_, known := s.media[id]
			s.mu.Unlock()
			if !known {
				return id, key
			}
		}
		for k, val := range x {
			if id, where := s.unknownMedia(k, val); id != "" {
				return id, where
			}
		}
	case []any:
		for _, val := range x {
			if id, where := s.unknownMedia(key, val); id != "" {
				return id, where
			}
		}
	}
	return "", ""
}

// profileVerticals is the Cloud's business vertical enum.
var profileVerticals = map[string]bool{"UNDEFINED": true, "OTHER": true, "AUTO": true, "BEAUTY": true, "APPAREL": true, "EDU": true,
	"ENTERTAIN": true, "EVENT_PLAN": true, "FINANCE": true, "GROCERY": true, "GOVT": true, "HOTEL": true, "HEALTH": true,
	"NONPROFIT": true, "PROF_SERVICES": true, "RETAIL": true, "TRAVEL": true, "RESTAURANT": true, "NOT_A_BIZ": true}

// updateProfile is POST /{phone-number-id}/whatsapp_business_profile: the
// fields given replace the stored ones.
func (s *Server) updateProfile(w http.ResponseWriter, body map[string]any) {
	if body["messaging_product"] != "whatsapp" {
		graphError(w, 400, 100, 0, "(#100) The parameter messaging_product is required.")
		return
	}
	for k, v := range body {
		str, isString := v.(string)
		switch k {
		case "messaging_product":
		case "about":
			if n := len([]rune(str)); !isString || n < 1 || n > 139 {
				graphError(w, 400, 100, 0, "(#100) Param about must be between 1 and 139 characters")
				return
			}
		case "address", "description", "email":
			if !isString {
				graphError(w, 400, 100, 0, "(#100) Param "+k+" must be a string")
				return
			}
		case "profile_picture_handle":
			s.mu.Lock()
			_, known := s.handles[str]
			s.mu.Unlock()
			if !isString || !known {
				graphError(w, 400, 100, 0, "(#100) Param profile_picture_handle is not a valid file handle")
				return
			}
		case "vertical":
			if !profileVerticals[str] {
				graphError(w, 400, 100, 0, "(#100) Param vertical must be one of the business verticals")
				return
			}
		case "websites":
			list, ok := v.([]any)
			if !ok || len(list) > 2 {
				graphError(w, 400, 100, 0, "(#100) Param websites must be an array of at most 2 URLs")
				return
			}
		default:
			graphError(w, 400, 100, 0, "(#100) Unknown parameter "+k)
			return
		}
	}
	s.mu.Lock()
	if s.profile == nil {
		s.profile = map[string]any{}
	}
	for k, v := range body {
		if k != "messaging_product" {
			s.profile[k] = v
		}
	}
	if h, ok := body["profile_picture_handle"].(string); ok {
		s.photo = s.handles[h]
		delete(s.handles, h) // a handle names one upload, used once
	}
	s.mu.Unlock()
	writeJSON(w, map[string]any{"success": true})
}

// resumableTypes are the file types the Resumable Upload API takes.
var resumableTypes = map[string]bool{"application/pdf": true, "image/jpeg": true, "image/jpg": true, "image/png": true, "video/mp4": true}

// openUpload is POST /{app-id}/uploads?file_length&file_type: a new
// Resumable Upload API session, {"id":"upload:<session>?sig=<signature>"}.
func (s *Server) openUpload(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	length, err := strconv.Atoi(q.Get("file_length"))
	if err != nil || length <= 0 {
		graphError(w, 400, 100, 0, "(#100) Param file_length must be a positive integer")
		return
	}
	if !resumableTypes[q.Get("file_type")] {
		graphError(w, 400, 100, 0, "(#100) Param file_type must be one of application/pdf, image/jpeg, image/jpg, image/png, video/mp4")
		return
	}
	s.mu.Lock()
	s.nextID++
	id := "upload:" + base64.RawURLEncoding.EncodeToString([]byte("session "+strconv.Itoa(s.nextID)))
	sig := "AR" + strconv.Itoa(7919*s.nextID)
	s.sessions[id] = &uploadSession{sig: sig, length: length, fileType: q.Get("file_type")}
	s.mu.Unlock()
	writeJSON(w, map[string]any{"id": id + "?sig=" + sig})
}

// uploadData is POST /upload:<session>?sig=...: the file's bytes from
// file_offset on, with "Authorization: OAuth <token>" (not Bearer). The
// offset must be what the session holds, the bytes must complete the
// declared length exactly, and a JPEG must be one; the answer is the
// file handle, {"h": ...}.
func (s *Server) uploadData(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, Version+"/")
	if r.Method != http.MethodPost {
		graphError(w, 400, 100, 0, "Unsupported request: "+r.Method+" "+id)
		return
	}
	s.mu.Lock()
	sess, ok := s.sessions[id]
	s.mu.Unlock()
	if !ok || r.URL.Query().Get("sig") != sess.sig {
		graphError(w, 400, 100, 33, "Unsupported post request. Object with ID '"+id+"' does not exist")
		return
	}
	offset, err := strconv.Atoi(r.Header.Get("file_offset"))
	if err != nil || offset != len(sess.data) {
		graphError(w, 400, 100, 0, fmt.Sprintf("(#100) The header file_offset must be the session's current offset, %d", len(sess.data)))
		return
	}
	data, _ := io.ReadAll(r.Body)
	if offset+len(data) != sess.length {
		graphError(w, 400, 100, 0, fmt.Sprintf("(#100) The upload has %d bytes from offset %d; file_length is %d", len(data), offset, sess.length))
		return
	}
	if (sess.fileType == "image/jpeg" || sess.fileType == "image/jpg") && !bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}) && offset == 0 {
		graphError(w, 400, 100, 0, "(#100) The file is not a "+sess.fileType)
		return
	}
	s.mu.Lock()
	sess.data = append(sess.data, data...)
	delete(s.sessions, id)
	s.nextID++
	h := "4::" + base64.StdEncoding.EncodeToString([]byte(sess.fileType)) + ":ARb" + strconv.Itoa(s.nextID)
	s.handles[h] = sess.data
	s.mu.Unlock()
	writeJSON(w, map[string]any{"h": h})
}

// uploadLimits are the Cloud's media types and their largest files.
var uploadLimits = map[string]int{
	"audio/aac": 16 << 20, "audio/amr": 16 << 20, "audio/mpeg": 16 << 20, "audio/mp4": 16 << 20, "audio/ogg": 16 << 20,
	"text/plain": 100 << 20, "application/pdf": 100 << 20, "application/msword": 100 << 20,
	"application/vnd.ms-excel": 100 << 20, "application/vnd.ms-powerpoint": 100 << 20,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   100 << 20,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         100 << 20,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 << 20,
	"image/jpeg": 5 << 20, "image/png": 5 << 20, "image/webp": 500 << 10,
	"video/mp4": 16 << 20, "video/3gpp": 16 << 20,
}

// upload is POST /{phone-number-id}/media: multipart with
// messaging_product, type and file; a type the Cloud does not take, or a
// file over its type's limit, is refused with 131053.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(32 << 20); err != nil || r.FormValue("messaging_product") != "whatsapp" {
		graphError(w, 400, 100, 0, "(#100) The parameter messaging_product is required.")
		return
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		graphError(w, 400, 100, 0, "(#100) The parameter file is required.")
		return
	}
	data, _ := io.ReadAll(f)
	typ, _, _ := mime.ParseMediaType(r.FormValue("type"))
	limit, ok := uploadLimits[typ]
	switch {
	case !ok:
		graphErrorDetails(w, 400, 131053, 0, "(#131053) Media upload error", "Unsupported file type "+r.FormValue("type"))
		return
	case len(data) > limit:
		graphErrorDetails(w, 400, 131053, 0, "(#131053) Media upload error", fmt.Sprintf("File is %d bytes, over the %d-byte limit of %s", len(data), limit, typ))
		return
	}
	s.mu.Lock()
	s.nextID++
	s.uploads++
	id := strconv.Itoa(900000 + s.nextID)
	s.media[id] = media{r.FormValue("type"), data}
	s.mu.Unlock()
	writeJSON(w, map[string]any{"id": id})
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	all := append([]map[string]any(nil), s.templates...)
	s.mu.Unlock()
	start, _ := strconv.Atoi(r.URL.Query().Get("after"))
	end := min(start+s.PageSize, len(all))
	page := map[string]any{"data": all[start:end]}
	if end < len(all) {
		page["paging"] = map[string]any{"cursors": map[string]any{"after": strconv.Itoa(end)},
			"next": s.GraphURL() + "/" + s.WABAID + "/message_templates?limit=" + strconv.Itoa(s.PageSize) + "&after=" + strconv.Itoa(end)}
	}
	writeJSON(w, page)
}

// serveFile serves a media URL: with the token, while its ticket is
// valid (404 after, as an expired URL), from the offset a "Range:
// bytes=N-" asks for.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/files/")
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	m, ok := s.media[id]
	valid := s.tickets[ticket] == id
	cut := -1
	if ok && valid && len(s.cutAfter) > 0 {
		cut = s.cutAfter[0]
		s.cutAfter = s.cutAfter[1:]
		delete(s.tickets, ticket)
	}
	s.mu.Unlock()
	if !ok || !valid {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	data, status := m.data, http.StatusOK
	if rng := r.Header.Get("Range"); rng != "" && !s.IgnoreRange {
		from, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rng, "bytes="), "-"))
		if err != nil || !strings.HasSuffix(rng, "-") || from < 0 || from >= len(m.data) {
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, len(m.data)-1, len(m.data)))
		data, status = m.data[from:], http.StatusPartialContent
	}
	w.Header().Set("Content-Type", m.mime)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	if cut >= 0 && cut < len(data) {
		w.Write(data[:cut])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the connection closes mid-body
	}
	w.Write(data)
}
