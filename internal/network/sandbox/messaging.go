package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wabiz/wabiz/internal/message"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/template"
)

// ServiceWindow is the customer-service window: free-form messages reach a
// user only within this time after the user last wrote; outside it only
// templates do.
const ServiceWindow = 24 * time.Hour

// ErrUnknownUser is returned for operations on a number the sandbox has
// never met.
var ErrUnknownUser = errors.New("sandbox: no such user")

// ErrUnknownMessage is returned when a message id is not one the user has.
var ErrUnknownMessage = errors.New("sandbox: no such message for this user")

// ErrNotWhatsApp is returned when a number without WhatsApp is asked to act.
var ErrNotWhatsApp = errors.New("sandbox: this number has no WhatsApp")

// Send implements network.Network: the user's phone receives the message;
// an online user's phone reports delivery, and the user reads it if they
// auto-read. A user who blocked the business never gets it delivered.
func (s *Sandbox) Send(ctx context.Context, msg network.Outgoing) error {
	_, err := s.send(ctx, msg, false)
	return err
}

// SendReportingDelivery implements network.DeliveryReporter: when the world
// delivers without delay and the user is reachable, the phone has the
// message at once, and the answer says so instead of a "delivered" event.
func (s *Sandbox) SendReportingDelivery(ctx context.Context, msg network.Outgoing) (bool, error) {
	return s.send(ctx, msg, true)
}

func (s *Sandbox) send(ctx context.Context, msg network.Outgoing, reportDelivery bool) (bool, error) {
	delivered, err := s.sendBatch(ctx, []network.Outgoing{msg}, reportDelivery)
	if err != nil {
		return false, err
	}
	return delivered[0], nil
}

// SendBatch implements network.BatchSender: the recipient's phone receives
// the messages in order, all recorded in one grouped write.
func (s *Sandbox) SendBatch(ctx context.Context, msgs []network.Outgoing) ([]bool, error) {
	return s.sendBatch(ctx, msgs, true)
}

func (s *Sandbox) sendBatch(ctx context.Context, msgs []network.Outgoing, reportDelivery bool) ([]bool, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	to := msgs[0].To
	u, last, w, err := s.sendView(ctx, to)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var (
		received  = make([]store.SandboxMessage, 0, len(msgs))
		events    = make([][]store.SandboxEvent, 0, len(msgs))
		delivered = make([]bool, 0, len(msgs))
		refused   error // why the message after the received ones was not taken
	)
	for _, msg := range msgs {
		if msg.To != to {
			refused = fmt.Errorf("sandbox: a batch of sends goes to one recipient (%s), not also to %s", to, msg.To)
			break
		}
		m, ev, got, err := s.receive(ctx, msg, u, last, w, now, reportDelivery)
		if err != nil {
			refused = err
			break
		}
		received, events, delivered = append(received, m), append(events, ev), append(delivered, got)
	}
	if len(received) == 0 {
		return nil, refused
	}
	fresh, err := s.store.RecordSandboxReceivedBatch(ctx, received, events)
	if err != nil {
		return nil, err
	}
	for i := range received {
		if fresh[i] {
			s.signalDue(events[i])
			continue
		}
		// A repeated send (the core crashed before recording the first):
		// the first one stored the message with its reports, so nothing
		// is scheduled again; the answer tells what the phone has now.
		if !reportDelivery {
			delivered[i] = false
			continue
		}
		m, err := s.store.GetSandboxReceived(ctx, received[i].ID)
		if err != nil {
			return nil, err
		}
		delivered[i] = receivedRank[m.Status] >= receivedRank["delivered"]
	}
	return delivered, refused
}

