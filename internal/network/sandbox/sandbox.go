// Package sandbox is an offline, deterministic WhatsApp: simulated users who
// receive the business's messages (delivered and read after configurable
// delays, or never while offline), write to the business, change numbers and
// block it. Its state lives in the database so a restart loses nothing, and
// every event it produces waits there until the core has handled it.
package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
)

// Store is the storage the sandbox needs.
type Store interface {
	GetSandboxUser(ctx context.Context, waID string) (store.SandboxUser, error)
	GetSandboxSendView(ctx context.Context, waID, worldDocument string) (store.SandboxSendView, error)
	PutSandboxUser(ctx context.Context, u store.SandboxUser) error
	ListSandboxUsers(ctx context.Context) ([]store.SandboxUser, error)
	AddSandboxEvents(ctx context.Context, events []store.SandboxEvent) error
	ClaimSandboxEvents(ctx context.Context, owner string, now time.Time, lease time.Duration, max int) ([]store.SandboxEvent, error)
	RetrySandboxEvents(ctx context.Context, owner string, retries []store.EventRetry, now time.Time) error
	DeleteSandboxEvents(ctx context.Context, ids []int64) error
	SandboxEventsByID(ctx context.Context, ids []int64) ([]store.SandboxEvent, error)
	RecordSandboxReceivedBatch(ctx context.Context, msgs []store.SandboxMessage, events [][]store.SandboxEvent) ([]bool, error)
	AckSandboxEvents(ctx context.Context, advances []store.SandboxAdvance, ids []int64) error
	GetSandboxReceived(ctx context.Context, id string) (store.SandboxMessage, error)
	ListSandboxReceived(ctx context.Context, waID, status string, limit int) ([]store.SandboxMessage, error)
	RecordSandboxSent(ctx context.Context, m store.SandboxMessage) error
	MarkSandboxSentRead(ctx context.Context, id string, now time.Time) error
	ListSandboxSent(ctx context.Context, waID string, limit int) ([]store.SandboxMessage, error)
	LastSandboxSent(ctx context.Context, waID string) (time.Time, error)
	PutSandboxMedia(ctx context.Context, id, mimeType, sha256 string, data []byte, now time.Time) error
	GetSandboxMedia(ctx context.Context, id string) (mimeType, sha256 string, data []byte, err error)
	GetDocument(ctx context.Context, name string) (store.Document, error)
	PutDocument(ctx context.Context, name string, body []byte, expectVersion int64, now time.Time) (int64, error)
	Secret(ctx context.Context, name string, now time.Time) (string, error)
}

// World holds the rules every simulated user follows unless set otherwise.
type World struct {
	// NonWhatsAppPattern is a regular expression: numbers matching it are not
	// WhatsApp users (sends fail with 1013, contact checks say invalid).
	NonWhatsAppPattern string `json:"non_whatsapp_pattern"`
	// NonWhatsApp lists numbers that are not WhatsApp users.
	NonWhatsApp []string `json:"non_whatsapp"`
	// DeliveryDelayMs is how long after sending an online user's phone
	// reports delivery.
	DeliveryDelayMs int64 `json:"delivery_delay_ms"`
	// ReadDelayMs is how long after delivery a user reads a message, when
	// AutoRead is on and the user has no delay of its own.
	ReadDelayMs int64 `json:"read_delay_ms"`
	AutoRead    bool  `json:"auto_read"`
	// CodeTTLSeconds is how long a registration code stays valid.
	CodeTTLSeconds int64 `json:"code_ttl_seconds"`
	// ConnectionDown cuts the business's connection to the simulated
	// WhatsApp (failure injection): sends, connecting, probes and media
	// downloads fail with a temporary 1014, and nothing reaches the
	// business (users' messages and their phones' reports wait, and arrive
	// when the connection is back). The control API keeps working.
	ConnectionDown bool `json:"connection_down"`
}

// DefaultWorld is what a new sandbox starts with: everyone is on WhatsApp,
// online, and reads what they get a second after it arrives.
func DefaultWorld() World {
	return World{NonWhatsApp: []string{}, DeliveryDelayMs: 100, ReadDelayMs: 1000, AutoRead: true, CodeTTLSeconds: 600}
}

const (
	worldDocument        = "sandbox.world"
	registrationDocument = "sandbox.registration"
)

