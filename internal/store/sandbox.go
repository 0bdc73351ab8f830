package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// The sandbox network's tables: its simulated users, the events it holds for
// the business, and the messages each user received and sent.

// SandboxUser is one simulated WhatsApp user.
type SandboxUser struct {
	WaID        string
	DisplayName string
	Online      bool
	AutoReadMs  int64 // -1 never, 0 the world's default, > 0 this delay
	Blocked     bool  // the user blocked the business
	WhatsApp    bool  // the number has WhatsApp
	UpdatedAt   time.Time
}

// GetSandboxUser reads one user; ErrNotFound when the sandbox never met them.
func (s *Store) GetSandboxUser(ctx context.Context, waID string) (SandboxUser, error) {
	var (
		u                         SandboxUser
		online, blocked, whatsapp int
		updated                   int64
	)
	err := s.queryRow(ctx, `SELECT wa_id, display_name, online, auto_read_ms, blocked, whatsapp, updated_at
		FROM sandbox_users WHERE wa_id = ?`, waID).Scan(&u.WaID, &u.DisplayName, &online, &u.AutoReadMs, &blocked, &whatsapp, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return SandboxUser{}, ErrNotFound
	}
	if err != nil {
		return SandboxUser{}, err
	}
	u.Online, u.Blocked, u.WhatsApp = online != 0, blocked != 0, whatsapp != 0
	u.UpdatedAt = time.UnixMilli(updated).UTC()
	return u, nil
}

// SandboxSendView is what the sandbox reads for every message it is sent:
// the recipient, when they last wrote (the 24-hour window) and the world's
// rules, in one query instead of three.
type SandboxSendView struct {
	User     SandboxUser
	LastSent time.Time // zero: the user never wrote
	World    []byte    // the body of the document worldDocument; nil when none is stored
}

// sandboxSendViewSQL runs for every send; the last-sent lookup must stay a
// search in the sandbox_sent_user index.
const sandboxSendViewSQL = `SELECT u.wa_id, u.display_name, u.online, u.auto_read_ms, u.blocked, u.whatsapp, u.updated_at,
	(SELECT MAX(sent_at) FROM sandbox_sent WHERE sandbox_sent.wa_id = u.wa_id),
	(SELECT body FROM documents WHERE name = ?)
	FROM sandbox_users u WHERE u.wa_id = ?`

// GetSandboxSendView reads the view of a send to waID; ErrNotFound when the
// sandbox has never met the user.
func (s *Store) GetSandboxSendView(ctx context.Context, waID, worldDocument string) (SandboxSendView, error) {
	var (
		v                         SandboxSendView
		online, blocked, whatsapp int
		updated                   int64
		lastSent                  sql.NullInt64
		world                     sql.NullString
	)
	err := s.queryRow(ctx, sandboxSendViewSQL, worldDocument, waID).
		Scan(&v.User.WaID, &v.User.DisplayName, &online, &v.User.AutoReadMs, &blocked, &whatsapp, &updated, &lastSent, &world)
	if errors.Is(err, sql.ErrNoRows) {
		return SandboxSendView{}, ErrNotFound
	}
	if err != nil {
		return SandboxSendView{}, err
	}
	v.User.Online, v.User.Blocked, v.User.WhatsApp = online != 0, blocked != 0, whatsapp != 0
	v.User.UpdatedAt = time.UnixMilli(updated).UTC()
	if lastSent.Valid {
		v.LastSent = time.UnixMilli(lastSent.Int64).UTC()
	}
	if world.Valid {
		v.World = []byte(world.String)
	}
	return v, nil
}

// PutSandboxUser creates or replaces a user.
func (s *Store) PutSandboxUser(ctx context.Context, u SandboxUser) error {
	_, err := s.exec(ctx, s.upsert("sandbox_users", "wa_id", "display_name", "online", "auto_read_ms", "blocked", "whatsapp", "updated_at"),
		u.WaID, u.DisplayName, boolToInt(u.Online), u.AutoReadMs, boolToInt(u.Blocked), boolToInt(u.WhatsApp), u.UpdatedAt.UnixMilli())
	return err
}

