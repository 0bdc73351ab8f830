// Package webhook delivers callbacks (statuses, inbound messages, async
// results) to the webhook URL of the application settings, as the
// On-Premises client did: an HTTPS POST of a JSON object, delivered only when
// the receiver answers 200, retried with a linear backoff capped at
// max_callback_backoff_delay_ms, at most webhooks.max_concurrent_requests
// POSTs in flight, queued in the database when callback_persist is on.
//
// Delivery is at least once: a crash between the receiver's 200 and the
// removal of the row sends the same body again after the lease runs out.
//
// Choices where the spec is silent:
//   - The retry horizon (Options.Horizon, 24 h) is an item's age since it was
//     queued. Time spent waiting for a webhook URL counts: with no URL nothing
//     is sent and nothing is dropped, but an item that aged out meanwhile is
//     dropped, unsent, once a URL is set. No attempt is made past the horizon.
//   - Items of one kind may share a POST (BatchMax, 1 MiB per body); the
//     senders of merged inbound messages are listed once per wa_id.
//   - The URL, the backoff settings and max_concurrent_requests are read on
//     every round, so changing them needs no restart; callback_persist is read
//     once, in New, as the spec says it needs a restart.
package webhook

import (
	"container/heap"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
)

// Notification kinds: the top-level key of the payload that names what it
// carries (runtime spec §1.1).
const (
	KindStatuses   = "statuses"
	KindMessages   = "messages" // with the senders in "contacts"
	KindContacts   = "contacts" // async results of POST /v1/contacts
	KindErrors     = "errors"
	KindServices   = "services"
	KindMediaItems = "media_items"
)

var kinds = []string{KindStatuses, KindMessages, KindContacts, KindErrors, KindServices, KindMediaItems}

// Notification is one item for the webhook: Payload is the whole JSON object
// that would be POSTed if it were sent alone, e.g. {"statuses":[{...}]} or
// {"contacts":[...],"messages":[{...}]}. It must hold an array under Kind.
type Notification struct {
	Kind    string
	Payload json.RawMessage
}

// ErrOverloaded means the queue holds QueueLimit items or more: the API answers 1016
// "System overloaded" rather than accept work whose callbacks it cannot keep.
var ErrOverloaded = errors.New("webhook: callback queue is full")

// Store is the storage of the durable queue (callback_persist=true).
type Store interface {
	EnqueueCallbacks(ctx context.Context, cbs []store.Callback) error
	ClaimCallbacks(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Callback, error)
	DeleteCallbacks(ctx context.Context, ids []int64) error
	RescheduleCallbacks(ctx context.Context, cbs []store.Callback) error
	CountCallbacks(ctx context.Context) (int64, error)
	ReleaseCallbackClaims(ctx context.Context, owner string, untils []time.Time) (int64, error)
	CallbacksAtLeast(ctx context.Context, n int) (bool, error)
}

// Options configure a Dispatcher. Zero values take the defaults noted.
type Options struct {
	// Store holds the queue when the settings say callback_persist=true.
	// Nil keeps the queue in memory whatever the settings say.
	Store    Store
	Settings func() settings.Application // read on every round (URL, backoff, concurrency); safe for concurrent use
	Now      func() time.Time            // time.Now
	Log      *slog.Logger                // discard
	Version  string                      // for User-Agent: wabiz/<Version>
	NodeID   string                      // lease owner; hostname plus random suffix

	BatchMax     int           // items per POST (20)
	Horizon      time.Duration // age after which a callback is dropped (24 h)
	QueueLimit   int           // items queued before Enqueue refuses (100,000)
	Lease        time.Duration // how long a claimed row stays ours (2 min, > RequestTimeout)
	PollInterval time.Duration // Run looks for work at least this often (1 s)

	// Client replaces the guarded HTTP client; the three fields after it
	// only shape the default one.
	Client         *http.Client
	ConnectTimeout time.Duration  // 10 s
	RequestTimeout time.Duration  // 20 s, the whole POST
	RootCAs        *x509.CertPool // nil: the system roots

	// Attempts, when set, keeps a line per POST for the console
	// (attempts.go); nil keeps none.
	Attempts AttemptLog
}

// Stats are counters since the dispatcher started.
type Stats struct {
	Queued     int64 // approximate: other nodes' work is seen at the next recount
	InFlight   int   // POSTs under way
	Delivered  uint64
	Retried    uint64
	Dropped    uint64
	Persistent bool // the queue is the callbacks table
}