// Sandbox implements network.Network.
type Sandbox struct {
	store   Store
	now     func() time.Time
	pending chan struct{}

	mu sync.Mutex // serialises read-modify-write of users and documents

	templateListeners struct { // network.TemplateChanges
		sync.Mutex
		fns []func(ctx context.Context)
	}

	// lastSeq is the received_seq given last (nextSeq).
	lastSeq atomic.Int64

	decoded struct { // the world decoded last (decodeWorld)
		mu    sync.Mutex
		body  []byte
		world World
	}
}

// nextSeq orders a message a user receives among those of the same
// millisecond: the wall clock in nanoseconds, but always above the one given
// before, so a pass of sends recorded at one instant keeps its order (one
// recipient's sends come from the one node holding its shard).
func (s *Sandbox) nextSeq() int64 {
	for {
		last, next := s.lastSeq.Load(), time.Now().UnixNano()
		next = max(next, last+1)
		if s.lastSeq.CompareAndSwap(last, next) {
			return next
		}
	}
}

// New builds a sandbox over st.
func New(st Store, now func() time.Time) *Sandbox {
	if now == nil {
		now = time.Now
	}
	return &Sandbox{store: st, now: now, pending: make(chan struct{}, 1)}
}

var _ network.Network = (*Sandbox)(nil)

// Pending implements network.Network.
func (s *Sandbox) Pending() <-chan struct{} { return s.pending }

func (s *Sandbox) signal() {
	select {
	case s.pending <- struct{}{}:
	default:
	}
}

// World returns the current rules.
func (s *Sandbox) World(ctx context.Context) (World, error) {
	w, _, err := s.world(ctx)
	return w, err
}

func (s *Sandbox) world(ctx context.Context) (World, int64, error) {
	doc, err := s.store.GetDocument(ctx, worldDocument)
	if errors.Is(err, store.ErrNotFound) {
		return DefaultWorld(), 0, nil
	}
	if err != nil {
		return World{}, 0, err
	}
	w, err := s.decodeWorld(doc.Body)
	return w, doc.Version, err
}

// decodeWorld decodes a stored world (nil: none stored). The last one
// decoded is kept, so the many sends between two changes of the rules do
// not decode the same bytes again.
func (s *Sandbox) decodeWorld(body []byte) (World, error) {
	if body == nil {
		return DefaultWorld(), nil
	}
	s.decoded.mu.Lock()
	defer s.decoded.mu.Unlock()
	if s.decoded.body != nil && bytes.Equal(s.decoded.body, body) {
		return s.decoded.world, nil
	}
	w := DefaultWorld()
	if err := json.Unmarshal(body, &w); err != nil {
		return World{}, fmt.Errorf("sandbox: stored world is corrupt: %w", err)
	}
	s.decoded.body, s.decoded.world = bytes.Clone(body), w
	return w, nil
}

// sendView is what a send needs to know, read in one query: the recipient
// (met now if new), when they last wrote, and the world's rules.
func (s *Sandbox) sendView(ctx context.Context, waID string) (store.SandboxUser, time.Time, World, error) {
	v, err := s.store.GetSandboxSendView(ctx, waID, worldDocument)
	if errors.Is(err, store.ErrNotFound) {
		if _, err := s.user(ctx, waID); err != nil {
			return store.SandboxUser{}, time.Time{}, World{}, err
		}
		v, err = s.store.GetSandboxSendView(ctx, waID, worldDocument)
	}
	if err != nil {
		return store.SandboxUser{}, time.Time{}, World{}, err
	}
	w, err := s.decodeWorld(v.World)
	return v.User, v.LastSent, w, err
}

