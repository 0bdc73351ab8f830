package core

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/message"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/template"
)

// The message-template catalogue is loaded during start-up and kept
// current in three ways. Asking the network is the leader's work
// (leader.go); the other nodes follow the catalogue it stores
// (catalogue_rows.go), save for the miss reload.
//
//   - A full reload every templateRefresh, as the original client refreshed
//     its language packs: the backstop, and how a pause or an edit made in
//     WhatsApp Manager reaches a core in cloud mode.
//   - A network that counts its catalogue's changes (network.TemplateChanges:
//     the sandbox) is followed: a change made in this process is loaded
//     before the call that made it returns, one made by another process
//     within templateVersionPoll.
//   - A send naming a template the catalogue lacks reloads once before it is
//     answered 2001–2003 (reloadAfterMiss), so a template just created or
//     approved can be sent at once on any network and any node.

const (
	// templateRefresh is how often the catalogue is reloaded whole.
	templateRefresh = time.Minute
	// templateVersionPoll is how often the template refresh looks: the
	// leader reads the change count of a network that keeps one (one small
	// database read for the sandbox), another node the stored catalogue's
	// version.
	templateVersionPoll = time.Second
	// missReloadEvery is the least time between two reloads that sends
	// missing a template cause, by the core's clock: a flood of sends naming
	// a template that does not exist costs the network one catalogue fetch
	// per period, not one per send.
	missReloadEvery = 5 * time.Second
	// missReloadWait bounds both that reload and how long a send waits for
	// it; past it the send is answered from the catalogue it had.
	missReloadWait = 3 * time.Second
)

// templateState is the catalogue in force and what keeps it current.
type templateState struct {
	current atomic.Pointer[loadedCatalogue] // nil before the first load

	// loadMu makes loads one at a time: two overlapping loads could
	// otherwise put the older list in place after the newer one.
	loadMu sync.Mutex

	missMu         sync.Mutex
	lastMissReload time.Time   // when the last reload after a miss began
	missReload     *reloadCall // that reload while it runs; later misses wait for it
	missWait       time.Duration

	rows catalogueRows // catalogue_rows.go
}

// loadedCatalogue is a catalogue and the network's change count it was
// loaded at (-1 for a network that keeps none).
type loadedCatalogue struct {
	cat     *template.Catalogue
	version int64
}

// reloadCall is one reload that sends missing a template share.
type reloadCall struct {
	done    chan struct{} // closed when it has finished; err is set before
	err     error
	waiting int // sends that waited for it, for the log
}

// setUpTemplates subscribes the core to the catalogue changes its network
// reports from this process.
func (c *Core) setUpTemplates() {
	c.templates.missWait = missReloadWait
	if tc, ok := c.net.(network.TemplateChanges); ok {
		tc.OnTemplatesChanged(c.reloadAfterChange)
	}
}

// LoadTemplates fetches the catalogue from the network and puts it in
// place. A definition the core cannot read is left out (and logged) rather
// than failing the whole load.
func (c *Core) LoadTemplates(ctx context.Context) (int, error) {
	c.templates.loadMu.Lock()
	defer c.templates.loadMu.Unlock()
	return c.loadTemplatesLocked(ctx)
}

func (c *Core) loadTemplatesLocked(ctx context.Context) (int, error) {
	version := int64(-1)
	if tc, ok := c.net.(network.TemplateChanges); ok {
		// Read before the list: a change stored in between leaves the count
		// ahead of this load, and the next check loads again.
		v, err := tc.TemplatesVersion(ctx)
		if err != nil {
			return 0, err
		}
		version = v
	}
	list, err := c.net.Templates(ctx)
	if err != nil {
		return 0, err
	}
	n := c.installCatalogue(list, version)
	if c.runsHere() && c.leads() {
		c.storeCatalogue(ctx, list, version)
	}
	return n, nil
}

