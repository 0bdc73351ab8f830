package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The functions in this file serve the test suites and the benchmark, which
// need many freshly migrated databases: copying a migrated template is much
// cheaper than running every migration again on each one.

// SchemaFingerprint identifies the migration history this binary carries:
// every version, name and statement. Two binaries with the same fingerprint
// build identical schemas, so a template database made by one serves the
// other; a changed or added migration changes it.
func SchemaFingerprint() string {
	h := sha256.New()
	for _, m := range migrations {
		fmt.Fprintf(h, "%d\x00%s\x00", m.version, m.name)
		for _, st := range m.steps {
			if st.index != nil {
				fmt.Fprintf(h, "index\x00%s\x00%s\x00%s\x00%t\x00", st.index.name, st.index.table, st.index.columns, st.index.unique)
				continue
			}
			if st.column != nil {
				fmt.Fprintf(h, "column\x00%s\x00%s\x00%s\x00", st.column.table, st.column.column, st.column.definition)
				continue
			}
			fmt.Fprintf(h, "ddl\x00%s\x00", st.sql)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// CloneDatabase creates the database that to names as a copy of the one
// from names, schema and rows, on the same PostgreSQL or MySQL server. The
// source must not change while it is copied. SQLite files are copied by the
// caller (VacuumInto). When the target exists already the answer is
// ErrExists, and ErrNotFound when the source does not; nothing changes then.
func CloneDatabase(ctx context.Context, from, to Config) error {
	switch from.Engine {
	case Postgres:
		return clonePostgres(ctx, from, to)
	case MySQL:
		return cloneMySQL(ctx, from, to)
	}
	return fmt.Errorf("store: CloneDatabase does not handle %s", from.Engine)
}

// clonePostgres uses the server's own copy (CREATE DATABASE … TEMPLATE). The
// server refuses it while another session is connected to the template (a
// test process checking that the template is current), so that refusal is
// retried for a while.
func clonePostgres(ctx context.Context, from, to Config) error {
	conn, err := postgresMaintenance(ctx, from)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	stmt := "CREATE DATABASE " + pgx.Identifier{to.DatabaseName()}.Sanitize() + " TEMPLATE " + pgx.Identifier{from.DatabaseName()}.Sanitize()
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		_, err = conn.Exec(ctx, stmt)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "55006" { // object_in_use
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: copy database %s: %w (last refusal: %v)", from.DatabaseName(), ctx.Err(), err)
		case <-time.After(wait):
		}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database
		return ErrExists
	}
	if errors.As(err, &pgErr) && pgErr.Code == "3D000" { // invalid_catalog_name: no such template
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: copy database %s to %s: %w", from.DatabaseName(), to.DatabaseName(), err)
	}
	return nil
}

// cloneMySQL recreates each table from its SHOW CREATE TABLE (columns,
// indexes, keys and options exactly as the template has them) and copies its
// rows, on one connection whose current database is the new one.
func cloneMySQL(ctx context.Context, from, to Config) error {
	db, err := mysqlServer(from)
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	src, dst := "`"+from.DatabaseName()+"`", "`"+to.DatabaseName()+"`"
	rows, err := conn.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name`, from.DatabaseName())
	if err != nil {
		return err
	}
	tables, err := collectRows(rows, func(r rowScanner) (string, error) {
		var name string
		return name, r.Scan(&name)
	})
	if err != nil {
		return err
	}
	if len(tables) == 0 { // no such database, or an empty one: nothing to copy
		return ErrNotFound
	}
	setup := []string{
		"CREATE DATABASE " + dst + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
		"USE " + dst,
		"SET foreign_key_checks = 0",
	}
	for _, stmt := range setup {
		_, err := conn.ExecContext(ctx, stmt)
		var myErr *mysql.MySQLError
		if errors.As(err, &myErr) && myErr.Number == 1007 { // ER_DB_CREATE_EXISTS
			return ErrExists
		}
		if err != nil {
			return fmt.Errorf("store: copy database %s: %s: %w", from.DatabaseName(), stmt, err)
		}
	}
	// The copy is made table by table, so a failure half-way (the template
	// dropped meanwhile) must not leave a database that looks migrated.
	if err := copyMySQLTables(ctx, conn, src, tables); err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+dst)
		var myErr *mysql.MySQLError
		if errors.As(err, &myErr) && myErr.Number == 1146 { // ER_NO_SUCH_TABLE: the template went away
			return ErrNotFound
		}
		return err
	}
	return nil
}

func copyMySQLTables(ctx context.Context, conn *sql.Conn, src string, tables []string) error {
	for _, table := range tables {
		var name, create string
		if err := conn.QueryRowContext(ctx, "SHOW CREATE TABLE "+src+".`"+table+"`").Scan(&name, &create); err != nil {
			return fmt.Errorf("store: copy table %s: %w", table, err)
		}
		if _, err := conn.ExecContext(ctx, create); err != nil {
			return fmt.Errorf("store: copy table %s: %w", table, err)
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO `"+table+"` SELECT * FROM "+src+".`"+table+"`"); err != nil {
			return fmt.Errorf("store: copy the rows of %s: %w", table, err)
		}
	}
	return nil
}

// VacuumInto writes a compact copy of this SQLite database to path (which
// must not exist): the template a test suite copies for each test.
func (s *Store) VacuumInto(ctx context.Context, path string) error {
	if s.dialect != SQLite {
		return fmt.Errorf("store: VacuumInto is for SQLite, not %s", s.dialect)
	}
	_, err := s.db.ExecContext(ctx, "VACUUM INTO "+quoteSQLiteString(path))
	return err
}

func quoteSQLiteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
