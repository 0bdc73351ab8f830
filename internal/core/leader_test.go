package core

import (
	"context"
	"encoding/json"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/message"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/sandbox"
	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
	"github.com/wabiz/wabiz/internal/webhook"
)

// countedSandbox is one process's sandbox, counting its catalogue fetches
// (the calls that are Graph API calls in cloud mode); it keeps the change
// count the sandbox offers.
type countedSandbox struct {
	*sandbox.Sandbox
	fetches atomic.Int32
}

func (s *countedSandbox) Templates(ctx context.Context) ([]network.Template, error) {
	s.fetches.Add(1)
	return s.Sandbox.Templates(ctx)
}

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sqliteWithSettings opens a migrated SQLite store and the settings
// service on it, on clk.
func sqliteWithSettings(t *testing.T, clk *testClock) (*store.Store, *settings.Service) {
	t.Helper()
	st := storetest.OpenConfig(t, storetest.Config(t, store.SQLite))
	sets, err := settings.NewService(context.Background(), st, settings.PatchRules{}, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	return st, sets
}

// statusHooks records the status callbacks queued.
type statusHooks struct {
	mu     sync.Mutex
	queued int
}

func (h *statusHooks) Enqueue(_ context.Context, items ...webhook.Notification) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, it := range items {
		if it.Kind == webhook.KindStatuses {
			h.queued++
		}
	}
	return nil
}
func (h *statusHooks) count() int                                { h.mu.Lock(); defer h.mu.Unlock(); return h.queued }
func (h *statusHooks) Full() bool                                { return false }
func (h *statusHooks) FullInTable(context.Context) (bool, error) { return false, nil }

// leadWhile runs c.Lead until the test ends, once it has taken effect.
func leadWhile(t *testing.T, c *Core) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Lead(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(10 * time.Second)
	for !c.leads() {
		if time.Now().After(deadline) {
			t.Fatal("Lead did not take effect")
		}
		runtime.Gosched()
	}
}

// TestOnlyTheLeaderAsksTheNetworkForTemplates: two core nodes of one
// deployment (each its own process's sandbox on the shared database). The
// leader loads from the network and stores the catalogue; the other starts
// from the stored catalogue and follows it at each look, never asking the
// network, and sees a template created elsewhere once the leader reloaded.
func TestOnlyTheLeaderAsksTheNetworkForTemplates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := &testClock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	st := storetest.OpenConfig(t, storetest.Config(t, store.SQLite))
	elsewhere := sandbox.New(st, clk.now) // the process of a web node
	ns, err := elsewhere.Namespace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addTemplate := func(name string) {
		t.Helper()
		if _, err := elsewhere.AddTemplate(ctx, json.RawMessage(`{"name":"`+name+`","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"Hello"}]}`)); err != nil {
			t.Fatal(err)
		}
	}
	has := func(c *Core, name string) bool {
		_, apiErr := c.catalogue().Hydrate(message.TypeTemplate,
			json.RawMessage(`{"namespace":"`+ns+`","name":"`+name+`","language":{"policy":"deterministic","code":"en"}}`))
		return apiErr == nil
	}
	node := func() (*Core, *countedSandbox) {
		net := &countedSandbox{Sandbox: sandbox.New(st, clk.now)}
		c := New(Options{Store: st, Network: net, Log: slog.New(slog.DiscardHandler), Now: clk.now})
		c.Follow()
		c.started.Store(true) // runs in its process; start-up is the test's
		c.ready.Store(true)
		return c, net
	}
	addTemplate("hello")
	leader, leaderNet := node()
	follower, followerNet := node()
	leadWhile(t, leader)

	if _, err := leader.startupTemplates(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := follower.startupTemplates(ctx); err != nil || n != 1 {
		t.Fatalf("the follower's start-up loaded %d templates (%v), want the stored 1", n, err)
	}
	if !has(follower, "hello") || followerNet.fetches.Load() != 0 {
		t.Fatalf("after start-up the follower has hello: %v, fetched %d times; want it, from the stored catalogue", has(follower, "hello"), followerNet.fetches.Load())
	}

	addTemplate("welcome")
	var ft, lt templateTicker
	follower.templateTick(ctx, &ft)
	if has(follower, "welcome") {
		t.Fatal("the follower has a template the leader has not loaded")
	}
	lt.leading = true // it loaded whole at start-up
	leader.templateTick(ctx, &lt)
	if !has(leader, "welcome") || leaderNet.fetches.Load() != 2 {
		t.Fatalf("the leader has welcome: %v after %d fetches; want it after its second", has(leader, "welcome"), leaderNet.fetches.Load())
	}
	clk.advance(catalogueCheckEvery)
	follower.templateTick(ctx, &ft)
	if !has(follower, "welcome") {
		t.Fatal("the follower does not see the template the leader reloaded")
	}
	// A full period of looks: the leader reloads whole, the follower
	// still never asks.
	for range int(templateRefresh / templateVersionPoll) {
		clk.advance(templateVersionPoll)
		follower.templateTick(ctx, &ft)
		leader.templateTick(ctx, &lt)
	}
	if n := followerNet.fetches.Load(); n != 0 {
		t.Fatalf("the follower asked the network %d times, want never", n)
	}
	if n := leaderNet.fetches.Load(); n != 3 {
		t.Fatalf("the leader fetched %d times, want 3 (start-up, the change, the full reload)", n)
	}
}

