package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"time"
)

// The Cloud bridge's tables: the map between our message ids and the Cloud
// API's wamids (with the state of each send attempt, so a send is never
// repeated blindly), and the webhook deliveries Meta made that the core has
// not handled yet.

// Cloud send states.
const (
	CloudSending = "sending" // an attempt was recorded and the call is under way (or the process died in it)
	CloudSent    = "sent"    // the Cloud API answered with a wamid
	CloudRefused = "refused" // the Cloud API answered with an error: nothing was sent
	CloudUnknown = "unknown" // the call failed after the request may have reached Meta
)

// CloudMessage is one outbound message as the bridge knows it.
type CloudMessage struct {
	ID        string // our id (gB...)
	WAMID     string // the Cloud API's id, once known
	State     string
	Attempts  int
	LastError string
	CreatedAt time.Time
	UpdatedAt time.Time // when the state last changed: the time of the last attempt
}

// BeginCloudSend records an attempt before the call and returns the
// message as it was before this attempt (State "" when never attempted).
// A message already sent is returned unchanged and no attempt is counted.
func (s *Store) BeginCloudSend(ctx context.Context, id string, now time.Time) (CloudMessage, error) {
	var prev CloudMessage
	err := s.grouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		prev = CloudMessage{}
		got, err := s.cloudMessage(ctx, tx, id, true)
		switch {
		case errors.Is(err, ErrNotFound):
			_, err = s.txExec(ctx, tx, `INSERT INTO cloud_messages (id, wamid, state, attempts, last_error, created_at, updated_at)
				VALUES (?, '', ?, 1, '', ?, ?)`, id, CloudSending, now.UnixMilli(), now.UnixMilli())
			return err
		case err != nil:
			return err
		}
		prev = got
		if got.State == CloudSent {
			return nil
		}
		_, err = s.txExec(ctx, tx, `UPDATE cloud_messages SET state = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?`,
			CloudSending, now.UnixMilli(), id)
		return err
	})
	return prev, err
}

// FinishCloudSend records the outcome of an attempt: CloudSent with the
// wamid, or CloudRefused / CloudUnknown with the error text.
func (s *Store) FinishCloudSend(ctx context.Context, id, state, wamid, lastError string, now time.Time) error {
	_, err := s.execGrouped(ctx, `UPDATE cloud_messages SET state = ?, wamid = CASE WHEN ? = '' THEN wamid ELSE ? END, last_error = ?, updated_at = ?
		WHERE id = ? AND state <> ?`, state, wamid, wamid, lastError, now.UnixMilli(), id, CloudSent)
	return err
}

// LinkCloudMessage records that the Cloud API reported wamid for our id (a
// status webhook carried our id back): the message was sent, whatever the
// outcome of the call looked like. Unknown ids are ignored, so a
// biz_opaque_callback_data set by other software changes nothing.
func (s *Store) LinkCloudMessage(ctx context.Context, id, wamid string, now time.Time) error {
	_, err := s.execGrouped(ctx, `UPDATE cloud_messages SET state = ?, wamid = ?, updated_at = ? WHERE id = ? AND wamid = ''`,
		CloudSent, wamid, now.UnixMilli(), id)
	return err
}

// GetCloudMessage reads one message by our id.
func (s *Store) GetCloudMessage(ctx context.Context, id string) (CloudMessage, error) {
	return s.cloudMessage(ctx, nil, id, false)
}

// CloudMessageByWAMID reads one message by the Cloud API's id.
func (s *Store) CloudMessageByWAMID(ctx context.Context, wamid string) (CloudMessage, error) {
	if wamid == "" {
		return CloudMessage{}, ErrNotFound
	}
	return s.scanCloudMessage(s.queryRow(ctx, `SELECT id, wamid, state, attempts, last_error, created_at, updated_at
		FROM cloud_messages WHERE wamid = ?`, wamid))
}

