package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// A node crashes after queueing and after claiming part of the queue; the
// restarted node (a new process on the same database) delivers everything,
// each item once: the unclaimed at once, the leased when the lease ends.
func TestPersistentQueueSurvivesACrash(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		b := backend{name: string(cfg.Engine), store: storetest.OpenConfig(t, cfg), cfg: cfg}
		e := newEnv(t, b, func(o *Options) { o.NodeID = "node-1" })
		for i := range 10 {
			e.enqueue(t, status(fmt.Sprintf("gB%d", i)))
		}
		// The crashed process had leased four rows when it died.
		const lease = 2 * time.Minute
		held, err := b.store.ClaimCallbacks(ctx, "node-1", e.clock.Now(), lease, 4)
		if err != nil || len(held) != 4 {
			t.Fatalf("claim %d %v", len(held), err)
		}
		e.d = nil // crash: nothing of the first process survives but its rows

		restarted := backend{name: b.name, store: storetest.OpenConfig(t, cfg), cfg: cfg}
		e.b = restarted
		d := e.dispatcher(t, func(o *Options) { o.NodeID = "node-2"; o.Lease = lease })
		if st := d.Stats(); st.Queued != 10 || !st.Persistent {
			t.Fatalf("restarted node sees %+v", st)
		}
		res, err := d.RunOnce(ctx)
		if err != nil || res.Delivered != 6 {
			t.Fatalf("before the lease ends: %+v %v", res, err)
		}
		e.clock.Advance(lease - time.Millisecond)
		if res, _ := d.RunOnce(ctx); res.Posts != 0 {
			t.Fatalf("leased rows taken early: %+v", res)
		}
		e.clock.Advance(time.Millisecond)
		if res, err := d.RunOnce(ctx); err != nil || res.Delivered != 4 {
			t.Fatalf("after the lease: %+v %v", res, err)
		}
		seen := map[string]int{}
		for _, r := range e.recv.requests() {
			var body struct {
				Statuses []struct{ ID string } `json:"statuses"`
			}
			json.Unmarshal(r.body, &body)
			for _, s := range body.Statuses {
				seen[s.ID]++
			}
		}
		for i := range 10 {
			if id := fmt.Sprintf("gB%d", i); seen[id] != 1 {
				t.Fatalf("%s delivered %d times (%v)", id, seen[id], seen)
			}
		}
		if n, _ := restarted.store.CountCallbacks(ctx); n != 0 || d.Stats().Queued != 0 {
			t.Fatalf("left: %d rows, stats %+v", n, d.Stats())
		}
	})
}

// A failed attempt's count and error survive the restart: the schedule goes
// on where it was.
func TestPersistentRetryStateSurvivesARestart(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		b := backend{name: string(cfg.Engine), store: storetest.OpenConfig(t, cfg), cfg: cfg}
		e := newEnv(t, b)
		e.recv.status(http.StatusServiceUnavailable)
		e.enqueue(t, status("gB1"))
		e.runOnce(t)
		e.clock.Advance(3 * time.Second)
		e.runOnce(t)
		d := e.dispatcher(t, func(o *Options) { o.NodeID = "node-2" })
		e.clock.Advance(6*time.Second - time.Millisecond)
		if res, _ := d.RunOnce(ctx); res.Posts != 0 {
			t.Fatalf("retry 2 came early after the restart: %+v", res)
		}
		e.clock.Advance(time.Millisecond)
		if res, _ := d.RunOnce(ctx); res.Posts != 1 {
			t.Fatalf("retry 2: %+v", res)
		}
		cbs, err := b.store.ClaimCallbacks(ctx, "inspect", e.clock.Now().Add(time.Hour), time.Minute, 10)
		if err != nil || len(cbs) != 1 || cbs[0].Attempts != 3 || cbs[0].LastError != "HTTP 503" {
			t.Fatalf("row %+v %v", cbs, err)
		}
	})
}

