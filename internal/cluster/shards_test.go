package cluster_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/cluster"
	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// engine is what a node's engine was told of its shards.
type engine struct {
	mu     sync.Mutex
	told   bool
	ranges []store.ShardRange // nil: all
	share  float64
}

func (e *engine) setShards(r []store.ShardRange, _ time.Time) {
	e.mu.Lock()
	e.told, e.ranges = true, slices.Clone(r)
	if r != nil && len(r) == 0 {
		e.ranges = []store.ShardRange{}
	}
	e.mu.Unlock()
}

func (e *engine) setShare(s float64) { e.mu.Lock(); e.share = s; e.mu.Unlock() }

// shards are the shards, among count, the engine may claim; every shard
// when it was told all.
func (e *engine) shards(count int) []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []int
	for shard := range count {
		r := store.RangeOfShard(shard, count)
		if e.ranges == nil && e.told {
			out = append(out, shard)
			continue
		}
		for _, h := range e.ranges {
			if h.From <= r.From && r.To <= h.To {
				out = append(out, shard)
			}
		}
	}
	return out
}

type shardedNodes struct {
	t     *testing.T
	s     *store.Store
	clk   *clock
	count atomic.Int64
}

func (d *shardedNodes) node(name, role string, e *engine) *cluster.Node {
	o := cluster.Options{
		Store: d.s, Self: cluster.Self{Host: "host", Name: name, Role: role, Version: "test", QueueOwner: name},
		Settings:   func() settings.Application { return settings.Defaults() }, // heartbeat 5 s, unhealthy 30 s
		Status:     func(context.Context) (string, error) { return "connected", nil },
		ShardCount: func(context.Context) (int, error) { return int(d.count.Load()), nil },
		Now:        d.clk.Now,
	}
	if e != nil {
		o.SetShards, o.Share = e.setShards, e.setShare
	}
	return cluster.New(o)
}

func pass(nodes ...*cluster.Node) {
	for _, n := range nodes {
		n.PassShards(context.Background())
	}
}

