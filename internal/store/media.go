package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Media metadata. The bytes live on the media volume (internal/media), in a
// file named by the id; a row exists only once its file is in place, except
// for inbound media the network announced but that was not downloaded yet
// (status "pending", no file).

// Media origins and statuses.
const (
	MediaOriginUpload  = "upload"   // POST /v1/media
	MediaOriginInbound = "inbound"  // received from a WhatsApp user
	MediaOriginLink    = "link"     // fetched from a URL for a send by link
	MediaOriginBuiltIn = "built_in" // a file the server ships (the first-party stickers)

	MediaStatusStored  = "stored"
	MediaStatusPending = "pending"
)

// Media is one row of the media table.
type Media struct {
	ID         string
	MimeType   string
	Size       int64
	SHA256     string // hex
	Filename   string
	Origin     string // MediaOrigin*
	Status     string // MediaStatus*
	NetworkID  string // the network's handle of inbound media, to download it later
	Kind       string // image, video, audio, voice, sticker, document; "" for uploads
	CreatedAt  time.Time
	LastUsedAt time.Time
}

const mediaColumns = `id, mime_type, size, sha256, filename, origin, status, network_id, kind, created_at, last_used_at`

// InsertMedia adds m; ErrExists when the id is taken.
func (s *Store) InsertMedia(ctx context.Context, m Media) error {
	res, err := s.exec(ctx, `INSERT INTO media (`+mediaColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`+s.onDuplicateDoNothing("id"),
		m.ID, m.MimeType, m.Size, m.SHA256, m.Filename, m.Origin, m.Status, m.NetworkID, m.Kind,
		m.CreatedAt.UnixMilli(), m.LastUsedAt.UnixMilli())
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrExists
	}
	return nil
}

// GetMedia reads one row; ErrNotFound when absent.
func (s *Store) GetMedia(ctx context.Context, id string) (Media, error) {
	m, err := scanMedia(s.queryRow(ctx, `SELECT `+mediaColumns+` FROM media WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Media{}, ErrNotFound
	}
	return m, err
}

// GetMediaByNetworkID finds the row of an inbound file by the network's
// handle; ErrNotFound when the file was never announced. A repeated network
// event finds the media it already registered instead of making another.
func (s *Store) GetMediaByNetworkID(ctx context.Context, networkID string) (Media, error) {
	m, err := scanMedia(s.queryRow(ctx, `SELECT `+mediaColumns+` FROM media WHERE network_id = ? AND origin = 'inbound' ORDER BY created_at LIMIT 1`, networkID))
	if errors.Is(err, sql.ErrNoRows) {
		return Media{}, ErrNotFound
	}
	return m, err
}

// UpdateMedia records what a download learned: status, size, checksum, type
// and file name. ErrNotFound when the row is gone.
func (s *Store) UpdateMedia(ctx context.Context, m Media) error {
	res, err := s.exec(ctx, `UPDATE media SET status = ?, size = ?, sha256 = ?, mime_type = ?, filename = ? WHERE id = ?`,
		m.Status, m.Size, m.SHA256, m.MimeType, m.Filename, m.ID)
	if err != nil {
		return err
	}
	return s.affectedOrMissing(ctx, res, m.ID)
}

// DeleteMedia removes a row; ErrNotFound when there was none.
func (s *Store) DeleteMedia(ctx context.Context, id string) error {
	res, err := s.exec(ctx, `DELETE FROM media WHERE id = ?`, id)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// TouchMedia records a use (a send, a download), which restarts the garbage
// collector's clock. It never moves the time back. ErrNotFound when absent.
func (s *Store) TouchMedia(ctx context.Context, id string, now time.Time) error {
	res, err := s.exec(ctx, `UPDATE media SET last_used_at = ? WHERE id = ? AND last_used_at < ?`,
		now.UnixMilli(), id, now.UnixMilli())
	if err != nil {
		return err
	}
	return s.affectedOrMissing(ctx, res, id)
}

// ListMediaUnusedSince returns up to limit rows last used before cutoff,
// least recently used first: the media garbage collector's work list. A
// file a stickerpack shows is in use for as long as the sticker exists, and
// a file the server ships is never garbage.
func (s *Store) ListMediaUnusedSince(ctx context.Context, cutoff time.Time, limit int) ([]Media, error) {
	rows, err := s.query(ctx, `SELECT `+mediaColumns+` FROM media WHERE last_used_at < ? AND origin <> 'built_in'
		AND NOT EXISTS (SELECT 1 FROM stickers WHERE stickers.image_data_id = media.id)
		ORDER BY last_used_at, id LIMIT ?`, cutoff.UnixMilli(), limit)
	if err != nil {
		return nil, err
	}
	return collectRows(rows, scanMedia)
}

// affectedOrMissing turns "no row changed" into ErrNotFound only when the
// row really is absent: MySQL counts a row whose values did not change as
// unaffected, and TouchMedia skips rows already touched later.
func (s *Store) affectedOrMissing(ctx context.Context, res sql.Result, id string) error {
	n, err := res.RowsAffected()
	if err != nil || n > 0 {
		return err
	}
	var one int
	err = s.queryRow(ctx, `SELECT 1 FROM media WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

type rowScanner interface{ Scan(dest ...any) error }

func scanMedia(row rowScanner) (Media, error) {
	var (
		m             Media
		created, used int64
	)
	err := row.Scan(&m.ID, &m.MimeType, &m.Size, &m.SHA256, &m.Filename, &m.Origin, &m.Status, &m.NetworkID, &m.Kind, &created, &used)
	if err != nil {
		return Media{}, err
	}
	m.CreatedAt = time.UnixMilli(created).UTC()
	m.LastUsedAt = time.UnixMilli(used).UTC()
	return m, nil
}
