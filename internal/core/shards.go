package core

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// shardClaim is which outbox messages this node may claim: those of the
// shards it holds, as the cluster says (internal/cluster, shards.go). A core
// the cluster never told claims every message (one node, and the tests).
type shardClaim struct {
	mu     sync.RWMutex // held for reading through each claim
	ranges []store.ShardRange
	until  time.Time // the claims stop then unless renewed; zero: no end
	// warned is when the last "leases ran out" warning was logged (Unix
	// ns), so a node stuck that way says so once a minute, not per claim.
	warned atomic.Int64
}

// ClaimShards narrows the outbox claims to the server shards of ranges (nil:
// all, empty: none) until until, when the shard leases run out unless the
// cluster renews them. It returns once no claim by the previous ranges is
// under way, so the cluster may pass a shard on right after.
func (c *Core) ClaimShards(ranges []store.ShardRange, until time.Time) {
	c.shards.mu.Lock()
	grew := len(ranges) > len(c.shards.ranges) || (ranges == nil && c.shards.ranges != nil)
	c.shards.ranges, c.shards.until = ranges, until
	c.shards.mu.Unlock()
	if grew {
		c.wake(c.outboxWake)
	}
}

// claimOutbox claims up to limit due messages of the shards this node
// holds.
func (c *Core) claimOutbox(ctx context.Context, limit int, ownLeftovers bool) ([]store.OutboxMessage, error) {
	c.shards.mu.RLock()
	defer c.shards.mu.RUnlock()
	now := c.now()
	if !c.shards.until.IsZero() && !now.Before(c.shards.until) {
		// The leases ran out by this node's clock: another may hold them
		// now. Renewing them is the cluster's heartbeat; if that keeps
		// failing the operator must hear of it.
		if last := c.shards.warned.Load(); now.UnixNano()-last >= int64(time.Minute) && c.shards.warned.CompareAndSwap(last, now.UnixNano()) {
			c.log.Warn("this node's shard leases ran out by its clock; it claims no messages until its heartbeat renews them",
				"leases_until", c.shards.until, "shards", len(c.shards.ranges))
		}
		return nil, nil
	}
	return c.store.ClaimOutboxIn(ctx, c.node, now, outboxLease, limit, ownLeftovers, c.shards.ranges)
}
