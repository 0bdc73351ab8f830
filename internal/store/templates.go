package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The sandbox network's message template catalogue. A template is keyed by
// name and language, as on WhatsApp: one name has a translation per
// language. The store keeps the definition as the sandbox hands it over and
// does not look inside it.

// SandboxTemplate is one template translation of the sandbox's catalogue.
type SandboxTemplate struct {
	Name      string
	Language  string
	Category  string
	Status    string
	Body      []byte // the canonical definition JSON
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TemplateExistsError says which template an insert found already there. It
// matches ErrExists.
type TemplateExistsError struct{ Name, Language string }

func (e *TemplateExistsError) Error() string {
	return fmt.Sprintf("store: template %s (%s) already exists", e.Name, e.Language)
}

// Is makes errors.Is(err, ErrExists) hold.
func (e *TemplateExistsError) Is(target error) bool { return target == ErrExists }

const sandboxTemplateColumns = `name, language, category, status, body, created_at, updated_at`

// ListSandboxTemplates returns the whole catalogue ordered by name, then
// language. The order is made here, byte-wise, because the engines'
// collations disagree on where '_' sorts.
func (s *Store) ListSandboxTemplates(ctx context.Context) ([]SandboxTemplate, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sandboxTemplateColumns+` FROM sandbox_templates`)
	if err != nil {
		return nil, err
	}
	out, err := collectRows(rows, scanSandboxTemplate)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []SandboxTemplate{}
	}
	slices.SortFunc(out, func(a, b SandboxTemplate) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Language, b.Language)
	})
	return out, nil
}

// GetSandboxTemplate reads one translation; ErrNotFound when absent.
func (s *Store) GetSandboxTemplate(ctx context.Context, name, language string) (SandboxTemplate, error) {
	t, err := scanSandboxTemplate(s.queryRow(ctx, `SELECT `+sandboxTemplateColumns+` FROM sandbox_templates
		WHERE name = ? AND language = ?`, name, language))
	if errors.Is(err, sql.ErrNoRows) {
		return SandboxTemplate{}, ErrNotFound
	}
	return t, err
}

// AddSandboxTemplates inserts every template or none: a batch that names an
// existing template (or one twice) fails with a *TemplateExistsError for
// the first such template, and leaves the catalogue as it was.
func (s *Store) AddSandboxTemplates(ctx context.Context, ts []SandboxTemplate) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, t := range ts {
			res, err := s.txExec(ctx, tx, `INSERT INTO sandbox_templates (`+sandboxTemplateColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`+
				s.onDuplicateTemplateDoNothing(), t.Name, t.Language, t.Category, t.Status, string(t.Body), t.CreatedAt.UnixMilli(), t.UpdatedAt.UnixMilli())
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n == 0 {
				return &TemplateExistsError{Name: t.Name, Language: t.Language}
			}
		}
		if len(ts) == 0 {
			return nil
		}
		return s.countTemplateChange(ctx, tx, ts[0].UpdatedAt)
	})
}

// onDuplicateTemplateDoNothing is onDuplicateDoNothing for the two-column
// key: MySQL's form names one column, the others the whole key.
func (s *Store) onDuplicateTemplateDoNothing() string {
	if s.dialect == MySQL {
		return " ON DUPLICATE KEY UPDATE name = name"
	}
	return " ON CONFLICT (name, language) DO NOTHING"
}

// PutSandboxTemplate adds t or replaces the stored translation of the same
// name and language, keeping its creation time. created reports which; it
// is informational only (two nodes seeding at once may both see "created").
func (s *Store) PutSandboxTemplate(ctx context.Context, t SandboxTemplate) (created bool, err error) {
	update := "ON CONFLICT (name, language) DO UPDATE SET category = excluded.category, status = excluded.status, body = excluded.body, updated_at = excluded.updated_at"
	if s.dialect == MySQL {
		update = "ON DUPLICATE KEY UPDATE category = VALUES(category), status = VALUES(status), body = VALUES(body), updated_at = VALUES(updated_at)"
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		exists, err := s.sandboxTemplateExists(ctx, tx, t.Name, t.Language)
		if err != nil {
			return err
		}
		created = !exists
		if _, err := s.txExec(ctx, tx, `INSERT INTO sandbox_templates (`+sandboxTemplateColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?) `+update,
			t.Name, t.Language, t.Category, t.Status, string(t.Body), t.CreatedAt.UnixMilli(), t.UpdatedAt.UnixMilli()); err != nil {
			return err
		}
		return s.countTemplateChange(ctx, tx, t.UpdatedAt)
	})
	return created, err
}