func (s *Store) cloudMessage(ctx context.Context, tx *sql.Tx, id string, lock bool) (CloudMessage, error) {
	query := `SELECT id, wamid, state, attempts, last_error, created_at, updated_at FROM cloud_messages WHERE id = ?`
	if tx == nil {
		return s.scanCloudMessage(s.queryRow(ctx, query, id))
	}
	if lock && s.dialect != SQLite {
		query += " FOR UPDATE"
	}
	return s.scanCloudMessage(s.txQueryRow(ctx, tx, query, id))
}

func (s *Store) scanCloudMessage(row *sql.Row) (CloudMessage, error) {
	var (
		m                CloudMessage
		created, updated int64
	)
	err := row.Scan(&m.ID, &m.WAMID, &m.State, &m.Attempts, &m.LastError, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return CloudMessage{}, ErrNotFound
	}
	if err != nil {
		return CloudMessage{}, err
	}
	m.CreatedAt, m.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return m, nil
}

// CloudEvent is a webhook delivery item (one message or one status) kept
// until the core acknowledges it. Payload is the Cloud API's own JSON.
type CloudEvent struct {
	ID         int64
	Kind       string
	Payload    []byte
	ReceivedAt time.Time
	// Key identifies the item across deliveries (a message's wamid, a
	// status's wamid and status): an item whose key was stored before is
	// not stored again. "" stores the item whatever came before.
	Key string
	// OrderingKey names the user or message whose events are handled in
	// order ("" none): see queueTable.key.
	OrderingKey string
	Attempts    int // failed handlings so far
}

// cloudEventsQueue is the bridge's event table as the queue primitive sees
// it: every item is due when it arrives, and they are handled in arrival
// order.
var cloudEventsQueue = queueTable{
	name: "cloud_events", id: "id", order: "id", columns: cloudEventColumns, key: "ordering_key",
}

const cloudEventColumns = "id, kind, payload, received_at, ordering_key, attempts"

// AddCloudEvents stores the items of one webhook delivery in one
// transaction: Meta is answered 200 only once they are all durable. Items
// whose Key was already received (now or in an earlier delivery) are left
// out; it returns how many items were stored.
func (s *Store) AddCloudEvents(ctx context.Context, events []CloudEvent) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	var stored int
	err := s.grouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		stored = 0
		for _, e := range events {
			if e.Key != "" {
				res, err := s.txExec(ctx, tx, `INSERT INTO cloud_seen (item, seen_at) VALUES (?, ?)`+s.onDuplicateDoNothing("item"),
					e.Key, e.ReceivedAt.UnixMilli())
				if err != nil {
					return err
				}
				if n, err := res.RowsAffected(); err != nil {
					return err
				} else if n == 0 {
					continue
				}
			}
			if _, err := s.txExec(ctx, tx, `INSERT INTO cloud_events (kind, payload, received_at, ordering_key) VALUES (?, ?, ?, ?)`,
				e.Kind, string(e.Payload), e.ReceivedAt.UnixMilli(), storedOrderingKey(e.OrderingKey)); err != nil {
				return err
			}
			stored++
		}
		return nil
	})
	return stored, err
}

