package bench

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// databaseConfig is the database of one run: SQLite in the run's directory,
// or a database of its own (a fresh name prefix) on the server raw names.
func databaseConfig(raw, dir string) (store.Config, error) {
	if raw == "" {
		return store.Config{Engine: store.SQLite, SQLitePath: filepath.Join(dir, "data", "wabiz.db")}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return store.Config{}, fmt.Errorf("--db: %w", err)
	}
	var cfg store.Config
	switch u.Scheme {
	case "postgres", "postgresql":
		cfg.Engine = store.Postgres
	case "mysql":
		cfg.Engine = store.MySQL
	default:
		return store.Config{}, fmt.Errorf("--db: %q is not postgres://user@host:port or mysql://user@host:port", raw)
	}
	cfg.Host = u.Hostname()
	if p := u.Port(); p != "" {
		if cfg.Port, err = strconv.Atoi(p); err != nil {
			return store.Config{}, fmt.Errorf("--db: port %q: %w", p, err)
		}
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Password, _ = u.User.Password()
	}
	cfg.NamePrefix = "bench_" + randomHex()[:8] + "_"
	return cfg, nil
}

func describeDatabase(cfg store.Config) string {
	if cfg.Engine == store.SQLite {
		return "SQLite (embedded)"
	}
	return fmt.Sprintf("%s at %s, database %s", cfg.Engine, cfg.Host, cfg.DatabaseName())
}

// preload stores n finished messages, so the run measures a server whose
// database holds a history of that size.
func preload(ctx context.Context, cfg store.Config, n int) error {
	s, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		return err
	}
	return s.SeedFinishedOutbox(ctx, "gBpreload", "15559990000", n, time.Now().Add(-48*time.Hour))
}

// dropDatabase removes a server database the run created.
func dropDatabase(cfg store.Config, logf func(string, ...any)) {
	if cfg.Engine == store.SQLite {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.DropDatabase(ctx, cfg); err != nil {
		logf("drop %s: %v", cfg.DatabaseName(), err)
	}
}