// receive is what the recipient's phone makes of one message: the record of
// it, the reports it will send and whether delivery is reported at once; or
// the network's refusal.
func (s *Sandbox) receive(ctx context.Context, msg network.Outgoing, u store.SandboxUser, last time.Time, w World, now time.Time, reportDelivery bool) (store.SandboxMessage, []store.SandboxEvent, bool, error) {
	if w.ConnectionDown {
		return store.SandboxMessage{}, nil, false, connectionDown()
	}
	if !u.WhatsApp {
		return store.SandboxMessage{}, nil, false, &network.Error{Code: 1013, Details: "Recipient is not a valid WhatsApp user"}
	}
	body := msg.Body
	if msg.Media != nil {
		// The phone downloads the file: the user has the very bytes (and
		// sha256) the business uploaded.
		received, err := s.receiveMedia(ctx, msg.Media, now)
		if err != nil {
			return store.SandboxMessage{}, nil, false, err
		}
		if body, err = withKey(msg.Body, "media", received); err != nil {
			return store.SandboxMessage{}, nil, false, err
		}
	}
	if msg.Template != nil {
		var err error
		if body, err = withKey(body, "shown", showTemplate(msg.Template)); err != nil {
			return store.SandboxMessage{}, nil, false, err
		}
	}
	if msg.Type != "template" && msg.Type != "hsm" {
		if last.IsZero() || now.Sub(last) > ServiceWindow {
			return store.SandboxMessage{}, nil, false, &network.Error{Code: 470, Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number"}
		}
	}
	// Offline messages wait for the user (UpdateUser schedules them when the
	// user comes back); a reachable user's phone reports at once or later.
	received := store.SandboxMessage{ID: msg.ID, WaID: u.WaID, Body: body, Status: "sent", At: now, Seq: s.nextSeq()}
	var (
		events    []store.SandboxEvent
		delivered bool
	)
	if u.Online && !u.Blocked {
		delivered = reportDelivery && w.DeliveryDelayMs == 0
		if delivered {
			received.Status = "delivered"
		}
		events = s.deliveryEvents(u, w, msg.ID, now, delivered)
	}
	return received, events, delivered, nil
}

// scheduleDelivery queues "delivered" (and "read" when the user reads on
// their own) for a message the user's phone now has.
func (s *Sandbox) scheduleDelivery(ctx context.Context, u store.SandboxUser, id string, from time.Time) error {
	w, err := s.World(ctx)
	if err != nil {
		return err
	}
	return s.addEvents(ctx, s.deliveryEvents(u, w, id, from, false)...)
}

// deliveryEvents are the reports a reachable user's phone makes of a message
// it got at from: "delivered" after the world's delay (none when the
// delivery was already reported), then "read" if the user reads on their own.
func (s *Sandbox) deliveryEvents(u store.SandboxUser, w World, id string, from time.Time, deliveryReported bool) []store.SandboxEvent {
	delivered := from.Add(time.Duration(w.DeliveryDelayMs) * time.Millisecond)
	var events []store.SandboxEvent
	if !deliveryReported {
		events = append(events, s.event(network.EventStatus, delivered, eventPayload{Status: &network.StatusEvent{
			MessageID: id, Recipient: u.WaID, Status: "delivered"}}))
	}
	if readDelay, reads := readDelay(u, w); reads {
		events = append(events, s.event(network.EventStatus, delivered.Add(readDelay), eventPayload{Status: &network.StatusEvent{
			MessageID: id, Recipient: u.WaID, Status: "read"}}))
	}
	return events
}

func readDelay(u store.SandboxUser, w World) (time.Duration, bool) {
	switch {
	case u.AutoReadMs < 0:
		return 0, false
	case u.AutoReadMs > 0:
		return time.Duration(u.AutoReadMs) * time.Millisecond, true
	default:
		return time.Duration(w.ReadDelayMs) * time.Millisecond, w.AutoRead
	}
}

// MarkRead implements network.Network: the user sees blue ticks on their
// message.
func (s *Sandbox) MarkRead(ctx context.Context, from, messageID string) error {
	err := s.store.MarkSandboxSentRead(ctx, messageID, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return &network.Error{Code: 1006, Details: "Message not found"}
	}
	return err
}

// CheckContacts implements network.Network.
func (s *Sandbox) CheckContacts(ctx context.Context, waIDs []string) ([]network.ContactStatus, error) {
	w, err := s.World(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]network.ContactStatus, len(waIDs))
	for i, id := range waIDs {
		u, err := s.store.GetSandboxUser(ctx, id)
		switch {
		case err == nil:
			out[i] = network.ContactStatus{WaID: id, Valid: u.WhatsApp}
		case errors.Is(err, store.ErrNotFound):
			out[i] = network.ContactStatus{WaID: id, Valid: w.hasWhatsApp(id)}
		default:
			return nil, err
		}
	}
	return out, nil
}

// UserMessage is what a simulated user sends: the type and its object, as
// an inbound webhook message carries them ({"type":"text","text":{"body":"hi"}}).
type UserMessage struct {
	Type    string
	Content json.RawMessage // the message object's keys other than from/id/timestamp/type
	Media   *UserMedia      // the file of a media message
}

// UserMedia is a file a simulated user sends.
type UserMedia struct {
	Kind     string // image, audio, voice, video, document, sticker
	MimeType string
	Data     []byte
	Filename string
}

