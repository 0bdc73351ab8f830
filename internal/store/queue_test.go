package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// The queue primitive (queue.go) through the four queues built on it.

var queueT0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

const queueLease = time.Minute

func sandboxEventIDs(evs []store.SandboxEvent) []int64 {
	ids := make([]int64, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
	}
	return ids
}

func cloudEventIDs(evs []store.CloudEvent) []int64 {
	ids := make([]int64, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
	}
	return ids
}

func outboxIDs(msgs []store.OutboxMessage) []string {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	return ids
}

// addSandboxEvents stores one event per due offset (keys[i] its ordering
// key) and returns their ids in the order given.
func addSandboxEvents(t *testing.T, s *store.Store, dues []time.Duration, keys []string) []int64 {
	t.Helper()
	ctx := context.Background()
	var evs []store.SandboxEvent
	for i, d := range dues {
		evs = append(evs, store.SandboxEvent{Kind: "status", Payload: fmt.Appendf(nil, `{"n":%d}`, i), DueAt: queueT0.Add(d),
			CreatedAt: queueT0.Add(-time.Hour), OrderingKey: keys[i]})
	}
	if err := s.AddSandboxEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	all, err := s.DueSandboxEvents(ctx, queueT0.Add(24*time.Hour), 10_000)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(dues))
	for _, e := range all {
		var n int
		fmt.Sscanf(string(e.Payload), `{"n":%d}`, &n)
		ids[n] = e.ID
	}
	return ids
}

