package cluster

import (
	"context"
	"slices"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// Shards (multiconnect). The shard count set with POST /v1/account/shards
// cuts the recipients into shards (store.RangeOfShard); each shard is a
// lease held by one core node, which alone sends the messages of its
// shard, so one recipient's messages go out in order from one node.
//
// The leader keeps the shard map, every second (assignShards): a shard
// whose lease ran out (its holder stopped renewing: dead, or cut off from
// the database) goes to the live core node holding the fewest; a node
// holding two or more than another is asked to pass one on (balancing, so
// nodes that join later share the work); the leases of another shard count
// are removed when the count changes, and the new ones assigned once every
// node has seen the change. When a node has been silent for
// unhealthy_interval the leader also gives back every queue row it had
// claimed, so its messages, callbacks and events are taken at once instead
// of when their row leases run out.
//
// Every core node renews its shard leases at each heartbeat and reads the
// map every second (refreshShards): it passes on a shard the leader asked
// it to, and tells the engine which server shards it may claim. A shard it
// was just given counts only once no queued message of it is still leased
// to another node, so the previous holder's sends end before later ones
// of the same recipients start.

// ShardRefresh is how often a core node reads the shard map and the
// leader revises it.
const ShardRefresh = time.Second

// reshardPause is how long the leader waits, after removing the leases of
// an old shard count, before assigning the new ones: every node reads the
// count each ShardRefresh, so by then none still claims by the old ranges.
const reshardPause = 2 * ShardRefresh

// shardState is this node's view of the shard map.
type shardState struct {
	held      map[int]bool // the shards the engine was last told it may claim
	heldCount int          // the shard count they belong to
	known     bool         // the engine was told at least once
	// released remembers, per silent node, the heartbeat after which the
	// leader gave back its claims, so that is done once per silence.
	released map[string]time.Time
	// reshardFrom is when the leader removed the leases of an old count:
	// the new ones wait reshardPause from then.
	reshardFrom time.Time
}

// HoldsShards reports whether this node has any shard to send for; a core
// node with none is a standby (its gateway_status says disconnected in a
// deployment of several nodes, as the reference's standby coreapps did).
func (n *Node) HoldsShards() bool {
	n.shardMu.Lock()
	defer n.shardMu.Unlock()
	return len(n.shards.held) > 0
}

// HeldShards returns the shards this node sends for, in order, and the
// count they belong to.
func (n *Node) HeldShards() ([]int, int) {
	n.shardMu.Lock()
	defer n.shardMu.Unlock()
	out := make([]int, 0, len(n.shards.held))
	for s := range n.shards.held {
		out = append(out, s)
	}
	slices.Sort(out)
	return out, n.shards.heldCount
}

// shardCount is the count in force, 1 when it cannot be read as one.
func (n *Node) shardCount(ctx context.Context) (int, error) {
	if n.o.ShardCount == nil {
		return 1, nil
	}
	c, err := n.o.ShardCount(ctx)
	if err != nil {
		return 0, err
	}
	return max(c, 1), nil
}

// live reports whether a registry row heartbeated recently enough to be
// given a shard: within two heartbeats.
func live(r store.ClusterNode, now time.Time, heartbeat time.Duration) bool {
	return now.Sub(r.HeartbeatAt) <= 2*heartbeat
}

// assignShards is the leader's revision of the shard map.
func (n *Node) assignShards(ctx context.Context) error {
	n.shardMu.Lock()
	defer n.shardMu.Unlock()
	now := n.o.Now()
	heartbeat, unhealthy := Intervals(n.o.Settings())
	count, err := n.shardCount(ctx)
	if err != nil {
		return err
	}
	rows, err := n.o.Store.ClusterNodes(ctx)
	if err != nil {
		return err
	}
	if err := n.releaseSilent(ctx, rows, now, unhealthy); err != nil {
		return err
	}
	leases, err := n.o.Store.ShardLeases(ctx)
	if err != nil {
		return err
	}
	var stale, current []store.ShardLease
	for _, l := range leases {
		if l.Count == count && l.Shard < count {
			current = append(current, l)
		} else {
			stale = append(stale, l)
		}
	}
	if len(stale) > 0 {
		if err := n.o.Store.RemoveShardLeases(ctx, stale); err != nil {
			return err
		}
		n.o.Log.Info("the shard count changed; the new shards are assigned once every node has seen it", "shards", count)
		n.shards.reshardFrom = now
	}
	if now.Sub(n.shards.reshardFrom) < reshardPause {
		return nil
	}

	// The live core nodes and the valid shards each holds.
	holding := map[string]int{}
	for _, r := range rows {
		if r.Role != RoleWeb && (live(r, now, heartbeat) || r.ID == n.ID()) {
			holding[r.ID] = 0
		}
	}
	holding[n.ID()] += 0 // self, even if its own row failed to write
	byShard := map[int]store.ShardLease{}
	moving := false
	for _, l := range current {
		byShard[l.Shard] = l
		if _, ok := holding[l.Holder]; ok && l.Until.After(now) {
			holding[l.Holder]++
			moving = moving || l.NextHolder != ""
		}
	}
	fewest := func() string {
		best := ""
		for id, c := range holding {
			if best == "" || c < holding[best] || (c == holding[best] && id < best) {
				best = id
			}
		}
		return best
	}
	until := now.Add(leaseFor(heartbeat, unhealthy))
	for shard := range count {
		l, ok := byShard[shard]
		if !ok {
			l = store.ShardLease{Count: count, Shard: shard}
		}
		if l.Holder != "" && l.Until.After(now) {
			// Held: even by a node that missed heartbeats, a lease is
			// never taken before it runs out, or two nodes would send for
			// the shard at once.
			continue
		}
		to := fewest()
		took, err := n.o.Store.AssignShard(ctx, l, to, now, until)
		if err != nil {
			return err
		}
		if took {
			holding[to]++
			if l.Holder != "" {
				n.o.Log.Info("moved a shard whose holder stopped renewing it", "shard", shard, "from", l.Holder, "to", to)
			}
		}
	}
	if moving {
		return nil // one move at a time
	}
	// Balancing: the node holding the most passes one shard to the one
	// holding the fewest when they differ by two or more.
	most, least := "", fewest()
	for id, c := range holding {
		if most == "" || c > holding[most] || (c == holding[most] && id < most) {
			most = id
		}
	}
	if most == "" || holding[most]-holding[least] < 2 {
		return nil
	}
	for shard := count - 1; shard >= 0; shard-- {
		if l, ok := byShard[shard]; ok && l.Holder == most && l.Until.After(now) {
			n.o.Log.Info("asked a node to pass a shard on, to balance the shards", "shard", shard, "from", most, "to", least)
			return n.o.Store.RequestShardMove(ctx, l, least)
		}
	}
	return nil
}

// releaseSilent gives back the queue claims of every node silent for
// unhealthy_interval, once per silence.
func (n *Node) releaseSilent(ctx context.Context, rows []store.ClusterNode, now time.Time, unhealthy time.Duration) error {
	if n.shards.released == nil {
		n.shards.released = map[string]time.Time{}
	}
	for _, r := range rows {
		if r.ID == n.ID() || r.Role == RoleWeb || r.QueueOwner == "" || now.Sub(r.HeartbeatAt) <= unhealthy {
			continue
		}
		if n.shards.released[r.ID].Equal(r.HeartbeatAt) {
			continue
		}
		got, err := n.o.Store.ReleaseLeases(ctx, r.QueueOwner)
		if err != nil {
			return err
		}
		n.shards.released[r.ID] = r.HeartbeatAt
		if got.Total() > 0 {
			n.o.Log.Warn("a node went silent holding work; gave its claims back to the others", "node", r.ID, "silent", now.Sub(r.HeartbeatAt).Round(time.Second),
				"messages", got.Messages, "callbacks", got.Callbacks, "sandbox_events", got.SandboxEvents, "cloud_events", got.CloudEvents)
		}
	}
	return nil
}

// refreshShards reads the shard map and tells the engine what this node
// may claim; it passes on the shards the leader asked it to.
func (n *Node) refreshShards(ctx context.Context) error {
	if n.o.SetShards == nil {
		return nil
	}
	count, err := n.shardCount(ctx)
	if err != nil {
		return err
	}
	leases, err := n.o.Store.ShardLeases(ctx)
	if err != nil {
		return err
	}
	n.shardMu.Lock()
	defer n.shardMu.Unlock()
	now := n.o.Now()
	me := n.ID()
	var handOver []store.ShardLease
	held := map[int]bool{}
	var until time.Time
	for _, l := range leases {
		if l.Count != count || l.Shard >= count || !l.HeldBy(me, now) {
			continue
		}
		if l.NextHolder != "" && l.NextHolder != me {
			handOver = append(handOver, l)
			continue
		}
		if !n.shards.held[l.Shard] || n.shards.heldCount != count {
			// Newly ours: only once the previous holder's sends ended.
			busy, err := n.o.Store.ShardBusy(ctx, store.RangeOfShard(l.Shard, count), n.o.Self.QueueOwner, now)
			if err != nil {
				return err
			}
			if busy {
				continue
			}
		}
		held[l.Shard] = true
		if until.IsZero() || l.Until.Before(until) {
			until = l.Until
		}
	}
	// One shard of one is every recipient: no condition in the claim.
	var ranges []store.ShardRange
	if count > 1 || !held[0] {
		ranges = make([]store.ShardRange, 0, len(held))
		for shard := range count {
			if held[shard] {
				ranges = append(ranges, store.RangeOfShard(shard, count))
			}
		}
	}
	// The engine stops claiming what it passes on before the lease moves:
	// SetShards returns once no claim by the old ranges is under way.
	n.o.SetShards(ranges, until)
	n.shards.held, n.shards.heldCount, n.shards.known = held, count, true
	if n.o.Share != nil {
		// A standby keeps a share of one shard, so its limiter is never
		// shut; it sends nothing meanwhile.
		n.o.Share(float64(max(len(held), 1)) / float64(count))
	}
	heartbeat, unhealthy := Intervals(n.o.Settings())
	for _, l := range handOver {
		moved, err := n.o.Store.HandOverShard(ctx, l, now, now.Add(leaseFor(heartbeat, unhealthy)))
		if err != nil {
			return err
		}
		if moved {
			n.o.Log.Info("passed a shard on, as the leader asked", "shard", l.Shard, "to", l.NextHolder)
		}
	}
	return nil
}

// shardPass is one round of the node's shard loop: the leader's revision of the map
// while it leads, then this node's refresh, every ShardRefresh.
func (n *Node) shardPass(ctx context.Context) {
	if n.Leader() {
		if err := n.assignShards(ctx); err != nil && ctx.Err() == nil {
			n.o.Log.Warn("revising the shard map failed; retrying", "err", err)
		}
	}
	if err := n.refreshShards(ctx); err != nil && ctx.Err() == nil {
		n.o.Log.Warn("reading the shard map failed; this node keeps its shards until their leases run out", "err", err)
	}
}

// leaveShards stops the engine's claims and gives the shards up (a clean
// shutdown): the leader moves them at its next revision.
func (n *Node) leaveShards(ctx context.Context) error {
	if n.o.SetShards == nil {
		return nil
	}
	n.o.SetShards([]store.ShardRange{}, time.Time{})
	n.shardMu.Lock()
	n.shards.held = nil
	n.shardMu.Unlock()
	return n.o.Store.ReleaseShardLeases(ctx, n.ID())
}
