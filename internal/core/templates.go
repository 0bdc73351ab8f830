package core

import (
	"context"
	"time"

	"github.com/wabiz/wabiz/internal/template"
)

// The message-template catalogue is loaded from the network during start-up
// and again every templateRefresh, as the original client refreshed its
// language packs: a template added, paused or disabled on the network
// reaches the core on the next load.

// templateRefresh is how often the catalogue is reloaded while serving.
const templateRefresh = time.Minute

// LoadTemplates fetches the catalogue from the network and puts it in
// place. A definition the core cannot read is left out (and logged) rather
// than failing the whole load.
func (c *Core) LoadTemplates(ctx context.Context) (int, error) {
	list, err := c.net.Templates(ctx)
	if err != nil {
		return 0, err
	}
	defs := make([]template.Definition, 0, len(list))
	for _, t := range list {
		d, apiErr := template.ParseDefinition(t.Body, t.Namespace)
		if apiErr != nil {
			c.log.Warn("skipping a template the network sent that cannot be read", "name", t.Name, "language", t.Language, "err", apiErr)
			continue
		}
		defs = append(defs, d)
	}
	c.templates.Store(template.NewCatalogue(defs))
	return len(defs), nil
}

// catalogue is the catalogue in force (empty before the first load).
func (c *Core) catalogue() *template.Catalogue {
	if cat := c.templates.Load(); cat != nil {
		return cat
	}
	return template.NewCatalogue(nil)
}

// refreshTemplates reloads the catalogue every templateRefresh until ctx ends.
func (c *Core) refreshTemplates(ctx context.Context) {
	t := time.NewTicker(templateRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !c.ready.Load() {
				continue
			}
			if _, err := c.LoadTemplates(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("reloading message templates failed; the previous catalogue stays in force", "err", err)
			}
		}
	}
}
