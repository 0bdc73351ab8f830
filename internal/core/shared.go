package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/periodic"
	"github.com/wabiz/wabiz/internal/store"
)

// What the accept path needs to know of the core, for a node whose core
// does not run in its process (the web role alone). The core of the leader
// writes its state to a document whenever it changes and every
// statePublishEvery; such a node reads it back through a cache of
// stateCacheFor. A core that runs in the process is read directly: the
// single-process path costs no SQL for it.

// StateDocument is the document the running core keeps its state in.
const StateDocument = "core_state"

const (
	// statePublishEvery is how often the running core writes its state
	// although nothing changed: the row's age tells other nodes it runs,
	// and a connection declared lost (a state read at the time of asking)
	// reaches them.
	statePublishEvery = 10 * time.Second
	// stateStaleAfter is the row's age past which the core that wrote it
	// counts as gone: six missed writes. Until the heartbeats of the next
	// issue, this is all a web node knows of a core that died.
	stateStaleAfter = time.Minute
	// stateCacheFor is how long a node without a core reuses the row it
	// read, by its clock: one small read a second, whatever the send rate.
	stateCacheFor = time.Second
)

// sharedState is the body of StateDocument.
type sharedState struct {
	State string `json:"state"` // StateUnregistered ... StateDisconnected
	Ready bool   `json:"ready"` // start-up finished: sends are accepted
	WaID  string `json:"wa_id,omitempty"`
	Node  string `json:"node"`
	// At is when it was written, by the writer's clock (Unix ms): the
	// document's own time holds seconds only.
	At int64 `json:"at"`
}

// stateView is the cached copy of the row on a node whose core does not run.
type stateView struct {
	mu      sync.Mutex
	read    time.Time // when it was read; zero before the first read
	state   sharedState
	present bool // the row exists

	publishMu sync.Mutex // one write at a time, each of the state at the time
}

// runsHere reports whether this process runs the core (Start was called).
func (c *Core) runsHere() bool { return c.started.Load() }

// localState is the core's state as it would publish it.
func (c *Core) localState() sharedState {
	st := sharedState{State: c.state.Load().(string), Ready: c.ready.Load(), Node: c.node, At: c.now().UnixMilli()}
	if st.State != StateUnregistered && c.connectionDeclaredLost() {
		st.State = StateDisconnected
	}
	if a, ok := c.Account(); ok {
		st.WaID = a.WaID
	}
	return st
}

// PublishState writes the core's current state to StateDocument, when the
// core runs here and leads: the web nodes answer from the leader's state,
// as the reference's webapps from the primary master's (several cores
// writing the one document would make it flip between their states). Each
// write reads the state when it runs, under a lock, so the last write is of
// the latest state whatever order the changes came in. A failure is logged
// and left to the next change or periodic write.
func (c *Core) PublishState(ctx context.Context) {
	if !c.runsHere() || !c.leads() {
		return
	}
	c.shared.publishMu.Lock()
	defer c.shared.publishMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, c.dbWait)
	defer cancel()
	if err := c.writeState(ctx, c.localState()); err != nil && ctx.Err() == nil {
		c.log.Warn("recording the core's state for the other nodes failed; retried at the next change or within 10 s", "err", err)
	}
}

func (c *Core) writeState(ctx context.Context, st sharedState) error {
	body, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return c.putLatest(ctx, StateDocument, body)
}

// keepStatePublished writes the state every statePublishEvery until ctx
// ends.
func (c *Core) keepStatePublished(ctx context.Context) {
	periodic.Every(ctx, statePublishEvery, c.PublishState)
}

// sharedStateView returns the running core's state as the row says, read
// at most once per stateCacheFor; stale is true when the row is missing or
// older than stateStaleAfter.
func (c *Core) sharedStateView(ctx context.Context) (st sharedState, stale bool, err error) {
	v := &c.shared
	v.mu.Lock()
	defer v.mu.Unlock()
	now := c.now()
	if v.read.IsZero() || now.Sub(v.read) >= stateCacheFor || now.Before(v.read) {
		doc, err := c.store.GetDocument(ctx, StateDocument)
		switch {
		case errors.Is(err, store.ErrNotFound):
			v.state, v.present = sharedState{}, false
		case err != nil:
			return sharedState{}, false, err
		default:
			var read sharedState
			if err := json.Unmarshal(doc.Body, &read); err != nil {
				return sharedState{}, false, fmt.Errorf("core: stored %s is corrupt: %w", StateDocument, err)
			}
			v.state, v.present = read, true
		}
		v.read = now
	}
	if !v.present {
		return sharedState{}, true, nil
	}
	return v.state, now.Sub(time.UnixMilli(v.state.At)) > stateStaleAfter, nil
}

// acceptsSends is the readiness check of the calls that need the core:
// nil when sends are accepted, else the 1011 answer (or 1023 when the row
// cannot be read). It returns the registered number for the checks that
// follow.
func (c *Core) acceptsSends(ctx context.Context) (waID string, _ error) {
	if c.runsHere() {
		if !c.ready.Load() {
			return "", c.notReady()
		}
		acct, _ := c.Account()
		return acct.WaID, nil
	}
	st, stale, err := c.sharedStateView(ctx)
	if err != nil {
		return "", c.databaseError(err)
	}
	switch {
	case stale:
		c.log.Info("Service not ready: no messaging core has recorded its state within the bound", "bound", stateStaleAfter)
		return "", apierr.New(1011, "Service not ready: the messaging core is not running; retry shortly")
	case !st.Ready && st.WaID == "":
		return "", c.notRegistered()
	case !st.Ready:
		return "", c.startingUp()
	}
	return st.WaID, nil
}

// gatewayState is the state /v1/health reports: the core's own when it
// runs here, else the row's; a missing or stale row is reported as
// disconnected (no core is known to be connected).
func (c *Core) gatewayState(ctx context.Context) (string, error) {
	if c.runsHere() {
		state := c.state.Load().(string)
		if state != StateUnregistered && c.connectionDeclaredLost() {
			return StateDisconnected, nil
		}
		return state, nil
	}
	st, stale, err := c.sharedStateView(ctx)
	if err != nil {
		return "", fmt.Errorf("read the core's state: %w", err)
	}
	if stale {
		return StateDisconnected, nil
	}
	return st.State, nil
}

// callbackQueueFull is the 1016 check: the dispatcher's counter when the
// core (and so delivery) runs here, else a bounded count of the table.
func (c *Core) callbackQueueFull(ctx context.Context) error {
	full := false
	if c.runsHere() {
		full = c.hooks.Full()
	} else {
		var err error
		if full, err = c.hooks.FullInTable(ctx); err != nil {
			return c.databaseError(err)
		}
	}
	if full {
		return apierr.New(1016, "The callback queue is full: retry later")
	}
	return nil
}
