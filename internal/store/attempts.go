package store

import (
	"context"
	"strings"
	"time"
)

// The webhook attempt log is what the console shows of webhook delivery:
// every callback POST with its outcome. It is a log, not a queue: nothing
// reads it to decide anything, so the dispatcher writes it in batches
// (one multi-row insert for many POSTs) and the leader keeps only the
// newest rows (PruneWebhookAttempts).

// WebhookAttempt is one callback POST.
type WebhookAttempt struct {
	ID         int64
	At         time.Time
	URL        string
	StatusCode int    // 0 when the POST got no answer
	Error      string // the transport error, or the failure's reason; "" on 200
	Latency    time.Duration
	Body       []byte
	// NextRetryAt is when the items the POST failed to deliver are tried
	// again; zero when delivered or dropped.
	NextRetryAt time.Time
	Kind        string   // statuses, messages, ...
	Items       int      // queued notifications the body joined
	MessageIDs  []string // the message ids the body carried
	Node        string   // the node that made the POST
}

// attemptInsertRows bounds the rows of one insert, as for callbacks.
const attemptInsertRows = 200

// InsertWebhookAttempts records attempts, a statement per
// attemptInsertRows rows (or per callbackInsertBytes of bodies).
func (s *Store) InsertWebhookAttempts(ctx context.Context, as []WebhookAttempt) error {
	for start := 0; start < len(as); {
		end, size := start, 0
		for end < len(as) && end-start < attemptInsertRows && (end == start || size+len(as[end].Body) <= callbackInsertBytes) {
			size += len(as[end].Body)
			end++
		}
		var b strings.Builder
		b.WriteString(`INSERT INTO webhook_attempts (attempted_at, url, status_code, error, latency_ms, body, next_retry_at, kind, items, message_ids, node) VALUES `)
		args := make([]any, 0, 11*(end-start))
		for i, a := range as[start:end] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			next := int64(0)
			if !a.NextRetryAt.IsZero() {
				next = a.NextRetryAt.UnixMilli()
			}
			ids := ""
			if len(a.MessageIDs) > 0 {
				ids = " " + strings.Join(a.MessageIDs, " ") + " "
			}
			args = append(args, a.At.UnixMilli(), a.URL, a.StatusCode, a.Error, a.Latency.Milliseconds(), string(a.Body), next, a.Kind, a.Items, ids, a.Node)
		}
		if _, err := s.execRetry(ctx, b.String(), args...); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// WebhookAttemptFilter selects attempts; zero fields select everything.
type WebhookAttemptFilter struct {
	Kind      string
	MessageID string // attempts whose body carried this message id
	AfterID   int64  // only newer rows than this id (a live view's cursor)
	Limit     int    // newest first; 100 when 0
}

const attemptColumns = "id, attempted_at, url, status_code, error, latency_ms, body, next_retry_at, kind, items, message_ids, node"

// WebhookAttempts lists attempts, newest first.
func (s *Store) WebhookAttempts(ctx context.Context, f WebhookAttemptFilter) ([]WebhookAttempt, error) {
	var where []string
	var args []any
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if f.MessageID != "" {
		// An id never holds a space (it would match across two ids);
		// wildcards in it are escaped (ids of outbound messages hold _).
		if strings.ContainsAny(f.MessageID, " \t\n") {
			return nil, nil
		}
		id := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(f.MessageID)
		where, args = append(where, "message_ids LIKE ? ESCAPE '!'"), append(args, "% "+id+" %")
	}
	if f.AfterID > 0 {
		where, args = append(where, "id > ?"), append(args, f.AfterID)
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q := "SELECT " + attemptColumns + " FROM webhook_attempts"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, f.Limit)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return collectRows(rows, scanWebhookAttempt)
}

func scanWebhookAttempt(r rowScanner) (WebhookAttempt, error) {
	var (
		a                WebhookAttempt
		at, latency, nxt int64
		body, ids        string
	)
	if err := r.Scan(&a.ID, &at, &a.URL, &a.StatusCode, &a.Error, &latency, &body, &nxt, &a.Kind, &a.Items, &ids, &a.Node); err != nil {
		return a, err
	}
	a.At = time.UnixMilli(at).UTC()
	a.Latency = time.Duration(latency) * time.Millisecond
	a.Body = []byte(body)
	if nxt > 0 {
		a.NextRetryAt = time.UnixMilli(nxt).UTC()
	}
	a.MessageIDs = strings.Fields(ids)
	return a, nil
}

// PruneWebhookAttempts keeps the newest keep attempts (about: ids may have
// gaps, so it may keep fewer) and returns how many it removed.
func (s *Store) PruneWebhookAttempts(ctx context.Context, keep int) (int64, error) {
	var last int64
	// MySQL cannot name the table in a subquery of its own DELETE.
	if err := s.queryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM webhook_attempts`).Scan(&last); err != nil {
		return 0, err
	}
	if last <= int64(keep) {
		return 0, nil
	}
	res, err := s.exec(ctx, `DELETE FROM webhook_attempts WHERE id <= ?`, last-int64(keep))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ConsoleCursor says, in one cheap statement, where each thing the console
// shows live stands: it changes whenever a node records something the
// console would show differently, so a console that polls it sees the
// work of every node.
type ConsoleCursor struct {
	Attempt   int64 // newest attempt id
	Received  int64 // newest change of a message a simulated user received (ms)
	Sent      int64 // newest message a simulated user sent (ms)
	Read      int64 // newest read of such a message by the business (ms)
	Users     int64 // newest change of a simulated user (ms)
	Queued    int64 // callbacks waiting
	Templates int64 // newest change of the sandbox catalogue (ms)
}

// GetConsoleCursor reads the cursor.
func (s *Store) GetConsoleCursor(ctx context.Context) (ConsoleCursor, error) {
	var c ConsoleCursor
	err := s.queryRow(ctx, `SELECT
		(SELECT COALESCE(MAX(id), 0) FROM webhook_attempts),
		(SELECT COALESCE(MAX(updated_at), 0) FROM sandbox_received),
		(SELECT COALESCE(MAX(sent_at), 0) FROM sandbox_sent),
		(SELECT COALESCE(MAX(read_at), 0) FROM sandbox_sent),
		(SELECT COALESCE(MAX(updated_at), 0) FROM sandbox_users),
		(SELECT COUNT(*) FROM callbacks),
		(SELECT COALESCE(MAX(updated_at), 0) FROM sandbox_templates)`).
		Scan(&c.Attempt, &c.Received, &c.Sent, &c.Read, &c.Users, &c.Queued, &c.Templates)
	return c, err
}
