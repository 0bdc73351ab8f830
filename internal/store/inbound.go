package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// InboundMessage is a message a user sent the business. Body is the webhook
// message object as delivered.
type InboundMessage struct {
	ID         string
	Sender     string
	Type       string
	Body       []byte
	ReceivedAt time.Time
	ReadAt     time.Time
}

// InsertInbound stores an inbound message; false when it was already stored
// (the network repeated an event after a crash).
func (s *Store) InsertInbound(ctx context.Context, m InboundMessage) (bool, error) {
	n, err := s.execGrouped(ctx, `INSERT INTO inbound_messages (id, sender, message_type, body, received_at, read_at) VALUES (?, ?, ?, ?, ?, 0)`+
		s.onDuplicateDoNothing("id"), m.ID, m.Sender, m.Type, string(m.Body), m.ReceivedAt.UnixMilli())
	return n > 0, err
}

// GetInbound reads one inbound message; ErrNotFound when absent.
func (s *Store) GetInbound(ctx context.Context, id string) (InboundMessage, error) {
	var (
		m              InboundMessage
		body           string
		received, read int64
	)
	err := s.queryRow(ctx, `SELECT id, sender, message_type, body, received_at, read_at FROM inbound_messages WHERE id = ?`, id).
		Scan(&m.ID, &m.Sender, &m.Type, &body, &received, &read)
	if errors.Is(err, sql.ErrNoRows) {
		return InboundMessage{}, ErrNotFound
	}
	if err != nil {
		return InboundMessage{}, err
	}
	m.Body = []byte(body)
	m.ReceivedAt = time.UnixMilli(received).UTC()
	if read > 0 {
		m.ReadAt = time.UnixMilli(read).UTC()
	}
	return m, nil
}

// MarkInboundRead records when the business read a message.
func (s *Store) MarkInboundRead(ctx context.Context, id string, now time.Time) error {
	_, err := s.exec(ctx, `UPDATE inbound_messages SET read_at = ? WHERE id = ? AND read_at = 0`, now.UnixMilli(), id)
	return err
}

// Contact is what wabiz knows of a WhatsApp user: one who wrote, one a
// contact check found valid, or one the business sent a message to.
type Contact struct {
	WaID          string
	ProfileName   string
	LastInboundAt time.Time // zero: never wrote
	FirstSeenAt   time.Time // when wabiz first knew the user; never moves
}

// TouchContact records that a user wrote at 'at' under profileName. The last
// inbound time only moves forward, so a repeated old event cannot shorten the
// customer-service window.
func (s *Store) TouchContact(ctx context.Context, waID, profileName string, at, now time.Time) error {
	var q string
	switch s.dialect {
	case MySQL:
		q = `INSERT INTO contacts (wa_id, profile_name, last_inbound_at, updated_at, first_seen_at) VALUES (?, ?, ?, ?, ?)
			ON DUPLICATE KEY UPDATE profile_name = VALUES(profile_name),
			last_inbound_at = GREATEST(last_inbound_at, VALUES(last_inbound_at)), updated_at = VALUES(updated_at)`
	case Postgres:
		q = `INSERT INTO contacts (wa_id, profile_name, last_inbound_at, updated_at, first_seen_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (wa_id) DO UPDATE SET profile_name = excluded.profile_name,
			last_inbound_at = GREATEST(contacts.last_inbound_at, excluded.last_inbound_at), updated_at = excluded.updated_at`
	default:
		q = `INSERT INTO contacts (wa_id, profile_name, last_inbound_at, updated_at, first_seen_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (wa_id) DO UPDATE SET profile_name = excluded.profile_name,
			last_inbound_at = MAX(contacts.last_inbound_at, excluded.last_inbound_at), updated_at = excluded.updated_at`
	}
	_, err := s.execGrouped(ctx, q, waID, profileName, at.UnixMilli(), now.UnixMilli(), at.UnixMilli())
	return err
}

// NoteContact records that waID is a WhatsApp user, known from 'at' unless
// it was known already (a contact check found it valid).
func (s *Store) NoteContact(ctx context.Context, waID string, at time.Time) error {
	_, err := s.exec(ctx, s.noteContactSQL(), waID, at.UnixMilli(), at.UnixMilli())
	return err
}

func (s *Store) noteContactSQL() string {
	return `INSERT INTO contacts (wa_id, profile_name, last_inbound_at, updated_at, first_seen_at) VALUES (?, '', 0, ?, ?)` +
		s.onDuplicateDoNothing("wa_id")
}

