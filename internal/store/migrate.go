package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A migration is one schema version. Steps are written once with type tokens
// ({{text}}, {{blob}}, {{serial}}) that each dialect spells its own way, and
// every step is idempotent (IF NOT EXISTS, or a catalogue check for indexes)
// because MySQL commits DDL statement by statement: a crash half-way through a
// migration must leave something the next start can finish.
type migration struct {
	version int
	name    string
	steps   []step
}

type step struct {
	sql    string      // DDL with type tokens, or a data fix written to run twice
	index  *indexStep  // or an index to create
	column *columnStep // or a column to add
	// fill is a data step SQL cannot say on every engine (a value computed
	// in Go), run in the migration's transaction; like the others it must
	// leave the same result when run again.
	fill func(ctx context.Context, s *Store, tx *sql.Tx) error
}

type indexStep struct {
	name, table, columns string
	unique               bool
}

type columnStep struct {
	table, column, definition string
}

func ddl(sql string) step { return step{sql: sql} }

// backfill is a data step: like DDL it must leave the same result when run
// again, as MySQL commits each DDL statement before it.
func backfill(sql string) step { return step{sql: sql} }

func index(name, table, columns string) step {
	return step{index: &indexStep{name: name, table: table, columns: columns}}
}

func addColumn(table, column, definition string) step {
	return step{column: &columnStep{table: table, column: column, definition: definition}}
}

var typeTokens = map[Dialect]*strings.Replacer{
	SQLite:   strings.NewReplacer("{{text}}", "TEXT", "{{blob}}", "BLOB", "{{serial}}", "INTEGER PRIMARY KEY AUTOINCREMENT"),
	Postgres: strings.NewReplacer("{{text}}", "TEXT", "{{blob}}", "BYTEA", "{{serial}}", "BIGSERIAL PRIMARY KEY"),
	MySQL:    strings.NewReplacer("{{text}}", "LONGTEXT", "{{blob}}", "LONGBLOB", "{{serial}}", "BIGINT AUTO_INCREMENT PRIMARY KEY"),
}