// Result counts what one RunOnce did.
type Result struct {
	Posts     int // POSTs made, answered or not
	Delivered int // items acknowledged with 200
	Retried   int // items rescheduled after a failed POST
	Dropped   int // items past the horizon
}

// Dispatcher owns the queue and the deliveries.
type Dispatcher struct {
	o       Options
	q       queue
	persist bool
	client  *http.Client
	swapped atomic.Pointer[http.Client] // set by SetRootCAs (ca.go); wins over client
	log     *slog.Logger

	queued                      atomic.Int64
	delivered, retried, dropped atomic.Uint64
	failing                     atomic.Bool // for one log line per outage, not one per POST

	claimMu  sync.Mutex // one claim at a time, so free slots are not claimed twice
	mu       sync.Mutex // guards inFlight, pending, due
	inFlight int
	pending  []batch // claimed, waiting for a free slot
	due      dueTimes

	sigMu  sync.Mutex
	signal chan struct{} // closed and replaced on every change (Wake, a slot freed)

	tableMu   sync.Mutex // guards the two below, and makes table counts one at a time
	tableFull bool       // the last answer of the callbacks table
	tableAt   time.Time  // when it was read; zero before the first read

	attempts attemptBuffer
}

// tableFullFor is how long FullInTable reuses its answer, by the
// dispatcher's clock: a node that does not deliver reads the table at most
// once a second however many sends it accepts.
const tableFullFor = time.Second

