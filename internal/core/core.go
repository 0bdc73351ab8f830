// Package core is the messaging engine: registration state and readiness,
// the outbox (accepting sends, handing them to the network), the events the
// network reports (statuses, inbound messages, number changes), the 24-hour
// customer-service window and conversations, and the callbacks all of that
// produces.
package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/webhook"
)

// Gateway states as /v1/health reports them.
const (
	StateUnregistered = "unregistered"
	StateConnecting   = "connecting"
	StateConnected    = "connected"
	// StateDisconnected: the connection to WhatsApp has been lost for
	// longer than Options.ConnectionLostAfter (connection.go).
	StateDisconnected = "disconnected"
)

// Store is the storage the core needs.
type Store interface {
	GetDocument(ctx context.Context, name string) (store.Document, error)
	PutDocument(ctx context.Context, name string, body []byte, expectVersion int64, now time.Time) (int64, error)
	InsertOutbox(ctx context.Context, m store.OutboxMessage) error
	GetOutbox(ctx context.Context, id string) (store.OutboxMessage, error)
	ClaimOutboxIn(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int, ownLeftovers bool, ranges []store.ShardRange) ([]store.OutboxMessage, error)
	RescheduleOutbox(ctx context.Context, id string, attempts int, next time.Time, lastError string, now time.Time) error
	MarkOutboxSent(ctx context.Context, msgs []store.OutboxMessage, statuses []string, now time.Time) ([]bool, error)
	AdvanceOutboxFrom(ctx context.Context, m store.OutboxMessage, status, lastError string, now time.Time) (store.OutboxMessage, bool, error)
	ExpiredOutbox(ctx context.Context, now time.Time, limit int) ([]store.OutboxMessage, error)
	NextOutboxDue(ctx context.Context) (time.Time, bool, error)
	InsertInbound(ctx context.Context, m store.InboundMessage) (bool, error)
	GetInbound(ctx context.Context, id string) (store.InboundMessage, error)
	MarkInboundRead(ctx context.Context, id string, now time.Time) error
	TouchContact(ctx context.Context, waID, profileName string, at, now time.Time) error
	GetContact(ctx context.Context, waID string) (store.Contact, error)
	NoteContact(ctx context.Context, waID string, at time.Time) error
	OpenConversation(ctx context.Context, waID, origin string, now time.Time, length time.Duration, newID func() string) (store.Conversation, bool, error)
	GetContactCheck(ctx context.Context, number string) (store.ContactCheck, error)
	PutContactCheck(ctx context.Context, c store.ContactCheck) error
	PutIdentity(ctx context.Context, id store.Identity) error
	GetIdentity(ctx context.Context, waID string) (store.Identity, error)
	AcknowledgeIdentity(ctx context.Context, waID, hash string) (bool, error)
	Secret(ctx context.Context, name string, now time.Time) (string, error)
	GetMediaByNetworkID(ctx context.Context, networkID string) (store.Media, error)
	DocumentVersion(ctx context.Context, name string) (int64, error)
	Ping(ctx context.Context) error
}

// Hooks is the callback queue the core feeds.
type Hooks interface {
	Enqueue(ctx context.Context, items ...webhook.Notification) error
	// Full is the delivering node's view of the queue's bound, FullInTable
	// that of a node that does not deliver (shared.go).
	Full() bool
	FullInTable(ctx context.Context) (bool, error)
}

// Options configure the core.
type Options struct {
	Store    Store
	Network  network.Network
	Hooks    Hooks
	Settings *settings.Service
	// Media is the media volume; nil leaves media messages unresolved
	// (tests of other parts).
	Media MediaVolume
	Log   *slog.Logger
	Now   func() time.Time
	// NodeID names this process in leases.
	NodeID string
	// OfflineDrainLimit bounds how long start-up spends on the messages that
	// arrived while the core was away (6 minutes by default).
	OfflineDrainLimit time.Duration
	// BatchSize is how many messages or events one pass handles.
	BatchSize int
	// SendConcurrency bounds the messages this node has claimed and not
	// finished while it claims more (1024 by default): with a network
	// round trip per send it caps the node's send rate at about
	// SendConcurrency / round trip.
	SendConcurrency int
	// DBTimeout bounds the database work of the accept path (10 s by
	// default): past it a send answers 500/1023 instead of waiting for a
	// database that is down or stuck.
	DBTimeout time.Duration
	// ConnectionLostAfter is how long the connection to WhatsApp may be
	// lost before the outage is reported (DefaultConnectionLostAfter).
	ConnectionLostAfter time.Duration
}