func addOutbox(t *testing.T, s *store.Store, id, recipient string, due time.Time) {
	t.Helper()
	if err := s.InsertOutbox(context.Background(), store.OutboxMessage{ID: id, Recipient: recipient, Type: "text",
		Body: []byte(`{}`), ScheduledAt: due, CreatedAt: queueT0, ExpiresAt: queueT0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

// TestQueueClaimsBatchesInDueOrder: a claim takes at most its batch of the
// due rows, earliest due first; rows not due yet and rows another owner
// holds stay out.
func TestQueueClaimsBatchesInDueOrder(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		ids := addSandboxEvents(t, s, []time.Duration{0, -2 * time.Second, time.Second, -time.Second, 5 * time.Second},
			[]string{"user:1", "user:2", "user:3", "user:4", "user:5"})
		got, err := s.ClaimSandboxEvents(ctx, "node-a", queueT0, queueLease, 2)
		if err != nil || !slices.Equal(sandboxEventIDs(got), []int64{ids[1], ids[3]}) {
			t.Fatalf("first batch %v %v, want %v", sandboxEventIDs(got), err, []int64{ids[1], ids[3]})
		}
		if got[0].Kind != "status" || string(got[0].Payload) != `{"n":1}` || !got[0].DueAt.Equal(queueT0.Add(-2*time.Second)) ||
			got[0].OrderingKey != "user:2" || got[0].Attempts != 0 {
			t.Fatalf("claimed row %+v", got[0])
		}
		if got, err = s.ClaimSandboxEvents(ctx, "node-b", queueT0, queueLease, 10); err != nil || !slices.Equal(sandboxEventIDs(got), []int64{ids[0]}) {
			t.Fatalf("second owner got %v %v, want only the rest that is due", sandboxEventIDs(got), err)
		}
		if got, err = s.ClaimSandboxEvents(ctx, "node-c", queueT0.Add(time.Second), queueLease, 10); err != nil || !slices.Equal(sandboxEventIDs(got), []int64{ids[2]}) {
			t.Fatalf("at +1s: %v %v", sandboxEventIDs(got), err)
		}

		// The Cloud's items are due on arrival and go in arrival order.
		var items []store.CloudEvent
		for i := range 5 {
			items = append(items, store.CloudEvent{Kind: "message", Payload: fmt.Appendf(nil, `{"n":%d}`, i), ReceivedAt: queueT0, OrderingKey: fmt.Sprintf("user:%d", i)})
		}
		if _, err := s.AddCloudEvents(ctx, items); err != nil {
			t.Fatal(err)
		}
		all, _ := s.CloudEvents(ctx, 10)
		first, err := s.ClaimCloudEvents(ctx, "node-a", queueT0, queueLease, 3)
		if err != nil || !slices.Equal(cloudEventIDs(first), cloudEventIDs(all[:3])) {
			t.Fatalf("cloud batch %v %v, want %v", cloudEventIDs(first), err, cloudEventIDs(all[:3]))
		}
		rest, err := s.ClaimCloudEvents(ctx, "node-b", queueT0, queueLease, 3)
		if err != nil || !slices.Equal(cloudEventIDs(rest), cloudEventIDs(all[3:])) {
			t.Fatalf("cloud rest %v %v, want %v", cloudEventIDs(rest), err, cloudEventIDs(all[3:]))
		}
	})
}

// TestQueueConcurrentClaimersNeverShareARow: several owners claiming
// batches from each queue at the same moment never receive the same row,
// and together they receive every row.
func TestQueueConcurrentClaimersNeverShareARow(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		const rows, claimers, batch = 90, 6, 4
		var cbs []store.Callback
		var evs []store.SandboxEvent
		var items []store.CloudEvent
		for i := range rows {
			addOutbox(t, s, fmt.Sprintf("m%03d", i), "15550001000", queueT0.Add(time.Duration(i%7)*time.Millisecond))
			cbs = append(cbs, store.Callback{Kind: "statuses", Payload: []byte(`{}`), NextAttemptAt: queueT0.Add(time.Duration(i%5) * time.Millisecond), CreatedAt: queueT0})
			// A few users share their events, so the ordering condition
			// is at work too.
			key := fmt.Sprintf("user:%d", i%9)
			evs = append(evs, store.SandboxEvent{Kind: "message", Payload: []byte(`{}`), DueAt: queueT0, CreatedAt: queueT0, OrderingKey: key})
			items = append(items, store.CloudEvent{Kind: "message", Payload: []byte(`{}`), ReceivedAt: queueT0, OrderingKey: key})
		}
		if err := s.EnqueueCallbacks(ctx, cbs); err != nil {
			t.Fatal(err)
		}
		if err := s.AddSandboxEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddCloudEvents(ctx, items); err != nil {
			t.Fatal(err)
		}
		// Each queue's claim, returning the keys of what it took. Events
		// are deleted once recorded, as Ack does: their owner would get
		// them back otherwise (it asks with nothing in flight).
		queues := map[string]func(owner string) ([]string, error){
			"outbox": func(owner string) ([]string, error) {
				msgs, err := s.ClaimOutbox(ctx, owner, queueT0.Add(time.Second), queueLease, batch, false)
				return outboxIDs(msgs), err
			},
			"callbacks": func(owner string) ([]string, error) {
				got, err := s.ClaimCallbacks(ctx, owner, queueT0.Add(time.Second), queueLease, batch)
				return int64Keys(callbackIDs(got)), err
			},
			"sandbox_events": func(owner string) ([]string, error) {
				got, err := s.ClaimSandboxEvents(ctx, owner, queueT0, queueLease, batch)
				if err == nil {
					err = s.DeleteSandboxEvents(ctx, sandboxEventIDs(got))
				}
				return int64Keys(sandboxEventIDs(got)), err
			},
			"cloud_events": func(owner string) ([]string, error) {
				got, err := s.ClaimCloudEvents(ctx, owner, queueT0, queueLease, batch)
				if err == nil {
					err = s.DeleteCloudEvents(ctx, cloudEventIDs(got))
				}
				return int64Keys(cloudEventIDs(got)), err
			},
		}
		for name, claim := range queues {
			var (
				mu    sync.Mutex
				owner = map[string]string{} // row -> who got it
				taken atomic.Int64
				wg    sync.WaitGroup
				errs  = make(chan error, claimers*rows)
			)
			for c := range claimers {
				me := fmt.Sprintf("node-%d", c)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 40 * rows { // bounded: an empty claim (rows locked by others) just asks again
						if taken.Load() == rows {
							return
						}
						got, err := claim(me)
						if err != nil {
							errs <- err
							return
						}
						mu.Lock()
						for _, id := range got {
							if prev, dup := owner[id]; dup {
								errs <- fmt.Errorf("%s row %s went to %s and to %s", name, id, prev, me)
							}
							owner[id] = me
						}
						mu.Unlock()
						taken.Add(int64(len(got)))
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if len(owner) != rows {
				t.Fatalf("%s: %d of %d rows were claimed", name, len(owner), rows)
			}
		}
	})
}

func int64Keys(ids []int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = fmt.Sprint(id)
	}
	return out
}

