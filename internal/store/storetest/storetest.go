// Package storetest gives tests a real, empty, migrated database on each
// engine the machine offers. SQLite always runs; PostgreSQL and MySQL run when
// their server is named by an environment variable, and skip saying so
// otherwise:
//
//	WABIZ_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432
//	WABIZ_TEST_MYSQL_URL=mysql://root@127.0.0.1:3306
//
// Each test gets its own database (a random WA_DB_NAME_PREFIX), dropped when
// the test ends, so tests never see each other's rows. A database that a
// test opens through this package starts as a copy of a template migrated
// once per schema (a file in memory for SQLite; on the servers a database
// named wt_tpl_<fingerprint>_wabiz, kept between runs): running every
// migration for every test made the PostgreSQL and MySQL suites spend most
// of their time creating tables, one test process after another under the
// server-wide migration lock. A template of another schema is left alone,
// since a test process of another branch may be copying it; any wt_*
// database may be dropped whenever no test runs (.ci/run does so).
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
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
	fresh.Store(cfg.NamePrefix, true)
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

// Migrated returns a configuration like Config's whose database already
// holds the current schema (a copy of the template), for tests that hand it
// to a wabiz process rather than opening it themselves.
func Migrated(t testing.TB, engine store.Dialect) store.Config {
	t.Helper()
	cfg := Config(t, engine)
	Prepare(t, cfg)
	return cfg
}

// Prepare gives the database cfg names the current schema (a copy of the
// template) when Config made cfg and nothing has created the database yet,
// for tests that hand cfg to code that opens the store itself. Opening the
// same cfg again later (a restart) gets what the first run left.
func Prepare(t testing.TB, cfg store.Config) {
	t.Helper()
	copyTemplate(t, cfg)
}

// Open returns a migrated store on engine, closed when the test ends.
func Open(t testing.TB, engine store.Dialect) *store.Store {
	t.Helper()
	return OpenConfig(t, Config(t, engine))
}

// OpenConfig opens and migrates the database cfg names. A database that
// Config made and nothing has created yet starts as a copy of the template.
func OpenConfig(t testing.TB, cfg store.Config) *store.Store {
	t.Helper()
	copyTemplate(t, cfg)
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

// fresh holds the name prefixes Config handed out whose database nobody has
// created yet: only those are copied from the template (a test that opens
// the same configuration again, to restart a server, gets what it left).
var fresh sync.Map

// templatePrefix starts the names of template databases on the servers.
const templatePrefix = "wt_tpl_"

// templates are made once per engine and process.
var templates struct {
	mu   sync.Mutex
	made map[store.Dialect]*template
}

type template struct {
	cfg    store.Config // PostgreSQL and MySQL: the template database
	sqlite []byte       // SQLite: the migrated file
}

// copyTemplate creates cfg's database from the template when Config made
// cfg and the database does not exist yet; otherwise it does nothing.
func copyTemplate(t testing.TB, cfg store.Config) {
	t.Helper()
	if cfg.Engine == store.SQLite {
		if _, err := os.Stat(cfg.SQLitePath); err == nil || !os.IsNotExist(err) {
			return
		}
	} else if _, ok := fresh.LoadAndDelete(cfg.NamePrefix); !ok {
		return
	}
	tpl := templateFor(t, cfg)
	if cfg.Engine == store.SQLite {
		if err := os.WriteFile(cfg.SQLitePath, tpl.sqlite, 0o600); err != nil {
			t.Fatalf("copy the SQLite template: %v", err)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := store.CloneDatabase(ctx, tpl.cfg, cfg)
	if errors.Is(err, store.ErrNotFound) {
		// Someone dropped the template while this process ran: make it
		// again.
		forgetTemplate(cfg.Engine, tpl)
		err = store.CloneDatabase(ctx, templateFor(t, cfg).cfg, cfg)
	}
	if err != nil && !errors.Is(err, store.ErrExists) {
		t.Fatalf("copy the %s template: %v", cfg.Engine, err)
	}
}

func forgetTemplate(engine store.Dialect, tpl *template) {
	templates.mu.Lock()
	defer templates.mu.Unlock()
	if templates.made[engine] == tpl {
		delete(templates.made, engine)
	}
}

// templateFor returns the engine's template, migrating it on first use in
// this process. On a server the template may already exist from an earlier
// run or another test process; migrating it again is then a quick check
// (the migration lock orders concurrent processes).
func templateFor(t testing.TB, like store.Config) *template {
	t.Helper()
	templates.mu.Lock()
	defer templates.mu.Unlock()
	if tpl := templates.made[like.Engine]; tpl != nil {
		return tpl
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tpl := &template{}
	cfg := like
	if like.Engine == store.SQLite {
		dir, err := os.MkdirTemp("", "wabiz-template-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		cfg.SQLitePath = filepath.Join(dir, "template.db")
		copyPath := filepath.Join(dir, "copy.db")
		migrateTemplate(t, ctx, cfg, func(s *store.Store) error { return s.VacuumInto(ctx, copyPath) })
		if tpl.sqlite, err = os.ReadFile(copyPath); err != nil {
			t.Fatal(err)
		}
	} else {
		cfg.NamePrefix = templatePrefix + store.SchemaFingerprint()[:12] + "_"
		cfg.MaxOpenConns = 2
		migrateTemplate(t, ctx, cfg, nil)
		tpl.cfg = cfg
	}
	if templates.made == nil {
		templates.made = map[store.Dialect]*template{}
	}
	templates.made[like.Engine] = tpl
	return tpl
}

func migrateTemplate(t testing.TB, ctx context.Context, cfg store.Config, then func(*store.Store) error) {
	t.Helper()
	s, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open the %s template: %v", cfg.Engine, err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate the %s template: %v", cfg.Engine, err)
	}
	if then != nil {
		if err := then(s); err != nil {
			t.Fatalf("%s template: %v", cfg.Engine, err)
		}
	}
}
