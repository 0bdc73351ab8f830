package core

import (
	"context"
	"sync"
	"sync/atomic"
)

// Some of the core's work must be done once per deployment, however many
// core nodes run: the expiry sweep (each sweeping node would queue its own
// failed callback for the same message), the template catalogue fetched
// from the network and stored for the other nodes, and the state document
// the web nodes answer from. A core no cluster drives (one built by a test
// or a tool) does all of it. A core of a deployment (server.Node.Start
// calls Follow) does it only while its node holds the leader lease, that
// is while Lead runs; meanwhile the others follow what the leader stores.

// leadership is how the core knows whether it does the deployment's
// once-only work.
type leadership struct {
	followed atomic.Bool  // Follow was called: the cluster chooses
	leading  atomic.Int32 // Lead calls running (a lease lost and taken again may overlap)
}

// Follow makes the core a member of a deployment: from now on it does the
// once-only work only while Lead runs. Call it before the node's first
// heartbeat.
func (c *Core) Follow() { c.lead.followed.Store(true) }

// leads reports whether the core does the deployment's once-only work now.
func (c *Core) leads() bool { return !c.lead.followed.Load() || c.lead.leading.Load() > 0 }

// Lead does the leader's work until ctx ends (the lease was lost or given
// up): the expiry sweep, and the state document kept current; the template
// refresh (templates.go) reloads from the network while it runs. It
// starts by publishing the state, so the web nodes answer from the new
// leader at once rather than when the old one's write grows stale.
func (c *Core) Lead(ctx context.Context) {
	c.templates.loadMu.Lock()
	// Another leader may have stored since this node last did: its first
	// load is stored whatever it remembers having written.
	c.templates.rows.written = nil
	c.templates.loadMu.Unlock()
	c.lead.leading.Add(1)
	defer c.lead.leading.Add(-1)
	c.wake(c.templateWake)
	c.PublishState(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { c.loop(ctx, "expiry", nil, c.ExpireMessages) })
	wg.Go(func() { c.keepStatePublished(ctx) })
	wg.Wait()
}