// TestQueueReleaseLeasesAtStart: a node starting again gives back what its
// previous run held in every queue, so another node (or itself) claims it
// at once; an event held back after a failure stays held.
func TestQueueReleaseLeasesAtStart(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		addOutbox(t, s, "m1", "15550001000", queueT0)
		if err := s.EnqueueCallbacks(ctx, []store.Callback{{Kind: "statuses", Payload: []byte(`{}`), NextAttemptAt: queueT0, CreatedAt: queueT0}}); err != nil {
			t.Fatal(err)
		}
		ids := addSandboxEvents(t, s, []time.Duration{0, 0}, []string{"user:1", "user:2"})
		if _, err := s.AddCloudEvents(ctx, []store.CloudEvent{{Kind: "message", Payload: []byte(`{}`), ReceivedAt: queueT0}}); err != nil {
			t.Fatal(err)
		}
		if msgs, err := s.ClaimOutbox(ctx, "node-a", queueT0, queueLease, 10, false); err != nil || len(msgs) != 1 {
			t.Fatalf("outbox claim %v %v", msgs, err)
		}
		if cbs, err := s.ClaimCallbacks(ctx, "node-a", queueT0, queueLease, 10); err != nil || len(cbs) != 1 {
			t.Fatalf("callback claim %v %v", cbs, err)
		}
		if evs, err := s.ClaimSandboxEvents(ctx, "node-a", queueT0, queueLease, 10); err != nil || len(evs) != 2 {
			t.Fatalf("sandbox claim %v %v", evs, err)
		}
		if evs, err := s.ClaimCloudEvents(ctx, "node-a", queueT0, queueLease, 10); err != nil || len(evs) != 1 {
			t.Fatalf("cloud claim %v %v", evs, err)
		}
		if err := s.RetrySandboxEvents(ctx, "node-a", []store.EventRetry{{ID: ids[0], Until: queueT0.Add(time.Hour), Reason: "boom"}}, queueT0); err != nil {
			t.Fatal(err)
		}
		// Another node's leases are not touched.
		if r, err := s.ReleaseLeases(ctx, "node-z"); err != nil || r.Total() != 0 {
			t.Fatalf("releasing another node's leases: %+v %v", r, err)
		}
		r, err := s.ReleaseLeases(ctx, "node-a")
		if want := (store.Released{Messages: 1, Callbacks: 1, SandboxEvents: 1, CloudEvents: 1}); err != nil || r != want {
			t.Fatalf("released %+v %v, want %+v", r, err, want)
		}
		now := queueT0.Add(time.Second) // well within the leases given up
		if msgs, _ := s.ClaimOutbox(ctx, "node-b", now, queueLease, 10, false); len(msgs) != 1 {
			t.Fatalf("outbox after release: %v", msgs)
		}
		if cbs, _ := s.ClaimCallbacks(ctx, "node-b", now, queueLease, 10); len(cbs) != 1 {
			t.Fatalf("callbacks after release: %v", cbs)
		}
		if evs, _ := s.ClaimSandboxEvents(ctx, "node-b", now, queueLease, 10); !slices.Equal(sandboxEventIDs(evs), []int64{ids[1]}) {
			t.Fatalf("sandbox events after release: %v, want only %d (the other is held back)", sandboxEventIDs(evs), ids[1])
		}
		if evs, _ := s.ClaimCloudEvents(ctx, "node-b", now, queueLease, 10); len(evs) != 1 {
			t.Fatalf("cloud events after release: %v", evs)
		}
	})
}

