package cluster_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/cluster"
	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// leadership counts the leader's terms of one node.
type leadership struct {
	mu      sync.Mutex
	started int
	ended   int
}

func (l *leadership) run(ctx context.Context) {
	l.mu.Lock()
	l.started++
	l.mu.Unlock()
	<-ctx.Done()
	l.mu.Lock()
	l.ended++
	l.mu.Unlock()
}

func (l *leadership) counts() (started, ended int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.started, l.ended
}

func newNode(s *store.Store, clk *clock, name, role string, l *leadership) *cluster.Node {
	return cluster.New(cluster.Options{
		Store: s, Self: cluster.Self{Host: "host", Name: name, Role: role, Version: "test"},
		Settings: func() settings.Application { return settings.Defaults() }, // heartbeat 5 s, unhealthy 30 s
		Status:   func(context.Context) (string, error) { return "connected", nil },
		Leading:  l.run, Now: clk.Now,
	})
}

func beat(t *testing.T, nodes ...*cluster.Node) {
	t.Helper()
	for _, n := range nodes {
		if err := n.Beat(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func healthOf(t *testing.T, asker *cluster.Node) map[string]cluster.NodeHealth {
	t.Helper()
	list, err := asker.Health(context.Background(), "connected")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]cluster.NodeHealth{}
	for _, h := range list {
		m[h.ID] = h
	}
	return m
}

// TestLeaderFailover: of two core nodes the first to beat leads and runs
// the leader's jobs; the other does not steal the lease while it is
// renewed; when the leader goes silent the other takes over within
// unhealthy_interval of the leader's last heartbeat, and the silent node
// shows as unhealthy; a leader that leaves gives the lease up at once.
func TestLeaderFailover(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		t.Parallel()
		s := storetest.OpenConfig(t, cfg)
		clk := &clock{t: time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)}
		var la, lb leadership
		a, b := newNode(s, clk, "a", cluster.RoleCore, &la), newNode(s, clk, "b", cluster.RoleAll, &lb)
		web := newNode(s, clk, "w", cluster.RoleWeb, &leadership{})

		beat(t, a, b, web)
		if !a.Leader() || b.Leader() || web.Leader() {
			t.Fatalf("leaders after the first beats: a %v, b %v, web %v; want a alone", a.Leader(), b.Leader(), web.Leader())
		}
		h := healthOf(t, web)
		if len(h) != 3 || h["host:a"].Role != "primary_master" || h["host:b"].Role != "secondary_master" || h["host:w"].Role != "webapp" {
			t.Fatalf("health = %+v", h)
		}
		// Renewed at each heartbeat for far longer than one lease.
		for range 20 {
			clk.Advance(5 * time.Second)
			beat(t, a, b, web)
			if !a.Leader() || b.Leader() {
				t.Fatalf("after %v the lease moved: a %v, b %v", clk.Now(), a.Leader(), b.Leader())
			}
		}
		// a goes silent (killed): b takes over within unhealthy_interval.
		last := clk.Now()
		for !b.Leader() {
			clk.Advance(5 * time.Second)
			if clk.Now().Sub(last) > 30*time.Second {
				t.Fatalf("b still not the leader %v after a's last heartbeat", clk.Now().Sub(last))
			}
			beat(t, b, web)
		}
		h = healthOf(t, web)
		if h["host:b"].Role != "primary_master" || h["host:a"].Role != "secondary_master" || h["host:b"].Silent != 0 {
			t.Fatalf("health after the takeover: %+v", h)
		}
		// Past unhealthy_interval a is unhealthy.
		clk.Advance(10 * time.Second)
		beat(t, b, web)
		if h := healthOf(t, web); h["host:a"].Silent != clk.Now().Sub(last) {
			t.Fatalf("a silent for %v: %+v", clk.Now().Sub(last), h["host:a"])
		}
		// a comes back (restarted): it beats but does not take the lease back.
		beat(t, a)
		if a.Leader() || !b.Leader() {
			t.Fatalf("after a's return: a %v, b %v", a.Leader(), b.Leader())
		}
		waitCounts(t, &la, 1, 1)
		waitCounts(t, &lb, 1, 0)
		// b leaves cleanly: a leads at its next heartbeat, no waiting.
		if err := b.Leave(context.Background()); err != nil {
			t.Fatal(err)
		}
		waitCounts(t, &lb, 1, 1)
		beat(t, a)
		if !a.Leader() {
			t.Fatal("a did not take the lease b gave up")
		}
		if h := healthOf(t, web); len(h) != 2 || h["host:a"].Role != "primary_master" {
			t.Fatalf("health after b left: %+v", h)
		}
	})
}

// TestOneNodeIsNoCluster: a deployment of one registered node has no
// health map (the single-instance answer stays).
func TestOneNodeIsNoCluster(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	clk := &clock{t: time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)}
	n := newNode(s, clk, "solo", cluster.RoleAll, &leadership{})
	beat(t, n)
	if h, err := n.Health(context.Background(), "connected"); err != nil || h != nil {
		t.Fatalf("health of one node = %+v, %v; want none", h, err)
	}
	if !n.Leader() {
		t.Fatal("the only node does not lead")
	}
}

func waitCounts(t *testing.T, l *leadership, started, ended int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, e := l.counts()
		if s == started && e == ended {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("leader terms started %d, ended %d; want %d and %d", s, e, started, ended)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestALoneNodeMeasuresNoReadout: a node alone in the registry does not
// measure its read-out (nobody would read it); once another node is
// registered it measures and writes one at each heartbeat, and stops when
// it is alone again.
func TestALoneNodeMeasuresNoReadout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.Open(t, store.SQLite)
	clk := &clock{t: time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)}
	var measured sync.Map // node name -> measurements
	build := func(name, role string) *cluster.Node {
		return cluster.New(cluster.Options{
			Store: s, Self: cluster.Self{Host: "host", Name: name, Role: role, Version: "test"},
			Settings: func() settings.Application { return settings.Defaults() },
			Readout: func(context.Context) ([]byte, error) {
				v, _ := measured.LoadOrStore(name, new(int))
				*v.(*int)++
				return []byte(`{"node":"` + name + `"}`), nil
			},
			Now: clk.Now,
		})
	}
	times := func(name string) int {
		if v, ok := measured.Load(name); ok {
			return *v.(*int)
		}
		return 0
	}
	stored := func() map[string][]byte {
		t.Helper()
		m, err := s.ClusterNodeReadouts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	solo, web := build("solo", cluster.RoleAll), build("web", cluster.RoleWeb)
	beat(t, solo)
	beat(t, solo)
	if n, m := times("solo"), stored(); n != 0 || len(m) != 0 {
		t.Fatalf("a node alone measured %d times and the registry holds %d read-outs; want none", n, len(m))
	}

	beat(t, web, solo)
	if n, m := times("solo"), stored(); n != 1 || len(m) != 2 {
		t.Fatalf("with another node registered: measured %d times, %d read-outs stored; want 1 and 2", n, len(m))
	}

	if err := web.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	beat(t, solo)
	if n, m := times("solo"), stored(); n != 1 || len(m) != 0 {
		t.Fatalf("alone again: measured %d times, %d read-outs stored; want still 1 and none", n, len(m))
	}
}
