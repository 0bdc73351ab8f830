package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// The node registry and the named leases of a deployment of several nodes
// (internal/cluster). Times are Unix milliseconds.

// ClusterNode is one node's row in the registry.
type ClusterNode struct {
	ID            string // "<host>:<name>", the key
	Host          string
	Name          string
	Role          string // all, web or core
	Address       string // where its API listens; "" for none
	Version       string
	QueueOwner    string // the name its claims carry in the queues (WABIZ_NODE_ID)
	GatewayStatus string // what its own /v1/health would say
	StartedAt     time.Time
	HeartbeatAt   time.Time
	// Readout is what the node measured of itself at that heartbeat
	// (monitoring.Readout, encoded); written, never read with the row:
	// ClusterNodeReadouts reads it. "" writes none (NULL).
	Readout string
}

const clusterNodeColumns = "id, host, name, role, address, version, queue_owner, gateway_status, started_at, heartbeat_at"

// PutClusterNode writes the node's row whole: the registration at start
// and every heartbeat (a row another node pruned comes back with it).
func (s *Store) PutClusterNode(ctx context.Context, n ClusterNode) error {
	var readout sql.NullString
	if n.Readout != "" {
		readout = sql.NullString{String: n.Readout, Valid: true}
	}
	_, err := s.exec(ctx, s.upsert("cluster_nodes", "id", "host", "name", "role", "address", "version", "queue_owner", "gateway_status", "started_at", "heartbeat_at", "readout"),
		n.ID, n.Host, n.Name, n.Role, n.Address, n.Version, n.QueueOwner, n.GatewayStatus, n.StartedAt.UnixMilli(), n.HeartbeatAt.UnixMilli(), readout)
	return err
}

// ClusterNodeReadouts returns the read-out of every node that wrote one,
// by id.
func (s *Store) ClusterNodeReadouts(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.query(ctx, `SELECT id, readout FROM cluster_nodes WHERE readout IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	type idReadout struct {
		id      string
		readout string
	}
	list, err := collectRows(rows, func(r rowScanner) (idReadout, error) {
		var v idReadout
		return v, r.Scan(&v.id, &v.readout)
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(list))
	for _, v := range list {
		out[v.id] = []byte(v.readout)
	}
	return out, nil
}

// ClusterNodes lists the registry by id.
func (s *Store) ClusterNodes(ctx context.Context) ([]ClusterNode, error) {
	rows, err := s.query(ctx, `SELECT `+clusterNodeColumns+` FROM cluster_nodes ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return collectRows(rows, func(r rowScanner) (ClusterNode, error) {
		var n ClusterNode
		var started, beat int64
		err := r.Scan(&n.ID, &n.Host, &n.Name, &n.Role, &n.Address, &n.Version, &n.QueueOwner, &n.GatewayStatus, &started, &beat)
		n.StartedAt, n.HeartbeatAt = time.UnixMilli(started).UTC(), time.UnixMilli(beat).UTC()
		return n, err
	})
}

// RemoveClusterNode deletes a node's row (its clean shutdown).
func (s *Store) RemoveClusterNode(ctx context.Context, id string) error {
	_, err := s.exec(ctx, `DELETE FROM cluster_nodes WHERE id = ?`, id)
	return err
}

// RemoveClusterNodesSilentSince deletes the rows of nodes whose last
// heartbeat is before t and returns how many.
func (s *Store) RemoveClusterNodesSilentSince(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM cluster_nodes WHERE heartbeat_at < ?`, t.UnixMilli())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Lease is the state of one named lease.
type Lease struct {
	Name    string
	Holder  string // "" nobody
	Until   time.Time
	TakenAt time.Time // when the current holder took it
}

// HeldBy reports whether holder holds the lease at now.
func (l Lease) HeldBy(holder string, now time.Time) bool {
	return l.Holder == holder && holder != "" && now.Before(l.Until)
}

// TakeLease takes or renews the named lease for holder until now+ttl, if
// it is free, expired or already holder's, in one conditional update, and
// returns the lease as it stands afterwards: held by holder when it got
// it, else by whoever has it. The answer is read back rather than judged
// from the rows affected, which MySQL reports as 0 for a renewal that
// changes nothing.
func (s *Store) TakeLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (Lease, error) {
	for attempt := 0; ; attempt++ {
		// taken_at first: MySQL evaluates SET left to right with the
		// values already assigned, so holder must still be the old one.
		if _, err := s.execRetry(ctx, `UPDATE cluster_leases SET taken_at = CASE WHEN holder = ? THEN taken_at ELSE ? END,
			holder = ?, lease_until = ? WHERE name = ? AND (holder = ? OR lease_until <= ?)`,
			holder, now.UnixMilli(), holder, now.Add(ttl).UnixMilli(), name, holder, now.UnixMilli()); err != nil {
			return Lease{}, err
		}
		l, err := s.GetLease(ctx, name)
		if !errors.Is(err, ErrNotFound) || attempt > 0 {
			return l, err
		}
		// The first take of this lease ever: make its row, then take it.
		if _, err := s.exec(ctx, `INSERT INTO cluster_leases (name, holder, lease_until, taken_at) VALUES (?, '', 0, 0)`+s.onDuplicateDoNothing("name"), name); err != nil {
			return Lease{}, err
		}
	}
}

// GetLease reads the named lease; ErrNotFound when nobody ever took it.
func (s *Store) GetLease(ctx context.Context, name string) (Lease, error) {
	l := Lease{Name: name}
	var until, taken int64
	err := s.queryRow(ctx, `SELECT holder, lease_until, taken_at FROM cluster_leases WHERE name = ?`, name).Scan(&l.Holder, &until, &taken)
	if errors.Is(err, sql.ErrNoRows) {
		return Lease{}, ErrNotFound
	}
	l.Until, l.TakenAt = time.UnixMilli(until).UTC(), time.UnixMilli(taken).UTC()
	return l, err
}

// ReleaseLease gives the named lease up if holder has it, so another node
// takes it at its next try instead of when it runs out.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.exec(ctx, `UPDATE cluster_leases SET holder = '', lease_until = 0 WHERE name = ? AND holder = ?`, name, holder)
	return err
}
