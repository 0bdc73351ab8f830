package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver, so the binary stays static
)

// openSQLite opens the embedded database. WAL lets readers run beside the one
// writer; synchronous=FULL makes every commit durable even on power loss (group
// commit keeps that affordable); immediate transactions take the write lock up
// front so two writers queue on busy_timeout instead of failing to upgrade.
func openSQLite(cfg Config) (*sql.DB, error) {
	if cfg.SQLitePath == "" {
		return nil, errors.New("store: no SQLite file path")
	}
	if err := os.MkdirAll(filepath.Dir(cfg.SQLitePath), 0o700); err != nil {
		return nil, fmt.Errorf("store: create directory for %s: %w", cfg.SQLitePath, err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	// Checkpoint every 8,192 pages (32 MiB of log) instead of SQLite's 1,000:
	// under load the default copied the same hot pages back into the
	// database several times a second. After a checkpoint the log file is
	// cut back to 64 MiB, so a burst does not leave a large file behind.
	q.Add("_pragma", "wal_autocheckpoint(8192)")
	q.Add("_pragma", "journal_size_limit(67108864)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+cfg.SQLitePath+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	maxConns := cfg.MaxOpenConns
	if maxConns <= 0 {
		maxConns = 8
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	return db, nil
}

func dbTLS(cfg Config, serverName string) (*tls.Config, error) {
	if cfg.SSLCA == "" && cfg.SSLCert == "" && cfg.SSLKey == "" {
		return nil, nil
	}
	tc := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12, InsecureSkipVerify: !cfg.SSLVerify}
	if cfg.SSLCA != "" {
		pem, err := os.ReadFile(cfg.SSLCA)
		if err != nil {
			return nil, fmt.Errorf("store: read WA_DB_SSL_CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("store: WA_DB_SSL_CA %s holds no PEM certificate", cfg.SSLCA)
		}
		tc.RootCAs = pool
	}
	if cfg.SSLCert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.SSLCert, cfg.SSLKey)
		if err != nil {
			return nil, fmt.Errorf("store: load WA_DB_SSL_CERT/WA_DB_SSL_KEY: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

func serverPort(cfg Config, def int) int {
	if cfg.Port > 0 {
		return cfg.Port
	}
	return def
}

func pgConfig(cfg Config, database string) (*pgx.ConnConfig, error) {
	user := cfg.User
	if user == "" {
		user = "postgres"
	}
	// An explicit keyword string keeps libpq environment variables from
	// silently changing where we connect.
	pc, err := pgx.ParseConfig("sslmode=disable")
	if err != nil {
		return nil, err
	}
	pc.Host = cfg.Host
	pc.Port = uint16(serverPort(cfg, 5432))
	pc.User = user
	pc.Password = cfg.Password
	pc.Database = database
	pc.Fallbacks = nil
	tc, err := dbTLS(cfg, cfg.Host)
	if err != nil {
		return nil, err
	}
	pc.TLSConfig = tc
	return pc, nil
}

func openPostgres(ctx context.Context, cfg Config) (*sql.DB, error) {
	if err := createPostgresDatabase(ctx, cfg); err != nil {
		return nil, err
	}
	pc, err := pgConfig(cfg, cfg.DatabaseName())
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*pc)
	db.SetMaxOpenConns(maxOpen(cfg))
	db.SetMaxIdleConns(maxOpen(cfg))
	return db, nil
}

func maxOpen(cfg Config) int {
	if cfg.MaxOpenConns > 0 {
		return cfg.MaxOpenConns
	}
	return 16
}

// createPostgresDatabase connects to the maintenance database and creates
// ours when missing. A concurrent creator (another node starting at the same
// time) is not an error.
func createPostgresDatabase(ctx context.Context, cfg Config) error {
	var lastErr error
	for _, maintenance := range []string{"postgres", "template1"} {
		pc, err := pgConfig(cfg, maintenance)
		if err != nil {
			return err
		}
		conn, err := pgx.ConnectConfig(ctx, pc)
		if err != nil {
			lastErr = err
			continue
		}
		defer conn.Close(ctx)
		var exists bool
		err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", cfg.DatabaseName()).Scan(&exists)
		if err != nil {
			return fmt.Errorf("store: look up database %s: %w", cfg.DatabaseName(), err)
		}
		if exists {
			return nil
		}
		_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{cfg.DatabaseName()}.Sanitize()+" ENCODING 'UTF8'")
		var pgErr *pgconn.PgError
		// Another node creating it at the same moment surfaces as
		// duplicate_database or as a unique violation on the catalogue.
		if errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505") {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: create database %s: %w", cfg.DatabaseName(), err)
		}
		return nil
	}
	return fmt.Errorf("store: connect to PostgreSQL at %s: %w", net.JoinHostPort(cfg.Host, strconv.Itoa(serverPort(cfg, 5432))), lastErr)
}

func mysqlConfig(cfg Config, database string) (*mysql.Config, error) {
	mc := mysql.NewConfig()
	mc.Net = "tcp"
	mc.Addr = net.JoinHostPort(cfg.Host, strconv.Itoa(serverPort(cfg, 3306)))
	mc.User = cfg.User
	if mc.User == "" {
		mc.User = "root"
	}
	mc.Passwd = cfg.Password
	mc.DBName = database
	// Placeholders are interpolated client-side: one round trip per statement
	// instead of prepare + execute + close.
	mc.InterpolateParams = true
	mc.Collation = "utf8mb4_bin"
	tc, err := dbTLS(cfg, cfg.Host)
	if err != nil {
		return nil, err
	}
	mc.TLS = tc
	return mc, nil
}

// mysqlServer opens a pool on cfg's MySQL server with no current database,
// for the statements that create, copy, list and drop databases.
func mysqlServer(cfg Config) (*sql.DB, error) {
	mc, err := mysqlConfig(cfg, "")
	if err != nil {
		return nil, err
	}
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(connector), nil
}

// postgresMaintenance connects to cfg's PostgreSQL server through its
// maintenance database, for the statements that copy, list and drop databases.
func postgresMaintenance(ctx context.Context, cfg Config) (*pgx.Conn, error) {
	pc, err := pgConfig(cfg, "postgres")
	if err != nil {
		return nil, err
	}
	return pgx.ConnectConfig(ctx, pc)
}

func openMySQL(ctx context.Context, cfg Config) (*sql.DB, error) {
	adminDB, err := mysqlServer(cfg)
	if err != nil {
		return nil, err
	}
	// utf8mb4_bin: usernames and ids compare byte for byte, as on the other engines.
	_, err = adminDB.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+cfg.DatabaseName()+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
	adminDB.Close()
	if err != nil {
		return nil, fmt.Errorf("store: create database %s on MySQL at %s: %w", cfg.DatabaseName(), net.JoinHostPort(cfg.Host, strconv.Itoa(serverPort(cfg, 3306))), err)
	}
	mc, err := mysqlConfig(cfg, cfg.DatabaseName())
	if err != nil {
		return nil, err
	}
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(maxOpen(cfg))
	db.SetMaxIdleConns(maxOpen(cfg))
	return db, nil
}

// DropDatabase removes the database cfg names on a PostgreSQL or MySQL
// server (SQLite: nothing to do; the file is the caller's). For tests and
// the benchmark, which create a database per run.
func DropDatabase(ctx context.Context, cfg Config) error {
	switch cfg.Engine {
	case Postgres:
		conn, err := postgresMaintenance(ctx, cfg)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{cfg.DatabaseName()}.Sanitize()+" WITH (FORCE)")
		return err
	case MySQL:
		db, err := mysqlServer(cfg)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+cfg.DatabaseName()+"`")
		return err
	}
	return nil
}