// migrations is the ordered schema history. Append only: a released version
// is never edited, a change is a new version.
var migrations = []migration{
	{version: 1, name: "users, tokens, settings, server secrets", steps: []step{
		ddl(`CREATE TABLE IF NOT EXISTS users (
			username VARCHAR(64) NOT NULL PRIMARY KEY,
			password_hash VARCHAR(255) NOT NULL,
			role VARCHAR(32) NOT NULL,
			password_change_required INTEGER NOT NULL DEFAULT 0,
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL)`),
		// Tokens are kept as a SHA-256 of the JWT: a leaked database does not
		// hand out working credentials.
		ddl(`CREATE TABLE IF NOT EXISTS tokens (
			token_hash VARCHAR(64) NOT NULL PRIMARY KEY,
			username VARCHAR(64) NOT NULL,
			issued_at BIGINT NOT NULL,
			expires_at BIGINT NOT NULL)`),
		index("tokens_username", "tokens", "username"),
		index("tokens_expires_at", "tokens", "expires_at"),
		ddl(`CREATE TABLE IF NOT EXISTS documents (
			name VARCHAR(64) NOT NULL PRIMARY KEY,
			body {{text}} NOT NULL,
			version BIGINT NOT NULL,
			updated_at BIGINT NOT NULL)`),
		ddl(`CREATE TABLE IF NOT EXISTS server_secrets (
			name VARCHAR(64) NOT NULL PRIMARY KEY,
			secret {{text}} NOT NULL,
			created_at BIGINT NOT NULL)`),
	}},
	// Times from here on are Unix milliseconds: retry delays and leases need
	// finer steps than seconds.
	{version: 2, name: "messaging: outbox, inbound messages, contacts, conversations, callbacks, sandbox", steps: []step{
		// The outbox is a queue any core process can claim from: a row is
		// due when status is queued and scheduled_at has passed, and is
		// held by lease_owner until lease_until.
		ddl(`CREATE TABLE IF NOT EXISTS outbox (
			id VARCHAR(64) NOT NULL PRIMARY KEY,
			recipient VARCHAR(32) NOT NULL,
			message_type VARCHAR(32) NOT NULL,
			body {{text}} NOT NULL,
			status VARCHAR(16) NOT NULL,
			attempts INTEGER NOT NULL DEFAULT 0,
			scheduled_at BIGINT NOT NULL,
			lease_owner VARCHAR(64) NOT NULL DEFAULT '',
			lease_until BIGINT NOT NULL DEFAULT 0,
			created_at BIGINT NOT NULL,
			expires_at BIGINT NOT NULL,
			conversation_id VARCHAR(64) NOT NULL DEFAULT '',
			conversation_origin VARCHAR(32) NOT NULL DEFAULT '',
			conversation_expires_at BIGINT NOT NULL DEFAULT 0,
			conversation_opened INTEGER NOT NULL DEFAULT 0,
			last_error {{text}},
			updated_at BIGINT NOT NULL)`),
		index("outbox_due", "outbox", "status, scheduled_at"),
		ddl(`CREATE TABLE IF NOT EXISTS inbound_messages (
			id VARCHAR(128) NOT NULL PRIMARY KEY,
			sender VARCHAR(32) NOT NULL,
			message_type VARCHAR(32) NOT NULL,
			body {{text}} NOT NULL,
			received_at BIGINT NOT NULL,
			read_at BIGINT NOT NULL DEFAULT 0)`),
		index("inbound_messages_received", "inbound_messages", "received_at"),
		// contacts: what wabiz knows of each WhatsApp user: profile name and
		// the last time they wrote (the 24-hour customer-service window).
		ddl(`CREATE TABLE IF NOT EXISTS contacts (
			wa_id VARCHAR(32) NOT NULL PRIMARY KEY,
			profile_name VARCHAR(512) NOT NULL DEFAULT '',
			last_inbound_at BIGINT NOT NULL DEFAULT 0,
			updated_at BIGINT NOT NULL)`),
		// contact_checks caches POST /v1/contacts results per normalised number.
		ddl(`CREATE TABLE IF NOT EXISTS contact_checks (
			number VARCHAR(32) NOT NULL PRIMARY KEY,
			status VARCHAR(16) NOT NULL,
			wa_id VARCHAR(32) NOT NULL DEFAULT '',
			checked_at BIGINT NOT NULL)`),
		ddl(`CREATE TABLE IF NOT EXISTS conversations (
			id VARCHAR(64) NOT NULL PRIMARY KEY,
			wa_id VARCHAR(32) NOT NULL,
			origin VARCHAR(32) NOT NULL,
			started_at BIGINT NOT NULL,
			expires_at BIGINT NOT NULL)`),
		index("conversations_open", "conversations", "wa_id, expires_at"),
		// callbacks is the durable webhook queue (callback_persist=true).
		ddl(`CREATE TABLE IF NOT EXISTS callbacks (
			id {{serial}},
			kind VARCHAR(16) NOT NULL,
			payload {{text}} NOT NULL,
			attempts INTEGER NOT NULL DEFAULT 0,
			next_attempt_at BIGINT NOT NULL,
			lease_owner VARCHAR(64) NOT NULL DEFAULT '',
			lease_until BIGINT NOT NULL DEFAULT 0,
			created_at BIGINT NOT NULL,
			last_error {{text}})`),
		index("callbacks_due", "callbacks", "next_attempt_at"),
		// The sandbox network's own state: its simulated users, the events
		// it has for the business (statuses, inbound messages) and what each
		// user received.
		ddl(`CREATE TABLE IF NOT EXISTS sandbox_users (
			wa_id VARCHAR(32) NOT NULL PRIMARY KEY,
			display_name VARCHAR(512) NOT NULL DEFAULT '',
			online INTEGER NOT NULL DEFAULT 1,
			auto_read_ms BIGINT NOT NULL DEFAULT 0,
			blocked INTEGER NOT NULL DEFAULT 0,
			whatsapp INTEGER NOT NULL DEFAULT 1,
			updated_at BIGINT NOT NULL)`),
		ddl(`CREATE TABLE IF NOT EXISTS sandbox_events (
			id {{serial}},
			kind VARCHAR(16) NOT NULL,
			payload {{text}} NOT NULL,
			due_at BIGINT NOT NULL,
			created_at BIGINT NOT NULL)`),
		index("sandbox_events_due", "sandbox_events", "due_at"),
		ddl(`CREATE TABLE IF NOT EXISTS sandbox_received (
			id VARCHAR(64) NOT NULL PRIMARY KEY,
			wa_id VARCHAR(32) NOT NULL,
			body {{text}} NOT NULL,
			status VARCHAR(16) NOT NULL,
			received_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL)`),
		index("sandbox_received_user", "sandbox_received", "wa_id, received_at"),
		// What simulated users sent the business, and whether the business
		// marked it read (the blue ticks the user sees).
		ddl(`CREATE TABLE IF NOT EXISTS sandbox_sent (
			id VARCHAR(64) NOT NULL PRIMARY KEY,
			wa_id VARCHAR(32) NOT NULL,
			body {{text}} NOT NULL,
			sent_at BIGINT NOT NULL,
			read_at BIGINT NOT NULL DEFAULT 0)`),
		index("outbox_expiry", "outbox", "status, expires_at"),
	}},
	{version: 3, name: "media and contact identities", steps: []step{
		// media: metadata of every file on the media volume (uploads and
		// inbound media); the bytes live in files named by id. network_id is
		// the network's own handle for inbound media not downloaded yet.
		ddl(`CREATE TABLE IF NOT EXISTS media (
			id VARCHAR(64) NOT NULL PRIMARY KEY,
			mime_type VARCHAR(255) NOT NULL,
			size BIGINT NOT NULL DEFAULT 0,
			sha256 VARCHAR(64) NOT NULL DEFAULT '',
			filename VARCHAR(512) NOT NULL DEFAULT '',
			origin VARCHAR(16) NOT NULL,
			status VARCHAR(16) NOT NULL,
			network_id VARCHAR(255) NOT NULL DEFAULT '',
			kind VARCHAR(16) NOT NULL DEFAULT '',
			created_at BIGINT NOT NULL,
			last_used_at BIGINT NOT NULL)`),
		index("media_last_used", "media", "last_used_at"),
		index("media_network_id", "media", "network_id"),
		// The latest identity (security code) change of each user and
		// whether the business acknowledged it (show_security_notifications).
		// The sandbox's media store: files users sent that the business has
		// not downloaded yet, and files the business sent them.
		ddl(`CREATE TABLE IF NOT EXISTS sandbox_media (
			id VARCHAR(64) NOT NULL PRIMARY KEY,
			mime_type VARCHAR(255) NOT NULL,
			sha256 VARCHAR(64) NOT NULL,
			data {{blob}} NOT NULL,
			created_at BIGINT NOT NULL)`),
		ddl(`CREATE TABLE IF NOT EXISTS contact_identities (
			wa_id VARCHAR(32) NOT NULL PRIMARY KEY,
			identity_hash VARCHAR(128) NOT NULL,
			created_at BIGINT NOT NULL,
			acknowledged INTEGER NOT NULL DEFAULT 0)`),
	}},
	{version: 4, name: "sandbox message templates", steps: []step{
		// The sandbox network's template catalogue: what "WhatsApp" has
		// approved (or not) for the business. body is the canonical
		// definition JSON; category and status are copies for listing.
		// Names are at most 512 characters (Meta's limit), so the key fits
		// InnoDB's 3072-byte index limit in utf8mb4.
		ddl(`CREATE TABLE IF NOT EXISTS sandbox_templates (
			name VARCHAR(512) NOT NULL,
			language VARCHAR(32) NOT NULL,
			category VARCHAR(64) NOT NULL,
			status VARCHAR(64) NOT NULL,
			body {{text}} NOT NULL,
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL,
			PRIMARY KEY (name, language))`),
	}},
	{version: 5, name: "stickerpacks", steps: []step{
		// Sticker packs (spec §12). next_index hands out sticker indexes that
		// are never reused within a pack, so an index a client kept cannot
		// come to mean another sticker after a delete.
		ddl(`CREATE TABLE IF NOT EXISTS stickerpacks (
			id VARCHAR(64) NOT NULL PRIMARY KEY,
			namespace VARCHAR(16) NOT NULL,
			publisher VARCHAR(512) NOT NULL,
			name VARCHAR(512) NOT NULL,
			ios_app_store_link {{text}} NOT NULL,
			android_app_store_link {{text}} NOT NULL,
			next_index BIGINT NOT NULL DEFAULT 0,
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL)`),
		index("stickerpacks_namespace", "stickerpacks", "namespace, created_at"),
		// A sticker's image is a media id on the media volume; emojis is a
		// JSON array of strings.
		ddl(`CREATE TABLE IF NOT EXISTS stickers (
			pack_id VARCHAR(64) NOT NULL,
			sticker_index BIGINT NOT NULL,
			image_data_id VARCHAR(64) NOT NULL,
			emojis {{text}} NOT NULL,
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL,
			PRIMARY KEY (pack_id, sticker_index))`),
	}},
	{version: 6, name: "cloud bridge: message id map and pending webhook events", steps: []step{
		// cloud_messages maps our outbound ids to the Cloud API's wamids and
		// records every send attempt before the call, so an attempt whose
		// outcome is unknown is never repeated blindly.
		ddl(`CREATE TABLE IF NOT EXISTS cloud_messages (
			id VARCHAR(64) NOT NULL PRIMARY KEY,
			wamid VARCHAR(255) NOT NULL DEFAULT '',
			state VARCHAR(16) NOT NULL,
			attempts INTEGER NOT NULL DEFAULT 0,
			last_error {{text}} NOT NULL,
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL)`),
		index("cloud_messages_wamid", "cloud_messages", "wamid"),
		// cloud_events holds each message and status of a Cloud webhook
		// delivery until the core acknowledges it: Meta is answered 200 only
		// after the insert.
		ddl(`CREATE TABLE IF NOT EXISTS cloud_events (
			id {{serial}},
			kind VARCHAR(16) NOT NULL,
			payload {{text}} NOT NULL,
			received_at BIGINT NOT NULL)`),
	}},
	{version: 7, name: "cloud bridge: media id cache", steps: []step{
		// cloud_media maps a file of our media volume to the media id the
		// Cloud API gave its upload, so a file is uploaded once rather than
		// on every send. Cloud media ids expire (30 days): uploaded_at says
		// when to upload again; sha256 guards against a changed file.
		ddl(`CREATE TABLE IF NOT EXISTS cloud_media (
			media_id VARCHAR(64) NOT NULL PRIMARY KEY,
			cloud_id VARCHAR(255) NOT NULL,
			sha256 VARCHAR(64) NOT NULL,
			uploaded_at BIGINT NOT NULL)`),
	}},
	{version: 8, name: "cloud bridge: webhook items already received", steps: []step{
		// cloud_seen remembers the messages and statuses Meta delivered
		// (by wamid), so a delivery Meta repeats (it retries whatever it
		// thinks was not received, for days) is not handled twice. Rows
		// are removed once Meta has stopped retrying.
		ddl(`CREATE TABLE IF NOT EXISTS cloud_seen (
			item VARCHAR(255) NOT NULL PRIMARY KEY,
			seen_at BIGINT NOT NULL)`),
		index("cloud_seen_seen_at", "cloud_seen", "seen_at"),
	}},
	{version: 9, name: "sandbox: what each user sent, by user", steps: []step{
		// Every free-form send looks up when its recipient last wrote (the
		// 24-hour window); without this index that read scans every
		// message every simulated user ever sent.
		index("sandbox_sent_user", "sandbox_sent", "wa_id, sent_at"),
	}},
	{version: 10, name: "contacts: every user wabiz knows, since when", steps: []step{
		// A contact is now also a user a contact check found valid or the
		// business sent a message to, not only one who wrote; first_seen_at
		// is when wabiz first knew them (the created_timestamp of an
		// identity that never changed). Users known before are dated by
		// the oldest trace left: the last time they wrote, their first
		// conversation, a valid check. (Inbound messages are kept a week
		// and not indexed by sender: they would add little at a high cost.)
		// Each statement only fills or lowers, so a second run changes
		// nothing.
		addColumn("contacts", "first_seen_at", "BIGINT NOT NULL DEFAULT 0"),
		backfill(`UPDATE contacts SET first_seen_at = last_inbound_at WHERE first_seen_at = 0`),
		backfill(`INSERT INTO contacts (wa_id, profile_name, last_inbound_at, updated_at, first_seen_at)
			SELECT wa_id, '', 0, MIN(started_at), MIN(started_at) FROM conversations
			WHERE wa_id NOT IN (SELECT wa_id FROM contacts) GROUP BY wa_id`),
		backfill(`INSERT INTO contacts (wa_id, profile_name, last_inbound_at, updated_at, first_seen_at)
			SELECT wa_id, '', 0, MIN(checked_at), MIN(checked_at) FROM contact_checks
			WHERE status = 'valid' AND wa_id <> '' AND wa_id NOT IN (SELECT wa_id FROM contacts) GROUP BY wa_id`),
		backfill(`UPDATE contacts SET first_seen_at = (SELECT MIN(started_at) FROM conversations WHERE conversations.wa_id = contacts.wa_id)
			WHERE first_seen_at > (SELECT MIN(started_at) FROM conversations WHERE conversations.wa_id = contacts.wa_id)`),
		// A valid check's number is its wa_id: the key finds it.
		backfill(`UPDATE contacts SET first_seen_at = (SELECT checked_at FROM contact_checks WHERE number = contacts.wa_id AND status = 'valid')
			WHERE first_seen_at > (SELECT checked_at FROM contact_checks WHERE number = contacts.wa_id AND status = 'valid')`),
	}},
	{version: 11, name: "queues: leases, attempts and error history for every queue", steps: []step{
		// Every queue now has the columns of the queue primitive
		// (queue.go). The network events gain what they lacked: a lease,
		// so two core nodes never both handle one event, attempts and an
		// ordering key (the user or message whose events stay in order).
		// Existing events keep key '' (not ordered), as before.
		addColumn("outbox", "error_history", "TEXT"),
		addColumn("callbacks", "error_history", "TEXT"),
		addColumn("sandbox_events", "attempts", "INTEGER NOT NULL DEFAULT 0"),
		addColumn("sandbox_events", "lease_owner", "VARCHAR(64) NOT NULL DEFAULT ''"),
		addColumn("sandbox_events", "lease_until", "BIGINT NOT NULL DEFAULT 0"),
		addColumn("sandbox_events", "ordering_key", "VARCHAR(191) NOT NULL DEFAULT ''"),
		addColumn("sandbox_events", "error_history", "TEXT"),
		index("sandbox_events_key", "sandbox_events", "ordering_key"),
		addColumn("cloud_events", "attempts", "INTEGER NOT NULL DEFAULT 0"),
		addColumn("cloud_events", "lease_owner", "VARCHAR(64) NOT NULL DEFAULT ''"),
		addColumn("cloud_events", "lease_until", "BIGINT NOT NULL DEFAULT 0"),
		addColumn("cloud_events", "ordering_key", "VARCHAR(191) NOT NULL DEFAULT ''"),
		addColumn("cloud_events", "error_history", "TEXT"),
		index("cloud_events_key", "cloud_events", "ordering_key"),
	}},
	{version: 12, name: "outbox: what the worker needs of a message, decided at accept", steps: []step{
		// The send plan (core.sendPlan) spares the worker decoding the
		// stored body again. Rows accepted before have none (NULL) and are
		// decoded as before.
		addColumn("outbox", "send_plan", "TEXT"),
	}},
	{version: 13, name: "cluster: node registry and named leases", steps: []step{
		// Every node's row, rewritten at each heartbeat (cluster.go):
		// health across nodes reads it, the leader prunes it.
		ddl(`CREATE TABLE IF NOT EXISTS cluster_nodes (
			id VARCHAR(191) NOT NULL PRIMARY KEY,
			host VARCHAR(255) NOT NULL,
			name VARCHAR(64) NOT NULL,
			role VARCHAR(16) NOT NULL,
			address VARCHAR(255) NOT NULL,
			version VARCHAR(64) NOT NULL,
			gateway_status VARCHAR(32) NOT NULL,
			started_at BIGINT NOT NULL,
			heartbeat_at BIGINT NOT NULL)`),
		// One row per lease ('leader' now, the shards later), taken with
		// a conditional update.
		ddl(`CREATE TABLE IF NOT EXISTS cluster_leases (
			name VARCHAR(64) NOT NULL PRIMARY KEY,
			holder VARCHAR(191) NOT NULL,
			lease_until BIGINT NOT NULL,
			taken_at BIGINT NOT NULL)`),
	}},
	{version: 14, name: "cluster: each node's read-out for /v1/support and /v1/stats", steps: []step{
		// JSON written with the heartbeat (monitoring.Readout); NULL until
		// a node of this version beats. LONGTEXT on MySQL, whose TEXT
		// stops at 64 KB.
		addColumn("cluster_nodes", "readout", "{{text}}"),
	}},
	{version: 15, name: "multiconnect: each message's shard, shard leases handed over, each node's queue owner", steps: []step{
		// The server shard of the recipient (ServerShard), written at
		// accept: a core node claims only the rows of the shards it
		// holds. -1 is a row written before (or by a node of an older
		// version during a rolling upgrade): the holder of shard 0 takes
		// those. Queued rows get theirs now; finished rows never need one.
		addColumn("outbox", "shard", "INTEGER NOT NULL DEFAULT -1"),
		{fill: fillQueuedOutboxShards},
		// A shard lease the leader asked its holder to pass on, to the
		// node named here (cluster.go: balancing).
		addColumn("cluster_leases", "next_holder", "VARCHAR(191) NOT NULL DEFAULT ''"),
		// The name the node's claims carry in the queues' lease_owner
		// (WABIZ_NODE_ID): the leader gives back the claims of a node
		// that went silent.
		addColumn("cluster_nodes", "queue_owner", "VARCHAR(64) NOT NULL DEFAULT ''"),
	}},
	{version: 16, name: "console: the webhook attempt log", steps: []step{
		// One row per callback POST (attempts.go), written by the
		// dispatcher in batches and pruned to the last
		// WABIZ_WEBHOOK_ATTEMPT_LOG rows by the leader. message_ids is the
		// ids the body carried, space-separated with a space at each end,
		// so one id is found with LIKE '% id %' in a table that stays small.
		ddl(`CREATE TABLE IF NOT EXISTS webhook_attempts (
			id {{serial}},
			attempted_at BIGINT NOT NULL,
			url {{text}} NOT NULL,
			status_code INTEGER NOT NULL,
			error {{text}} NOT NULL,
			latency_ms BIGINT NOT NULL,
			body {{text}} NOT NULL,
			next_retry_at BIGINT NOT NULL,
			kind VARCHAR(16) NOT NULL,
			items INTEGER NOT NULL,
			message_ids {{text}} NOT NULL,
			node VARCHAR(64) NOT NULL)`),
	}},
	{version: 17, name: "sandbox: the order of a user's received messages within a millisecond", steps: []step{
		// A recipient's messages are recorded several in one pass, at the
		// same millisecond: received_seq keeps the order they were sent in
		// (ListSandboxReceived), where the random ids would not. Rows
		// written before keep 0 and their old order.
		addColumn("sandbox_received", "received_seq", "BIGINT NOT NULL DEFAULT 0"),
	}},
}