// TestQueueRetryCountsAttemptsAndBoundsHistory: each failed attempt is
// counted and its error kept, the last few only and each cut short, in
// every queue; giving a row back untried adds nothing.
func TestQueueRetryCountsAttemptsAndBoundsHistory(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		long := strings.Repeat("é", store.ErrorHistoryBytes) // twice the bound in bytes
		addOutbox(t, s, "m1", "15550001000", queueT0)
		const tries = store.ErrorHistoryLength + 2
		for i := 1; i <= tries; i++ {
			reason := fmt.Sprintf("failure %d", i)
			if i == tries {
				reason = long
			}
			at := queueT0.Add(time.Duration(i) * time.Minute)
			if _, err := s.ClaimOutbox(ctx, "node-a", at, queueLease, 10, true); err != nil {
				t.Fatal(err)
			}
			if err := s.RescheduleOutbox(ctx, "m1", i, at.Add(time.Second), reason, at); err != nil {
				t.Fatal(err)
			}
		}
		row, err := s.QueueRowOf(ctx, "outbox", "m1")
		if err != nil {
			t.Fatal(err)
		}
		if row.Attempts != tries || len(row.Errors) != store.ErrorHistoryLength || row.Errors[0] != "failure 3" || row.LeaseOwner != "" {
			t.Fatalf("outbox row %+v", row)
		}
		last := row.Errors[len(row.Errors)-1]
		if len(last) > store.ErrorHistoryBytes || !utf8.ValidString(last) || !strings.HasPrefix(long, last) || len(last) < store.ErrorHistoryBytes-1 {
			t.Fatalf("the long error was kept as %d bytes (valid UTF-8: %t)", len(last), utf8.ValidString(last))
		}
		if row.ErrorTimes[0] != queueT0.Add(3*time.Minute).UnixMilli() {
			t.Fatalf("first kept error dated %d", row.ErrorTimes[0])
		}
		m, err := s.GetOutbox(ctx, "m1")
		if err != nil || m.Attempts != tries || m.LastError != long || !m.ScheduledAt.Equal(queueT0.Add(tries*time.Minute+time.Second)) {
			t.Fatalf("outbox message %+v %v", m, err)
		}

		// Callbacks: a failure is recorded; the same row given back with
		// its attempts unchanged (a shutdown) repeats nothing.
		if err := s.EnqueueCallbacks(ctx, []store.Callback{{Kind: "statuses", Payload: []byte(`{}`), NextAttemptAt: queueT0, CreatedAt: queueT0}}); err != nil {
			t.Fatal(err)
		}
		cbs, err := s.ClaimCallbacks(ctx, "node-a", queueT0, queueLease, 10)
		if err != nil || len(cbs) != 1 {
			t.Fatal(cbs, err)
		}
		cb := cbs[0]
		cb.Attempts, cb.LastError, cb.FailedAt, cb.NextAttemptAt = 1, "HTTP 500", queueT0, queueT0.Add(time.Second)
		if err := s.RescheduleCallbacks(ctx, []store.Callback{cb}); err != nil {
			t.Fatal(err)
		}
		if cbs, _ = s.ClaimCallbacks(ctx, "node-b", queueT0.Add(time.Second), queueLease, 10); len(cbs) != 1 || cbs[0].LastError != "HTTP 500" || cbs[0].Attempts != 1 {
			t.Fatalf("rescheduled callback %+v", cbs)
		}
		if err := s.RescheduleCallbacks(ctx, cbs); err != nil {
			t.Fatal(err)
		}
		if row, err = s.QueueRowOf(ctx, "callbacks", cb.ID); err != nil || row.Attempts != 1 || !slices.Equal(row.Errors, []string{"HTTP 500"}) ||
			row.ErrorTimes[0] != queueT0.UnixMilli() || row.LeaseOwner != "" {
			t.Fatalf("callback row %+v %v", row, err)
		}

		// Events count their attempts in the store.
		ids := addSandboxEvents(t, s, []time.Duration{0}, []string{"user:1"})
		for i := range 2 {
			at := queueT0.Add(time.Duration(i) * time.Hour)
			evs, err := s.ClaimSandboxEvents(ctx, "node-a", at, queueLease, 10)
			if err != nil || len(evs) != 1 || evs[0].Attempts != i {
				t.Fatalf("claim %d: %+v %v", i, evs, err)
			}
			if err := s.RetrySandboxEvents(ctx, "node-a", []store.EventRetry{{ID: ids[0], Until: at.Add(time.Minute), Reason: fmt.Sprint("handler failed ", i)}}, at); err != nil {
				t.Fatal(err)
			}
		}
		if row, err = s.QueueRowOf(ctx, "sandbox_events", ids[0]); err != nil || row.Attempts != 2 ||
			!slices.Equal(row.Errors, []string{"handler failed 0", "handler failed 1"}) || row.LeaseOwner != "" {
			t.Fatalf("event row %+v %v", row, err)
		}
	})
}

