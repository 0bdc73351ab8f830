// Package storetest gives tests a real, empty, migrated database on each
// engine the machine offers. SQLite always runs; PostgreSQL and MySQL run when
// their server is named by an environment variable, and skip saying so
// otherwise:
//
//	WABIZ_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432
//	WABIZ_TEST_MYSQL_URL=mysql://root@127.0.0.1:3306
//
// Each test gets its own database (a random WA_DB_NAME_PREFIX), dropped when
// the test ends, so tests never see each other's rows.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// Environment variables naming the test servers.
const (
	PostgresEnv = "WABIZ_TEST_POSTGRES_URL"
	MySQLEnv    = "WABIZ_TEST_MYSQL_URL"
)

// Engines lists every dialect, SQLite first.
var Engines = []store.Dialect{store.SQLite, store.Postgres, store.MySQL}

// ForEach runs fn as a subtest per engine, each with a fresh database
// configuration (not yet opened).
func ForEach(t *testing.T, fn func(t *testing.T, cfg store.Config)) {
	t.Helper()
	for _, engine := range Engines {
		t.Run(string(engine), func(t *testing.T) {
			fn(t, Config(t, engine))
		})
	}
}

// Config returns a configuration for a new, empty database on engine, and
// registers its removal. It skips the test when the engine's server is not
// configured.
func Config(t testing.TB, engine store.Dialect) store.Config {
	t.Helper()
	if engine == store.SQLite {
		return store.Config{Engine: store.SQLite, SQLitePath: filepath.Join(t.TempDir(), "wabiz.db")}
	}
	envName := PostgresEnv
	if engine == store.MySQL {
		envName = MySQLEnv
	}
	raw := os.Getenv(envName)
	if raw == "" {
		t.Skipf("%s tests skipped: set %s (for example %s) to run them", engine, envName, example(engine))
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", envName, err)
	}
	cfg := store.Config{Engine: engine, Host: u.Hostname(), NamePrefix: "wt_" + randomHex(6) + "_", MaxOpenConns: 8}
	if p := u.Port(); p != "" {
		cfg.Port, _ = strconv.Atoi(p)
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Password, _ = u.User.Password()
	}
	t.Cleanup(func() { drop(t, cfg) })
	return cfg
}

// Open returns a migrated store on engine, closed when the test ends.
func Open(t testing.TB, engine store.Dialect) *store.Store {
	t.Helper()
	return OpenConfig(t, Config(t, engine))
}

// OpenConfig opens and migrates the database cfg names.
func OpenConfig(t testing.TB, cfg store.Config) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Env returns the WA_DB_* variables that point a wabiz process at cfg, for
// tests that run the binary.
func Env(cfg store.Config) []string { return cfg.Environment() }

func example(engine store.Dialect) string {
	if engine == store.Postgres {
		return "postgres://postgres@127.0.0.1:5432"
	}
	return "mysql://root@127.0.0.1:3306"
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func drop(t testing.TB, cfg store.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.DropDatabase(ctx, cfg); err != nil {
		t.Logf("drop test database %s: %v", cfg.DatabaseName(), err)
	}
}
