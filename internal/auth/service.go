package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/store"
)

// Store is the storage the auth service needs.
type Store interface {
	CreateUser(ctx context.Context, u store.User) error
	GetUser(ctx context.Context, username string) (store.User, error)
	SetPassword(ctx context.Context, username, hash string, changeRequired bool, now time.Time, keepTokenHash string) error
	DeleteUser(ctx context.Context, username string) error
	InsertToken(ctx context.Context, t store.Token) error
	LookupToken(ctx context.Context, hash string) (store.TokenOwner, error)
	DeleteToken(ctx context.Context, hash string) error
}

// Options configure a Service.
type Options struct {
	SigningKey    []byte
	APIKey        string // empty disables Apikey authentication
	TokenLifetime time.Duration
	BcryptCost    int
	// TokenCacheTTL bounds how long a node trusts a token it has already
	// looked up. Revocation on the same node is immediate; on another node it
	// takes effect within this time.
	TokenCacheTTL time.Duration
	// LookupTimeout bounds a token's lookup in the database (10 s by
	// default), so a request never hangs on a database that is down.
	LookupTimeout time.Duration
	Now           func() time.Time
}

// Service authenticates requests and manages users and tokens.
type Service struct {
	store    Store
	key      []byte
	apiKey   string
	lifetime time.Duration
	cost     int
	cacheTTL time.Duration
	lookupIn time.Duration
	now      func() time.Time

	mu sync.Mutex
	// cache is keyed by the token itself: a request whose token is here
	// skips the signature (HMAC), the claims' JSON and the hash, and only
	// a token last looked up more than TokenCacheTTL ago is looked up in
	// the database again (revocation through another node).
	cache map[string]cachedToken

	// dummyHash is compared against when a username does not exist, so a
	// login takes as long for unknown users as for wrong passwords.
	dummyHash []byte
}

type cachedToken struct {
	owner    store.TokenOwner
	hash     string    // tokenHash of the token
	user     string    // the user its verified claims name
	expires  time.Time // its verified expiry
	cachedAt time.Time // when the database last confirmed it
}

// Principal is who a request is from.
type Principal struct {
	Username  string
	Role      string
	tokenHash string
	token     string // the bearer token itself, the key of its cache entry
}

// Errors the HTTP layer maps to responses.
var (
	ErrBadCredentials = errors.New("invalid credentials")
	ErrUnknownUser    = errors.New("username could not be found")
	// ErrTokenLookup wraps a failure to read the tokens table: the database
	// is down or did not answer within Options.LookupTimeout.
	ErrTokenLookup = errors.New("token lookup failed")
)

// NewService builds the service.
func NewService(s Store, o Options) (*Service, error) {
	if len(o.SigningKey) < 32 {
		return nil, errors.New("auth: signing key shorter than 32 bytes")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = 7 * 24 * time.Hour
	}
	if o.BcryptCost == 0 {
		o.BcryptCost = bcrypt.DefaultCost
	}
	if o.TokenCacheTTL == 0 {
		o.TokenCacheTTL = 2 * time.Second
	}
	if o.LookupTimeout <= 0 {
		o.LookupTimeout = 10 * time.Second
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("not a password of anyone"), o.BcryptCost)
	if err != nil {
		return nil, err
	}
	return &Service{store: s, key: o.SigningKey, apiKey: o.APIKey, lifetime: o.TokenLifetime, cost: o.BcryptCost,
		cacheTTL: o.TokenCacheTTL, lookupIn: o.LookupTimeout, now: o.Now, cache: map[string]cachedToken{}, dummyHash: dummy}, nil
}

// EnsureAdmin creates the built-in admin with the factory password on an
// empty database. Its first login must set a new password.
func (s *Service) EnsureAdmin(ctx context.Context) (bool, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(DefaultPassword), s.cost)
	if err != nil {
		return false, err
	}
	now := s.now()
	err = s.store.CreateUser(ctx, store.User{Username: AdminUsername, PasswordHash: string(hash), Role: RoleAdmin,
		PasswordChangeRequired: true, CreatedAt: now, UpdatedAt: now})
	if errors.Is(err, store.ErrExists) {
		return false, nil
	}
	return err == nil, err
}

// CheckCredentials verifies a username and password (HTTP Basic on login).
func (s *Service) CheckCredentials(ctx context.Context, username, password string) (store.User, error) {
	u, err := s.store.GetUser(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password))
		return store.User{}, ErrBadCredentials
	}
	if err != nil {
		return store.User{}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return store.User{}, ErrBadCredentials
	}
	return u, nil
}

// HashPassword hashes a password that already passed CheckPassword.
func (s *Service) HashPassword(p string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(p), s.cost)
	return string(h), err
}