// queue stores a message to a recipient of the given shard among count.
func queue(t *testing.T, s *store.Store, id string, shard, count int, at time.Time) string {
	t.Helper()
	for i := 0; ; i++ {
		to := "1555" + strconv.Itoa(1000000+i)
		if store.ShardOf(store.ServerShard(to), count) != shard {
			continue
		}
		if err := s.InsertOutbox(context.Background(), store.OutboxMessage{ID: id, Recipient: to, Type: "text", Body: []byte(`{}`),
			ScheduledAt: at, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		return to
	}
}

// TestShardsAreAssignedBalancedAndMoved: the first core node gets every
// shard, nodes that join later get their part by hand-over, each shard is
// held by exactly one node; a silent node's shard goes to another, which
// sends for it only once the silent node's claims are given back (after
// unhealthy_interval); the shares follow the shards; a standby says
// disconnected; a new shard count starts over after a pause; a node that
// leaves gives its shards up.
func TestShardsAreAssignedBalancedAndMoved(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		t.Parallel()
		ctx := context.Background()
		d := &shardedNodes{t: t, s: storetest.OpenConfig(t, cfg), clk: &clock{t: time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)}}
		d.count.Store(4)
		var ea, eb, ec engine
		a, b, c := d.node("a", cluster.RoleCore, &ea), d.node("b", cluster.RoleAll, &eb), d.node("c", cluster.RoleCore, &ec)
		web := d.node("w", cluster.RoleWeb, nil)

		beat(t, a)
		if !a.Leader() || !slices.Equal(ea.shards(4), []int{0, 1, 2, 3}) {
			t.Fatalf("the first core node: leader %v, shards %v; want the leader with every shard", a.Leader(), ea.shards(4))
		}
		beat(t, b, c, web)
		for range 6 {
			pass(a, b, c)
		}
		got := map[string][]int{"a": ea.shards(4), "b": eb.shards(4), "c": ec.shards(4)}
		if len(got["a"]) != 2 || len(got["b"]) != 1 || len(got["c"]) != 1 {
			t.Fatalf("after balancing: %v; want 2, 1 and 1 shards", got)
		}
		all := slices.Concat(got["a"], got["b"], got["c"])
		slices.Sort(all)
		if !slices.Equal(all, []int{0, 1, 2, 3}) {
			t.Fatalf("after balancing: %v; every shard held once", got)
		}
		if eb.share != 0.25 || ea.share != 0.5 {
			t.Fatalf("shares a %v, b %v; want 0.5 and 0.25", ea.share, eb.share)
		}

		// c claims a message of its shard, then goes silent.
		cShard := got["c"][0]
		queue(t, d.s, "m-c", cShard, 4, d.clk.Now())
		if msgs, err := d.s.ClaimOutboxIn(ctx, "c", d.clk.Now(), 10*time.Minute, 10, false, []store.ShardRange{store.RangeOfShard(cShard, 4)}); err != nil || len(msgs) != 1 {
			t.Fatalf("c's claim: %v %v", msgs, err)
		}
		silentFrom := d.clk.Now()
		for d.clk.Now().Sub(silentFrom) < 30*time.Second {
			d.clk.Advance(5 * time.Second)
			beat(t, a, b)
			pass(a, b)
			if slices.Contains(slices.Concat(ea.shards(4), eb.shards(4)), cShard) {
				t.Fatalf("%v after c went silent, another node sends for c's shard while c's claim stands", d.clk.Now().Sub(silentFrom))
			}
			// Its lease is never taken before it runs out (25 s), though c
			// stopped counting as live after two missed heartbeats.
			if d.clk.Now().Sub(silentFrom) < 25*time.Second {
				leases, err := d.s.ShardLeases(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range leases {
					if l.Shard == cShard && l.Count == 4 && l.Holder != "host:c" {
						t.Fatalf("%v after c went silent its shard's lease went to %s before it ran out", d.clk.Now().Sub(silentFrom), l.Holder)
					}
				}
			}
		}
		d.clk.Advance(5 * time.Second)
		beat(t, a, b)
		pass(a, b) // the leader gives c's claims back, the new holder sees it free
		pass(a, b)
		if !slices.Contains(slices.Concat(ea.shards(4), eb.shards(4)), cShard) {
			t.Fatalf("past unhealthy_interval c's shard %d is nobody's: a %v, b %v", cShard, ea.shards(4), eb.shards(4))
		}
		other := "b"
		if slices.Contains(ea.shards(4), cShard) {
			other = "a"
		}
		if msgs, err := d.s.ClaimOutboxIn(ctx, other, d.clk.Now(), time.Minute, 10, false, []store.ShardRange{store.RangeOfShard(cShard, 4)}); err != nil || len(msgs) != 1 {
			t.Fatalf("the new holder's claim of c's message: %v %v", msgs, err)
		}
		if len(ea.shards(4))+len(eb.shards(4)) != 4 {
			t.Fatalf("a %v, b %v: want the four shards between them", ea.shards(4), eb.shards(4))
		}
		if _, err := d.s.ReleaseLeases(ctx, other); err != nil { // its send ended
			t.Fatal(err)
		}

		// One shard: one active node, the other a standby that says
		// disconnected; the new shard is assigned only after the pause.
		d.count.Store(1)
		pass(a, b)
		if len(ea.shards(1))+len(eb.shards(1)) != 0 {
			t.Fatalf("right after the count changed: a %v, b %v; want no shard yet", ea.shards(1), eb.shards(1))
		}
		d.clk.Advance(2 * cluster.ShardRefresh)
		pass(a, b)
		pass(a, b)
		if len(ea.shards(1))+len(eb.shards(1)) != 1 {
			t.Fatalf("after the pause: a %v, b %v; want the one shard held once", ea.shards(1), eb.shards(1))
		}
		beat(t, a, b)
		h := healthOf(t, web)
		active, standby := "host:a", "host:b"
		if len(eb.shards(1)) == 1 {
			active, standby = standby, active
		}
		if h[active].GatewayStatus != "connected" || h[standby].GatewayStatus != "disconnected" {
			t.Fatalf("health with one shard: active %+v, standby %+v", h[active], h[standby])
		}

		// The active node leaves: the standby takes the shard.
		leaving, staying, stayingEngine := a, b, &eb
		if active == "host:b" {
			leaving, staying, stayingEngine = b, a, &ea
		}
		if err := leaving.Leave(ctx); err != nil {
			t.Fatal(err)
		}
		d.clk.Advance(5 * time.Second)
		beat(t, staying)
		pass(staying)
		if !slices.Equal(stayingEngine.shards(1), []int{0}) {
			t.Fatalf("after the active node left, the other holds %v", stayingEngine.shards(1))
		}
	})
}

