package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		// Three processes starting together: exactly one applies each version.
		var wg sync.WaitGroup
		applied := make([][]int, 3)
		errs := make([]error, 3)
		for i := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := store.Open(ctx, cfg)
				if err != nil {
					errs[i] = err
					return
				}
				defer s.Close()
				applied[i], errs[i] = s.Migrate(ctx)
			}()
		}
		wg.Wait()
		total := 0
		for i := range 3 {
			if errs[i] != nil {
				t.Fatalf("migrate %d: %v", i, errs[i])
			}
			total += len(applied[i])
		}
		if total != store.LatestVersion() {
			t.Fatalf("versions applied across processes = %d, want %d (%v)", total, store.LatestVersion(), applied)
		}
		s := storetest.OpenConfig(t, cfg)
		again, err := s.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Fatalf("second migrate applied %v, err %v", again, err)
		}
		v, err := s.SchemaVersion(ctx)
		if err != nil || v != store.LatestVersion() {
			t.Fatalf("schema version %d, %v", v, err)
		}
		if ver, err := s.ServerVersion(ctx); err != nil || ver == "" {
			t.Fatalf("server version %q, %v", ver, err)
		}
	})
}

func TestUsers(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		u := store.User{Username: "ops_team", PasswordHash: "h1", Role: "ROLE_USER", CreatedAt: t0, UpdatedAt: t0}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateUser(ctx, u); !errors.Is(err, store.ErrExists) {
			t.Fatalf("duplicate create: %v, want ErrExists", err)
		}
		// Usernames compare byte for byte on every engine (MySQL's default
		// collation would make these equal).
		upper := u
		upper.Username = "OPS_TEAM"
		if err := s.CreateUser(ctx, upper); err != nil {
			t.Fatalf("case-different username: %v", err)
		}
		got, err := s.GetUser(ctx, "ops_team")
		if err != nil || got.PasswordHash != "h1" || got.Role != "ROLE_USER" || got.PasswordChangeRequired || !got.CreatedAt.Equal(t0) {
			t.Fatalf("get: %+v %v", got, err)
		}
		if _, err := s.GetUser(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get missing: %v", err)
		}
		tok := store.Token{Hash: "abc", Username: "ops_team", IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		kept := store.Token{Hash: "keep", Username: "ops_team", IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		for _, tk := range []store.Token{tok, kept} {
			if err := s.InsertToken(ctx, tk); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SetPassword(ctx, "ops_team", "h2", true, t0.Add(time.Minute), "keep"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetToken(ctx, "keep"); err != nil {
			t.Fatalf("the session that changed the password was revoked: %v", err)
		}
		got, _ = s.GetUser(ctx, "ops_team")
		if got.PasswordHash != "h2" || !got.PasswordChangeRequired {
			t.Fatalf("after SetPassword: %+v", got)
		}
		if _, err := s.GetToken(ctx, "abc"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("token survived a password change: %v", err)
		}
		if err := s.SetPassword(ctx, "nobody", "h", false, t0, ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("SetPassword missing: %v", err)
		}
		names, err := s.ListUsernames(ctx)
		if err != nil || len(names) != 2 || names[0] != "OPS_TEAM" {
			t.Fatalf("list: %v %v", names, err)
		}
		if err := s.InsertToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUser(ctx, "ops_team"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetToken(ctx, "abc"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("token survived user deletion: %v", err)
		}
		if err := s.DeleteUser(ctx, "ops_team"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
		if err := s.InsertToken(ctx, tok); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("token for a deleted user: %v", err)
		}
	})
}

func TestTokens(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		if err := s.CreateUser(ctx, store.User{Username: "admin", PasswordHash: "x", Role: "ROLE_ADMIN", CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		for i, exp := range []time.Duration{-time.Hour, time.Hour} {
			tok := store.Token{Hash: string(rune('a' + i)), Username: "admin", IssuedAt: t0, ExpiresAt: t0.Add(exp)}
			if err := s.InsertToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.GetToken(ctx, "b")
		if err != nil || got.Username != "admin" || !got.ExpiresAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("get token: %+v %v", got, err)
		}
		n, err := s.DeleteExpiredTokens(ctx, t0)
		if err != nil || n != 1 {
			t.Fatalf("expired removed %d, %v", n, err)
		}
		if err := s.DeleteToken(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteToken(ctx, "b"); err != nil {
			t.Fatalf("logout twice: %v", err)
		}
		if _, err := s.GetToken(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted token: %v", err)
		}
	})
}

func TestDocumentVersionsInOneRead(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		if got, err := s.DocumentVersions(ctx, nil); err != nil || len(got) != 0 {
			t.Fatalf("no names: %v %v", got, err)
		}
		if _, err := s.PutDocument(ctx, "a", []byte(`{}`), 0, t0); err != nil {
			t.Fatal(err)
		}
		for v := int64(0); v < 2; v++ {
			if _, err := s.PutDocument(ctx, "b", []byte(`{}`), v, t0); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.DocumentVersions(ctx, []string{"a", "b", "absent"})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{"a": 1, "b": 2, "absent": 0}
		if len(got) != len(want) || got["a"] != 1 || got["b"] != 2 || got["absent"] != 0 {
			t.Fatalf("versions %v, want %v", got, want)
		}
	})
}

func TestDocumentsOptimisticConcurrency(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		if _, err := s.GetDocument(ctx, "application"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing document: %v", err)
		}
		if v, err := s.DocumentVersion(ctx, "application"); err != nil || v != 0 {
			t.Fatalf("version of missing: %d %v", v, err)
		}
		v1, err := s.PutDocument(ctx, "application", []byte(`{"a":1}`), 0, t0)
		if err != nil || v1 != 1 {
			t.Fatalf("first put: %d %v", v1, err)
		}
		if _, err := s.PutDocument(ctx, "application", []byte(`{"a":2}`), 0, t0); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second create: %v", err)
		}
		big := make([]byte, 200_000) // larger than MySQL's TEXT
		for i := range big {
			big[i] = 'x'
		}
		v2, err := s.PutDocument(ctx, "application", big, v1, t0)
		if err != nil || v2 != 2 {
			t.Fatalf("update: %d %v", v2, err)
		}
		if _, err := s.PutDocument(ctx, "application", []byte(`{}`), v1, t0); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale update: %v", err)
		}
		d, err := s.GetDocument(ctx, "application")
		if err != nil || d.Version != 2 || len(d.Body) != len(big) {
			t.Fatalf("get: v%d len %d %v", d.Version, len(d.Body), err)
		}
	})
}