// New builds a dispatcher. Whether the queue is persistent is decided here,
// from callback_persist: the spec lists it among the settings that need a
// restart.
func New(ctx context.Context, o Options) (*Dispatcher, error) {
	if o.Settings == nil {
		o.Settings = settings.Defaults
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.NodeID == "" {
		o.NodeID = defaultNodeID()
	}
	if len(o.NodeID) > 64 {
		o.NodeID = o.NodeID[:64] // the lease_owner column
	}
	o.BatchMax = cmpOr(o.BatchMax, 20)
	o.Horizon = cmpOr(o.Horizon, 24*time.Hour)
	o.QueueLimit = cmpOr(o.QueueLimit, 100_000)
	o.ConnectTimeout = cmpOr(o.ConnectTimeout, 10*time.Second)
	o.RequestTimeout = cmpOr(o.RequestTimeout, 20*time.Second)
	o.Lease = cmpOr(o.Lease, max(2*time.Minute, 2*o.RequestTimeout+30*time.Second))
	o.PollInterval = cmpOr(o.PollInterval, time.Second)

	d := &Dispatcher{o: o, log: o.Log, client: o.Client, signal: make(chan struct{})}
	if d.client == nil {
		d.client = newHTTPClient(o.ConnectTimeout, o.RequestTimeout, o.RootCAs)
	}
	d.persist = o.Store != nil && o.Settings().CallbackPersist
	if d.persist {
		d.q = &storeQueue{s: o.Store, owner: o.NodeID, lease: o.Lease}
	} else {
		d.q = newMemoryQueue()
	}
	n, err := d.q.count(ctx)
	if err != nil {
		return nil, fmt.Errorf("webhook: count queued callbacks: %w", err)
	}
	d.queued.Store(n)
	if !d.persist && o.Store != nil {
		// Rows left by an earlier run with callback_persist=true are not
		// ours to deliver now; say so instead of ignoring them silently.
		if rows, err := o.Store.CountCallbacks(ctx); err == nil && rows > 0 {
			d.log.Warn("callback_persist is off: callbacks queued in the database wait until it is turned on again", "count", rows)
		}
	}
	return d, nil
}

func cmpOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func defaultNodeID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

// Enqueue queues items for delivery, in one transaction when persistent. It
// never waits for a delivery. ErrOverloaded when the queue would pass its
// bound; any other error is a bad item or a storage failure.
func (d *Dispatcher) Enqueue(ctx context.Context, items ...Notification) error {
	if len(items) == 0 {
		return nil
	}
	now := d.o.Now()
	for _, it := range items {
		if err := checkNotification(it); err != nil {
			return err
		}
	}
	cbs := coalesce(items, d.o.BatchMax, now)
	// The bound refuses work once the queue holds QueueLimit items (Full);
	// below it a batch is taken whole, even if it passes the bound: the
	// worker queues a message's "sent" and "delivered" together, and a
	// bound that refused the pair one place below the limit would stall
	// the worker while Full still let the API accept sends.
	n := int64(len(cbs))
	if d.queued.Add(n)-n >= int64(d.o.QueueLimit) {
		d.queued.Add(-n)
		return ErrOverloaded
	}
	if err := d.q.add(ctx, cbs); err != nil {
		d.queued.Add(-n)
		return err
	}
	d.mu.Lock()
	d.due.push(now)
	d.mu.Unlock()
	d.Wake()
	return nil
}

func checkNotification(it Notification) error {
	if !slices.Contains(kinds, it.Kind) {
		return fmt.Errorf("webhook: unknown notification kind %q", it.Kind)
	}
	if !utf8.Valid(it.Payload) {
		return fmt.Errorf("webhook: %s payload is not UTF-8", it.Kind)
	}
	members, ok := topLevelMembers(it.Payload)
	if !ok {
		return fmt.Errorf("webhook: %s payload is not a JSON object", it.Kind)
	}
	for _, m := range members {
		if m.key == it.Kind && m.array != nil {
			return nil
		}
	}
	return fmt.Errorf("webhook: %s payload has no %q array", it.Kind, it.Kind)
}

// Full reports whether Enqueue would refuse a new item. It reads the
// counter this dispatcher keeps, which sees its own enqueues and
// deliveries: right for the node that delivers.
func (d *Dispatcher) Full() bool { return d.queued.Load() >= int64(d.o.QueueLimit) }

// FullInTable is Full for a node that does not deliver (the web role alone):
// the callbacks table holds QueueLimit rows or more. It counts at most
// QueueLimit rows and reuses its answer for tableFullFor. With
// callback_persist off the queue lives in the delivering node's memory,
// which no other node can see: the answer is then this dispatcher's
// counter (docs/decisions.md).
func (d *Dispatcher) FullInTable(ctx context.Context) (bool, error) {
	if !d.persist {
		return d.Full(), nil
	}
	d.tableMu.Lock()
	defer d.tableMu.Unlock()
	now := d.o.Now()
	if !d.tableAt.IsZero() && now.Sub(d.tableAt) < tableFullFor && !now.Before(d.tableAt) {
		return d.tableFull, nil
	}
	full, err := d.o.Store.CallbacksAtLeast(ctx, d.o.QueueLimit)
	if err != nil {
		return false, err
	}
	d.tableFull, d.tableAt = full, now
	return full, nil
}

// Wake makes Run (and a waiting RunOnce) look for work now. Enqueue calls it;
// call it after a settings change too, so a new URL or a higher concurrency
// takes effect at once.
func (d *Dispatcher) Wake() {
	d.sigMu.Lock()
	close(d.signal)
	d.signal = make(chan struct{})
	d.sigMu.Unlock()
}

// changed returns a channel closed at the next Wake or freed slot. Take it
// before looking for work, so a change in between is not missed.
func (d *Dispatcher) changed() <-chan struct{} {
	d.sigMu.Lock()
	defer d.sigMu.Unlock()
	return d.signal
}

// NextDue is the earliest time this dispatcher knows something becomes due
// (its own enqueues and retries); false when it knows of nothing. Work queued
// or released by other nodes is found by polling.
func (d *Dispatcher) NextDue() (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.due.peek()
}

// Stats returns the counters.
func (d *Dispatcher) Stats() Stats {
	d.mu.Lock()
	inFlight := d.inFlight
	d.mu.Unlock()
	return Stats{
		Queued:     max(0, d.queued.Load()), // this node may deliver what others queued
		InFlight:   inFlight,
		Delivered:  d.delivered.Load(),
		Retried:    d.retried.Load(),
		Dropped:    d.dropped.Load(),
		Persistent: d.persist,
	}
}

// dueTimes is a small min-heap of times at which this dispatcher made work
// due. Bounded: past the bound a time is forgotten and polling finds the work.
type dueTimes []time.Time

const maxDueTimes = 4096

func (h *dueTimes) push(t time.Time) {
	if len(*h) < maxDueTimes {
		heap.Push((*timeHeap)(h), t)
	}
}

func (h dueTimes) peek() (time.Time, bool) {
	if len(h) == 0 {
		return time.Time{}, false
	}
	return h[0], true
}

// popThrough forgets every time at or before now: a claim found all of that.
func (h *dueTimes) popThrough(now time.Time) {
	for len(*h) > 0 && !(*h)[0].After(now) {
		heap.Pop((*timeHeap)(h))
	}
}

type timeHeap []time.Time

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i].Before(h[j]) }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(time.Time)) }
func (h *timeHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
