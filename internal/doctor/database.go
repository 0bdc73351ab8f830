package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
)

// Supported database servers (docs/decisions.md): PostgreSQL from 11, as
// the design names PostgreSQL 11 to 13 and later; MySQL from 5.7, which
// Meta's client supported last before 8.0; MariaDB from 10.2, the first
// whose defaults (utf8mb4 keys up to 3072 bytes, DYNAMIC rows) match
// MySQL 5.7's. Below MySQL 8.0 and MariaDB 10.6 claims cannot skip locked
// rows: supported, but core nodes wait on each other, so that is a warning.
var (
	minPostgres = version{11, 0}
	minMySQL    = version{5, 7}
	minMariaDB  = version{10, 2}
	skipMySQL   = version{8, 0}
	skipMariaDB = version{10, 6}
)

// Clock skew bounds. Nodes compare their own clocks with the times other
// nodes wrote (leases, heartbeats), and the database is the one clock they
// all reach: a node more than a heartbeat (5 s by default) off sees live
// nodes as silent, or keeps a lease others think expired.
const (
	skewWarn = time.Second
	skewFail = 5 * time.Second
)

type version struct{ major, minor int }

func (v version) less(w version) bool {
	return v.major < w.major || v.major == w.major && v.minor < w.minor
}

func (v version) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

var versionPattern = regexp.MustCompile(`(\d+)\.(\d+)`)

