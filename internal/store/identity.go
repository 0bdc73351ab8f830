package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Identity is the latest change of a user's identity (security code) that
// the network reported, and whether the business acknowledged it.
type Identity struct {
	WaID         string
	Hash         string
	CreatedAt    time.Time
	Acknowledged bool
}

// PutIdentity records a new identity change; it is not acknowledged yet.
func (s *Store) PutIdentity(ctx context.Context, id Identity) error {
	_, err := s.exec(ctx, s.upsert("contact_identities", "wa_id", "identity_hash", "created_at", "acknowledged"),
		id.WaID, id.Hash, id.CreatedAt.UnixMilli(), boolToInt(id.Acknowledged))
	return err
}

// GetIdentity reads a user's latest identity change; ErrNotFound when none
// was ever reported.
func (s *Store) GetIdentity(ctx context.Context, waID string) (Identity, error) {
	var (
		id      Identity
		created int64
		ack     int
	)
	err := s.queryRow(ctx, `SELECT wa_id, identity_hash, created_at, acknowledged FROM contact_identities WHERE wa_id = ?`, waID).
		Scan(&id.WaID, &id.Hash, &created, &ack)
	if errors.Is(err, sql.ErrNoRows) {
		return Identity{}, ErrNotFound
	}
	if err != nil {
		return Identity{}, err
	}
	id.CreatedAt, id.Acknowledged = time.UnixMilli(created).UTC(), ack != 0
	return id, nil
}

// AcknowledgeIdentity marks the change with this hash acknowledged; false
// when the user's latest change has another hash (or there is none).
func (s *Store) AcknowledgeIdentity(ctx context.Context, waID, hash string) (bool, error) {
	res, err := s.exec(ctx, `UPDATE contact_identities SET acknowledged = 1 WHERE wa_id = ? AND identity_hash = ?`, waID, hash)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return true, nil
	}
	// MySQL reports 0 rows for an update that changes nothing: check.
	id, err := s.GetIdentity(ctx, waID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil && id.Hash == hash, err
}