// LatestVersion is the schema version this binary expects.
var errAlreadyApplied = errors.New("already applied by another process")

func LatestVersion() int { return migrations[len(migrations)-1].version }

// Migrate brings the schema to LatestVersion and returns the versions it
// applied (none when already current). Several processes may call it at once:
// a database lock lets one of them work while the others wait.
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	return s.migrateTo(ctx, LatestVersion())
}

// migrateTo applies the versions up to target (tests of a migration's
// data steps start from the version before it).
func (s *Store) migrateTo(ctx context.Context, target int) ([]int, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	unlock, err := s.lockMigrations(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("store: take the migration lock: %w", err)
	}
	defer unlock()

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER NOT NULL PRIMARY KEY,
		name VARCHAR(200) NOT NULL,
		applied_at BIGINT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("store: create schema_migrations: %w", err)
	}
	rows, err := conn.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, err
	}
	versions, err := collectRows(rows, func(r rowScanner) (int, error) {
		var v int
		return v, r.Scan(&v)
	})
	if err != nil {
		return nil, err
	}
	applied := map[int]bool{}
	for _, v := range versions {
		applied[v] = true
	}
	for v := range applied {
		if v > LatestVersion() {
			return nil, fmt.Errorf("store: the database is at schema version %d, newer than this binary knows (%d); run a newer wabiz", v, LatestVersion())
		}
	}

	var done []int
	for _, m := range migrations {
		if applied[m.version] || m.version > target {
			continue
		}
		err := s.apply(ctx, conn, m)
		if errors.Is(err, errAlreadyApplied) {
			continue
		}
		if err != nil {
			return done, fmt.Errorf("store: migration %d (%s): %w", m.version, m.name, err)
		}
		done = append(done, m.version)
	}
	return done, nil
}