// Core is the engine of one business number.
type Core struct {
	store    Store
	net      network.Network
	hooks    Hooks
	settings *settings.Service
	media    MediaVolume
	log      *slog.Logger
	now      func() time.Time
	node     string
	drainFor time.Duration
	batch    int
	sendConc int // Options.SendConcurrency
	dbWait   time.Duration

	conn      connectionWatch
	lostAfter time.Duration

	state   atomic.Value // string
	ready   atomic.Bool
	account atomic.Pointer[network.Account]

	// started is set by Start: the core runs in this process, and its
	// state is read directly; otherwise from the row (shared.go).
	started atomic.Bool
	shared  stateView

	templates    templateState // templates.go
	templateWake chan struct{} // the template refresh looks at once: the node became the leader
	lead         leadership    // leader.go

	readyMu sync.Mutex
	readyCh chan struct{} // closed when start-up finishes; replaced when it begins again

	startMu     sync.Mutex
	startCancel context.CancelFunc
	runCtx      context.Context

	outboxWake chan struct{}
	eventWake  chan struct{}

	shards shardClaim // shards.go

	// eventsMu lets one ProcessEvents run at a time: a claim takes back
	// what this node still holds, which is right only with nothing in
	// flight.
	eventsMu sync.Mutex
}

// RegistrationDocument holds the registered account.
const RegistrationDocument = "registration"

// New builds the core. Call Start to load the registration and run.
func New(o Options) *Core {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OfflineDrainLimit <= 0 {
		o.OfflineDrainLimit = 6 * time.Minute
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 256
	}
	if o.SendConcurrency <= 0 {
		o.SendConcurrency = 1024
	}
	if o.NodeID == "" {
		o.NodeID = "wabiz"
	}
	if o.DBTimeout <= 0 {
		o.DBTimeout = 10 * time.Second
	}
	if o.ConnectionLostAfter <= 0 {
		o.ConnectionLostAfter = DefaultConnectionLostAfter
	}
	c := &Core{store: o.Store, net: o.Network, hooks: o.Hooks, settings: o.Settings, media: o.Media, log: o.Log, now: o.Now,
		node: o.NodeID, drainFor: o.OfflineDrainLimit, batch: o.BatchSize, sendConc: o.SendConcurrency, dbWait: o.DBTimeout, lostAfter: o.ConnectionLostAfter,
		outboxWake: make(chan struct{}, 1), eventWake: make(chan struct{}, 1), templateWake: make(chan struct{}, 1), runCtx: context.Background(),
		readyCh: make(chan struct{})}
	c.state.Store(StateUnregistered)
	c.setUpTemplates()
	return c
}

// GatewayStatus implements /v1/health: unregistered until a number is
// registered, connecting during start-up, connected when messages flow,
// disconnected while the connection to WhatsApp has been lost for longer
// than the bound.
func (c *Core) GatewayStatus(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := c.store.Ping(ctx); err != nil {
		return "", fmt.Errorf("database unreachable: %w", err)
	}
	return c.gatewayState(ctx)
}

// Account returns the registered number, if any.
func (c *Core) Account() (network.Account, bool) {
	a := c.account.Load()
	if a == nil {
		return network.Account{}, false
	}
	return *a, true
}

// Ready reports whether sends are accepted (start-up finished) by the core
// of this process.
func (c *Core) Ready() bool { return c.ready.Load() }

// Start loads the registration and, when there is one, runs the start-up
// process in the background. The loops (Run) may start at the same time:
// they do nothing until the core is ready. From Start on, the leader's core
// records its state for the nodes that do not run one (shared.go).
func (c *Core) Start(ctx context.Context) error {
	c.runCtx = ctx
	acct, ok, err := c.loadAccount(ctx)
	if err != nil {
		return err
	}
	c.started.Store(true)
	if !ok {
		c.state.Store(StateUnregistered)
		c.PublishState(ctx)
		c.log.Info("no number registered yet: register one with POST /v1/account")
		return nil
	}
	c.account.Store(&acct)
	c.beginStartup(acct)
	return nil
}

// CheckRegistrationDocument reports whether body is a registration the core
// can load (a restore checks a backup's part with it before writing it).
func CheckRegistrationDocument(body []byte) error {
	_, err := decodeAccount(body)
	return err
}

