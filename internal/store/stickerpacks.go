package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Sticker packs (spec §12): a pack's metadata and its stickers, each of
// which points at a WebP on the media volume by media id.

// Stickerpack namespaces: WhatsApp's own (first-party, read-only through
// the API) and the business's (third-party).
const (
	StickerpackNamespaceWhatsApp   = "whatsapp"
	StickerpackNamespaceThirdParty = "third_party"
)

// ErrFull is returned when an insert would go past a limit the caller set.
var ErrFull = errors.New("store: limit reached")

// Stickerpack is one row of the stickerpacks table.
type Stickerpack struct {
	ID          string
	Namespace   string
	Publisher   string
	Name        string
	IOSLink     string // ios_app_store_link; "" when unset
	AndroidLink string // android_app_store_link; "" when unset
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Sticker is one row of the stickers table.
type Sticker struct {
	PackID      string
	Index       int64
	ImageDataID string
	Emojis      []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const stickerpackColumns = `id, namespace, publisher, name, ios_app_store_link, android_app_store_link, created_at, updated_at`

// InsertStickerpack adds p; ErrExists when the id is taken.
func (s *Store) InsertStickerpack(ctx context.Context, p Stickerpack) error {
	res, err := s.exec(ctx, `INSERT INTO stickerpacks (`+stickerpackColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`+s.onDuplicateDoNothing("id"),
		p.ID, p.Namespace, p.Publisher, p.Name, p.IOSLink, p.AndroidLink, p.CreatedAt.UnixMilli(), p.UpdatedAt.UnixMilli())
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrExists
	}
	return nil
}

// GetStickerpack reads the pack id of namespace; ErrNotFound when there is
// none (a pack asked for in the wrong namespace does not exist there).
func (s *Store) GetStickerpack(ctx context.Context, namespace, id string) (Stickerpack, error) {
	p, err := scanStickerpack(s.queryRow(ctx, `SELECT `+stickerpackColumns+` FROM stickerpacks WHERE id = ? AND namespace = ?`, id, namespace))
	if errors.Is(err, sql.ErrNoRows) {
		return Stickerpack{}, ErrNotFound
	}
	return p, err
}

// ListStickerpacks returns the packs of namespace, oldest first.
func (s *Store) ListStickerpacks(ctx context.Context, namespace string) ([]Stickerpack, error) {
	rows, err := s.query(ctx, `SELECT `+stickerpackColumns+` FROM stickerpacks WHERE namespace = ? ORDER BY created_at, id`, namespace)
	if err != nil {
		return nil, err
	}
	out, err := collectRows(rows, scanStickerpack)
	if out == nil && err == nil {
		out = []Stickerpack{} // an empty list, not null, in the answer
	}
	return out, err
}

// UpdateStickerpack writes the metadata of p (not its namespace);
// ErrNotFound when the pack is gone.
func (s *Store) UpdateStickerpack(ctx context.Context, p Stickerpack) error {
	res, err := s.exec(ctx, `UPDATE stickerpacks SET publisher = ?, name = ?, ios_app_store_link = ?, android_app_store_link = ?, updated_at = ?
		WHERE id = ? AND namespace = ?`, p.Publisher, p.Name, p.IOSLink, p.AndroidLink, p.UpdatedAt.UnixMilli(), p.ID, p.Namespace)
	if err != nil {
		return err
	}
	return s.rowChanged(ctx, res, `SELECT 1 FROM stickerpacks WHERE id = ? AND namespace = ?`, p.ID, p.Namespace)
}

// DeleteStickerpack removes a pack and its stickers (not their media);
// ErrNotFound when there was no such pack.
func (s *Store) DeleteStickerpack(ctx context.Context, namespace, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.txExec(ctx, tx, `DELETE FROM stickerpacks WHERE id = ? AND namespace = ?`, id, namespace)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		_, err = s.txExec(ctx, tx, `DELETE FROM stickers WHERE pack_id = ?`, id)
		return err
	})
}

// AddSticker appends st to its pack and returns the index it was given.
// ErrNotFound when the pack is not in namespace, ErrFull when the pack
// already holds maxStickers. Bumping the pack's counter first locks its row,
// so concurrent adds neither share an index nor overfill the pack.
func (s *Store) AddSticker(ctx context.Context, namespace string, st Sticker, maxStickers int) (int64, error) {
	emojis, err := json.Marshal(nonNilStrings(st.Emojis))
	if err != nil {
		return 0, err
	}
	var index int64
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.txExec(ctx, tx, `UPDATE stickerpacks SET next_index = next_index + 1 WHERE id = ? AND namespace = ?`, st.PackID, namespace)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		var count int
		if err := s.txQueryRow(ctx, tx, `SELECT next_index - 1, (SELECT COUNT(*) FROM stickers WHERE pack_id = ?) FROM stickerpacks WHERE id = ?`,
			st.PackID, st.PackID).Scan(&index, &count); err != nil {
			return err
		}
		if count >= maxStickers {
			return ErrFull
		}
		_, err = s.txExec(ctx, tx, `INSERT INTO stickers (pack_id, sticker_index, image_data_id, emojis, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
			st.PackID, index, st.ImageDataID, string(emojis), st.CreatedAt.UnixMilli(), st.UpdatedAt.UnixMilli())
		return err
	})
	return index, err
}

// EnsureStickerpack makes a pack the server defines itself (first-party)
// exist as p and stickers give it, in one transaction: what is missing is
// inserted, what differs is brought to the given values (UpdatedAt), and
// nothing is removed, since clients keep sticker ids. Several nodes may run
// it at once: an insert does nothing where the row is already there, and
// the values they write are the same. A pack with p's id in another
// namespace is an error: it is never taken over.
func (s *Store) EnsureStickerpack(ctx context.Context, p Stickerpack, stickers []Sticker) error {
	nextIndex := int64(0)
	for _, st := range stickers {
		nextIndex = max(nextIndex, st.Index+1)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.txExec(ctx, tx, `INSERT INTO stickerpacks (`+stickerpackColumns+`, next_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`+s.onDuplicateDoNothing("id"),
			p.ID, p.Namespace, p.Publisher, p.Name, p.IOSLink, p.AndroidLink, p.CreatedAt.UnixMilli(), p.UpdatedAt.UnixMilli(), nextIndex); err != nil {
			return err
		}
		got, err := scanStickerpack(s.txQueryRow(ctx, tx, `SELECT `+stickerpackColumns+` FROM stickerpacks WHERE id = ?`, p.ID))
		if err != nil {
			return err
		}
		if got.Namespace != p.Namespace {
			return fmt.Errorf("store: stickerpack %s is in namespace %s, not %s", p.ID, got.Namespace, p.Namespace)
		}
		if got.Publisher != p.Publisher || got.Name != p.Name || got.IOSLink != p.IOSLink || got.AndroidLink != p.AndroidLink {
			if _, err := s.txExec(ctx, tx, `UPDATE stickerpacks SET publisher = ?, name = ?, ios_app_store_link = ?, android_app_store_link = ?, updated_at = ? WHERE id = ?`,
				p.Publisher, p.Name, p.IOSLink, p.AndroidLink, p.UpdatedAt.UnixMilli(), p.ID); err != nil {
				return err
			}
		}
		// Indexes handed out stay handed out, as for any pack.
		if _, err := s.txExec(ctx, tx, `UPDATE stickerpacks SET next_index = ? WHERE id = ? AND next_index < ?`, nextIndex, p.ID, nextIndex); err != nil {
			return err
		}
		rows, err := s.txQuery(ctx, tx, `SELECT `+stickerColumns+` FROM stickers WHERE pack_id = ?`, p.ID)
		if err != nil {
			return err
		}
		stored, err := collectRows(rows, scanSticker)
		if err != nil {
			return err
		}
		existing := map[int64]Sticker{}
		for _, st := range stored {
			existing[st.Index] = st
		}
		for _, st := range stickers {
			emojis, err := json.Marshal(nonNilStrings(st.Emojis))
			if err != nil {
				return err
			}
			old, ok := existing[st.Index]
			switch {
			case !ok:
				_, err = s.txExec(ctx, tx, `INSERT INTO stickers (`+stickerColumns+`) VALUES (?, ?, ?, ?, ?, ?)`+s.onDuplicateDoNothing("pack_id, sticker_index"),
					p.ID, st.Index, st.ImageDataID, string(emojis), st.CreatedAt.UnixMilli(), st.UpdatedAt.UnixMilli())
			case old.ImageDataID != st.ImageDataID || !slices.Equal(old.Emojis, nonNilStrings(st.Emojis)):
				_, err = s.txExec(ctx, tx, `UPDATE stickers SET image_data_id = ?, emojis = ?, updated_at = ? WHERE pack_id = ? AND sticker_index = ?`,
					st.ImageDataID, string(emojis), st.UpdatedAt.UnixMilli(), p.ID, st.Index)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

const stickerColumns = `pack_id, sticker_index, image_data_id, emojis, created_at, updated_at`

// ListStickers returns the stickers of a pack in index order (an unknown
// pack has none: callers check the pack first).
func (s *Store) ListStickers(ctx context.Context, packID string) ([]Sticker, error) {
	rows, err := s.query(ctx, `SELECT `+stickerColumns+` FROM stickers WHERE pack_id = ? ORDER BY sticker_index`, packID)
	if err != nil {
		return nil, err
	}
	out, err := collectRows(rows, scanSticker)
	if out == nil && err == nil {
		out = []Sticker{} // an empty list, not null, in the answer
	}
	return out, err
}

// GetSticker reads one sticker; ErrNotFound when absent.
func (s *Store) GetSticker(ctx context.Context, packID string, index int64) (Sticker, error) {
	st, err := scanSticker(s.queryRow(ctx, `SELECT `+stickerColumns+` FROM stickers WHERE pack_id = ? AND sticker_index = ?`, packID, index))
	if errors.Is(err, sql.ErrNoRows) {
		return Sticker{}, ErrNotFound
	}
	return st, err
}

// UpdateSticker writes the image and emojis of st; ErrNotFound when gone.
func (s *Store) UpdateSticker(ctx context.Context, st Sticker) error {
	emojis, err := json.Marshal(nonNilStrings(st.Emojis))
	if err != nil {
		return err
	}
	res, err := s.exec(ctx, `UPDATE stickers SET image_data_id = ?, emojis = ?, updated_at = ? WHERE pack_id = ? AND sticker_index = ?`,
		st.ImageDataID, string(emojis), st.UpdatedAt.UnixMilli(), st.PackID, st.Index)
	if err != nil {
		return err
	}
	return s.rowChanged(ctx, res, `SELECT 1 FROM stickers WHERE pack_id = ? AND sticker_index = ?`, st.PackID, st.Index)
}

// DeleteSticker removes one sticker; ErrNotFound when there was none.
func (s *Store) DeleteSticker(ctx context.Context, packID string, index int64) error {
	res, err := s.exec(ctx, `DELETE FROM stickers WHERE pack_id = ? AND sticker_index = ?`, packID, index)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

// rowChanged turns "no row changed" into ErrNotFound only when the row is
// really absent: MySQL does not count a row whose values stayed the same.
func (s *Store) rowChanged(ctx context.Context, res sql.Result, existsQuery string, args ...any) error {
	n, err := res.RowsAffected()
	if err != nil || n > 0 {
		return err
	}
	var one int
	err = s.queryRow(ctx, existsQuery, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

func scanStickerpack(r rowScanner) (Stickerpack, error) {
	var p Stickerpack
	var created, updated int64
	if err := r.Scan(&p.ID, &p.Namespace, &p.Publisher, &p.Name, &p.IOSLink, &p.AndroidLink, &created, &updated); err != nil {
		return Stickerpack{}, err
	}
	p.CreatedAt, p.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return p, nil
}

func scanSticker(r rowScanner) (Sticker, error) {
	var st Sticker
	var emojis string
	var created, updated int64
	if err := r.Scan(&st.PackID, &st.Index, &st.ImageDataID, &emojis, &created, &updated); err != nil {
		return Sticker{}, err
	}
	if err := json.Unmarshal([]byte(emojis), &st.Emojis); err != nil {
		return Sticker{}, err
	}
	st.Emojis = nonNilStrings(st.Emojis)
	st.CreatedAt, st.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return st, nil
}

// nonNilStrings keeps "no emojis" an empty JSON array rather than null.
func nonNilStrings(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}
