package core

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/periodic"
)

// The core watches whether WhatsApp's servers answer, whatever the network:
// every send says so, and so does a probe of a network that has one
// (network.ConnectionProber). A connection lost for longer than
// Options.ConnectionLostAfter is an outage (runtime spec §1.6 and §4): one
// errors callback is queued, /v1/health says "disconnected" and a warning
// is logged; the first answer afterwards ends it, with /v1/health
// "connected" again and an info line. Sends are accepted and retried
// throughout, as for any temporary failure.
//
// What is watched is this process's connection, so it is kept in memory: a
// restart during an outage starts watching afresh (start-up reports
// "connecting" until the network answers) and may report the same outage
// again.

// DefaultConnectionLostAfter is how long the connection may be lost before
// the outage is reported: longer than the retries of a send that met a
// passing failure (2, 4, 8 ... s), short enough that an operator hears of a
// real outage within a couple of minutes.
const DefaultConnectionLostAfter = time.Minute

const (
	// connectionCheckInterval is how often Run looks at the connection.
	connectionCheckInterval = 10 * time.Second
	// idleProbeInterval: while the connection seems fine, the network is
	// probed only when nothing has shown it working for this long, so a
	// busy server never probes and an idle Cloud bridge makes at most 12
	// probe calls an hour. While the connection is in doubt every check
	// probes, to learn quickly that it is back.
	idleProbeInterval = 5 * time.Minute
	// probeTimeout bounds one probe, so a network that does not answer
	// counts as lost instead of holding the check.
	probeTimeout = 10 * time.Second
)

// connectionLostDetails is the errors callback's text; the time is when
// the connection was first found lost.
func connectionLostDetails(since time.Time) string {
	return "The connection to WhatsApp has been lost since " + since.UTC().Format(time.RFC3339)
}

// connectionWatch is what the core knows of its connection to WhatsApp.
type connectionWatch struct {
	// doubt is set by a connection-level failure and cleared by the next
	// answer: a successful send reads only it (and lastUp) when all is well.
	doubt  atomic.Bool
	lastUp atomic.Int64 // Unix nanoseconds of the last answer

	mu        sync.Mutex
	lostSince time.Time // the first failure of the current loss; zero when none
	lastErr   string
	declared  bool // the loss passed the bound: reported, health says disconnected

	checking sync.Mutex // one check at a time (Run's loop, a test's call)
}

// observeConnection records what an exchange with the network says of the
// connection: an answer (a success, or a refusal in the network's own
// words) shows it working; a connection-level failure shows it lost; any
// other error (our own database, a cancelled context) says nothing.
func (c *Core) observeConnection(err error) {
	var ne *network.Error
	switch {
	case err == nil:
		c.connectionWorks(c.now())
	case network.IsConnectionLoss(err):
		c.connectionFailed(c.now(), err)
	case errors.As(err, &ne):
		c.connectionWorks(c.now())
	}
}

func (c *Core) connectionWorks(now time.Time) {
	w := &c.conn
	w.lastUp.Store(now.UnixNano())
	if !w.doubt.Load() {
		return
	}
	w.mu.Lock()
	since, declared := w.lostSince, w.declared
	w.lostSince, w.lastErr, w.declared = time.Time{}, "", false
	w.doubt.Store(false)
	w.mu.Unlock()
	if declared {
		c.log.Info("the connection to WhatsApp is back: /v1/health says connected again",
			"lost_since", since.UTC().Format(time.RFC3339), "lasted", now.Sub(since).Round(time.Second))
	}
}

func (c *Core) connectionFailed(now time.Time, err error) {
	w := &c.conn
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lostSince.IsZero() {
		w.lostSince = now
	}
	w.lastErr = err.Error()
	w.doubt.Store(true)
}

// connectionDeclaredLost reports whether an outage is in progress.
func (c *Core) connectionDeclaredLost() bool {
	if !c.conn.doubt.Load() {
		return false
	}
	c.conn.mu.Lock()
	defer c.conn.mu.Unlock()
	return c.conn.declared
}

// CheckConnection is one look at the connection: Run makes one every
// connectionCheckInterval, tests call it after moving the clock. It probes
// when the network can be probed and there is reason to, and reports the
// outage once the connection has been lost for longer than the bound (the
// report is queued durably, or the error returned and the next check tries
// again). Nothing is checked before a number is registered.
func (c *Core) CheckConnection(ctx context.Context) error {
	w := &c.conn
	w.checking.Lock()
	defer w.checking.Unlock()
	if c.state.Load() == StateUnregistered {
		return nil
	}
	now := c.now()
	if prober, ok := c.net.(network.ConnectionProber); ok && (w.doubt.Load() || now.Sub(time.Unix(0, w.lastUp.Load())) >= idleProbeInterval) {
		probeCtx, cancel := context.WithTimeout(ctx, probeTimeout)
		err := prober.ProbeConnection(probeCtx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.observeConnection(err)
	}
	w.mu.Lock()
	since, lastErr := w.lostSince, w.lastErr
	due := !w.declared && w.doubt.Load() && !since.IsZero() && now.Sub(since) > c.lostAfter
	w.mu.Unlock()
	if !due {
		return nil
	}
	if err := c.enqueueErrors(ctx, asyncError{Code: network.ConnectionLossCode, Details: connectionLostDetails(since)}); err != nil {
		return err
	}
	w.mu.Lock()
	current := w.lostSince.Equal(since)
	w.declared = current
	w.mu.Unlock()
	c.log.Warn("the connection to WhatsApp is lost: /v1/health says disconnected and an errors callback is queued; sends are kept and retried",
		"lost_since", since.UTC().Format(time.RFC3339), "bound", c.lostAfter, "last_error", lastErr)
	if !current {
		// An answer came while the report was being queued.
		c.log.Info("the connection to WhatsApp is back: /v1/health says connected again", "lost_since", since.UTC().Format(time.RFC3339))
	}
	return nil
}

// watchConnection runs CheckConnection every connectionCheckInterval until
// ctx ends.
func (c *Core) watchConnection(ctx context.Context) {
	periodic.Every(ctx, connectionCheckInterval, func(ctx context.Context) {
		if err := c.CheckConnection(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("checking the connection to WhatsApp failed; trying again at the next check", "err", err)
		}
	})
}