// installCatalogue puts the catalogue of list in force.
func (c *Core) installCatalogue(list []network.Template, version int64) int {
	defs := make([]template.Definition, 0, len(list))
	for _, t := range list {
		d, apiErr := template.ParseDefinition(t.Body, t.Namespace)
		if apiErr != nil {
			c.log.Warn("skipping a template the network sent that cannot be read", "name", t.Name, "language", t.Language, "err", apiErr)
			continue
		}
		defs = append(defs, d)
	}
	c.templates.current.Store(&loadedCatalogue{cat: template.NewCatalogue(defs), version: version})
	return len(defs)
}

// catalogue is the catalogue in force (empty before the first load).
func (c *Core) catalogue() *template.Catalogue {
	if l := c.templates.current.Load(); l != nil {
		return l.cat
	}
	return template.NewCatalogue(nil)
}

// reloadAfterChange is the network's word that this process changed the
// catalogue; the reload is done when it returns. Before the first load
// there is nothing to do: start-up loads, and sees the change.
func (c *Core) reloadAfterChange(ctx context.Context) {
	c.templates.loadMu.Lock()
	defer c.templates.loadMu.Unlock()
	if c.templates.current.Load() == nil {
		return
	}
	if _, err := c.loadTemplatesLocked(ctx); err != nil {
		c.log.Warn("reloading message templates after a change failed; retried within a second", "err", err)
	}
}

// RefreshTemplates reloads the catalogue when the network's change count is
// no longer the one it was loaded at (a change made by another process, or
// a reload after a change that failed). It reports whether it reloaded.
// Networks that keep no count, and a core that has not loaded yet, are left
// alone.
func (c *Core) RefreshTemplates(ctx context.Context) (bool, error) {
	tc, ok := c.net.(network.TemplateChanges)
	loaded := c.templates.current.Load()
	if !ok || loaded == nil {
		return false, nil
	}
	v, err := tc.TemplatesVersion(ctx)
	if err != nil || v == loaded.version {
		return false, err
	}
	_, err = c.LoadTemplates(ctx)
	return err == nil, err
}

// refreshTemplates keeps the catalogue current until ctx ends, looking
// every templateVersionPoll (templateTick), and at once when the node
// becomes the leader.
func (c *Core) refreshTemplates(ctx context.Context) {
	// A node leading from the start loaded whole during start-up.
	t := templateTicker{leading: c.leads()}
	for {
		timer := time.NewTimer(templateVersionPoll)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-c.templateWake:
		case <-timer.C:
		}
		timer.Stop()
		c.templateTick(ctx, &t)
	}
}

// templateTicker is what refreshTemplates remembers between looks.
type templateTicker struct {
	sinceFull time.Duration // since the leader's last full reload, in looks
	leading   bool          // this node led at the last look
	failing   bool          // the last reload failed (logged when it began)
}

// templateTick is one look. The leader asks the network: the change count
// when the network keeps one, a full reload every templateRefresh and when
// it has just become the leader (the stored catalogue it followed may be a
// period old). Every other node follows the stored catalogue, one version
// read a look, and never asks the network here: in cloud mode that would
// be Graph API calls from every node.
func (c *Core) templateTick(ctx context.Context, t *templateTicker) {
	if !c.ready.Load() {
		return
	}
	if !c.leads() {
		t.leading = false
		c.followStoredCatalogue(ctx)
		return
	}
	var err error
	if t.sinceFull += templateVersionPoll; t.sinceFull >= templateRefresh || !t.leading {
		t.sinceFull, t.leading = 0, true
		_, err = c.LoadTemplates(ctx)
	} else {
		_, err = c.RefreshTemplates(ctx)
	}
	if err != nil && ctx.Err() == nil && !t.failing {
		c.log.Warn("reloading message templates failed; the previous catalogue stays in force", "err", err)
	}
	t.failing = err != nil
}