// TestQueueHeldEventKeepsItsUsersOrder: an event given back after a failed
// handling is handed to nobody until its retry time, not even the node
// that held it; the later events of the same user wait behind it while
// other users' events go on; afterwards the user's events come in their
// original order, to any node.
func TestQueueHeldEventKeepsItsUsersOrder(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		ids := addSandboxEvents(t, s, []time.Duration{0, time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond},
			[]string{"user:A", "user:A", "user:B", ""})
		now := queueT0.Add(time.Second)
		got, err := s.ClaimSandboxEvents(ctx, "node-a", now, queueLease, 10)
		if err != nil || len(got) != 4 {
			t.Fatalf("claim %v %v", sandboxEventIDs(got), err)
		}
		// A's first event fails; the others are acknowledged but A's second,
		// which is not tried after the first failed.
		until := now.Add(4 * time.Second)
		if err := s.RetrySandboxEvents(ctx, "node-a", []store.EventRetry{{ID: ids[0], Until: until, Reason: "boom"}}, now); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSandboxEvents(ctx, []int64{ids[2], ids[3]}); err != nil {
			t.Fatal(err)
		}
		addSandboxEventsMore(t, s, "user:B", now)
		later := now.Add(time.Second)
		for _, owner := range []string{"node-a", "node-b"} {
			got, err = s.ClaimSandboxEvents(ctx, owner, later, queueLease, 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range got {
				if e.OrderingKey == "user:A" {
					t.Fatalf("%s got event %d of user A while A's first is held back", owner, e.ID)
				}
			}
		}
		if len(got) != 0 {
			t.Fatalf("node-b got %v (node-a holds B's new event)", sandboxEventIDs(got))
		}
		got, err = s.ClaimSandboxEvents(ctx, "node-a", later, queueLease, 10)
		if err != nil || len(got) != 1 || got[0].OrderingKey != "user:B" {
			t.Fatalf("B's new event for its holder: %+v %v", got, err)
		}
		if err := s.DeleteSandboxEvents(ctx, sandboxEventIDs(got)); err != nil {
			t.Fatal(err)
		}
		// The hold ends: a node that never saw them gets A's events in order
		// (A's second waited out node-a's lease too: node-a went away).
		got, err = s.ClaimSandboxEvents(ctx, "node-b", now.Add(queueLease), queueLease, 10)
		if err != nil || !slices.Equal(sandboxEventIDs(got), []int64{ids[0], ids[1]}) || got[0].Attempts != 1 {
			t.Fatalf("after the hold: %+v %v, want %v", got, err, ids[:2])
		}
	})
}

func addSandboxEventsMore(t *testing.T, s *store.Store, key string, due time.Time) {
	t.Helper()
	if err := s.AddSandboxEvents(context.Background(), []store.SandboxEvent{{Kind: "message", Payload: []byte(`{"new":true}`), DueAt: due,
		CreatedAt: due, OrderingKey: key}}); err != nil {
		t.Fatal(err)
	}
}