// parseVersion finds the first major.minor in a server's version string
// ("PostgreSQL 16.4 (Debian ...) on x86_64", "10.11.6-MariaDB-0+deb12u1",
// "8.0.35"); PostgreSQL 10 and later may report "PostgreSQL 16beta1", so
// a lone major number is accepted after the product name.
func parseVersion(s string) (version, bool) {
	if rest, ok := strings.CutPrefix(s, "PostgreSQL "); ok {
		end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if end < 0 {
			end = len(rest)
		}
		if major, err := strconv.Atoi(rest[:end]); err == nil {
			v := version{major: major}
			if m := versionPattern.FindStringSubmatch(rest); m != nil && strings.HasPrefix(rest, m[0]) {
				v.minor, _ = strconv.Atoi(m[2])
			}
			return v, true
		}
	}
	m := versionPattern.FindStringSubmatch(s)
	if m == nil {
		return version{}, false
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return version{major, minor}, true
}

// judgeVersion says whether a database server is supported.
func judgeVersion(engine store.Dialect, raw string) (Status, string) {
	if engine == store.SQLite {
		return OK, "SQLite " + raw + " (embedded; any version)"
	}
	// MariaDB servers, and proxies in front of them, may prefix the
	// version with "5.5.5-" for clients that expect MySQL 5.
	v, ok := parseVersion(strings.TrimPrefix(raw, "5.5.5-"))
	if !ok {
		return Fail, fmt.Sprintf("cannot read the server version %q", raw)
	}
	switch {
	case engine == store.Postgres:
		if v.less(minPostgres) {
			return Fail, fmt.Sprintf("PostgreSQL %s is older than the oldest supported, %d", v, minPostgres.major)
		}
		return OK, raw
	case strings.Contains(strings.ToLower(raw), "mariadb"):
		if v.less(minMariaDB) {
			return Fail, fmt.Sprintf("MariaDB %s is older than the oldest supported, %s", v, minMariaDB)
		}
		if v.less(skipMariaDB) {
			return Warn, fmt.Sprintf("MariaDB %s is supported, but before %s it cannot skip locked rows: core nodes claiming work wait on each other", v, skipMariaDB)
		}
		return OK, "MariaDB " + raw
	default:
		if v.less(minMySQL) {
			return Fail, fmt.Sprintf("MySQL %s is older than the oldest supported, %s", v, minMySQL)
		}
		if v.less(skipMySQL) {
			return Warn, fmt.Sprintf("MySQL %s is supported, but before %s it cannot skip locked rows: core nodes claiming work wait on each other", v, skipMySQL)
		}
		return OK, "MySQL " + raw
	}
}

// checkDatabase opens the database and runs the checks that need it: the
// server's version, the schema, the clock. It also reads what later checks
// and the bundle use (the application settings).
func (r *run) checkDatabase(ctx context.Context) {
	if cfg := r.o.Store; cfg.Engine == store.SQLite || cfg.Engine == "" {
		// Opening creates a missing file, and the doctor changes nothing.
		if _, err := os.Stat(cfg.SQLitePath); errors.Is(err, fs.ErrNotExist) {
			r.add(CheckDatabase, Warn, "SQLite database %s does not exist yet: wabiz serve or wabiz migrate creates it", cfg.SQLitePath)
			for _, name := range []string{CheckDatabaseVersion, CheckMigrations, CheckClockSkew} {
				r.add(name, Skip, "no database yet")
			}
			return
		}
	}
	octx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	s, err := store.Open(octx, r.o.Store)
	if err != nil {
		r.add(CheckDatabase, Fail, "%s", r.scrub(err.Error()))
		for _, name := range []string{CheckDatabaseVersion, CheckMigrations, CheckClockSkew} {
			r.add(name, Skip, "the database is unreachable")
		}
		return
	}
	r.store = s
	r.add(CheckDatabase, OK, "%s database %s answers", s.Dialect(), s.Name())

	qctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	if v, err := s.ServerVersion(qctx); err != nil {
		r.add(CheckDatabaseVersion, Fail, "read the server version: %s", r.scrub(err.Error()))
	} else {
		r.serverVersion = v
		status, detail := judgeVersion(s.Dialect(), v)
		r.add(CheckDatabaseVersion, status, "%s", detail)
	}
	r.checkMigrations(qctx)
	r.checkClock(qctx)
	if r.schema {
		r.readSettings(qctx)
	}
}

func (r *run) checkMigrations(ctx context.Context) {
	applied, err := r.store.AppliedMigrations(ctx)
	if err != nil {
		r.add(CheckMigrations, Fail, "read schema_migrations: %s", r.scrub(err.Error()))
		return
	}
	r.migrations = applied
	latest := store.LatestVersion()
	if len(applied) == 0 {
		r.add(CheckMigrations, Fail, "the database has no schema yet (this binary expects version %d): run 'wabiz migrate' or start 'wabiz serve'", latest)
		return
	}
	// The first migration made the tables the later checks read.
	r.schema = true
	have := make(map[int]bool, len(applied))
	for _, m := range applied {
		have[m.Version] = true
	}
	current := applied[0].Version
	if current > latest {
		r.schema = false // its documents may be in a form this binary does not know
		r.add(CheckMigrations, Fail, "the database is at schema version %d, newer than this binary knows (%d): run the newer wabiz that migrated it", current, latest)
		return
	}
	var missing []string
	for v := 1; v <= latest; v++ {
		if !have[v] {
			missing = append(missing, strconv.Itoa(v))
		}
	}
	if len(missing) > 0 {
		r.add(CheckMigrations, Fail, "schema at version %d, this binary expects %d; not applied: %s; run 'wabiz migrate'", current, latest, strings.Join(missing, ", "))
		return
	}
	r.add(CheckMigrations, OK, "schema at version %d, as this binary expects", latest)
}

// checkClock compares the database's clock with this host's, reading the
// host's before and after the query so the round trip bounds the error.
func (r *run) checkClock(ctx context.Context) {
	before := r.o.Now()
	db, err := r.store.DatabaseTime(ctx)
	after := r.o.Now()
	if err != nil {
		r.add(CheckClockSkew, Fail, "%s", r.scrub(err.Error()))
		return
	}
	rtt := after.Sub(before)
	host := before.Add(rtt / 2)
	skew := db.Sub(host)
	// The database's clock is read to the millisecond.
	uncertainty := rtt/2 + time.Millisecond
	off := skew.Abs() - uncertainty
	direction := "ahead of"
	if skew < 0 {
		direction = "behind"
	}
	detail := fmt.Sprintf("the database clock is %.3f s %s this host's (±%.3f s)", skew.Abs().Seconds(), direction, uncertainty.Seconds())
	if r.store.Dialect() == store.SQLite {
		detail += "; SQLite reads this host's clock"
	}
	switch {
	case off > skewFail:
		r.add(CheckClockSkew, Fail, "%s, more than %s: synchronise the clocks (NTP); leases and heartbeats compare times across nodes", detail, skewFail)
	case off > skewWarn:
		r.add(CheckClockSkew, Warn, "%s, more than %s", detail, skewWarn)
	default:
		r.add(CheckClockSkew, OK, "%s", detail)
	}
}

// readSettings keeps the application settings in force (the stored ones,
// or the defaults on a new database) for the webhook check and the bundle.
func (r *run) readSettings(ctx context.Context) {
	svc, err := settings.NewService(ctx, r.store, settings.PatchRules{AllowHTTPWebhook: r.o.Config.WebhookAllowHTTP}, r.o.Now)
	if err != nil {
		r.settingsErr = err
		return
	}
	app := svc.Current()
	r.settings = &app
}
