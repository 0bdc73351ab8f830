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
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

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
func Env(cfg store.Config) []string {
	if cfg.Engine == store.SQLite {
		return []string{"WA_DB_ENGINE=SQLITE", "WABIZ_SQLITE_PATH=" + cfg.SQLitePath}
	}
	env := []string{
		"WA_DB_ENGINE=" + string(cfg.Engine),
		"WA_DB_HOSTNAME=" + cfg.Host,
		"WA_DB_USERNAME=" + cfg.User,
		"WA_DB_PASSWORD=" + cfg.Password,
		"WA_DB_NAME_PREFIX=" + cfg.NamePrefix,
	}
	if cfg.Port > 0 {
		env = append(env, "WA_DB_PORT="+strconv.Itoa(cfg.Port))
	}
	return env
}

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
	var err error
	switch cfg.Engine {
	case store.Postgres:
		err = dropPostgres(ctx, cfg)
	case store.MySQL:
		err = dropMySQL(ctx, cfg)
	}
	if err != nil {
		t.Logf("drop test database %s: %v", cfg.DatabaseName(), err)
	}
}

func dropPostgres(ctx context.Context, cfg store.Config) error {
	port := cfg.Port
	if port == 0 {
		port = 5432
	}
	pc, err := pgx.ParseConfig("sslmode=disable")
	if err != nil {
		return err
	}
	pc.Host, pc.Port, pc.User, pc.Password, pc.Database = cfg.Host, uint16(port), cfg.User, cfg.Password, "postgres"
	if pc.User == "" {
		pc.User = "postgres"
	}
	conn, err := pgx.ConnectConfig(ctx, pc)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{cfg.DatabaseName()}.Sanitize()+" WITH (FORCE)")
	return err
}

func dropMySQL(ctx context.Context, cfg store.Config) error {
	port := cfg.Port
	if port == 0 {
		port = 3306
	}
	mc := mysql.NewConfig()
	mc.Net, mc.Addr, mc.User, mc.Passwd = "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(port)), cfg.User, cfg.Password
	if mc.User == "" {
		mc.User = "root"
	}
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	_, err = db.ExecContext(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS `%s`", cfg.DatabaseName()))
	return err
}
