package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// User is a row of the users table.
type User struct {
	Username               string
	PasswordHash           string
	Role                   string
	PasswordChangeRequired bool
	CreatedAt              time.Time
	UpdatedAt              time.Time
}

// CreateUser inserts u; ErrExists when the username is taken.
func (s *Store) CreateUser(ctx context.Context, u User) error {
	res, err := s.exec(ctx, `INSERT INTO users (username, password_hash, role, password_change_required, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)`+s.onDuplicateDoNothing("username"),
		u.Username, u.PasswordHash, u.Role, boolToInt(u.PasswordChangeRequired), u.CreatedAt.Unix(), u.UpdatedAt.Unix())
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

// GetUser reads one user; ErrNotFound when absent.
func (s *Store) GetUser(ctx context.Context, username string) (User, error) {
	var (
		u                User
		change           int
		created, updated int64
	)
	err := s.queryRow(ctx, `SELECT username, password_hash, role, password_change_required, created_at, updated_at
		FROM users WHERE username = ?`, username).Scan(&u.Username, &u.PasswordHash, &u.Role, &change, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, err
	}
	u.PasswordChangeRequired = change != 0
	u.CreatedAt = time.Unix(created, 0).UTC()
	u.UpdatedAt = time.Unix(updated, 0).UTC()
	return u, nil
}

// SetPassword replaces a user's password hash and revokes every token the user
// holds except keepTokenHash (the session that made the change, if any), in
// one transaction: a changed password must end the other sessions.
func (s *Store) SetPassword(ctx context.Context, username, hash string, changeRequired bool, now time.Time, keepTokenHash string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.txExec(ctx, tx, `UPDATE users SET password_hash = ?, password_change_required = ?, updated_at = ? WHERE username = ?`,
			hash, boolToInt(changeRequired), now.Unix(), username)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		_, err = s.txExec(ctx, tx, `DELETE FROM tokens WHERE username = ? AND token_hash <> ?`, username, keepTokenHash)
		return err
	})
}

// DeleteUser removes a user and all of its tokens.
func (s *Store) DeleteUser(ctx context.Context, username string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.txExec(ctx, tx, `DELETE FROM users WHERE username = ?`, username)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		_, err = s.txExec(ctx, tx, `DELETE FROM tokens WHERE username = ?`, username)
		return err
	})
}

// ListUsernames returns every username in order (for the CLI).
func (s *Store) ListUsernames(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT username FROM users ORDER BY username`)
	if err != nil {
		return nil, err
	}
	return collectRows(rows, func(r rowScanner) (string, error) {
		var name string
		return name, r.Scan(&name)
	})
}

// Token is a row of the tokens table; Hash is the SHA-256 (hex) of the JWT.
type Token struct {
	Hash      string
	Username  string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// InsertToken records an issued token. It fails with ErrNotFound if the user
// was deleted in the meantime, so no token outlives its user.
func (s *Store) InsertToken(ctx context.Context, t Token) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := s.txQueryRow(ctx, tx, `SELECT 1 FROM users WHERE username = ?`, t.Username).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = s.txExec(ctx, tx, `INSERT INTO tokens (token_hash, username, issued_at, expires_at) VALUES (?, ?, ?, ?)`,
			t.Hash, t.Username, t.IssuedAt.Unix(), t.ExpiresAt.Unix())
		return err
	})
}

// GetToken reads a token by hash; ErrNotFound when revoked or never issued.
func (s *Store) GetToken(ctx context.Context, hash string) (Token, error) {
	var (
		t               Token
		issued, expires int64
	)
	err := s.queryRow(ctx, `SELECT token_hash, username, issued_at, expires_at FROM tokens WHERE token_hash = ?`, hash).
		Scan(&t.Hash, &t.Username, &issued, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrNotFound
	}
	if err != nil {
		return Token{}, err
	}
	t.IssuedAt = time.Unix(issued, 0).UTC()
	t.ExpiresAt = time.Unix(expires, 0).UTC()
	return t, nil
}

// DeleteToken revokes one token. Deleting an absent token is not an error:
// logout is idempotent.
func (s *Store) DeleteToken(ctx context.Context, hash string) error {
	_, err := s.exec(ctx, `DELETE FROM tokens WHERE token_hash = ?`, hash)
	return err
}

// DeleteExpiredTokens removes tokens that expired before cutoff and returns
// how many it removed.
func (s *Store) DeleteExpiredTokens(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM tokens WHERE expires_at < ?`, cutoff.Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// TokenOwner is what authenticating a request needs from one lookup: who holds
// the token, their role, and when the token expires.
type TokenOwner struct {
	Username  string
	Role      string
	ExpiresAt time.Time
}

// LookupToken joins a token to its user; ErrNotFound when the token was
// revoked or its user deleted.
func (s *Store) LookupToken(ctx context.Context, hash string) (TokenOwner, error) {
	var (
		o       TokenOwner
		expires int64
	)
	err := s.queryRow(ctx, `SELECT u.username, u.role, t.expires_at FROM tokens t
		JOIN users u ON u.username = t.username WHERE t.token_hash = ?`, hash).Scan(&o.Username, &o.Role, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return TokenOwner{}, ErrNotFound
	}
	if err != nil {
		return TokenOwner{}, err
	}
	o.ExpiresAt = time.Unix(expires, 0).UTC()
	return o, nil
}
