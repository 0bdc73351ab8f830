// Package cluster is what the nodes of one deployment know of each other,
// with the shared database as the only channel: the node registry (every
// node writes its row at start and at each heartbeat_interval; a row older
// than unhealthy_interval is an unhealthy node) and the leader lease, which
// the core nodes compete for. The leader runs the jobs that must run once
// per deployment (Options.Leading). There is no RPC between nodes: health
// across nodes is read from the registry.
package cluster

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/wabiz/wabiz/internal/periodic"
	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
)

// Roles a node runs (WABIZ_ROLE).
const (
	RoleAll  = "all"  // the HTTP API and the messaging engine
	RoleWeb  = "web"  // the HTTP API only
	RoleCore = "core" // the messaging engine only
)

// LeaderLease is the name of the leader's lease row.
const LeaderLease = "leader"

// forgetSilentAfter is how long the row of a node that stopped
// heartbeating without leaving (killed, its host lost) stays listed, as
// unhealthy, before the leader removes it.
const forgetSilentAfter = 24 * time.Hour

// Self describes this node in the registry.
type Self struct {
	Host    string // the host name
	Name    string // WABIZ_NODE_NAME or the id kept in the data directory
	Role    string // RoleAll, RoleWeb or RoleCore
	Address string // where its API listens; "" for a core node
	Version string
	// QueueOwner is the name this node's claims carry in the queues
	// (WABIZ_NODE_ID): the leader gives them back when the node goes silent.
	QueueOwner string
}

// ID is the node's key in the registry and in /v1/health: "<host>:<name>",
// as the reference keyed its nodes "<hostname>:<container>".
func (s Self) ID() string { return s.Host + ":" + s.Name }

// competes reports whether the role runs the engine, and so competes for
// the leader lease.
func (s Self) competes() bool { return s.Role != RoleWeb }

// Options are what a Node is built from.
type Options struct {
	Store *store.Store
	Self  Self
	// Settings gives heartbeat_interval and unhealthy_interval, read at
	// each heartbeat.
	Settings func() settings.Application
	// Status is what this node's own /v1/health says, written into its
	// row at each heartbeat.
	Status func(ctx context.Context) (string, error)
	// Readout is what this node measures of itself (its /v1/support and
	// /v1/stats read-outs, encoded), written into its row at each
	// heartbeat for the other nodes to answer with; nil writes none. It
	// is measured only while another node is registered (a node alone
	// pays nothing for it), so a node that has just joined answers for
	// one that was alone from the latter's next heartbeat on.
	Readout func(ctx context.Context) ([]byte, error)
	// Leading runs, in a goroutine of its own, while this node holds the
	// leader lease; its context ends when the lease is lost or given up.
	Leading func(ctx context.Context)
	// ShardCount is the shard count in force (POST /v1/account/shards);
	// nil is one shard.
	ShardCount func(ctx context.Context) (int, error)
	// SetShards tells the engine of a node that runs it which server
	// shards it may claim outbox messages of until until (nil ranges: all,
	// an empty list: none; a zero until: no end). It must return only once
	// no claim by the previous ranges is under way. Nil for a web node.
	SetShards func(ranges []store.ShardRange, until time.Time)
	// Share is told, when the shards this node holds change, which part
	// of the deployment's sends is its own (held shards / shard count): the
	// Cloud bridge sends at WABIZ_CLOUD_RATE times that
	// (docs/cloud-bridge.md).
	Share func(share float64)
	// EngineStopped waits, at a clean shutdown, until the engine's loops
	// have stopped (their sends and deliveries ended), or ctx ends; true
	// when they did. Then the node gives back what it still had claimed, so
	// the other nodes take it at once rather than when the leases run out.
	// Nil, or false, leaves the claims to run out.
	EngineStopped func(ctx context.Context) bool
	Log           *slog.Logger
	Now           func() time.Time
}

