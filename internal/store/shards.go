package store

import (
	"context"
	"database/sql"
	"errors"
	"hash/crc32"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Multiconnect's shards (runtime spec §0.2). A message's recipient falls in
// one of ServerShards server shards; the shard count set with POST
// /v1/account/shards (1 to 32) cuts them into equal ranges, and each range
// is a shard: a lease named "shard:<i>" in cluster_leases held by one core
// node, which alone claims the outbox rows of the range. Messages to one
// recipient therefore go out from one node, in order.

// ServerShards is how many server shards recipients are spread over, as
// the reference's default.
const ServerShards = 1024

// ServerShard is the recipient's server shard: CRC-32 (IEEE, as PHP's
// crc32) of the recipient modulo ServerShards.
func ServerShard(recipient string) int {
	return int(crc32.ChecksumIEEE([]byte(recipient)) % ServerShards)
}

// ShardRange is the server shards [From, To) of one shard.
type ShardRange struct{ From, To int }

// RangeOfShard is the server shards shard covers among count shards:
// ranges of ceil(ServerShards / count), as the reference routed.
func RangeOfShard(shard, count int) ShardRange {
	size := (ServerShards + count - 1) / max(count, 1)
	return ShardRange{From: shard * size, To: min((shard+1)*size, ServerShards)}
}

// ShardOf is the shard, among count, that a server shard belongs to.
func ShardOf(serverShard, count int) int {
	return serverShard / ((ServerShards + count - 1) / max(count, 1))
}

// ClaimOutboxIn is ClaimOutbox narrowed to the server shards of ranges (the
// shards the claiming node holds): nil claims every shard, an empty
// non-nil list none. Rows without a shard (-1: stored before shards, or by
// an older node) go with the range that starts at 0.
func (s *Store) ClaimOutboxIn(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int, ownLeftovers bool, ranges []ShardRange) ([]OutboxMessage, error) {
	c := claimRequest{owner: owner, now: now, lease: lease, limit: limit, ownLeftovers: ownLeftovers}
	if ranges != nil {
		if len(ranges) == 0 {
			return nil, nil
		}
		c.filter, c.filterArgs = shardCondition(ranges)
	}
	return s.claimOutbox(ctx, c)
}

// shardCondition is the SQL condition for rows in ranges, adjacent ranges
// joined.
func shardCondition(ranges []ShardRange) (string, []any) {
	var parts []string
	var args []any
	for i := 0; i < len(ranges); {
		r := ranges[i]
		for i++; i < len(ranges) && ranges[i].From == r.To; i++ {
			r.To = ranges[i].To
		}
		if r.From == 0 {
			parts = append(parts, "shard < ?")
			args = append(args, r.To)
			continue
		}
		parts = append(parts, "(shard >= ? AND shard < ?)")
		args = append(args, r.From, r.To)
	}
	return strings.Join(parts, " OR "), args
}

// ShardBusy reports whether a queued message of r is still leased to a node
// other than owner: a node that was just given the shard waits until then,
// so the previous holder's sends finish before later messages of the same
// recipients go out.
func (s *Store) ShardBusy(ctx context.Context, r ShardRange, owner string, now time.Time) (bool, error) {
	cond, args := shardCondition([]ShardRange{r})
	var one int
	err := s.queryRow(ctx, `SELECT 1 FROM outbox WHERE status = 'queued' AND lease_until > ? AND lease_owner <> ? AND (`+cond+`) LIMIT 1`,
		append([]any{now.UnixMilli(), owner}, args...)...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// fillQueuedOutboxShards gives the queued messages of migration 15 their
// server shard, in batches, in Go: SQLite and PostgreSQL have no CRC-32.
func fillQueuedOutboxShards(ctx context.Context, s *Store, tx *sql.Tx) error {
	for {
		rows, err := s.txQuery(ctx, tx, `SELECT id, recipient FROM outbox WHERE status = 'queued' AND shard < 0 LIMIT 500`)
		if err != nil {
			return err
		}
		type idRecipient struct{ id, recipient string }
		batch, err := collectRows(rows, func(r rowScanner) (idRecipient, error) {
			var v idRecipient
			return v, r.Scan(&v.id, &v.recipient)
		})
		if err != nil || len(batch) == 0 {
			return err
		}
		for _, m := range batch {
			if _, err := s.txExec(ctx, tx, `UPDATE outbox SET shard = ? WHERE id = ?`, ServerShard(m.recipient), m.id); err != nil {
				return err
			}
		}
	}
}

// ShardLease is the state of one shard's lease. The lease is named after
// the shard count too ("shard:<count>:<shard>"): when the count changes,
// every lease of the old count stops meaning anything at once.
type ShardLease struct {
	Count      int
	Shard      int
	Holder     string // "" nobody
	Until      time.Time
	NextHolder string // the node the leader asked the holder to pass it to
}

// HeldBy reports whether holder holds the shard at now.
func (l ShardLease) HeldBy(holder string, now time.Time) bool {
	return holder != "" && l.Holder == holder && now.Before(l.Until)
}

const shardLeasePrefix = "shard:"

func shardLeaseName(count, shard int) string {
	return shardLeasePrefix + strconv.Itoa(count) + ":" + strconv.Itoa(shard)
}

// parseShardLeaseName reads a name shardLeaseName wrote.
func parseShardLeaseName(name string) (count, shard int, err error) {
	c, sh, ok := strings.Cut(strings.TrimPrefix(name, shardLeasePrefix), ":")
	if !ok {
		return 0, 0, errors.New("store: malformed shard lease name " + name)
	}
	if count, err = strconv.Atoi(c); err == nil {
		shard, err = strconv.Atoi(sh)
	}
	return count, shard, err
}

// ShardLeases lists every shard lease by shard.
func (s *Store) ShardLeases(ctx context.Context) ([]ShardLease, error) {
	rows, err := s.query(ctx, `SELECT name, holder, lease_until, next_holder FROM cluster_leases WHERE name LIKE 'shard:%' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	list, err := collectRows(rows, func(r rowScanner) (ShardLease, error) {
		var l ShardLease
		var name string
		var until int64
		if err := r.Scan(&name, &l.Holder, &until, &l.NextHolder); err != nil {
			return l, err
		}
		l.Until = time.UnixMilli(until).UTC()
		l.Count, l.Shard, err = parseShardLeaseName(name)
		return l, err
	})
	if err != nil {
		return nil, err
	}
	// By number: the names sort "shard:10" before "shard:2".
	slices.SortFunc(list, func(a, b ShardLease) int {
		if a.Count != b.Count {
			return a.Count - b.Count
		}
		return a.Shard - b.Shard
	})
	return list, nil
}

// RenewShardLeases extends every shard lease holder holds to until.
func (s *Store) RenewShardLeases(ctx context.Context, holder string, until time.Time) error {
	_, err := s.execRetry(ctx, `UPDATE cluster_leases SET lease_until = ? WHERE name LIKE 'shard:%' AND holder = ?`, until.UnixMilli(), holder)
	return err
}

// AssignShard gives the shard to holder until until, if its lease is still
// as the caller read it (was; the zero lease for one never taken), and
// reports whether it did: the leader's move of a shard whose holder went
// silent, or its first assignment.
func (s *Store) AssignShard(ctx context.Context, was ShardLease, holder string, now, until time.Time) (bool, error) {
	name := shardLeaseName(was.Count, was.Shard)
	if _, err := s.exec(ctx, `INSERT INTO cluster_leases (name, holder, lease_until, taken_at, next_holder) VALUES (?, '', 0, 0, '')`+s.onDuplicateDoNothing("name"), name); err != nil {
		return false, err
	}
	var wasUntil int64 // a lease never taken has 0
	if !was.Until.IsZero() {
		wasUntil = was.Until.UnixMilli()
	}
	res, err := s.exec(ctx, `UPDATE cluster_leases SET holder = ?, lease_until = ?, taken_at = ?, next_holder = '' WHERE name = ? AND holder = ? AND lease_until = ?`,
		holder, until.UnixMilli(), now.UnixMilli(), name, was.Holder, wasUntil)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// RequestShardMove asks the holder of l to pass it to next (balancing).
func (s *Store) RequestShardMove(ctx context.Context, l ShardLease, next string) error {
	_, err := s.exec(ctx, `UPDATE cluster_leases SET next_holder = ? WHERE name = ? AND holder = ?`, next, shardLeaseName(l.Count, l.Shard), l.Holder)
	return err
}

// HandOverShard passes l from its holder to the next holder the leader
// asked for, leased until until; false when it was no longer the holder's
// or the request changed meanwhile.
func (s *Store) HandOverShard(ctx context.Context, l ShardLease, now, until time.Time) (bool, error) {
	res, err := s.exec(ctx, `UPDATE cluster_leases SET holder = ?, next_holder = '', lease_until = ?, taken_at = ? WHERE name = ? AND holder = ? AND next_holder = ?`,
		l.NextHolder, until.UnixMilli(), now.UnixMilli(), shardLeaseName(l.Count, l.Shard), l.Holder, l.NextHolder)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ReleaseShardLeases gives up every shard holder holds (its clean
// shutdown): the leader moves them at its next heartbeat.
func (s *Store) ReleaseShardLeases(ctx context.Context, holder string) error {
	_, err := s.exec(ctx, `UPDATE cluster_leases SET holder = '', lease_until = 0, next_holder = '' WHERE name LIKE 'shard:%' AND holder = ?`, holder)
	return err
}

// RemoveShardLeases deletes the given leases (those of another shard
// count than the one in force).
func (s *Store) RemoveShardLeases(ctx context.Context, leases []ShardLease) error {
	if len(leases) == 0 {
		return nil
	}
	names := make([]any, len(leases))
	for i, l := range leases {
		names[i] = shardLeaseName(l.Count, l.Shard)
	}
	_, err := s.exec(ctx, `DELETE FROM cluster_leases WHERE name IN (`+placeholders(len(names))+`)`, names...)
	return err
}