// callback_persist=false keeps the queue in memory: no rows, and a restart
// loses what was queued, as on the original.
func TestMemoryModeUsesNoRows(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.SQLite)
	e := newEnv(t, backend{name: "SQLITE", store: s})
	e.set.Set(func(a *settings.Application) { a.CallbackPersist = false })
	e.d = e.dispatcher(t)
	if e.d.Stats().Persistent {
		t.Fatal("persistent with callback_persist=false")
	}
	e.recv.status(http.StatusInternalServerError)
	for i := range 5 {
		e.enqueue(t, status(fmt.Sprintf("gB%d", i)))
	}
	if n, err := s.CountCallbacks(ctx); err != nil || n != 0 {
		t.Fatalf("%d rows, %v", n, err)
	}
	e.runOnce(t)
	if n, _ := s.CountCallbacks(ctx); n != 0 {
		t.Fatalf("a retry wrote %d rows", n)
	}
	if restarted := e.dispatcher(t); restarted.Stats().Queued != 0 {
		t.Fatalf("a new process found %d items", restarted.Stats().Queued)
	}
	e.recv.status(http.StatusOK)
	e.clock.Advance(3 * time.Second)
	if res := e.runOnce(t); res.Delivered != 5 {
		t.Fatalf("%+v", res)
	}
}

// Rows left from callback_persist=true are kept (and said so) when the
// setting is off, and delivered when it is on again.
func TestSwitchingPersistenceKeepsOldRows(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.SQLite)
	e := newEnv(t, backend{name: "SQLITE", store: s})
	e.set.Set(func(a *settings.Application) { a.Webhooks.URL = "" })
	e.enqueue(t, status("gB1"))
	e.set.Set(func(a *settings.Application) { a.CallbackPersist = false; a.Webhooks.URL = e.recv.URL() })
	mem := e.dispatcher(t)
	if res, _ := mem.RunOnce(ctx); res.Posts != 0 {
		t.Fatalf("memory dispatcher sent table rows: %+v", res)
	}
	if e.logs.count("callback_persist is off") != 1 {
		t.Fatalf("no warning: %s", e.logs.String())
	}
	e.set.Set(func(a *settings.Application) { a.CallbackPersist = true })
	if res, _ := e.dispatcher(t).RunOnce(ctx); res.Delivered != 1 {
		t.Fatalf("%+v", res)
	}
	if got := e.recv.requests(); len(got) != 1 || !slices.Contains([]string{`{"statuses":[{"id":"gB1","status":"delivered"}]}`}, string(got[0].body)) {
		t.Fatalf("%v", got)
	}
}

// flakyStore fails the named operations on demand.
type flakyStore struct {
	Store
	failEnqueue, failClaim, failDelete bool
	loseClaimReply                     bool // the claim is committed, the caller hears an error
}

var errDatabaseDown = errors.New("database down")

func (f *flakyStore) EnqueueCallbacks(ctx context.Context, cbs []store.Callback) error {
	if f.failEnqueue {
		return errDatabaseDown
	}
	return f.Store.EnqueueCallbacks(ctx, cbs)
}

func (f *flakyStore) ClaimCallbacks(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Callback, error) {
	if f.failClaim {
		return nil, errDatabaseDown
	}
	if f.loseClaimReply {
		if _, err := f.Store.ClaimCallbacks(ctx, owner, now, lease, limit); err != nil {
			return nil, err
		}
		return nil, errDatabaseDown
	}
	return f.Store.ClaimCallbacks(ctx, owner, now, lease, limit)
}

func (f *flakyStore) DeleteCallbacks(ctx context.Context, ids []int64) error {
	if f.failDelete {
		return errDatabaseDown
	}
	return f.Store.DeleteCallbacks(ctx, ids)
}