// UserSends makes a simulated user write to the business and returns the
// inbound message id.
func (s *Sandbox) UserSends(ctx context.Context, waID string, m UserMessage) (string, error) {
	u, err := s.user(ctx, waID)
	if err != nil {
		return "", err
	}
	if !u.WhatsApp {
		return "", ErrNotWhatsApp
	}
	now := s.now()
	id := message.NewInboundID(waID)
	in := &network.InboundMessage{ID: id, From: waID, ProfileName: u.DisplayName, Type: m.Type, Content: m.Content}
	if m.Media != nil {
		sum := sha256.Sum256(m.Media.Data)
		ref := &network.InboundMedia{NetworkID: "sbx-" + id, Kind: m.Media.Kind, MimeType: m.Media.MimeType,
			SHA256: hex.EncodeToString(sum[:]), Filename: m.Media.Filename}
		if err := s.store.PutSandboxMedia(ctx, ref.NetworkID, ref.MimeType, ref.SHA256, m.Media.Data, now); err != nil {
			return "", err
		}
		in.Media = ref
	}
	if err := s.store.RecordSandboxSent(ctx, store.SandboxMessage{ID: id, WaID: waID, Body: m.Content, At: now}); err != nil {
		return "", err
	}
	return id, s.addEvents(ctx, s.event(network.EventMessage, now, eventPayload{Message: in}))
}

// UserReads makes a user read a business message now (delivering it first
// if their phone had not reported it yet).
func (s *Sandbox) UserReads(ctx context.Context, waID, messageID string) error {
	m, err := s.store.GetSandboxReceived(ctx, messageID)
	if errors.Is(err, store.ErrNotFound) || err == nil && m.WaID != waID {
		return ErrUnknownMessage
	}
	if err != nil {
		return err
	}
	now := s.now()
	var events []store.SandboxEvent
	if m.Status == "sent" {
		events = append(events, s.event(network.EventStatus, now, eventPayload{Status: &network.StatusEvent{MessageID: m.ID, Recipient: waID, Status: "delivered"}}))
	}
	if m.Status != "read" {
		events = append(events, s.event(network.EventStatus, now, eventPayload{Status: &network.StatusEvent{MessageID: m.ID, Recipient: waID, Status: "read"}}))
	}
	return s.addEvents(ctx, events...)
}

// UserUpdate changes a user's simulated behaviour; nil fields stay.
type UserUpdate struct {
	DisplayName *string `json:"display_name"`
	Online      *bool   `json:"online"`
	AutoReadMs  *int64  `json:"auto_read_ms"`
	Blocked     *bool   `json:"blocked"`
	WhatsApp    *bool   `json:"whatsapp"`
}

// UpdateUser applies u. A user coming online gets the messages that waited
// for them.
func (s *Sandbox) UpdateUser(ctx context.Context, waID string, upd UserUpdate) (store.SandboxUser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.user(ctx, waID)
	if err != nil {
		return u, err
	}
	wasReachable := u.Online && !u.Blocked
	if upd.DisplayName != nil {
		u.DisplayName = *upd.DisplayName
	}
	if upd.Online != nil {
		u.Online = *upd.Online
	}
	if upd.AutoReadMs != nil {
		u.AutoReadMs = *upd.AutoReadMs
	}
	if upd.Blocked != nil {
		u.Blocked = *upd.Blocked
	}
	if upd.WhatsApp != nil {
		u.WhatsApp = *upd.WhatsApp
	}
	u.UpdatedAt = s.now()
	if err := s.store.PutSandboxUser(ctx, u); err != nil {
		return u, err
	}
	if !wasReachable && u.Online && !u.Blocked {
		waiting, err := s.store.ListSandboxReceived(ctx, waID, "sent", 10_000)
		if err != nil {
			return u, err
		}
		for _, m := range waiting {
			if err := s.scheduleDelivery(ctx, u, m.ID, u.UpdatedAt); err != nil {
				return u, err
			}
		}
	}
	return u, nil
}

// User returns a user, meeting them first if needed.
func (s *Sandbox) User(ctx context.Context, waID string) (store.SandboxUser, error) {
	return s.user(ctx, waID)
}

// Users lists every user the sandbox has met.
func (s *Sandbox) Users(ctx context.Context) ([]store.SandboxUser, error) {
	return s.store.ListSandboxUsers(ctx)
}

// Conversation is what a user's phone shows: what they received from the
// business and what they sent it.
type Conversation struct {
	Received []store.SandboxMessage
	Sent     []store.SandboxMessage
}

// UserConversation returns what a user received and sent, oldest first.
func (s *Sandbox) UserConversation(ctx context.Context, waID string, limit int) (Conversation, error) {
	if _, err := s.store.GetSandboxUser(ctx, waID); errors.Is(err, store.ErrNotFound) {
		return Conversation{}, ErrUnknownUser
	} else if err != nil {
		return Conversation{}, err
	}
	recv, err := s.store.ListSandboxReceived(ctx, waID, "", limit)
	if err != nil {
		return Conversation{}, err
	}
	sent, err := s.store.ListSandboxSent(ctx, waID, limit)
	return Conversation{Received: recv, Sent: sent}, err
}

