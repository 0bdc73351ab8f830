package auth

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// tokenStore is the tokens table in memory, counting lookups.
type tokenStore struct {
	Store   // the rest is not used here
	mu      sync.Mutex
	tokens  map[string]store.TokenOwner
	lookups int
}

func (s *tokenStore) InsertToken(_ context.Context, t store.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[t.Hash] = store.TokenOwner{Username: t.Username, Role: RoleAdmin}
	return nil
}

func (s *tokenStore) LookupToken(_ context.Context, hash string) (store.TokenOwner, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	o, ok := s.tokens[hash]
	if !ok {
		return store.TokenOwner{}, store.ErrNotFound
	}
	return o, nil
}

func (s *tokenStore) DeleteToken(_ context.Context, hash string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, hash)
	return nil
}

// TestAuthenticateCachesVerifiedTokens: a token is verified and looked up
// once; within TokenCacheTTL it is answered from memory; a revocation
// made elsewhere (the row deleted from the table) refuses it once the TTL
// has passed; a logout here refuses it at once; an expired token is
// refused even while cached; a tampered one is never taken for a cached one.
func TestAuthenticateCachesVerifiedTokens(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := &tokenStore{tokens: map[string]store.TokenOwner{}}
	s, err := NewService(st, Options{SigningKey: []byte(strings.Repeat("k", 32)), BcryptCost: 4, TokenLifetime: time.Hour, TokenCacheTTL: 2 * time.Second, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := s.IssueToken(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if p, err := s.Authenticate(ctx, token); err != nil || p.Username != "admin" || p.Role != RoleAdmin {
			t.Fatalf("authenticate: %+v %v", p, err)
		}
	}
	if st.lookups != 1 {
		t.Fatalf("%d lookups for five requests within the TTL, want 1", st.lookups)
	}
	if _, err := s.Authenticate(ctx, token[:len(token)-1]+"x"); err == nil {
		t.Fatal("a tampered token was accepted")
	}

	// Revoked through another node: refused once the TTL has passed.
	st.DeleteToken(ctx, tokenHash(token))
	if _, err := s.Authenticate(ctx, token); err != nil {
		t.Fatalf("within the TTL the cached answer stands: %v", err)
	}
	now = now.Add(2 * time.Second)
	if _, err := s.Authenticate(ctx, token); err != ErrBadCredentials {
		t.Fatalf("after the TTL a token revoked elsewhere: %v, want ErrBadCredentials", err)
	}

	// A logout on this node refuses the token at once.
	token2, _, _ := s.IssueToken(ctx, "admin")
	p, err := s.Authenticate(ctx, token2)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, token2); err != ErrBadCredentials {
		t.Fatalf("after logout: %v", err)
	}

	// Expiry holds for a cached token (an hour, plus the 600 s skew).
	token3, _, _ := s.IssueToken(ctx, "admin")
	if _, err := s.Authenticate(ctx, token3); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour + clockSkew + time.Second)
	if _, err := s.Authenticate(ctx, token3); err != ErrBadCredentials {
		t.Fatalf("an expired cached token: %v", err)
	}
}