// ListSandboxUsers returns every known user, by number.
func (s *Store) ListSandboxUsers(ctx context.Context) ([]SandboxUser, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT wa_id FROM sandbox_users ORDER BY wa_id`)
	if err != nil {
		return nil, err
	}
	ids, err := collectRows(rows, func(r rowScanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	users := make([]SandboxUser, 0, len(ids))
	for _, id := range ids {
		u, err := s.GetSandboxUser(ctx, id)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, nil
}

// SandboxEvent is an event the sandbox holds for the business until the
// core acknowledges it. Payload is the sandbox's own JSON.
type SandboxEvent struct {
	ID        int64
	Kind      string
	Payload   []byte
	DueAt     time.Time
	CreatedAt time.Time
	// OrderingKey names the user or message whose events are handled in
	// order ("" none): see queueTable.key.
	OrderingKey string
	Attempts    int // failed handlings so far
}

// sandboxEventsQueue is the sandbox's event table as the queue primitive
// sees it.
var sandboxEventsQueue = queueTable{
	name: "sandbox_events", id: "id", due: "due_at", order: "due_at, id",
	columns: sandboxEventColumns, key: "ordering_key",
}

const sandboxEventColumns = "id, kind, payload, due_at, created_at, ordering_key, attempts"

func compareSandboxEvents(a, b SandboxEvent) int {
	if c := a.DueAt.Compare(b.DueAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// AddSandboxEvents stores events in one transaction.
func (s *Store) AddSandboxEvents(ctx context.Context, events []SandboxEvent) error {
	if len(events) == 0 {
		return nil
	}
	return s.grouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return s.insertSandboxEvents(ctx, tx, events)
	})
}

func (s *Store) insertSandboxEvents(ctx context.Context, tx *sql.Tx, events []SandboxEvent) error {
	for _, e := range events {
		if _, err := s.txExec(ctx, tx, `INSERT INTO sandbox_events (kind, payload, due_at, created_at, ordering_key) VALUES (?, ?, ?, ?, ?)`,
			e.Kind, string(e.Payload), e.DueAt.UnixMilli(), e.CreatedAt.UnixMilli(), storedOrderingKey(e.OrderingKey)); err != nil {
			return err
		}
	}
	return nil
}

// DueSandboxEvents returns up to max events due at now, oldest first,
// whoever holds them: a look at the queue, which claims nothing.
func (s *Store) DueSandboxEvents(ctx context.Context, now time.Time, max int) ([]SandboxEvent, error) {
	return s.sandboxEvents(ctx, `SELECT `+sandboxEventColumns+` FROM sandbox_events
		WHERE due_at <= ? ORDER BY due_at, id LIMIT ?`, now.UnixMilli(), max)
}

// ClaimSandboxEvents leases up to max events due at now to owner until
// now+lease, oldest first. Events owner already holds are claimed again
// (the caller has nothing in flight when it asks: what it holds was
// neither acknowledged nor given back); another owner's live lease, or an
// earlier event of the same ordering key held back after a failure, keeps
// an event out.
func (s *Store) ClaimSandboxEvents(ctx context.Context, owner string, now time.Time, lease time.Duration, max int) ([]SandboxEvent, error) {
	return claimRows(ctx, s, sandboxEventsQueue, claimRequest{owner: owner, now: now, lease: lease, limit: max, ownLeftovers: true},
		scanSandboxEvent, compareSandboxEvents, func(e SandboxEvent) any { return e.ID })
}

// RetrySandboxEvents holds back events owner claimed and failed to handle
// (see EventRetry). Events owner no longer holds are left alone.
func (s *Store) RetrySandboxEvents(ctx context.Context, owner string, retries []EventRetry, now time.Time) error {
	return s.holdEvents(ctx, sandboxEventsQueue, owner, retries, now)
}

func (s *Store) sandboxEvents(ctx context.Context, query string, args ...any) ([]SandboxEvent, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return collectRows(rows, scanSandboxEvent)
}

// scanSandboxEvent reads one row of sandboxEventColumns.
func scanSandboxEvent(rows rowScanner) (SandboxEvent, error) {
	var (
		e            SandboxEvent
		payload      string
		due, created int64
	)
	if err := rows.Scan(&e.ID, &e.Kind, &payload, &due, &created, &e.OrderingKey, &e.Attempts); err != nil {
		return SandboxEvent{}, err
	}
	e.Payload = []byte(payload)
	e.DueAt, e.CreatedAt = time.UnixMilli(due).UTC(), time.UnixMilli(created).UTC()
	return e, nil
}

// NextSandboxEventDue is when the earliest pending event falls due.
func (s *Store) NextSandboxEventDue(ctx context.Context) (time.Time, bool, error) {
	var due sql.NullInt64
	// An event held back after a failure falls due when the hold ends.
	if err := s.queryRow(ctx, `SELECT MIN(CASE WHEN lease_owner = '' AND lease_until > due_at THEN lease_until ELSE due_at END)
		FROM sandbox_events`).Scan(&due); err != nil {
		return time.Time{}, false, err
	}
	if !due.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(due.Int64).UTC(), true, nil
}

// SandboxEventsByID reads the given events (those that still exist).
func (s *Store) SandboxEventsByID(ctx context.Context, ids []int64) ([]SandboxEvent, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return s.sandboxEvents(ctx, `SELECT `+sandboxEventColumns+` FROM sandbox_events
		WHERE id IN (`+placeholders(len(ids))+`) ORDER BY due_at, id`, args...)
}

// DeleteSandboxEvents removes acknowledged events.
func (s *Store) DeleteSandboxEvents(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	_, err := s.execGrouped(ctx, `DELETE FROM sandbox_events WHERE id IN (`+placeholders(len(ids))+`)`, args...)
	return err
}

// SandboxMessage is a message between the business and a simulated user, as
// the user's phone shows it.
type SandboxMessage struct {
	ID        string
	WaID      string
	Body      []byte
	Status    string // received: sent, delivered, read; sent by the user: "" or "read"
	At        time.Time
	Seq       int64 // received: orders messages of the same At (received_seq), increasing
	UpdatedAt time.Time
}

// RecordSandboxReceivedBatch stores business messages a user received,
// each with the events it starts (events[i], its delivery and read reports),
// in one grouped transaction: a crash leaves a message with its events or
// neither, so a repeated send never has to schedule them again, and a
// recipient's waiting messages cost one commit. fresh[i] is false, and
// nothing is stored for msgs[i], when its id was already recorded (a
// repeated send).
func (s *Store) RecordSandboxReceivedBatch(ctx context.Context, msgs []SandboxMessage, events [][]SandboxEvent) ([]bool, error) {
	if len(events) != len(msgs) {
		return nil, errors.New("store: one list of events per received message")
	}
	fresh := make([]bool, len(msgs))
	err := s.grouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for i, m := range msgs {
			res, err := s.txExec(ctx, tx, `INSERT INTO sandbox_received (id, wa_id, body, status, received_at, updated_at, received_seq) VALUES (?, ?, ?, ?, ?, ?, ?)`+
				s.onDuplicateDoNothing("id"), m.ID, m.WaID, string(m.Body), m.Status, m.At.UnixMilli(), m.At.UnixMilli(), m.Seq)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			// A group that fails is retried write by write: the result is
			// set by the run that commits.
			if fresh[i] = n > 0; !fresh[i] {
				continue
			}
			if err := s.insertSandboxEvents(ctx, tx, events[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return fresh, nil
}

var receivedRank = map[string]int{"sent": 1, "delivered": 2, "read": 3}

// SandboxAdvance moves one received message forward to Status (never back:
// a late "delivered" does not undo "read").
type SandboxAdvance struct {
	MessageID string
	Status    string
	At        time.Time
}

// AckSandboxEvents applies the advances and deletes the events ids in one
// transaction, so a batch of acknowledged reports costs one commit.
func (s *Store) AckSandboxEvents(ctx context.Context, advances []SandboxAdvance, ids []int64) error {
	if len(advances) == 0 && len(ids) == 0 {
		return nil
	}
	return s.grouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, a := range advances {
			lower := []string{}
			for st, rank := range receivedRank {
				if rank < receivedRank[a.Status] {
					lower = append(lower, "'"+st+"'")
				}
			}
			if len(lower) == 0 {
				continue
			}
			if _, err := s.txExec(ctx, tx, `UPDATE sandbox_received SET status = ?, updated_at = ? WHERE id = ? AND status IN (`+strings.Join(lower, ", ")+`)`,
				a.Status, a.At.UnixMilli(), a.MessageID); err != nil {
				return err
			}
		}
		for start := 0; start < len(ids); start += idsPerStatement {
			chunk := ids[start:min(start+idsPerStatement, len(ids))]
			args := make([]any, len(chunk))
			for i, id := range chunk {
				args[i] = id
			}
			if _, err := s.txExec(ctx, tx, `DELETE FROM sandbox_events WHERE id IN (`+placeholders(len(chunk))+`)`, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// GetSandboxReceived reads one received message.
func (s *Store) GetSandboxReceived(ctx context.Context, id string) (SandboxMessage, error) {
	msgs, err := s.sandboxMessages(ctx, `SELECT id, wa_id, body, status, received_at, updated_at FROM sandbox_received WHERE id = ?`, id)
	if err != nil {
		return SandboxMessage{}, err
	}
	if len(msgs) == 0 {
		return SandboxMessage{}, ErrNotFound
	}
	return msgs[0], nil
}

// ListSandboxReceived returns a user's received messages, oldest first; with
// status set, only those in that status.
func (s *Store) ListSandboxReceived(ctx context.Context, waID, status string, limit int) ([]SandboxMessage, error) {
	q := `SELECT id, wa_id, body, status, received_at, updated_at FROM sandbox_received WHERE wa_id = ?`
	args := []any{waID}
	if status != "" {
		q += ` AND status = ?`
		args = append(args, status)
	}
	q += ` ORDER BY received_at, received_seq, id LIMIT ?`
	return s.sandboxMessages(ctx, q, append(args, limit)...)
}

// RecordSandboxSent stores a message a user sent to the business.
func (s *Store) RecordSandboxSent(ctx context.Context, m SandboxMessage) error {
	_, err := s.exec(ctx, `INSERT INTO sandbox_sent (id, wa_id, body, sent_at, read_at) VALUES (?, ?, ?, ?, 0)`,
		m.ID, m.WaID, string(m.Body), m.At.UnixMilli())
	return err
}

// MarkSandboxSentRead records that the business read a user's message;
// ErrNotFound when the sandbox never saw it.
func (s *Store) MarkSandboxSentRead(ctx context.Context, id string, now time.Time) error {
	res, err := s.exec(ctx, `UPDATE sandbox_sent SET read_at = ? WHERE id = ? AND read_at = 0`, now.UnixMilli(), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	var one int
	if err := s.queryRow(ctx, `SELECT 1 FROM sandbox_sent WHERE id = ?`, id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	} else if err != nil {
		return err
	}
	return nil
}

// ListSandboxSent returns what a user sent, oldest first; Status is "read"
// once the business marked it read.
func (s *Store) ListSandboxSent(ctx context.Context, waID string, limit int) ([]SandboxMessage, error) {
	return s.sandboxMessages(ctx, `SELECT id, wa_id, body, CASE WHEN read_at > 0 THEN 'read' ELSE '' END, sent_at,
		CASE WHEN read_at > 0 THEN read_at ELSE sent_at END FROM sandbox_sent WHERE wa_id = ? ORDER BY sandbox_sent.sent_at, sandbox_sent.id LIMIT ?`, waID, limit)
}

func (s *Store) sandboxMessages(ctx context.Context, query string, args ...any) ([]SandboxMessage, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return collectRows(rows, func(r rowScanner) (SandboxMessage, error) {
		var (
			m           SandboxMessage
			body        string
			at, updated int64
		)
		if err := r.Scan(&m.ID, &m.WaID, &body, &m.Status, &at, &updated); err != nil {
			return SandboxMessage{}, err
		}
		m.Body = []byte(body)
		m.At, m.UpdatedAt = time.UnixMilli(at).UTC(), time.UnixMilli(updated).UTC()
		return m, nil
	})
}

// upsert builds "INSERT ... on conflict update every other column" for a
// single-column key, in the dialect's spelling. Arguments go key first, then
// cols in order.
func (s *Store) upsert(table, key string, cols ...string) string {
	all := append([]string{key}, cols...)
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(all, ", ") + ") VALUES (" + placeholders(len(all)) + ")")
	sets := make([]string, len(cols))
	for i, c := range cols {
		if s.dialect == MySQL {
			sets[i] = c + " = VALUES(" + c + ")"
		} else {
			sets[i] = c + " = excluded." + c
		}
	}
	if s.dialect == MySQL {
		b.WriteString(" ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", "))
	} else {
		b.WriteString(" ON CONFLICT (" + key + ") DO UPDATE SET " + strings.Join(sets, ", "))
	}
	return b.String()
}

// lastSandboxSentSQL runs for every free-form send (the 24-hour window): it
// must stay a lookup in the sandbox_sent_user index, never a scan.
const lastSandboxSentSQL = `SELECT MAX(sent_at) FROM sandbox_sent WHERE wa_id = ?`

// LastSandboxSent is when a user last wrote to the business (zero: never).
func (s *Store) LastSandboxSent(ctx context.Context, waID string) (time.Time, error) {
	var last sql.NullInt64
	if err := s.queryRow(ctx, lastSandboxSentSQL, waID).Scan(&last); err != nil {
		return time.Time{}, err
	}
	if !last.Valid {
		return time.Time{}, nil
	}
	return time.UnixMilli(last.Int64).UTC(), nil
}

// PutSandboxMedia stores a file the sandbox holds (idempotent by id).
func (s *Store) PutSandboxMedia(ctx context.Context, id, mimeType, sha256 string, data []byte, now time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO sandbox_media (id, mime_type, sha256, data, created_at) VALUES (?, ?, ?, ?, ?)`+s.onDuplicateDoNothing("id"),
		id, mimeType, sha256, data, now.UnixMilli())
	return err
}

// GetSandboxMedia reads a file the sandbox holds; ErrNotFound when absent.
func (s *Store) GetSandboxMedia(ctx context.Context, id string) (mimeType, sha256 string, data []byte, err error) {
	err = s.queryRow(ctx, `SELECT mime_type, sha256, data FROM sandbox_media WHERE id = ?`, id).Scan(&mimeType, &sha256, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil, ErrNotFound
	}
	return mimeType, sha256, data, err
}