// TestShardRanges: the shards cut the 1024 server shards into equal
// ranges, and a recipient's shard is its CRC-32 modulo 1024 in them.
func TestShardRanges(t *testing.T) {
	t.Parallel()
	for _, count := range []int{1, 2, 4, 8, 16, 32} {
		next := 0
		for shard := range count {
			r := store.RangeOfShard(shard, count)
			if r.From != next || r.To-r.From != store.ServerShards/count {
				t.Fatalf("%d shards: shard %d is %v", count, shard, r)
			}
			next = r.To
			if store.ShardOf(r.From, count) != shard || store.ShardOf(r.To-1, count) != shard {
				t.Fatalf("%d shards: the ends of %v are not shard %d", count, r, shard)
			}
		}
		if next != store.ServerShards {
			t.Fatalf("%d shards cover %d server shards", count, next)
		}
	}
	// crc32("16315551234") is 3302976537 (PHP's and zlib's CRC-32); % 1024 = 25.
	if got := store.ServerShard("16315551234"); got != 25 {
		t.Fatalf("server shard %d", got)
	}
}

// TestCleanLeaveGivesBackClaims: a node that stops cleanly, once its
// engine has stopped, gives back what it had claimed, so another node
// takes it at once; when its engine did not stop in time, the claims stay
// until their leases run out (a send may still be under way).
func TestCleanLeaveGivesBackClaims(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		t.Parallel()
		ctx := context.Background()
		d := &shardedNodes{t: t, s: storetest.OpenConfig(t, cfg), clk: &clock{t: time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)}}
		d.count.Store(1)
		for _, stopped := range []bool{true, false} {
			var e engine
			name := "stopped-" + strconv.FormatBool(stopped)
			o := cluster.Options{
				Store: d.s, Self: cluster.Self{Host: "host", Name: name, Role: cluster.RoleCore, Version: "test", QueueOwner: name},
				Settings:      func() settings.Application { return settings.Defaults() },
				ShardCount:    func(context.Context) (int, error) { return 1, nil },
				SetShards:     e.setShards,
				EngineStopped: func(context.Context) bool { return stopped },
				Now:           d.clk.Now,
			}
			n := cluster.New(o)
			beat(t, n)
			queue(t, d.s, "m-"+name, 0, 1, d.clk.Now())
			if msgs, err := d.s.ClaimOutboxIn(ctx, name, d.clk.Now(), 10*time.Minute, 10, false, nil); err != nil || len(msgs) != 1 {
				t.Fatalf("%s claims: %v %v", name, msgs, err)
			}
			if err := n.Leave(ctx); err != nil {
				t.Fatal(err)
			}
			msgs, err := d.s.ClaimOutboxIn(ctx, "other", d.clk.Now(), time.Minute, 10, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(msgs) == 1; got != stopped {
				t.Fatalf("engine stopped %v: another node could claim the left node's message: %v", stopped, got)
			}
			if stopped { // sent by the other node: out of the next round's way
				if _, err := d.s.MarkOutboxSent(ctx, msgs[:1], []string{store.OutboxSent}, d.clk.Now()); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