// ChangePassword validates and stores a new password and revokes the user's
// tokens, except the one the change was made with when a user changes its own
// password (so an integration that rotates its password keeps working).
// store.ErrNotFound when the user is gone.
func (s *Service) ChangePassword(ctx context.Context, username, newPassword string, by Principal) error {
	if e := CheckPassword(newPassword); e != nil {
		return e
	}
	hash, err := s.HashPassword(newPassword)
	if err != nil {
		return err
	}
	keep := ""
	if by.Username == username {
		keep = by.tokenHash
	}
	if err := s.store.SetPassword(ctx, username, hash, false, s.now(), keep); err != nil {
		return err
	}
	s.forgetUser(username, keep)
	return nil
}

// CreateUser validates and creates a ROLE_USER. store.ErrExists on a
// duplicate.
func (s *Service) CreateUser(ctx context.Context, username, password string) error {
	if e := CheckUsername(username); e != nil {
		return e
	}
	if e := CheckPassword(password); e != nil {
		return e
	}
	hash, err := s.HashPassword(password)
	if err != nil {
		return err
	}
	now := s.now()
	return s.store.CreateUser(ctx, store.User{Username: username, PasswordHash: hash, Role: RoleUser, CreatedAt: now, UpdatedAt: now})
}

// DeleteUser removes a user and revokes its tokens. The admin cannot be
// deleted.
func (s *Service) DeleteUser(ctx context.Context, username string) error {
	if username == AdminUsername {
		return apierr.New(1009, "Admin user cannot be deleted")
	}
	if err := s.store.DeleteUser(ctx, username); err != nil {
		return err
	}
	s.forgetUser(username, "")
	return nil
}

// IssueToken creates and records a token for username.
func (s *Service) IssueToken(ctx context.Context, username string) (string, time.Time, error) {
	issued := s.now()
	expires := issued.Add(s.lifetime)
	token, err := signToken(s.key, username, issued, expires)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := s.store.InsertToken(ctx, store.Token{Hash: tokenHash(token), Username: username, IssuedAt: issued, ExpiresAt: expires}); err != nil {
		return "", time.Time{}, err
	}
	return token, expires, nil
}

// Authenticate checks a bearer token: signature, expiry (with the Webapp's
// 600 s skew) and presence in the tokens table. A token seen before is not
// verified again: its claims are kept with it, and only its presence is
// looked up again once TokenCacheTTL has passed.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	now := s.now()
	s.mu.Lock()
	hit, known := s.cache[token]
	s.mu.Unlock()
	if known {
		if now.After(hit.expires.Add(clockSkew)) {
			return Principal{}, ErrBadCredentials
		}
		if age := now.Sub(hit.cachedAt); age < s.cacheTTL && age >= 0 {
			return Principal{Username: hit.owner.Username, Role: hit.owner.Role, tokenHash: hit.hash, token: token}, nil
		}
	} else {
		c, err := parseToken(s.key, token)
		if err != nil {
			return Principal{}, ErrBadCredentials
		}
		hit = cachedToken{hash: tokenHash(token), user: c.User, expires: time.Unix(c.Exp, 0)}
		if now.After(hit.expires.Add(clockSkew)) {
			return Principal{}, ErrBadCredentials
		}
	}
	lookupCtx, cancel := context.WithTimeout(ctx, s.lookupIn)
	owner, err := s.store.LookupToken(lookupCtx, hit.hash)
	cancel()
	if errors.Is(err, store.ErrNotFound) {
		s.mu.Lock()
		delete(s.cache, token) // revoked elsewhere
		s.mu.Unlock()
		return Principal{}, ErrBadCredentials
	}
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrTokenLookup, err)
	}
	if owner.Username != hit.user {
		return Principal{}, ErrUnknownUser
	}
	hit.owner, hit.cachedAt = owner, now
	s.mu.Lock()
	if len(s.cache) > 100_000 { // bounded: a flood of distinct tokens cannot grow it without limit
		clear(s.cache)
	}
	s.cache[token] = hit
	s.mu.Unlock()
	return Principal{Username: owner.Username, Role: owner.Role, tokenHash: hit.hash, token: token}, nil
}

// AuthenticateAPIKey checks an Apikey credential.
func (s *Service) AuthenticateAPIKey(key string) (Principal, error) {
	if s.apiKey == "" || subtle.ConstantTimeCompare([]byte(key), []byte(s.apiKey)) != 1 {
		return Principal{}, ErrBadCredentials
	}
	return Principal{Username: APIUsername, Role: RoleAPI}, nil
}

// Logout revokes the token p authenticated with.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	if p.tokenHash == "" {
		return fmt.Errorf("auth: principal %s has no token", p.Username)
	}
	if err := s.store.DeleteToken(ctx, p.tokenHash); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.cache, p.token)
	s.mu.Unlock()
	return nil
}

func (s *Service) forgetUser(username, exceptHash string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for token, c := range s.cache {
		if c.owner.Username == username && c.hash != exceptHash {
			delete(s.cache, token)
		}
	}
}

// User reads one user (store.ErrNotFound when absent).
func (s *Service) User(ctx context.Context, username string) (store.User, error) {
	return s.store.GetUser(ctx, username)
}
