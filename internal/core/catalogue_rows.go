package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
)

// The catalogue as the other nodes see it: the leader (leader.go) stores
// every catalogue it loads (the definitions in Meta's shape, as the network
// gave them) in CatalogueDocument, whose version changes with its content.
// Every other node follows the document: a core node at start-up and at
// each look of its template refresh, any node before a template send; it
// reads the version, at most once per catalogueCheckEvery, and loads the
// rows when it changed. A miss reload (templates.go) still asks the network
// on any node, so a template just approved can be sent at once; only the
// leader writes the rows (docs/decisions.md).

// CatalogueDocument holds the catalogue the running core loaded last.
const CatalogueDocument = "template_catalogue"

// catalogueCheckEvery is how often a node that does not lead reads the
// document's version, by its clock.
const catalogueCheckEvery = time.Second

// storedCatalogueBody is the body of CatalogueDocument.
type storedCatalogueBody struct {
	// NetworkVersion is the network's change count the list was loaded at
	// (-1 for a network that keeps none).
	NetworkVersion int64              `json:"network_version"`
	Templates      []network.Template `json:"templates"`
}

// catalogueRows is what the two sides remember of the document.
type catalogueRows struct {
	// written is, on the leader, the body it stored last, so an unchanged
	// reload writes nothing; guarded by templates.loadMu, reset when the
	// node becomes the leader.
	written []byte

	// On a node that does not lead: when it last read the version, and
	// the document version it loaded. mu is taken before templates.loadMu.
	mu      sync.Mutex
	checked time.Time
	version int64
}

// storeCatalogue records the catalogue the leader just loaded for the
// other nodes. It
// runs under templates.loadMu, so stores follow the loads' order. A failure
// is logged: the catalogue is in force here, and the next load stores it.
func (c *Core) storeCatalogue(ctx context.Context, list []network.Template, version int64) {
	body, err := json.Marshal(storedCatalogueBody{NetworkVersion: version, Templates: list})
	if err != nil {
		c.log.Warn("recording the template catalogue for the other nodes failed", "err", err)
		return
	}
	rows := &c.templates.rows
	if bytes.Equal(body, rows.written) {
		return
	}
	if err := c.putLatest(ctx, CatalogueDocument, body); err != nil {
		c.log.Warn("recording the template catalogue for the other nodes failed; stored at the next load", "err", err)
		return
	}
	rows.written = body
}

// followStoredCatalogue loads the stored catalogue when its version is no
// longer the one this node loaded; it reads the version at most once per
// catalogueCheckEvery. A failure leaves the catalogue in force.
func (c *Core) followStoredCatalogue(ctx context.Context) {
	rows := &c.templates.rows
	rows.mu.Lock()
	defer rows.mu.Unlock()
	now := c.now()
	if !rows.checked.IsZero() && now.Sub(rows.checked) < catalogueCheckEvery && !now.Before(rows.checked) {
		return
	}
	rows.checked = now
	v, err := c.store.DocumentVersion(ctx, CatalogueDocument)
	if err != nil {
		c.log.Warn("reading the stored template catalogue's version failed; the catalogue in force answers", "err", err)
		return
	}
	if v == 0 || v == rows.version {
		return
	}
	if _, _, err := c.installStoredLocked(ctx); err != nil {
		c.log.Warn("reading the stored template catalogue failed; the catalogue in force answers", "err", err)
	}
}

// loadStoredCatalogue puts the stored catalogue in force, whatever version
// this node loaded last; found is false when none is stored.
func (c *Core) loadStoredCatalogue(ctx context.Context) (n int, found bool, err error) {
	rows := &c.templates.rows
	rows.mu.Lock()
	defer rows.mu.Unlock()
	rows.checked = c.now()
	return c.installStoredLocked(ctx)
}

// installStoredLocked reads the stored catalogue and puts it in force;
// rows.mu is held.
func (c *Core) installStoredLocked(ctx context.Context) (n int, found bool, err error) {
	doc, err := c.store.GetDocument(ctx, CatalogueDocument)
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	var body storedCatalogueBody
	if err := json.Unmarshal(doc.Body, &body); err != nil {
		return 0, false, fmt.Errorf("the stored template catalogue is corrupt: %w", err)
	}
	c.templates.loadMu.Lock()
	n = c.installCatalogue(body.Templates, body.NetworkVersion)
	c.templates.loadMu.Unlock()
	c.templates.rows.version = doc.Version
	return n, true, nil
}

// putLatest writes a document the leader owns whatever version is stored:
// the latest word wins (a conflict is a core of an earlier run, or a
// leader that has just lost the lease, writing at the same moment).
func (c *Core) putLatest(ctx context.Context, name string, body []byte) error {
	for range 3 {
		v, err := c.store.DocumentVersion(ctx, name)
		if err != nil {
			return err
		}
		if _, err = c.store.PutDocument(ctx, name, body, v, c.now()); !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("core: %s kept changing under the write", name)
}