// GetContact reads a contact; ErrNotFound when wabiz never knew the user.
func (s *Store) GetContact(ctx context.Context, waID string) (Contact, error) {
	var (
		c           Contact
		last, first int64
	)
	err := s.queryRow(ctx, `SELECT wa_id, profile_name, last_inbound_at, first_seen_at FROM contacts WHERE wa_id = ?`, waID).
		Scan(&c.WaID, &c.ProfileName, &last, &first)
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, ErrNotFound
	}
	if err != nil {
		return Contact{}, err
	}
	if last > 0 {
		c.LastInboundAt = time.UnixMilli(last).UTC()
	}
	c.FirstSeenAt = time.UnixMilli(first).UTC()
	return c, nil
}

// Conversation is a 24-hour billing conversation with a user.
type Conversation struct {
	ID        string
	WaID      string
	Origin    string
	StartedAt time.Time
	ExpiresAt time.Time
}

// OpenConversation returns the user's conversation of that origin that is
// open at now, or starts one (id from newID, lasting length) and notes the
// user as a contact; opened says whether it was started by this call.
func (s *Store) OpenConversation(ctx context.Context, waID, origin string, now time.Time, length time.Duration, newID func() string) (Conversation, bool, error) {
	// The common case, an open conversation, is a read; only starting one
	// writes, inside the shared group commit (looking again there, as a
	// group may have started it meanwhile).
	if c, found, err := s.openConversation(ctx, s.db, waID, origin, now); err != nil || found {
		return c, false, err
	}
	var (
		c      Conversation
		opened bool
	)
	err := s.grouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		existing, found, err := s.openConversation(ctx, tx, waID, origin, now)
		if err != nil || found {
			c, opened = existing, false
			return err
		}
		c = Conversation{WaID: waID, Origin: origin, ID: newID(), StartedAt: now, ExpiresAt: now.Add(length)}
		opened = true
		if _, err := s.txExec(ctx, tx, `INSERT INTO conversations (id, wa_id, origin, started_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			c.ID, waID, origin, c.StartedAt.UnixMilli(), c.ExpiresAt.UnixMilli()); err != nil {
			return err
		}
		// Every message the network accepted opens a conversation or falls
		// in one a message opened before: its recipient is a contact from
		// then on, noted in the same commit so it cannot be lost between.
		_, err = s.txExec(ctx, tx, s.noteContactSQL(), waID, now.UnixMilli(), now.UnixMilli())
		return err
	})
	if err != nil {
		return Conversation{}, false, err
	}
	return c, opened, nil
}

func (s *Store) openConversation(ctx context.Context, q queryer, waID, origin string, now time.Time) (Conversation, bool, error) {
	c := Conversation{WaID: waID, Origin: origin}
	var started, expires int64
	err := s.queryRowOn(ctx, q, `SELECT id, started_at, expires_at FROM conversations WHERE wa_id = ? AND origin = ? AND expires_at > ?
		ORDER BY expires_at DESC LIMIT 1`, waID, origin, now.UnixMilli()).Scan(&c.ID, &started, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Conversation{}, false, nil
	}
	if err != nil {
		return Conversation{}, false, err
	}
	c.StartedAt, c.ExpiresAt = time.UnixMilli(started).UTC(), time.UnixMilli(expires).UTC()
	return c, true, nil
}

// ContactCheck is a cached POST /v1/contacts result.
type ContactCheck struct {
	Number    string
	Status    string // valid or invalid
	WaID      string
	CheckedAt time.Time
}

// GetContactCheck reads a cached result; ErrNotFound when never checked.
func (s *Store) GetContactCheck(ctx context.Context, number string) (ContactCheck, error) {
	var (
		c       ContactCheck
		checked int64
	)
	err := s.queryRow(ctx, `SELECT number, status, wa_id, checked_at FROM contact_checks WHERE number = ?`, number).Scan(&c.Number, &c.Status, &c.WaID, &checked)
	if errors.Is(err, sql.ErrNoRows) {
		return ContactCheck{}, ErrNotFound
	}
	if err != nil {
		return ContactCheck{}, err
	}
	c.CheckedAt = time.UnixMilli(checked).UTC()
	return c, nil
}

// PutContactCheck caches a result.
func (s *Store) PutContactCheck(ctx context.Context, c ContactCheck) error {
	_, err := s.exec(ctx, s.upsert("contact_checks", "number", "status", "wa_id", "checked_at"), c.Number, c.Status, c.WaID, c.CheckedAt.UnixMilli())
	return err
}