// SchemaVersion reports the highest applied migration (0 on an empty database).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.queryRow(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v)
	if err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}

func (s *Store) lockMigrations(ctx context.Context, conn *sql.Conn) (func(), error) {
	switch s.dialect {
	case Postgres:
		const key = 0x77616269 // "wabi"
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
			return nil, err
		}
		return func() { conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", key) }, nil
	case MySQL:
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK('wabiz_migrate', 120)").Scan(&got); err != nil {
			return nil, err
		}
		if got.Int64 != 1 {
			return nil, fmt.Errorf("another process held the lock for 120 s")
		}
		return func() { conn.ExecContext(context.Background(), "SELECT RELEASE_LOCK('wabiz_migrate')") }, nil
	default:
		// SQLite: the transaction in apply is immediate, which is the lock.
		return func() {}, nil
	}
}

func (s *Store) apply(ctx context.Context, conn *sql.Conn, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// On SQLite the transaction is the lock, so look again under it: another
	// process may have applied this version since we read the list.
	var n int
	if err := s.txQueryRow(ctx, tx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return errAlreadyApplied
	}
	for _, st := range m.steps {
		if st.index != nil {
			if err := s.createIndex(ctx, tx, st.index); err != nil {
				return err
			}
			continue
		}
		if st.column != nil {
			if err := s.addColumn(ctx, tx, st.column); err != nil {
				return err
			}
			continue
		}
		if st.fill != nil {
			if err := st.fill(ctx, s, tx); err != nil {
				return err
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, typeTokens[s.dialect].Replace(st.sql)); err != nil {
			return err
		}
	}
	if _, err := s.txExec(ctx, tx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, time.Now().Unix()); err != nil {
		return err
	}
	return tx.Commit()
}

// addColumn adds a column unless the table has it: no engine wabiz supports
// has ADD COLUMN IF NOT EXISTS in every version (SQLite, MySQL 8.0 lack it).
func (s *Store) addColumn(ctx context.Context, tx *sql.Tx, c *columnStep) error {
	query := `SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?`
	switch s.dialect {
	case SQLite:
		query = `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`
	case Postgres:
		query = `SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?`
	}
	var n int
	if err := s.txQueryRow(ctx, tx, query, c.table, c.column).Scan(&n); err != nil || n > 0 {
		return err
	}
	_, err := tx.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", c.table, c.column, typeTokens[s.dialect].Replace(c.definition)))
	return err
}

func (s *Store) createIndex(ctx context.Context, tx *sql.Tx, ix *indexStep) error {
	unique := ""
	if ix.unique {
		unique = "UNIQUE "
	}
	if s.dialect != MySQL {
		_, err := tx.ExecContext(ctx, fmt.Sprintf("CREATE %sINDEX IF NOT EXISTS %s ON %s (%s)", unique, ix.name, ix.table, ix.columns))
		return err
	}
	// MySQL 5.7 and 8.0 have no CREATE INDEX IF NOT EXISTS.
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.statistics
		WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ?`, ix.table, ix.name).Scan(&n)
	if err != nil || n > 0 {
		return err
	}
	_, err = tx.ExecContext(ctx, fmt.Sprintf("CREATE %sINDEX %s ON %s (%s)", unique, ix.name, ix.table, ix.columns))
	return err
}