func TestSecretIsCreatedOnceAndShared(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		a := storetest.OpenConfig(t, cfg)
		b := storetest.OpenConfig(t, cfg)
		s1, err := a.Secret(ctx, "jwt", t0)
		if err != nil || len(s1) != 64 {
			t.Fatalf("secret %q %v", s1, err)
		}
		s2, err := b.Secret(ctx, "jwt", t0)
		if err != nil || s2 != s1 {
			t.Fatalf("second node got %q, want %q (%v)", s2, s1, err)
		}
	})
}

func TestBadNamePrefixIsRejected(t *testing.T) {
	_, err := store.Open(context.Background(), store.Config{Engine: store.MySQL, NamePrefix: "x`; DROP"})
	if err == nil {
		t.Fatal("a prefix with SQL in it was accepted")
	}
}

func TestMySQLSkipLockedDetection(t *testing.T) {
	for v, want := range map[string]bool{
		"8.0.33": true, "5.7.44-log": false, "10.11.19-MariaDB-0+deb12u1": true, "10.5.2-MariaDB": false, "11.4.2-MariaDB": true,
	} {
		if got := store.MySQLHasSkipLocked(v); got != want {
			t.Errorf("%s: %v", v, got)
		}
	}
}

func TestSeedFinishedOutbox(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		s := storetest.OpenConfig(t, cfg)
		ctx := context.Background()
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		if err := s.SeedFinishedOutbox(ctx, "gBseed", "15550001111", 10_401, at); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"gBseed000000000", "gBseed000010400"} {
			m, err := s.GetOutbox(ctx, id)
			if err != nil || m.Status != store.OutboxRead || m.Recipient != "15550001111" {
				t.Fatalf("%s: %+v, %v", id, m, err)
			}
		}
		if _, err := s.GetOutbox(ctx, "gBseed000010401"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("one row too many: %v", err)
		}
	})
}

// TestAdvanceOutboxFrom: the message it returns is the one a fresh read
// gives, whether the status moved or not.
func TestAdvanceOutboxFrom(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		s := storetest.OpenConfig(t, cfg)
		ctx := context.Background()
		t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
		if err := s.InsertOutbox(ctx, store.OutboxMessage{ID: "gBadv", Recipient: "15550001111", Type: "text", Body: []byte(`{}`),
			ScheduledAt: t0, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		m, err := s.GetOutbox(ctx, "gBadv")
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []struct {
			status string
			moved  bool
		}{{store.OutboxSent, true}, {store.OutboxRead, true}, {store.OutboxDelivered, false}, {store.OutboxFailed, false}} {
			got, moved, err := s.AdvanceOutboxFrom(ctx, m, step.status, "", t0.Add(time.Minute+123456*time.Microsecond))
			if err != nil || moved != step.moved {
				t.Fatalf("%s: moved %v, %v; want moved %v", step.status, moved, err, step.moved)
			}
			fresh, err := s.GetOutbox(ctx, "gBadv")
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != fresh.Status || !got.UpdatedAt.Equal(fresh.UpdatedAt) || got.LastError != fresh.LastError || string(got.Body) != string(fresh.Body) {
				t.Fatalf("%s: returned %+v, the row is %+v", step.status, got, fresh)
			}
			m = got
		}
	})
}

// TestPerSendLookupsUseIndexes: the reads every send makes stay index
// lookups however many rows the tables hold (on SQLite, whose planner can
// be asked; the other engines get the same indexes from the same migrations).
func TestPerSendLookupsUseIndexes(t *testing.T) {
	ctx := context.Background()
	st := storetest.OpenConfig(t, storetest.Config(t, store.SQLite))
	for name, q := range map[string]struct {
		query string
		args  []any
	}{
		"LastSandboxSent":    {store.LastSandboxSentSQL, []any{"15550001111"}},
		"GetSandboxSendView": {store.SandboxSendViewSQL, []any{"sandbox.world", "15550001111"}},
	} {
		plan, err := st.SQLiteQueryPlan(ctx, q.query, q.args...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "INDEX sandbox_sent_user") || strings.Contains(plan, "SCAN") {
			t.Errorf("%s: the 24-hour window lookup is not an index search:\n%s", name, plan)
		}
	}
}
