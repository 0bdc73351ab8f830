package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/twostep"
)

// RequestCode is POST /v1/account. It returns the display name of the
// certificate when a code was sent, or already=true when this number is the
// one registered here (nothing else to do).
func (c *Core) RequestCode(ctx context.Context, req network.CodeRequest) (vname string, already bool, err error) {
	// Two-step verification guards every registration, the number already
	// here included: the PIN belongs to the number, not to this server.
	if err := twostep.Check(ctx, c.store, req.Pin); err != nil {
		return "", false, err
	}
	if acct, ok, err := c.registeredAccount(ctx); err != nil {
		return "", false, err
	} else if ok && acct.CC == req.CC && acct.PhoneNumber == req.PhoneNumber {
		return acct.VName, true, nil
	}
	res, err := c.net.RequestCode(ctx, req)
	if err != nil {
		return "", false, networkError(err)
	}
	c.log.Info("registration code requested", "cc", req.CC, "phone_number", req.PhoneNumber, "method", req.Method, "vname", res.VName)
	return res.VName, false, nil
}

// Verify is POST /v1/account/verify: it completes the registration and
// starts the core on the new number.
func (c *Core) Verify(ctx context.Context, code string) error {
	acct, err := c.net.Register(ctx, code)
	if err != nil {
		return networkError(err)
	}
	body, err := json.Marshal(acct)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		version := int64(0)
		if doc, err := c.store.GetDocument(ctx, RegistrationDocument); err == nil {
			version = doc.Version
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		_, err := c.store.PutDocument(ctx, RegistrationDocument, body, version, c.now())
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrConflict) || attempt == 4 {
			return err
		}
	}
	c.account.Store(&acct)
	c.log.Info("number registered", "wa_id", acct.WaID, "vname", acct.VName)
	c.beginStartup(acct)
	return nil
}

// ReloadRegistration picks up a registration written behind the core's back
// (a restore from backup, a registration through a web node) and starts up
// on it, as the Coreapp re-initialised itself after an import. Nothing
// happens when the stored number is the one already in use, or when none is
// stored.
func (c *Core) ReloadRegistration(ctx context.Context) error {
	acct, ok, err := c.loadAccount(ctx)
	if err != nil || !ok {
		return err
	}
	if cur, had := c.Account(); had && cur == acct {
		return nil
	}
	c.account.Store(&acct)
	c.log.Info("registration loaded from the database (a restore, or a registration through another node)", "wa_id", acct.WaID, "vname", acct.VName)
	c.beginStartup(acct)
	return nil
}

// networkError turns a network refusal into the API error the client sees;
// anything else is an internal failure.
func networkError(err error) error {
	var ne *network.Error
	if errors.As(err, &ne) {
		return apierr.New(ne.Code, ne.Details)
	}
	return fmt.Errorf("network: %w", err)
}

// registeredAccount is the registered number: the engine's own where it
// runs, else (a web node) as the database has it, since the registration
// may have been made through another node.
func (c *Core) registeredAccount(ctx context.Context) (network.Account, bool, error) {
	if c.runsHere() {
		acct, ok := c.Account()
		return acct, ok, nil
	}
	return c.loadAccount(ctx)
}

// ShardsDocument keeps the shard count set with POST /v1/account/shards.
const ShardsDocument = "account.shards"

// ShardCounts are the shard counts multiconnect allows.
var ShardCounts = []int{1, 2, 4, 8, 16, 32}

// Shards is GET /v1/account/shards: 1 until set.
func (c *Core) Shards(ctx context.Context) (int, error) {
	doc, err := c.store.GetDocument(ctx, ShardsDocument)
	if errors.Is(err, store.ErrNotFound) {
		return 1, nil
	}
	if err != nil {
		return 0, err
	}
	var v struct {
		Shards int `json:"shards"`
	}
	if err := json.Unmarshal(doc.Body, &v); err != nil || v.Shards == 0 {
		return 1, err
	}
	return v.Shards, nil
}

// SetShards is POST /v1/account/shards: the registered number's shard
// count, guarded by the two-step PIN like registration. The leader cuts the
// outbox into that many shards, each sent by one core node
// (internal/cluster).
func (c *Core) SetShards(ctx context.Context, cc, phone string, shards int, pin string) error {
	acct, ok, err := c.registeredAccount(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return apierr.New(1011, "Service not ready: register a number with POST /v1/account first")
	}
	if acct.CC != cc || acct.PhoneNumber != phone {
		return apierr.Newf(1009, "Parameter 'phone_number' has invalid value '%s': the registered number is +%s %s", phone, acct.CC, acct.PhoneNumber)
	}
	if err := twostep.Check(ctx, c.store, pin); err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]int{"shards": shards})
	for attempt := 0; ; attempt++ {
		version := int64(0)
		if doc, err := c.store.GetDocument(ctx, ShardsDocument); err == nil {
			version = doc.Version
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		_, err := c.store.PutDocument(ctx, ShardsDocument, body, version, c.now())
		if err == nil || !errors.Is(err, store.ErrConflict) || attempt == 4 {
			return err
		}
	}
}