// startupTemplates is start-up's template load: the leader's from the
// network (stored for the others), another node's from the stored
// catalogue, or from the network when none is stored yet (the first
// start of a deployment) or it cannot be read.
func (c *Core) startupTemplates(ctx context.Context) (int, error) {
	if !c.leads() {
		n, found, err := c.loadStoredCatalogue(ctx)
		if err == nil && found {
			return n, nil
		}
		if err != nil {
			c.log.Warn("reading the stored template catalogue failed; loading it from the network", "err", err)
		}
	}
	return c.LoadTemplates(ctx)
}

// checkTemplate hydrates a template send against the catalogue in force.
// Only a send the catalogue cannot serve (lacksTemplate) costs more: one
// reload, shared and bounded, and a second look.
func (c *Core) checkTemplate(ctx context.Context, out *message.Outbound) *apierr.Error {
	_, apiErr := c.hydrate(ctx, out.Type, out.Template)
	return apiErr
}

// hydrate renders a template object against the catalogue in force, on
// a node that does not lead after a look at the stored catalogue (at most
// one a catalogueCheckEvery). A template the catalogue lacks costs a
// reload from the network, shared and bounded (reloadAfterMiss), on any
// node: the leader may not have loaded a template just approved, and a
// send of it should not wait a minute for that.
func (c *Core) hydrate(ctx context.Context, msgType string, tmpl json.RawMessage) (*template.Rendered, *apierr.Error) {
	if !c.runsHere() || !c.leads() {
		c.followStoredCatalogue(ctx)
	}
	rendered, apiErr := c.catalogue().Hydrate(msgType, tmpl)
	if apiErr == nil || !lacksTemplate(apiErr) || !c.reloadAfterMiss(ctx, apiErr) {
		return rendered, apiErr
	}
	return c.catalogue().Hydrate(msgType, tmpl)
}

// lacksTemplate reports the refusals a newer catalogue may not give: the
// namespace, name or translation is unknown (2001, 2002, 2003), or known
// only as not yet approved (2001), as a template just created or approved
// is until the core loads it again.
func lacksTemplate(e *apierr.Error) bool {
	switch e.Code() {
	case 2001, 2002, 2003:
		return true
	}
	return false
}

// reloadAfterMiss reloads the catalogue for a send it could not serve and
// reports whether the reload succeeded (so the send should look again). At
// most one such reload begins per missReloadEvery; sends missing while it
// runs wait for it, and none waits longer than missWait. Within the period
// after a reload, a miss is answered at once from the catalogue in force.
func (c *Core) reloadAfterMiss(ctx context.Context, miss *apierr.Error) bool {
	st := &c.templates
	st.missMu.Lock()
	call := st.missReload
	if call == nil {
		now := c.now()
		if !st.lastMissReload.IsZero() && now.Sub(st.lastMissReload) < missReloadEvery {
			st.missMu.Unlock()
			return false
		}
		st.lastMissReload = now
		call = &reloadCall{done: make(chan struct{})}
		st.missReload = call
		go c.runMissReload(call, miss)
	}
	call.waiting++
	st.missMu.Unlock()

	timer := time.NewTimer(st.missWait)
	defer timer.Stop()
	select {
	case <-call.done:
		return call.err == nil
	case <-timer.C:
	case <-ctx.Done():
	}
	return false
}

// runMissReload is the reload sends missing a template wait for. It runs
// apart from them so that no one send's cancellation ends it for the others.
func (c *Core) runMissReload(call *reloadCall, miss *apierr.Error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.templates.missWait)
	defer cancel()
	n, err := c.LoadTemplates(ctx)
	st := &c.templates
	st.missMu.Lock()
	st.missReload = nil
	waiting := call.waiting
	st.missMu.Unlock()
	if err != nil {
		c.log.Warn("reloading message templates for a send the catalogue could not serve failed; the send is answered from the catalogue in force",
			"err", err, "refusal", miss.Error(), "sends_waiting", waiting)
	} else {
		c.log.Info("message templates reloaded for a send the catalogue could not serve", "refusal", miss.Error(), "count", n, "sends_waiting", waiting)
	}
	call.err = err
	close(call.done)
}