// Node is this node's membership: its row, and the leader lease when it
// holds it.
type Node struct {
	o       Options
	started time.Time

	mu          sync.Mutex
	lease       store.Lease // the last lease read; Holder "" before any
	stopLeading context.CancelFunc
	leading     sync.WaitGroup

	shardMu sync.Mutex // serialises the shard passes (shards.go)
	shards  shardState
}

// New builds the membership; nothing is written until Beat.
func New(o Options) *Node {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Node{o: o, started: o.Now()}
}

// ID is this node's key in the registry.
func (n *Node) ID() string { return n.o.Self.ID() }

// Intervals returns the heartbeat interval and the silence after which a
// node is unhealthy, from the application settings.
func Intervals(a settings.Application) (heartbeat, unhealthy time.Duration) {
	return time.Duration(max(a.HeartbeatInterval, 1)) * time.Second, time.Duration(max(a.UnhealthyInterval, 1)) * time.Second
}

// leaseFor is how long a taken or renewed leader lease lasts: the others
// try at each heartbeat, so a leader that died is replaced at most one
// heartbeat after its lease ran out, within unhealthy_interval of its last
// renewal. Two heartbeats at least, so one late renewal does not lose it.
func leaseFor(heartbeat, unhealthy time.Duration) time.Duration {
	return max(unhealthy-heartbeat, 2*heartbeat)
}

// Leader reports whether this node holds the leader lease by its clock.
func (n *Node) Leader() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lease.HeldBy(n.ID(), n.o.Now())
}

// Beat is one heartbeat: the registry is read, the node's row is written
// (with its read-out when other nodes are registered), and a core node
// takes or renews the leader lease, starting or stopping the leader's jobs.
func (n *Node) Beat(ctx context.Context) error {
	now := n.o.Now()
	status := ""
	if n.o.Status != nil {
		var err error
		if status, err = n.o.Status(ctx); err != nil {
			status = "disconnected" // what its own /v1/health cannot confirm
		}
		status = n.standbyStatus(status)
	}
	// The registry as it was before this heartbeat: whether another node
	// is there to read this one's read-out.
	rows, rowsErr := n.o.Store.ClusterNodes(ctx)
	var readout []byte
	if n.o.Readout != nil && (rowsErr != nil || othersIn(rows, n.ID())) {
		var err error
		if readout, err = n.o.Readout(ctx); err != nil && ctx.Err() == nil {
			// The row is still written: the node is alive, only its
			// read-out is missing until the next heartbeat.
			n.o.Log.Warn("measuring this node's read-out for the registry", "node", n.ID(), "err", err)
		}
	}
	s := n.o.Self
	rowErr := n.o.Store.PutClusterNode(ctx, store.ClusterNode{ID: s.ID(), Host: s.Host, Name: s.Name, Role: s.Role,
		Address: s.Address, Version: s.Version, QueueOwner: s.QueueOwner, GatewayStatus: status, StartedAt: n.started, HeartbeatAt: now, Readout: string(readout)})
	if !s.competes() {
		return rowErr
	}
	heartbeat, unhealthy := Intervals(n.o.Settings())
	lease, leaseErr := n.o.Store.TakeLease(ctx, LeaderLease, n.ID(), now, leaseFor(heartbeat, unhealthy))
	n.mu.Lock()
	if leaseErr == nil {
		n.lease = lease
	}
	// Without an answer the copy decides: the lease is kept until it runs
	// out by this node's clock, as the others see it.
	leads := n.lease.HeldBy(n.ID(), now)
	was := n.stopLeading != nil
	switch {
	case leads && !was:
		lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		n.stopLeading = cancel
		n.o.Log.Info("this node is now the leader", "node", n.ID())
		if n.o.Leading != nil {
			n.leading.Go(func() { n.o.Leading(lctx) })
		}
	case !leads && was:
		n.stopLeading()
		n.stopLeading = nil
		n.o.Log.Warn("this node lost the leader lease", "node", n.ID(), "leader", n.lease.Holder)
	}
	n.mu.Unlock()
	var shardErr error
	if leads {
		shardErr = n.assignShards(ctx)
	}
	if n.o.SetShards != nil {
		shardErr = errors.Join(shardErr, n.o.Store.RenewShardLeases(ctx, n.ID(), now.Add(leaseFor(heartbeat, unhealthy))), n.refreshShards(ctx))
	}
	if leads {
		if pruned, err := n.o.Store.RemoveClusterNodesSilentSince(ctx, now.Add(-forgetSilentAfter)); err != nil && ctx.Err() == nil {
			n.o.Log.Warn("removing the rows of long-silent nodes", "err", err)
		} else if pruned > 0 {
			n.o.Log.Info("removed the rows of nodes silent for a day", "count", pruned)
		}
	}
	return errors.Join(rowErr, leaseErr, shardErr)
}

