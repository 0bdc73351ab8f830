package core

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/message"
	"github.com/wabiz/wabiz/internal/store"
)

// contactCacheTTL is how long a contact check is reused without force_check.
const contactCacheTTL = 7 * 24 * time.Hour

// ContactResult is one entry of the POST /v1/contacts answer.
type ContactResult struct {
	Input  string `json:"input"`
	Status string `json:"status"`
	WaID   string `json:"wa_id,omitempty"`
}

// CheckContacts is POST /v1/contacts. With wait it answers with the results;
// without, it answers "processing" for each number and delivers the results
// on the webhook, which therefore must be configured (1022).
func (c *Core) CheckContacts(ctx context.Context, inputs []string, wait, force bool) ([]ContactResult, error) {
	if _, err := c.acceptsSends(ctx); err != nil {
		return nil, err
	}
	if !wait {
		if c.settings.Current().Webhooks.URL == "" {
			return nil, apierr.New(1022, "Contacts are checked asynchronously (blocking: no_wait) and reported on the webhook: set webhooks.url first, or use blocking: wait")
		}
		if err := c.callbackQueueFull(ctx); err != nil {
			return nil, err
		}
	}
	results, err := c.resolve(ctx, inputs, force)
	if err != nil {
		return nil, err
	}
	if wait {
		return results, nil
	}
	payload, err := json.Marshal(struct {
		Contacts []ContactResult `json:"contacts"`
	}{results})
	if err != nil {
		return nil, err
	}
	if err := c.enqueue(ctx, "contacts", payload); err != nil {
		return nil, err
	}
	processing := make([]ContactResult, len(inputs))
	for i, in := range inputs {
		processing[i] = ContactResult{Input: in, Status: "processing"}
	}
	return processing, nil
}

// resolve normalises each input and asks the network (or the cache) whether
// it is a WhatsApp user.
func (c *Core) resolve(ctx context.Context, inputs []string, force bool) ([]ContactResult, error) {
	now := c.now()
	results := make([]ContactResult, len(inputs))
	var ask []string
	askIndex := map[string][]int{}
	for i, in := range inputs {
		results[i] = ContactResult{Input: in, Status: "invalid"}
		waID, ok := message.NormalizeNumber(in)
		if !ok {
			continue
		}
		if !force {
			cached, err := c.store.GetContactCheck(ctx, waID)
			if err == nil && now.Sub(cached.CheckedAt) < contactCacheTTL {
				results[i] = ContactResult{Input: in, Status: cached.Status, WaID: cached.WaID}
				continue
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
		if _, seen := askIndex[waID]; !seen {
			ask = append(ask, waID)
		}
		askIndex[waID] = append(askIndex[waID], i)
	}
	if len(ask) == 0 {
		return results, nil
	}
	statuses, err := c.net.CheckContacts(ctx, ask)
	if err != nil {
		return nil, networkError(err)
	}
	for _, st := range statuses {
		check := store.ContactCheck{Number: st.WaID, Status: "invalid", CheckedAt: now}
		if st.Valid {
			check.Status, check.WaID = "valid", st.WaID
			// Before the cached result: a valid result in the cache is
			// not asked again, so its contact must already be noted.
			if err := c.store.NoteContact(ctx, st.WaID, now); err != nil {
				return nil, err
			}
		}
		if err := c.store.PutContactCheck(ctx, check); err != nil {
			return nil, err
		}
		for _, i := range askIndex[st.WaID] {
			results[i].Status, results[i].WaID = check.Status, check.WaID
		}
	}
	return results, nil
}
