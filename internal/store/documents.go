package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Documents are small JSON bodies stored whole under a name (the application
// settings, later the business profile and similar singletons). Each carries a
// version so that concurrent read-modify-write cycles on several nodes cannot
// lose each other's changes.

// Document is one stored body with its version.
type Document struct {
	Name      string
	Body      []byte
	Version   int64
	UpdatedAt time.Time
}

// GetDocument reads a document; ErrNotFound when it was never written.
func (s *Store) GetDocument(ctx context.Context, name string) (Document, error) {
	var (
		d       Document
		body    string
		updated int64
	)
	err := s.queryRow(ctx, `SELECT name, body, version, updated_at FROM documents WHERE name = ?`, name).
		Scan(&d.Name, &body, &d.Version, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Document{}, ErrNotFound
	}
	if err != nil {
		return Document{}, err
	}
	d.Body = []byte(body)
	d.UpdatedAt = time.Unix(updated, 0).UTC()
	return d, nil
}

// PutDocument writes body if the stored version is still expectVersion (0:
// the document must not exist yet) and returns the new version. ErrConflict
// means another writer got there first: read again and retry.
func (s *Store) PutDocument(ctx context.Context, name string, body []byte, expectVersion int64, now time.Time) (int64, error) {
	next := expectVersion + 1
	var res sql.Result
	var err error
	if expectVersion == 0 {
		res, err = s.exec(ctx, `INSERT INTO documents (name, body, version, updated_at) VALUES (?, ?, ?, ?)`+s.onDuplicateDoNothing("name"),
			name, string(body), next, now.Unix())
	} else {
		res, err = s.exec(ctx, `UPDATE documents SET body = ?, version = ?, updated_at = ? WHERE name = ? AND version = ?`,
			string(body), next, now.Unix(), name, expectVersion)
	}
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, ErrConflict
	}
	return next, nil
}

// DocumentVersion reads only the version (0 when absent): a cheap check for
// whether another node changed a document.
func (s *Store) DocumentVersion(ctx context.Context, name string) (int64, error) {
	var v int64
	err := s.queryRow(ctx, `SELECT version FROM documents WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// DocumentVersions reads the versions of several documents in one query
// (0 for each that is absent): how a node notices, once a second, that
// another node changed any of the documents it keeps applied in memory.
func (s *Store) DocumentVersions(ctx context.Context, names []string) (map[string]int64, error) {
	versions := make(map[string]int64, len(names))
	if len(names) == 0 {
		return versions, nil
	}
	args := make([]any, len(names))
	for i, name := range names {
		versions[name] = 0
		args[i] = name
	}
	rows, err := s.query(ctx, `SELECT name, version FROM documents WHERE name IN (`+placeholders(len(names))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			name string
			v    int64
		)
		if err := rows.Scan(&name, &v); err != nil {
			return nil, err
		}
		versions[name] = v
	}
	return versions, rows.Err()
}

// Secret returns the named server secret, creating it from 32 random bytes
// (hex) on first use. Every node of a deployment shares the database, so they
// all sign and check tokens with the same key.
func (s *Store) Secret(ctx context.Context, name string, now time.Time) (string, error) {
	var v string
	err := s.queryRow(ctx, `SELECT secret FROM server_secrets WHERE name = ?`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	if _, err := s.exec(ctx, `INSERT INTO server_secrets (name, secret, created_at) VALUES (?, ?, ?)`+s.onDuplicateDoNothing("name"),
		name, hex.EncodeToString(raw), now.Unix()); err != nil {
		return "", err
	}
	// Read back: a concurrent first start may have inserted a different value.
	err = s.queryRow(ctx, `SELECT secret FROM server_secrets WHERE name = ?`, name).Scan(&v)
	return v, err
}

// UpdateDocument is a read-modify-write of the named document: next gets
// the stored body (nil when there is none) and returns the new one, which
// is written only if nobody else wrote the document in between; otherwise
// the whole step is made again.
func (s *Store) UpdateDocument(ctx context.Context, name string, now time.Time, next func(old []byte) ([]byte, error)) error {
	for attempt := 0; attempt < 10; attempt++ {
		var old []byte
		version := int64(0)
		doc, err := s.GetDocument(ctx, name)
		switch {
		case err == nil:
			old, version = doc.Body, doc.Version
		case !errors.Is(err, ErrNotFound):
			return err
		}
		body, err := next(old)
		if err != nil {
			return err
		}
		_, err = s.PutDocument(ctx, name, body, version, now)
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("store: gave up writing %s after repeated concurrent updates", name)
}
