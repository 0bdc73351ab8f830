package core

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/store"
)

// identityKeySecret names the server secret that keys the identity hashes
// of users whose identity never changed.
const identityKeySecret = "identity_hash_key"

// Identity is GET /v1/contacts/{wa_id}/identity: the latest identity change
// the network reported, or, for a user wabiz knows whose identity never
// changed, the identity they have had since wabiz first knew them (already
// acknowledged: there was nothing to acknowledge). 1006 for a number wabiz
// never checked, messaged or heard from.
func (c *Core) Identity(ctx context.Context, waID string) (store.Identity, error) {
	changed, err := c.store.GetIdentity(ctx, waID)
	if !errors.Is(err, store.ErrNotFound) {
		return changed, err
	}
	contact, err := c.store.GetContact(ctx, waID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Identity{}, apierr.Newf(1006, "No identity is known for %s: the number was never checked with POST /v1/contacts, messaged or heard from", waID)
	}
	if err != nil {
		return store.Identity{}, err
	}
	hash, err := c.initialIdentityHash(ctx, waID)
	if err != nil {
		return store.Identity{}, err
	}
	return store.Identity{WaID: waID, Hash: hash, CreatedAt: contact.FirstSeenAt, Acknowledged: true}, nil
}

// initialIdentityHash is the hash of a user's identity before any change.
// The network tells wabiz only of changes, so wabiz names the first
// identity itself: an HMAC of the wa_id under a server secret, the same
// on every node and after restarts, different for every user, and
// revealing nothing about the number. It has the shape of the hashes
// changes carry (8 bytes, base64).
func (c *Core) initialIdentityHash(ctx context.Context, waID string) (string, error) {
	key, err := c.store.Secret(ctx, identityKeySecret, c.now())
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(waID))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil)[:8]), nil
}

// AcknowledgeIdentity is PUT /v1/contacts/{wa_id}/identity {"hash"}: the
// user's latest change is acknowledged, and sends to them are allowed again.
// The hash of an identity that never changed is accepted as already
// acknowledged; any other hash is 1009.
func (c *Core) AcknowledgeIdentity(ctx context.Context, waID, hash string) error {
	ok, err := c.store.AcknowledgeIdentity(ctx, waID, hash)
	if err != nil || ok {
		return err
	}
	current, err := c.Identity(ctx, waID)
	if err != nil {
		return err
	}
	if current.Hash != hash {
		return apierr.InvalidValue("hash", hash)
	}
	return nil
}
