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
	defer rows.Close()
	out := []SandboxTemplate{}
	for rows.Next() {
		t, err := scanSandboxTemplate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
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
		return nil
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
	var one int
	err = s.queryRow(ctx, `SELECT 1 FROM sandbox_templates WHERE name = ? AND language = ?`, t.Name, t.Language).Scan(&one)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	created = errors.Is(err, sql.ErrNoRows)
	update := "ON CONFLICT (name, language) DO UPDATE SET category = excluded.category, status = excluded.status, body = excluded.body, updated_at = excluded.updated_at"
	if s.dialect == MySQL {
		update = "ON DUPLICATE KEY UPDATE category = VALUES(category), status = VALUES(status), body = VALUES(body), updated_at = VALUES(updated_at)"
	}
	_, err = s.exec(ctx, `INSERT INTO sandbox_templates (`+sandboxTemplateColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?) `+update,
		t.Name, t.Language, t.Category, t.Status, string(t.Body), t.CreatedAt.UnixMilli(), t.UpdatedAt.UnixMilli())
	return created, err
}

// UpdateSandboxTemplate replaces category, status and body of an existing
// translation; ErrNotFound when there is none (an update never brings back
// a template deleted meanwhile).
func (s *Store) UpdateSandboxTemplate(ctx context.Context, t SandboxTemplate) error {
	res, err := s.exec(ctx, `UPDATE sandbox_templates SET category = ?, status = ?, body = ?, updated_at = ? WHERE name = ? AND language = ?`,
		t.Category, t.Status, string(t.Body), t.UpdatedAt.UnixMilli(), t.Name, t.Language)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil || n > 0 {
		return err
	}
	// MySQL counts an update that changes nothing as no row: look.
	_, err = s.GetSandboxTemplate(ctx, t.Name, t.Language)
	return err
}

// DeleteSandboxTemplate removes one translation; ErrNotFound when absent.
func (s *Store) DeleteSandboxTemplate(ctx context.Context, name, language string) error {
	res, err := s.exec(ctx, `DELETE FROM sandbox_templates WHERE name = ? AND language = ?`, name, language)
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