// UpdateSandboxTemplate replaces category, status and body of an existing
// translation; ErrNotFound when there is none (an update never brings back
// a template deleted meanwhile).
func (s *Store) UpdateSandboxTemplate(ctx context.Context, t SandboxTemplate) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.txExec(ctx, tx, `UPDATE sandbox_templates SET category = ?, status = ?, body = ?, updated_at = ? WHERE name = ? AND language = ?`,
			t.Category, t.Status, string(t.Body), t.UpdatedAt.UnixMilli(), t.Name, t.Language)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			// MySQL counts an update that changes nothing as no row: look.
			exists, err := s.sandboxTemplateExists(ctx, tx, t.Name, t.Language)
			if err != nil {
				return err
			}
			if !exists {
				return ErrNotFound
			}
		}
		return s.countTemplateChange(ctx, tx, t.UpdatedAt)
	})
}

// DeleteSandboxTemplate removes one translation; ErrNotFound when absent.
func (s *Store) DeleteSandboxTemplate(ctx context.Context, name, language string, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.txExec(ctx, tx, `DELETE FROM sandbox_templates WHERE name = ? AND language = ?`, name, language)
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
		return s.countTemplateChange(ctx, tx, now)
	})
}

func (s *Store) sandboxTemplateExists(ctx context.Context, tx *sql.Tx, name, language string) (bool, error) {
	var one int
	err := s.txQueryRow(ctx, tx, `SELECT 1 FROM sandbox_templates WHERE name = ? AND language = ?`, name, language).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// sandboxTemplatesVersion is the document whose version counts the changes
// of the catalogue. Every method above that changes the catalogue raises it
// in the same transaction, so the count can neither run ahead of a change
// nor miss one, whichever process or node made it.
const sandboxTemplatesVersion = "sandbox.templates.version"

// SandboxTemplatesVersion is the catalogue's change count (0 before the
// first change): one small read tells a core whether the catalogue it
// loaded is still the stored one.
func (s *Store) SandboxTemplatesVersion(ctx context.Context) (int64, error) {
	return s.DocumentVersion(ctx, sandboxTemplatesVersion)
}

// countTemplateChange raises the catalogue's change count inside tx,
// creating the counter on the first change.
func (s *Store) countTemplateChange(ctx context.Context, tx *sql.Tx, now time.Time) error {
	for range 2 {
		res, err := s.txExec(ctx, tx, `UPDATE documents SET version = version + 1, updated_at = ? WHERE name = ?`, now.Unix(), sandboxTemplatesVersion)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		res, err = s.txExec(ctx, tx, `INSERT INTO documents (name, body, version, updated_at) VALUES (?, ?, 1, ?)`+s.onDuplicateDoNothing("name"),
			sandboxTemplatesVersion, "{}", now.Unix())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		// Another transaction created the counter meanwhile: raise theirs.
	}
	return errors.New("store: the template catalogue's change count could not be raised")
}

func scanSandboxTemplate(row rowScanner) (SandboxTemplate, error) {
	var (
		t                SandboxTemplate
		body             string
		created, updated int64
	)
	if err := row.Scan(&t.Name, &t.Language, &t.Category, &t.Status, &body, &created, &updated); err != nil {
		return SandboxTemplate{}, err
	}
	t.Body = []byte(body)
	t.CreatedAt = time.UnixMilli(created).UTC()
	t.UpdatedAt = time.UnixMilli(updated).UTC()
	return t, nil
}