// SetWorld replaces the rules after checking them.
func (s *Sandbox) SetWorld(ctx context.Context, w World) error {
	if _, err := regexp.Compile(w.NonWhatsAppPattern); err != nil {
		return fmt.Errorf("non_whatsapp_pattern: %w", err)
	}
	if w.DeliveryDelayMs < 0 || w.ReadDelayMs < 0 || w.CodeTTLSeconds <= 0 {
		return errors.New("delays must not be negative and code_ttl_seconds must be positive")
	}
	if w.NonWhatsApp == nil {
		w.NonWhatsApp = []string{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, version, err := s.world(ctx)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(w)
	_, err = s.store.PutDocument(ctx, worldDocument, body, version, s.now())
	return err
}

func (w World) hasWhatsApp(waID string) bool {
	for _, n := range w.NonWhatsApp {
		if n == waID {
			return false
		}
	}
	if w.NonWhatsAppPattern != "" {
		if re, err := regexp.Compile(w.NonWhatsAppPattern); err == nil && re.MatchString(waID) {
			return false
		}
	}
	return true
}

// user returns a simulated user, meeting them (by the world's rules) the
// first time their number comes up.
func (s *Sandbox) user(ctx context.Context, waID string) (store.SandboxUser, error) {
	u, err := s.store.GetSandboxUser(ctx, waID)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return u, err
	}
	w, err := s.World(ctx)
	if err != nil {
		return store.SandboxUser{}, err
	}
	u = store.SandboxUser{WaID: waID, DisplayName: defaultName(waID), Online: true, WhatsApp: w.hasWhatsApp(waID), UpdatedAt: s.now()}
	return u, s.store.PutSandboxUser(ctx, u)
}

func defaultName(waID string) string {
	tail := waID
	if len(tail) > 4 {
		tail = tail[len(tail)-4:]
	}
	return "Sandbox User " + tail
}

// connectionDown is every answer of a cut connection (World.ConnectionDown).
func connectionDown() error {
	return &network.Error{Code: network.ConnectionLossCode, Temporary: true,
		Details: "The sandbox's connection to WhatsApp is down (world connection_down)"}
}

// reachable answers connectionDown while the world cuts the connection.
func (s *Sandbox) reachable(ctx context.Context) error {
	w, err := s.World(ctx)
	if err != nil {
		return err
	}
	if w.ConnectionDown {
		return connectionDown()
	}
	return nil
}

// Connect implements network.Network: the sandbox is reachable unless the
// world cuts the connection.
func (s *Sandbox) Connect(ctx context.Context, _ network.Account) error { return s.reachable(ctx) }

// ProbeConnection implements network.ConnectionProber (one read of the
// world).
func (s *Sandbox) ProbeConnection(ctx context.Context) error { return s.reachable(ctx) }

var _ network.ConnectionProber = (*Sandbox)(nil)

// Templates implements network.Network. The sandbox's catalogue is managed
// through its control API; until templates are added it is empty.
func (s *Sandbox) Templates(ctx context.Context) ([]network.Template, error) {
	return s.ListTemplates(ctx) // templates.go
}

// eventPayload is how the sandbox stores an event.
type eventPayload struct {
	Status   *network.StatusEvent    `json:"status,omitempty"`
	Message  *network.InboundMessage `json:"message,omitempty"`
	Change   *network.NumberChange   `json:"change,omitempty"`
	Identity *network.IdentityChange `json:"identity,omitempty"`
}

func (s *Sandbox) event(kind network.EventKind, due time.Time, p eventPayload) store.SandboxEvent {
	body, _ := json.Marshal(p)
	key := network.Event{Status: p.Status, Message: p.Message, Change: p.Change, Identity: p.Identity}.OrderingKey()
	return store.SandboxEvent{Kind: string(kind), Payload: body, DueAt: due, CreatedAt: s.now(), OrderingKey: key}
}

func (s *Sandbox) addEvents(ctx context.Context, events ...store.SandboxEvent) error {
	if err := s.store.AddSandboxEvents(ctx, events); err != nil {
		return err
	}
	s.signalDue(events)
	return nil
}

// signalDue wakes the core when one of the stored events is due already.
func (s *Sandbox) signalDue(events []store.SandboxEvent) {
	now := s.now()
	for _, e := range events {
		if !e.DueAt.After(now) {
			s.signal()
			return
		}
	}
}

// Events implements network.Network. A status report that no longer applies
// (the phone is already past it, or the user went offline or blocked the
// business before it fell due) is dropped, so toggling a user never produces
// duplicate or impossible reports. The phone's own status moves only when
// the business acknowledges a report (Ack): a report handed out and not
// acknowledged (the core deferred it, or crashed) must still apply when it
// is handed out again.
func (s *Sandbox) Events(ctx context.Context, owner string, max int) ([]network.Event, error) {
	if w, err := s.World(ctx); err != nil {
		return nil, err
	} else if w.ConnectionDown {
		return nil, nil // the events wait for the connection
	}
	rows, err := s.store.ClaimSandboxEvents(ctx, owner, s.now(), network.EventLease, max)
	if err != nil {
		return nil, err
	}
	out := make([]network.Event, 0, len(rows))
	var stale []int64
	reported := map[network.StatusEvent]bool{} // a report twice in one batch goes out once
	for _, r := range rows {
		var p eventPayload
		if err := json.Unmarshal(r.Payload, &p); err != nil {
			return nil, fmt.Errorf("sandbox: event %d is corrupt: %w", r.ID, err)
		}
		e := network.Event{ID: strconv.FormatInt(r.ID, 10), Kind: network.EventKind(r.Kind), Time: r.DueAt, Attempts: r.Attempts,
			Status: p.Status, Message: p.Message, Change: p.Change, Identity: p.Identity}
		if e.Status != nil && e.Status.Status != "failed" {
			applies, err := s.statusApplies(ctx, e.Status)
			if err != nil {
				return nil, err
			}
			if !applies || reported[*e.Status] {
				stale = append(stale, r.ID)
				continue
			}
			reported[*e.Status] = true
		}
		out = append(out, e)
	}
	if err := s.store.DeleteSandboxEvents(ctx, stale); err != nil {
		return nil, err
	}
	return out, nil
}

// statusApplies says whether a delivery or read report still makes sense
// for the message as the user's phone has it now.
func (s *Sandbox) statusApplies(ctx context.Context, st *network.StatusEvent) (bool, error) {
	m, err := s.store.GetSandboxReceived(ctx, st.MessageID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if receivedRank[m.Status] >= receivedRank[st.Status] {
		return false, nil // already there: a repeated report
	}
	if m.Status == "sent" {
		// Not on the phone yet: only a reachable user's phone can get it.
		u, err := s.store.GetSandboxUser(ctx, m.WaID)
		if err != nil {
			return false, err
		}
		return u.Online && !u.Blocked, nil
	}
	return true, nil
}

var receivedRank = map[string]int{"sent": 1, "delivered": 2, "read": 3}

// Ack implements network.Network: handled events are removed, and the
// reports among them move the messages forward on the users' phones.
func (s *Sandbox) Ack(ctx context.Context, ids []string) error {
	nums := make([]int64, 0, len(ids))
	for _, id := range ids {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return fmt.Errorf("sandbox: bad event id %q", id)
		}
		nums = append(nums, n)
	}
	events, err := s.store.SandboxEventsByID(ctx, nums)
	if err != nil {
		return err
	}
	var advances []store.SandboxAdvance
	for _, e := range events {
		if e.Kind != string(network.EventStatus) {
			continue
		}
		var p eventPayload
		if json.Unmarshal(e.Payload, &p) != nil || p.Status == nil || p.Status.Status == "failed" {
			continue
		}
		advances = append(advances, store.SandboxAdvance{MessageID: p.Status.MessageID, Status: p.Status.Status, At: e.DueAt})
	}
	return s.store.AckSandboxEvents(ctx, advances, nums)
}

// Retry implements network.Network.
func (s *Sandbox) Retry(ctx context.Context, owner string, retries []network.Retry) error {
	rs, err := eventRetries(retries)
	if err != nil {
		return err
	}
	return s.store.RetrySandboxEvents(ctx, owner, rs, s.now())
}

func eventRetries(retries []network.Retry) ([]store.EventRetry, error) {
	out := make([]store.EventRetry, len(retries))
	for i, r := range retries {
		n, err := strconv.ParseInt(r.ID, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("sandbox: bad event id %q", r.ID)
		}
		out[i] = store.EventRetry{ID: n, Until: r.Until, Reason: r.Reason}
	}
	return out, nil
}

// NextEventDue says when the next delayed event (a delivery, a read) falls
// due, so the core can sleep until then.
func (s *Sandbox) NextEventDue(ctx context.Context) (time.Time, bool, error) {
	if n, ok := s.store.(interface {
		NextSandboxEventDue(context.Context) (time.Time, bool, error)
	}); ok {
		return n.NextSandboxEventDue(ctx)
	}
	return time.Time{}, false, nil
}

func randomDigits(n int) string {
	b := make([]byte, n)
	for i := range b {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b[i] = byte('0' + d.Int64())
	}
	return string(b)
}