// Storage failures never lose a callback: a failed enqueue is reported (and
// not counted), a failed claim is an error of RunOnce, and a delivery whose
// removal failed is sent again when its lease ends (at least once).
func TestStorageFailures(t *testing.T) {
	ctx := context.Background()
	flaky := &flakyStore{Store: storetest.Open(t, store.SQLite)}
	e := newEnv(t, backend{name: "flaky"})
	e.set.Set(func(a *settings.Application) { a.CallbackPersist = true })
	e.d = e.dispatcher(t, func(o *Options) { o.Store = flaky; o.Lease = time.Minute })

	flaky.failEnqueue = true
	if err := e.d.Enqueue(ctx, status("gB1")); !errors.Is(err, errDatabaseDown) {
		t.Fatalf("enqueue: %v", err)
	}
	if q := e.d.Stats().Queued; q != 0 {
		t.Fatalf("a failed enqueue was counted: %d", q)
	}
	flaky.failEnqueue = false
	e.enqueue(t, status("gB1"))

	flaky.failClaim = true
	if _, err := e.d.RunOnce(ctx); !errors.Is(err, errDatabaseDown) {
		t.Fatalf("claim failure: %v", err)
	}
	flaky.failClaim = false

	flaky.failDelete = true
	if res := e.runOnce(t); res.Posts != 1 || res.Delivered != 0 {
		t.Fatalf("delivered but not removed: %+v", res)
	}
	flaky.failDelete = false
	if res := e.runOnce(t); res.Posts != 0 {
		t.Fatalf("sent again while leased: %+v", res)
	}
	// Each claim's lease ends at a time of its own: this one a millisecond
	// after the failed claim's, made at the same (frozen) time.
	e.clock.Advance(time.Minute + time.Millisecond)
	if res := e.runOnce(t); res != (Result{Posts: 1, Delivered: 1}) {
		t.Fatalf("after the lease: %+v", res)
	}
	if n := e.recv.count(); n != 2 {
		t.Fatalf("%d requests, want 2 (one duplicate)", n)
	}
	if st := e.d.Stats(); st.Queued != 0 || st.Delivered != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// A claim the database committed while the dispatcher heard an error (the
// connection broke before the reply) does not leave its callbacks leased
// to nobody until the lease runs out: the next claim gives them back first.
func TestLostClaimReply(t *testing.T) {
	ctx := context.Background()
	flaky := &flakyStore{Store: storetest.Open(t, store.SQLite)}
	e := newEnv(t, backend{name: "flaky"})
	e.set.Set(func(a *settings.Application) { a.CallbackPersist = true })
	e.d = e.dispatcher(t, func(o *Options) { o.Store = flaky; o.Lease = time.Hour })
	e.enqueue(t, status("gB1"))
	e.enqueue(t, status("gB2"))

	flaky.loseClaimReply = true
	if _, err := e.d.RunOnce(ctx); !errors.Is(err, errDatabaseDown) {
		t.Fatalf("claim: %v", err)
	}
	flaky.loseClaimReply = false
	if res := e.runOnce(t); res.Delivered != 2 {
		t.Fatalf("after the lost reply: %+v, want both delivered at once", res)
	}
}

// Run delivers as soon as something is queued (Enqueue wakes it) and when
// a URL appears (Wake after a settings change), without waiting for a poll.
func TestRunDeliversOnWake(t *testing.T) {
	memoryAndSQLite(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, func(o *Options) { o.PollInterval = time.Hour })
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			e.d.Run(ctx)
			close(done)
		}()
		defer func() {
			cancel()
			<-done
		}()
		e.enqueue(t, status("gB1"))
		waitFor(t, "the first delivery", func() bool { return e.d.Stats().Delivered == 1 })
		e.set.Set(func(a *settings.Application) { a.Webhooks.URL = "" })
		e.enqueue(t, status("gB2"))
		e.set.Set(func(a *settings.Application) { a.Webhooks.URL = e.recv.URL() })
		e.d.Wake()
		waitFor(t, "the delivery after the URL came back", func() bool { return e.d.Stats().Delivered == 2 })
	})
}
