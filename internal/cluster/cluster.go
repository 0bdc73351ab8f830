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
	// Engines is told, after each heartbeat of a node that runs the
	// engine, how many healthy nodes run it (this one included): the Cloud
	// bridge sends at WABIZ_CLOUD_RATE divided by that (docs/cloud-bridge.md).
	// Not called when the registry could not be read: the last count stays.
	Engines func(n int)
	Log     *slog.Logger
	Now     func() time.Time
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
	}
	// The registry as it was before this heartbeat: whether another node
	// is there to read this one's read-out, and how many send.
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
		Address: s.Address, Version: s.Version, GatewayStatus: status, StartedAt: n.started, HeartbeatAt: now, Readout: string(readout)})
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
	if n.o.Engines != nil {
		if rowsErr == nil {
			n.o.Engines(HealthyEngines(rows, n.ID(), now, unhealthy))
		} else if ctx.Err() == nil {
			n.o.Log.Warn("reading the node registry for the send rate share; the last share stays", "err", rowsErr)
		}
	}
	if leads {
		if pruned, err := n.o.Store.RemoveClusterNodesSilentSince(ctx, now.Add(-forgetSilentAfter)); err != nil && ctx.Err() == nil {
			n.o.Log.Warn("removing the rows of long-silent nodes", "err", err)
		} else if pruned > 0 {
			n.o.Log.Info("removed the rows of nodes silent for a day", "count", pruned)
		}
	}
	return errors.Join(rowErr, leaseErr)
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

// HealthyEngines counts the nodes of the registry rows that run the engine
// and heartbeated within unhealthy of now, self always among them (its
// row may be missing when its own write failed). A node that died without
// leaving is counted until unhealthy_interval passes: the others send below
// the deployment's rate meanwhile, never above it.
func HealthyEngines(rows []store.ClusterNode, self string, now time.Time, unhealthy time.Duration) int {
	count := 1
	for _, r := range rows {
		if r.ID != self && r.Role != RoleWeb && now.Sub(r.HeartbeatAt) <= unhealthy {
			count++
		}
	}
	return count
}

// Run heartbeats every heartbeat_interval until ctx ends, then leaves.
// Call Beat once before, so that the node is registered (and a core node
// possibly the leader) when start-up goes on.
func (n *Node) Run(ctx context.Context) {
	periodic.EveryInterval(ctx, func() time.Duration { h, _ := Intervals(n.o.Settings()); return h }, func(ctx context.Context) {
		if err := n.Beat(ctx); err != nil && ctx.Err() == nil {
			n.o.Log.Warn("heartbeat failed; the node counts as unhealthy if this lasts unhealthy_interval", "node", n.ID(), "err", err)
		}
	})
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
		err = n.o.Store.ReleaseLease(ctx, LeaderLease, n.ID())
	}
	return errors.Join(err, n.o.Store.RemoveClusterNode(ctx, n.ID()))
}