// ChangeNumber moves a user to a new number: the business is told, and the
// new number behaves like the old one.
func (s *Sandbox) ChangeNumber(ctx context.Context, oldWaID, newWaID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.user(ctx, oldWaID)
	if err != nil {
		return err
	}
	moved := old
	moved.WaID = newWaID
	moved.WhatsApp = true
	moved.UpdatedAt = s.now()
	if err := s.store.PutSandboxUser(ctx, moved); err != nil {
		return err
	}
	old.WhatsApp = false // the old number no longer has WhatsApp
	old.UpdatedAt = moved.UpdatedAt
	if err := s.store.PutSandboxUser(ctx, old); err != nil {
		return err
	}
	return s.addEvents(ctx, s.event(network.EventNumberChange, s.now(), eventPayload{Change: &network.NumberChange{
		ID: message.NewInboundID(oldWaID), OldWaID: oldWaID, NewWaID: newWaID}}))
}

// ChangeIdentity gives a user a new identity (as a new phone would) and
// tells the business; it returns the new identity's hash.
func (s *Sandbox) ChangeIdentity(ctx context.Context, waID string) (string, error) {
	if _, err := s.user(ctx, waID); err != nil {
		return "", err
	}
	raw := make([]byte, 8)
	rand.Read(raw)
	hash := base64.StdEncoding.EncodeToString(raw)
	change := &network.IdentityChange{ID: message.NewInboundID(waID), WaID: waID, Hash: hash}
	return hash, s.addEvents(ctx, s.event(network.EventIdentity, s.now(), eventPayload{Identity: change}))
}

// receivedMedia is what the user's phone keeps of a file it received.
type receivedMedia struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	Filename string `json:"filename,omitempty"`
}

// maxMediaBytes bounds what the phone downloads (the largest kind, documents).
const maxMediaBytes = 100 << 20

func (s *Sandbox) receiveMedia(ctx context.Context, m *network.OutgoingMedia, now time.Time) (receivedMedia, error) {
	r, err := m.Open(ctx)
	if err != nil {
		return receivedMedia{}, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, maxMediaBytes+1))
	if err != nil {
		return receivedMedia{}, err
	}
	if len(data) > maxMediaBytes {
		return receivedMedia{}, &network.Error{Code: 400, Details: "The media is larger than 100 MB"}
	}
	sum := sha256.Sum256(data)
	got := receivedMedia{ID: m.ID, MimeType: m.MimeType, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Filename: m.Filename}
	return got, s.store.PutSandboxMedia(ctx, "biz-"+m.ID, m.MimeType, got.SHA256, data, now)
}

// DownloadMedia implements network.Network: the file a user sent.
func (s *Sandbox) DownloadMedia(ctx context.Context, networkID string) (io.ReadCloser, string, error) {
	if err := s.reachable(ctx); err != nil {
		return nil, "", err
	}
	mime, _, data, err := s.store.GetSandboxMedia(ctx, networkID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", &network.Error{Code: 1006, Details: "The network has no media " + networkID}
	}
	if err != nil {
		return nil, "", err
	}
	return io.NopCloser(bytes.NewReader(data)), mime, nil
}

// withKey adds key: value to a JSON object.
func withKey(obj json.RawMessage, key string, value any) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return nil, err
	}
	v, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	m[key] = v
	return json.Marshal(m)
}

// shownTemplate is a hydrated template as the user's phone shows it.
type shownTemplate struct {
	Name     string        `json:"name"`
	Language string        `json:"language"`
	Category string        `json:"category"`
	Header   *shownHeader  `json:"header,omitempty"`
	Body     string        `json:"body"`
	Footer   string        `json:"footer,omitempty"`
	Buttons  []shownButton `json:"buttons,omitempty"`
}

type shownHeader struct {
	Format string `json:"format"`
	Text   string `json:"text,omitempty"`
}

type shownButton struct {
	Type    string `json:"type"`
	Text    string `json:"text,omitempty"`
	URL     string `json:"url,omitempty"`
	Phone   string `json:"phone_number,omitempty"`
	Payload string `json:"payload,omitempty"`
	Code    string `json:"code,omitempty"`
}

func showTemplate(r *template.Rendered) shownTemplate {
	out := shownTemplate{Language: r.Language, Body: r.Body, Footer: r.Footer}
	if r.Definition != nil {
		out.Name, out.Category = r.Definition.Name, r.Definition.Category
	}
	if r.Header != nil {
		out.Header = &shownHeader{Format: strings.ToLower(r.Header.Format), Text: r.Header.Text}
	}
	for _, b := range r.Buttons {
		out.Buttons = append(out.Buttons, shownButton{Type: b.Type, Text: b.Text, URL: b.URL, Phone: b.Phone, Payload: b.Payload, Code: b.Code})
	}
	return out
}