// TestQueueCallerFilter: a claim narrowed by the caller's filter (as a
// node holding some shards will claim) takes only the rows it names, and
// leaves the rest to others.
func TestQueueCallerFilter(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		addOutbox(t, s, "a1", "15550000001", queueT0)
		addOutbox(t, s, "b1", "15550000002", queueT0)
		addOutbox(t, s, "a2", "15550000001", queueT0.Add(time.Millisecond))
		addOutbox(t, s, "b2", "15550000002", queueT0.Add(time.Millisecond))
		got, err := s.ClaimOutboxTo(ctx, "node-a", queueT0.Add(time.Second), queueLease, 10, "15550000001")
		if err != nil || !slices.Equal(outboxIDs(got), []string{"a1", "a2"}) {
			t.Fatalf("filtered claim %v %v", outboxIDs(got), err)
		}
		if got, err = s.ClaimOutbox(ctx, "node-b", queueT0.Add(time.Second), queueLease, 10, false); err != nil || !slices.Equal(outboxIDs(got), []string{"b1", "b2"}) {
			t.Fatalf("unfiltered claim after it %v %v", outboxIDs(got), err)
		}
	})
}

// TestQueueMigrationKeepsPendingWork: events, callbacks and messages
// queued before the queues gained their bookkeeping are claimable after
// the upgrade (events unordered, no attempts yet), also when an earlier
// run of the migration died after MySQL committed part of it.
func TestQueueMigrationKeepsPendingWork(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s, err := store.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.MigrateTo(ctx, 10); err != nil {
			t.Fatal(err)
		}
		ms := queueT0.UnixMilli()
		for _, q := range []string{
			`INSERT INTO sandbox_events (kind, payload, due_at, created_at) VALUES ('message', '{}', ?, ?)`,
			`INSERT INTO cloud_events (kind, payload, received_at) VALUES ('message', '{}', ?)`,
			`INSERT INTO callbacks (kind, payload, attempts, next_attempt_at, created_at, last_error) VALUES ('statuses', '{}', 2, ?, ?, 'HTTP 500')`,
			`INSERT INTO outbox (id, recipient, message_type, body, status, attempts, scheduled_at, created_at, expires_at, updated_at)
				VALUES ('m1', '15550001000', 'text', '{}', 'queued', 0, ?, ?, ?, ?)`,
			// As if a first attempt had died after MySQL committed this ALTER.
			`ALTER TABLE sandbox_events ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0`,
		} {
			var args []any
			for range strings.Count(q, "?") {
				args = append(args, ms)
			}
			if err := s.ExecRaw(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if applied, err := s.Migrate(ctx); err != nil || !slices.Contains(applied, 11) {
			t.Fatalf("migrate: %v %v", applied, err)
		}
		now := queueT0.Add(time.Second)
		if evs, err := s.ClaimSandboxEvents(ctx, "node-a", now, queueLease, 10); err != nil || len(evs) != 1 || evs[0].OrderingKey != "" || evs[0].Attempts != 0 {
			t.Fatalf("sandbox events after the upgrade: %+v %v", evs, err)
		}
		if evs, err := s.ClaimCloudEvents(ctx, "node-a", now, queueLease, 10); err != nil || len(evs) != 1 || evs[0].OrderingKey != "" {
			t.Fatalf("cloud events after the upgrade: %+v %v", evs, err)
		}
		if cbs, err := s.ClaimCallbacks(ctx, "node-a", now, queueLease, 10); err != nil || len(cbs) != 1 || cbs[0].Attempts != 2 || cbs[0].LastError != "HTTP 500" {
			t.Fatalf("callbacks after the upgrade: %+v %v", cbs, err)
		}
		if msgs, err := s.ClaimOutbox(ctx, "node-a", now, queueLease, 10, false); err != nil || len(msgs) != 1 {
			t.Fatalf("outbox after the upgrade: %+v %v", msgs, err)
		}
	})
}