// othersIn reports whether the registry rows hold a node other than self.
// A node alone measures no read-out: only other nodes answer with it, and
// its own /v1/support and /v1/stats measure live.
func othersIn(rows []store.ClusterNode, self string) bool {
	for _, r := range rows {
		if r.ID != self {
			return true
		}
	}
	return false
}

// standbyStatus is the gateway_status a node reports: a core node that
// holds no shard sends nothing and says disconnected, as the reference's
// standby coreapps did, once the shard map was read at least once.
func (n *Node) standbyStatus(status string) string {
	if !n.o.Self.competes() || n.o.SetShards == nil || (status != "connected" && status != "connecting") {
		return status
	}
	n.shardMu.Lock()
	defer n.shardMu.Unlock()
	if n.shards.known && len(n.shards.held) == 0 {
		return "disconnected"
	}
	return status
}

// Run heartbeats every heartbeat_interval until ctx ends, then leaves.
// Call Beat once before, so that the node is registered (and a core node
// possibly the leader) when start-up goes on.
func (n *Node) Run(ctx context.Context) {
	var shardLoop sync.WaitGroup
	if n.o.Self.competes() && n.o.SetShards != nil {
		shardLoop.Go(func() { periodic.Every(ctx, ShardRefresh, n.shardPass) })
	}
	periodic.EveryInterval(ctx, func() time.Duration { h, _ := Intervals(n.o.Settings()); return h }, func(ctx context.Context) {
		if err := n.Beat(ctx); err != nil && ctx.Err() == nil {
			n.o.Log.Warn("heartbeat failed; the node counts as unhealthy if this lasts unhealthy_interval", "node", n.ID(), "err", err)
		}
	})
	shardLoop.Wait() // no shard pass may undo the leaving
	leaveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := n.Leave(leaveCtx); err != nil {
		n.o.Log.Warn("leaving the node registry", "node", n.ID(), "err", err)
	}
}

// Leave is the clean shutdown: the leader's jobs stop, the lease is given
// up (another core takes it at its next heartbeat) and the row removed.
func (n *Node) Leave(ctx context.Context) error {
	n.mu.Lock()
	if n.stopLeading != nil {
		n.stopLeading()
		n.stopLeading = nil
	}
	n.lease = store.Lease{}
	n.mu.Unlock()
	n.leading.Wait()
	var err error
	if n.o.Self.competes() {
		err = n.leaveShards(ctx)
		if n.o.EngineStopped != nil && n.o.EngineStopped(ctx) && n.o.Self.QueueOwner != "" {
			got, rerr := n.o.Store.ReleaseLeases(ctx, n.o.Self.QueueOwner)
			err = errors.Join(err, rerr)
			if got.Total() > 0 {
				n.o.Log.Info("gave back the work this node had claimed, for the other nodes", "messages", got.Messages,
					"callbacks", got.Callbacks, "sandbox_events", got.SandboxEvents, "cloud_events", got.CloudEvents)
			}
		}
		err = errors.Join(err, n.o.Store.ReleaseLease(ctx, LeaderLease, n.ID()))
	}
	return errors.Join(err, n.o.Store.RemoveClusterNode(ctx, n.ID()))
}
