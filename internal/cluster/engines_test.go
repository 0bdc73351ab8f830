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

// TestHealthyEnginesCountsSendingNodes: of a registry's rows, the nodes
// that run the engine and heartbeated within unhealthy_interval count;
// web nodes and silent nodes do not; the asking node always counts.
func TestHealthyEnginesCountsSendingNodes(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	unhealthy := 30 * time.Second
	row := func(id, role string, silent time.Duration) store.ClusterNode {
		return store.ClusterNode{ID: id, Role: role, HeartbeatAt: now.Add(-silent)}
	}
	registry := []store.ClusterNode{
		row("h:self", cluster.RoleCore, 0),
		row("h:core", cluster.RoleCore, 5*time.Second),
		row("h:all", cluster.RoleAll, unhealthy), // at the bound: still healthy
		row("h:web", cluster.RoleWeb, 0),
		row("h:dead", cluster.RoleCore, unhealthy+time.Second),
	}
	for _, c := range []struct {
		name string
		rows []store.ClusterNode
		self string
		want int
	}{
		{"the registry", registry, "h:self", 3},
		{"its own row missing", registry[1:], "h:self", 3},
		{"alone", nil, "h:self", 1},
		{"beside web nodes only", []store.ClusterNode{row("h:web", cluster.RoleWeb, 0)}, "h:self", 1},
	} {
		if got := cluster.HealthyEngines(c.rows, c.self, now, unhealthy); got != c.want {
			t.Errorf("%s: %d engines, want %d", c.name, got, c.want)
		}
	}
	// The same registry a second past: the "all" node has gone silent.
	if got := cluster.HealthyEngines(registry, "h:self", now.Add(time.Second), unhealthy); got != 2 {
		t.Errorf("a second later: %d engines, want 2", got)
	}
}

// engineCount is what a node's Engines callback was last told.
type engineCount struct {
	mu   sync.Mutex
	last int
}

func (e *engineCount) set(n int) { e.mu.Lock(); e.last = n; e.mu.Unlock() }
func (e *engineCount) get() int  { e.mu.Lock(); defer e.mu.Unlock(); return e.last }

// TestBeatTellsTheEngineCount: at each heartbeat a sending node learns how
// many healthy nodes send: a second core node counts from its first beat
// (the first from its next), a web node never, a killed node until
// unhealthy_interval has passed, a node that left at once.
func TestBeatTellsTheEngineCount(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		t.Parallel()
		s := storetest.OpenConfig(t, cfg)
		clk := &clock{t: time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)}
		node := func(name, role string, count *engineCount) *cluster.Node {
			return cluster.New(cluster.Options{
				Store: s, Self: cluster.Self{Host: "host", Name: name, Role: role, Version: "test"},
				Settings: func() settings.Application { return settings.Defaults() }, // heartbeat 5 s, unhealthy 30 s
				Engines:  count.set, Now: clk.Now,
			})
		}
		var ca, cb, cc, cw engineCount
		a, b, c := node("a", cluster.RoleCore, &ca), node("b", cluster.RoleAll, &cb), node("c", cluster.RoleCore, &cc)
		web := node("w", cluster.RoleWeb, &cw)
		counts := func(what string, want ...int) {
			t.Helper()
			got := []int{ca.get(), cb.get(), cc.get()}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s: a, b, c told %v, want %v", what, got, want)
				}
			}
		}
		beat(t, a, web)
		counts("a alone", 1)
		beat(t, b)
		counts("b's first beat", 1, 2)
		beat(t, c, a)
		counts("all three beat", 3, 2, 3)
		if cw.get() != 0 {
			t.Fatalf("a web node was told %d engines", cw.get())
		}
		// c is killed: the others count it until unhealthy_interval passes.
		for range 6 {
			clk.Advance(5 * time.Second)
			beat(t, a, b)
		}
		counts("30 s after c's last beat", 3, 3)
		clk.Advance(5 * time.Second)
		beat(t, a, b)
		counts("past unhealthy_interval", 2, 2)
		// b leaves cleanly: a's next beat counts itself alone.
		if err := b.Leave(context.Background()); err != nil {
			t.Fatal(err)
		}
		beat(t, a)
		counts("after b left", 1)
	})
}