// TestANewLeaderReloadsAtOnce: a node that becomes the leader loads the
// catalogue whole from the network at its next look, and stores it,
// whatever it stored when it led before.
func TestANewLeaderReloadsAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := &testClock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	st := storetest.OpenConfig(t, storetest.Config(t, store.SQLite))
	net := &countedSandbox{Sandbox: sandbox.New(st, clk.now)}
	c := New(Options{Store: st, Network: net, Log: slog.New(slog.DiscardHandler), Now: clk.now})
	c.Follow()
	c.started.Store(true)
	c.ready.Store(true)
	var tk templateTicker
	c.templateTick(ctx, &tk)
	if net.fetches.Load() != 0 {
		t.Fatal("a follower asked the network")
	}
	leadWhile(t, c)
	c.templateTick(ctx, &tk)
	if n := net.fetches.Load(); n != 1 {
		t.Fatalf("the new leader fetched %d times at its first look, want 1", n)
	}
	if v, err := st.DocumentVersion(ctx, CatalogueDocument); err != nil || v == 0 {
		t.Fatalf("the new leader stored no catalogue (version %d, %v)", v, err)
	}
}

// TestOnlyTheLeaderSweepsExpiredMessages: a sent message whose time to
// live ran out is failed once, by the leader; a core that does not lead
// queues no failed callback for it.
func TestOnlyTheLeaderSweepsExpiredMessages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := &testClock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	st, sets := sqliteWithSettings(t, clk)
	m := store.OutboxMessage{ID: "gBGGFlB5", Recipient: "15550101", Type: "text", Body: []byte(`{}`),
		ScheduledAt: clk.now(), CreatedAt: clk.now(), ExpiresAt: clk.now().Add(time.Hour)}
	if err := st.InsertOutbox(ctx, m); err != nil {
		t.Fatal(err)
	}
	if moved, err := st.MarkOutboxSent(ctx, []store.OutboxMessage{m}, []string{store.OutboxSent}, clk.now()); err != nil || !moved[0] {
		t.Fatalf("mark sent: %v %v", moved, err)
	}
	clk.advance(2 * time.Hour)
	node := func() (*Core, *statusHooks) {
		h := &statusHooks{}
		c := New(Options{Store: st, Network: sandbox.New(st, clk.now), Hooks: h, Settings: sets, Log: slog.New(slog.DiscardHandler), Now: clk.now})
		c.Follow()
		return c, h
	}
	leader, leaderHooks := node()
	follower, followerHooks := node()
	leadWhile(t, leader) // its own sweep runs too: the count is the callbacks'

	if n, err := follower.ExpireMessages(ctx); err != nil || n != 0 || followerHooks.count() != 0 {
		t.Fatalf("the follower swept %d (%v) and queued %d callbacks; want none", n, err, followerHooks.count())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := st.GetOutbox(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == store.OutboxFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leader's sweep did not fail the expired message: %s", got.Status)
		}
		runtime.Gosched()
	}
	if n, err := leader.ExpireMessages(ctx); err != nil || n != 0 {
		t.Fatalf("a second sweep found %d (%v)", n, err)
	}
	if leaderHooks.count() != 1 || followerHooks.count() != 0 {
		t.Fatalf("failed callbacks: leader %d, follower %d; want 1 and 0", leaderHooks.count(), followerHooks.count())
	}
}
