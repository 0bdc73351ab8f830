package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// Roles as /v1/health names them in a deployment of several nodes.
const (
	HealthPrimaryMaster   = "primary_master"   // the core node holding the leader lease
	HealthSecondaryMaster = "secondary_master" // another core node: it takes over when the leader dies
	HealthWebapp          = "webapp"           // a web node (the reference did not list its webapps)
)

// NodeHealth is one node's entry in /v1/health.
type NodeHealth struct {
	ID            string // "<host>:<name>"
	Role          string // HealthPrimaryMaster, HealthSecondaryMaster or HealthWebapp
	GatewayStatus string // what the node's own /v1/health says
	// Silent is how long the node has not heartbeated, when that is
	// longer than unhealthy_interval (0: healthy).
	Silent time.Duration
	// Shards are the shards the node holds a lease of, in order.
	Shards []int
}

// Health lists every registered node for /v1/health, or nil when the
// deployment is this node alone (one node answers as a single instance).
// ownStatus is this node's status now, which replaces its row's.
func (n *Node) Health(ctx context.Context, ownStatus string) ([]NodeHealth, error) {
	rows, err := n.o.Store.ClusterNodes(ctx)
	if err != nil {
		return nil, err
	}
	if len(rows) < 2 {
		return nil, nil
	}
	lease, err := n.o.Store.GetLease(ctx, LeaderLease)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	now := n.o.Now()
	held, err := n.shardHolders(ctx, now)
	if err != nil {
		return nil, err
	}
	_, unhealthy := Intervals(n.o.Settings())
	out := make([]NodeHealth, 0, len(rows))
	for _, r := range rows {
		h := NodeHealth{ID: r.ID, GatewayStatus: r.GatewayStatus, Role: HealthSecondaryMaster, Shards: held[r.ID]}
		switch {
		case r.Role == RoleWeb:
			h.Role = HealthWebapp
		case lease.HeldBy(r.ID, now):
			h.Role = HealthPrimaryMaster
		}
		if r.ID == n.ID() {
			h.GatewayStatus = n.standbyStatus(ownStatus)
		} else if silent := now.Sub(r.HeartbeatAt); silent > unhealthy {
			h.Silent = silent
		}
		out = append(out, h)
	}
	return out, nil
}

// Readouts returns the read-out every node last wrote with its heartbeat,
// by id (Options.Readout); a node that wrote none is absent.
func (n *Node) Readouts(ctx context.Context) (map[string][]byte, error) {
	return n.o.Store.ClusterNodeReadouts(ctx)
}

// shardHolders maps each node to the shards of the count in force it holds
// a lease of at now.
func (n *Node) shardHolders(ctx context.Context, now time.Time) (map[string][]int, error) {
	count, err := n.shardCount(ctx)
	if err != nil {
		return nil, err
	}
	leases, err := n.o.Store.ShardLeases(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]int{}
	for _, l := range leases {
		if l.Count == count && l.Shard < count && l.HeldBy(l.Holder, now) {
			out[l.Holder] = append(out[l.Holder], l.Shard)
		}
	}
	return out, nil
}