// ForgetCloudItems removes the keys of items received before the given
// time, at most limit of them; it returns how many it removed.
func (s *Store) ForgetCloudItems(ctx context.Context, before time.Time, limit int) (int64, error) {
	rows, err := s.query(ctx, `SELECT item FROM cloud_seen WHERE seen_at < ? ORDER BY seen_at LIMIT ?`, before.UnixMilli(), limit)
	if err != nil {
		return 0, err
	}
	items, err := collectRows(rows, func(r rowScanner) (any, error) {
		var item string
		return item, r.Scan(&item)
	})
	if err != nil || len(items) == 0 {
		return 0, err
	}
	res, err := s.exec(ctx, `DELETE FROM cloud_seen WHERE item IN (`+placeholders(len(items))+`)`, items...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// CloudEvents returns up to max pending events, oldest first, whoever
// holds them: a look at the queue, which claims nothing.
func (s *Store) CloudEvents(ctx context.Context, max int) ([]CloudEvent, error) {
	rows, err := s.query(ctx, `SELECT `+cloudEventColumns+` FROM cloud_events ORDER BY id LIMIT ?`, max)
	if err != nil {
		return nil, err
	}
	return collectRows(rows, scanCloudEvent)
}

// ClaimCloudEvents leases up to max pending events to owner until
// now+lease, oldest first, as ClaimSandboxEvents does.
func (s *Store) ClaimCloudEvents(ctx context.Context, owner string, now time.Time, lease time.Duration, max int) ([]CloudEvent, error) {
	return claimRows(ctx, s, cloudEventsQueue, claimRequest{owner: owner, now: now, lease: lease, limit: max, ownLeftovers: true},
		scanCloudEvent, func(a, b CloudEvent) int { return cmp.Compare(a.ID, b.ID) }, func(e CloudEvent) any { return e.ID })
}

// RetryCloudEvents holds back events owner claimed and failed to handle
// (see EventRetry). Events owner no longer holds are left alone.
func (s *Store) RetryCloudEvents(ctx context.Context, owner string, retries []EventRetry, now time.Time) error {
	return s.holdEvents(ctx, cloudEventsQueue, owner, retries, now)
}

// scanCloudEvent reads one row of cloudEventColumns.
func scanCloudEvent(rows rowScanner) (CloudEvent, error) {
	var (
		e        CloudEvent
		payload  string
		received int64
	)
	if err := rows.Scan(&e.ID, &e.Kind, &payload, &received, &e.OrderingKey, &e.Attempts); err != nil {
		return CloudEvent{}, err
	}
	e.Payload, e.ReceivedAt = []byte(payload), time.UnixMilli(received).UTC()
	return e, nil
}

// DeleteCloudEvents removes handled events.
func (s *Store) DeleteCloudEvents(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	_, err := s.execGrouped(ctx, `DELETE FROM cloud_events WHERE id IN (`+placeholders(len(ids))+`)`, args...)
	return err
}

// CloudMedia is a file of our media volume uploaded to the Cloud API.
type CloudMedia struct {
	MediaID    string // our media id
	CloudID    string // the Cloud API's media id
	SHA256     string // of the file uploaded, as our media volume records it
	UploadedAt time.Time
}

// GetCloudMedia reads the Cloud media id of one of our files.
func (s *Store) GetCloudMedia(ctx context.Context, mediaID string) (CloudMedia, error) {
	var (
		m        CloudMedia
		uploaded int64
	)
	err := s.queryRow(ctx, `SELECT media_id, cloud_id, sha256, uploaded_at FROM cloud_media WHERE media_id = ?`, mediaID).
		Scan(&m.MediaID, &m.CloudID, &m.SHA256, &uploaded)
	if errors.Is(err, sql.ErrNoRows) {
		return CloudMedia{}, ErrNotFound
	}
	if err != nil {
		return CloudMedia{}, err
	}
	m.UploadedAt = time.UnixMilli(uploaded).UTC()
	return m, nil
}

// PutCloudMedia records (or replaces) the Cloud media id of one of our files.
func (s *Store) PutCloudMedia(ctx context.Context, m CloudMedia) error {
	_, err := s.exec(ctx, s.upsert("cloud_media", "media_id", "cloud_id", "sha256", "uploaded_at"),
		m.MediaID, m.CloudID, m.SHA256, m.UploadedAt.UnixMilli())
	return err
}

// DeleteCloudMedia forgets the Cloud media id of one of our files when it
// is still cloudID (the Cloud refused it), so a newer upload recorded
// meanwhile is kept. Forgetting none is not an error.
func (s *Store) DeleteCloudMedia(ctx context.Context, mediaID, cloudID string) error {
	_, err := s.exec(ctx, `DELETE FROM cloud_media WHERE media_id = ? AND cloud_id = ?`, mediaID, cloudID)
	return err
}