func decodeAccount(body []byte) (network.Account, error) {
	var a network.Account
	if err := json.Unmarshal(body, &a); err != nil {
		return network.Account{}, fmt.Errorf("core: stored registration is corrupt: %w", err)
	}
	return a, nil
}

func (c *Core) loadAccount(ctx context.Context) (network.Account, bool, error) {
	doc, err := c.store.GetDocument(ctx, RegistrationDocument)
	if errors.Is(err, store.ErrNotFound) {
		return network.Account{}, false, nil
	}
	if err != nil {
		return network.Account{}, false, err
	}
	a, err := decodeAccount(doc.Body)
	if err != nil {
		return network.Account{}, false, err
	}
	return a, a.WaID != "", nil
}

// beginStartup (re)starts the start-up process for acct in the background,
// cancelling one still in progress.
func (c *Core) beginStartup(acct network.Account) {
	if !c.runsHere() {
		// A web node: the core nodes find the registration in the
		// database and start on it (server.RunCore).
		c.log.Info("registration recorded; the core nodes start on it", "wa_id", acct.WaID)
		return
	}
	c.startMu.Lock()
	if c.startCancel != nil {
		c.startCancel()
	}
	ctx, cancel := context.WithCancel(c.runCtx)
	c.startCancel = cancel
	c.startMu.Unlock()
	c.state.Store(StateConnecting)
	c.setReady(false)
	go func() {
		if err := c.Startup(ctx, acct); err != nil && ctx.Err() == nil {
			c.log.Error("start-up failed", "err", err)
		}
	}()
}

// Startup is the start-up process of the seed documents: connect, load the
// message templates, then receive and process the messages that arrived
// while the core was away (bounded by OfflineDrainLimit; skipped when there
// are none). Until it finishes, sends answer 1011 "Service not ready". A
// failed step is retried with a growing delay.
func (c *Core) Startup(ctx context.Context, acct network.Account) error {
	c.state.Store(StateConnecting)
	c.setReady(false)
	c.log.Warn("Service not ready: start-up in progress (connecting, loading templates, receiving offline messages)", "wa_id", acct.WaID)
	if err := c.retry(ctx, "connect", func() error {
		err := c.net.Connect(ctx, acct)
		c.observeConnection(err)
		return err
	}); err != nil {
		return err
	}
	var loaded int
	if err := c.retry(ctx, "load message templates", func() (err error) {
		loaded, err = c.startupTemplates(ctx)
		return err
	}); err != nil {
		return err
	}
	c.log.Info("message templates loaded", "count", loaded)
	deadline := c.now().Add(c.drainFor)
	drained := 0
	for c.now().Before(deadline) {
		n, deferred, err := c.ProcessEvents(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.log.Warn("receiving offline messages", "err", err)
			if err := sleep(ctx, time.Second); err != nil {
				return err
			}
			continue
		}
		drained += n
		if n == 0 || n == deferred {
			break
		}
	}
	if !c.now().Before(deadline) {
		c.log.Warn("offline messages still pending after the start-up limit; the rest is received while serving", "limit", c.drainFor)
	}
	c.state.Store(StateConnected)
	c.setReady(true)
	c.log.Info("Service ready", "offline_events_processed", drained)
	c.wake(c.outboxWake)
	c.wake(c.eventWake)
	return nil
}

func (c *Core) retry(ctx context.Context, what string, fn func() error) error {
	delay := time.Second
	for {
		err := fn()
		if err == nil {
			return nil
		}
		c.log.Warn("start-up step failed; retrying", "step", what, "err", err, "retry_in", delay)
		if err := sleep(ctx, delay); err != nil {
			return err
		}
		delay = min(2*delay, time.Minute)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Core) wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// setReady flips readiness and wakes whoever waits for it. The leader's
// core records its state (with c.state, set before) for the other nodes
// first, so that whoever WaitReady wakes finds the row current; one whose
// Start was never called is a web node's, and records nothing.
func (c *Core) setReady(ready bool) {
	c.readyMu.Lock()
	defer c.readyMu.Unlock()
	was := c.ready.Swap(ready)
	c.PublishState(c.runCtx)
	switch {
	case ready && !was:
		close(c.readyCh)
	case !ready && was:
		c.readyCh = make(chan struct{})
	}
}

// WaitReady blocks until start-up has finished (or ctx ends).
func (c *Core) WaitReady(ctx context.Context) error {
	c.readyMu.Lock()
	ch := c.readyCh
	c.readyMu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
