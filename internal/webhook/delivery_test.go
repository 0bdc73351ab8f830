package webhook

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/settings"
)

// Only a 200 is a delivery; every other answer, a dead connection or a
// receiver too slow for the request timeout is retried.
func TestDeliveredOnlyOn200(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		failures := map[string]func(r *receiver){
			"201":    func(r *receiver) { r.status(http.StatusCreated) },
			"204":    func(r *receiver) { r.status(http.StatusNoContent) },
			"500":    func(r *receiver) { r.status(http.StatusInternalServerError) },
			"closed": func(r *receiver) { r.answer(closeConnection) },
			"301": func(r *receiver) {
				r.answer(func(w http.ResponseWriter, req *http.Request) {
					if req.URL.Path == "/hook" {
						http.Redirect(w, req, "/elsewhere", http.StatusMovedPermanently)
						return
					}
					w.WriteHeader(http.StatusOK)
				})
			},
			"hang": func(r *receiver) {
				r.answer(func(w http.ResponseWriter, req *http.Request) { <-req.Context().Done() })
			},
		}
		for name, fail := range failures {
			t.Run(name, func(t *testing.T) {
				if b.store != nil {
					// A fresh table per case: reuse the engine's store
					// only after the previous case emptied it.
					defer func() {
						if n, _ := b.store.CountCallbacks(context.Background()); n != 0 {
							t.Fatalf("%d rows left behind", n)
						}
					}()
				}
				e := newEnv(t, b, func(o *Options) { o.RequestTimeout = 300 * time.Millisecond })
				fail(e.recv)
				e.enqueue(t, status("gB1"))
				res := e.runOnce(t)
				if res != (Result{Posts: 1, Retried: 1}) {
					t.Fatalf("failed attempt: %+v", res)
				}
				if st := e.d.Stats(); st.Queued != 1 || st.Delivered != 0 || st.Retried != 1 {
					t.Fatalf("stats after failure: %+v", st)
				}
				// Not due again before the backoff has passed.
				e.clock.Advance(2999 * time.Millisecond)
				if res := e.runOnce(t); res.Posts != 0 {
					t.Fatalf("retried early: %+v", res)
				}
				e.recv.status(http.StatusOK)
				e.clock.Advance(time.Millisecond)
				if res := e.runOnce(t); res != (Result{Posts: 1, Delivered: 1}) {
					t.Fatalf("retry: %+v", res)
				}
				if st := e.d.Stats(); st.Queued != 0 || st.Delivered != 1 {
					t.Fatalf("stats after delivery: %+v", st)
				}
				for _, r := range e.recv.requests() {
					if r.path != "/hook" {
						t.Fatalf("a redirect was followed to %s", r.path)
					}
				}
			})
		}
	})
}

func closeConnection(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

func TestRequestHeadersAndBody(t *testing.T) {
	e := newEnv(t, backend{name: "memory"})
	payload := `{"statuses": [ {"id":"gB1", "status":"read"} ]}`
	e.enqueue(t, Notification{Kind: KindStatuses, Payload: []byte(payload)})
	e.runOnce(t)
	reqs := e.recv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if string(r.body) != payload {
		t.Fatalf("a single item must go out byte for byte: %s", r.body)
	}
	if ct, ua := r.header.Get("Content-Type"), r.header.Get("User-Agent"); ct != "application/json" || ua != "wabiz/test" {
		t.Fatalf("headers: Content-Type %q, User-Agent %q", ct, ua)
	}
}

// attemptTimes drives a dispatcher against a failing receiver, moving the
// clock to each due time, and returns the gaps between attempts.
func attemptGaps(t *testing.T, e *env, attempts int) []time.Duration {
	t.Helper()
	e.recv.status(http.StatusInternalServerError)
	e.enqueue(t, status("gB1"))
	for i := 0; i < attempts; i++ {
		if res := e.runOnce(t); res.Posts != 1 {
			t.Fatalf("attempt %d: %+v", i+1, res)
		}
		next, ok := e.d.NextDue()
		if !ok {
			t.Fatalf("attempt %d: nothing due next", i+1)
		}
		e.clock.Set(next)
	}
	reqs := e.recv.requests()
	var gaps []time.Duration
	for i := 1; i < len(reqs); i++ {
		gaps = append(gaps, reqs[i].at.Sub(reqs[i-1].at))
	}
	if !reqs[0].at.Equal(t0) {
		t.Fatalf("first attempt at %v, want at once", reqs[0].at)
	}
	return gaps
}

func TestRetryScheduleIsLinearAndCapped(t *testing.T) {
	memoryAndSQLite(t, func(t *testing.T, b backend) {
		t.Run("defaults", func(t *testing.T) {
			if b.store != nil {
				t.Skip("the long schedule runs in memory; the short one below covers the table")
			}
			// 3 s, 6 s, 9 s, ... 900 s at retry 300, then 900 s on.
			e := newEnv(t, b, func(o *Options) { o.Horizon = 100 * time.Hour })
			gaps := attemptGaps(t, e, 310)
			for i, g := range gaps {
				n := i + 1
				want := min(time.Duration(n)*3*time.Second, 15*time.Minute)
				if g != want {
					t.Fatalf("delay before retry %d = %v, want %v", n, g, want)
				}
			}
			if gaps[len(gaps)-1] != 15*time.Minute || gaps[299] != 15*time.Minute || gaps[298] != 897*time.Second {
				t.Fatalf("cap: %v %v %v", gaps[298], gaps[299], gaps[len(gaps)-1])
			}
		})
		t.Run("small cap", func(t *testing.T) {
			e := newEnv(t, b)
			e.set.Set(func(a *settings.Application) { a.CallbackBackoffDelayMs, a.MaxCallbackBackoffDelayMs = 1000, 2500 })
			gaps := attemptGaps(t, e, 6)
			want := []time.Duration{time.Second, 2 * time.Second, 2500 * time.Millisecond, 2500 * time.Millisecond, 2500 * time.Millisecond}
			if len(gaps) != len(want) {
				t.Fatalf("gaps %v", gaps)
			}
			for i := range want {
				if gaps[i] != want[i] {
					t.Fatalf("gaps %v, want %v", gaps, want)
				}
			}
		})
	})
}

func TestRetryDelayFunction(t *testing.T) {
	app := settings.Defaults()
	for n, want := range map[int]time.Duration{1: 3 * time.Second, 2: 6 * time.Second, 300: 15 * time.Minute, 301: 15 * time.Minute, 1 << 40: 15 * time.Minute} {
		if got := retryDelay(n, app); got != want {
			t.Errorf("retry %d: %v, want %v", n, got, want)
		}
	}
	app.CallbackBackoffDelayMs, app.MaxCallbackBackoffDelayMs = 5000, 2000 // step above the cap
	if got := retryDelay(1, app); got != 2*time.Second {
		t.Errorf("step above cap: %v", got)
	}
}

func TestHorizonDropsAndCounts(t *testing.T) {
	memoryAndSQLite(t, func(t *testing.T, b backend) {
		t.Run("24h", func(t *testing.T) {
			if b.store != nil {
				t.Skip("240 attempts: memory only; the configurable horizon below covers the table")
			}
			e := newEnv(t, b)
			e.recv.status(http.StatusInternalServerError)
			e.enqueue(t, status("gB1"))
			var attempts int
			for {
				res := e.runOnce(t)
				attempts += res.Posts
				if res.Dropped == 1 {
					break
				}
				next, ok := e.d.NextDue()
				if !ok || attempts > 1000 {
					t.Fatalf("never dropped (%d attempts)", attempts)
				}
				e.clock.Set(next)
			}
			// Retry k comes 3·k(k+1)/2 s after the first attempt; the last
			// one within 24 h is k = 239 (86,040 s), the next would be at
			// 86,760 s.
			if attempts != 240 {
				t.Fatalf("%d attempts before the drop, want 240", attempts)
			}
			if last := e.recv.requests()[239].at.Sub(t0); last != 86040*time.Second {
				t.Fatalf("last attempt after %v", last)
			}
			if st := e.d.Stats(); st.Dropped != 1 || st.Queued != 0 {
				t.Fatalf("stats %+v", st)
			}
			if e.logs.count("webhook callback dropped") != 1 || !strings.Contains(e.logs.String(), "last_error=\"HTTP 500\"") {
				t.Fatalf("drop not logged: %s", e.logs.String())
			}
		})
		t.Run("configured", func(t *testing.T) {
			e := newEnv(t, b, func(o *Options) { o.Horizon = 10 * time.Second })
			e.recv.status(http.StatusBadGateway)
			e.enqueue(t, status("gB1"))
			// Attempts at 0 s, 3 s, 9 s; the next (18 s) is past 10 s.
			var total Result
			for range 3 {
				res := e.runOnce(t)
				total.Posts += res.Posts
				total.Dropped += res.Dropped
				if next, ok := e.d.NextDue(); ok {
					e.clock.Set(next)
				}
			}
			if total.Posts != 3 || total.Dropped != 1 || e.d.Stats().Dropped != 1 {
				t.Fatalf("posts %d dropped %d stats %+v", total.Posts, total.Dropped, e.d.Stats())
			}
			if b.store != nil {
				if n, _ := b.store.CountCallbacks(context.Background()); n != 0 {
					t.Fatalf("dropped row still in the table (%d)", n)
				}
			}
		})
	})
}

func TestNoURLWaitsAndNothingIsDropped(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.set.Set(func(a *settings.Application) { a.Webhooks.URL = "" })
		e.enqueue(t, status("gB1"), status("gB2"))
		if res := e.runOnce(t); res != (Result{}) {
			t.Fatalf("without a URL: %+v", res)
		}
		e.clock.Advance(2 * time.Hour)
		if res := e.runOnce(t); res != (Result{}) || e.recv.count() != 0 {
			t.Fatalf("without a URL: %+v, %d requests", res, e.recv.count())
		}
		// The two statuses were queued together: one row.
		if st := e.d.Stats(); st.Queued != 1 || st.Dropped != 0 || st.Retried != 0 {
			t.Fatalf("stats %+v", st)
		}
		e.set.Set(func(a *settings.Application) { a.Webhooks.URL = e.recv.URL() })
		if res := e.runOnce(t); res != (Result{Posts: 1, Delivered: 1}) {
			t.Fatalf("URL set: %+v", res)
		}
	})
}

// Time without a URL counts toward the horizon: what aged out meanwhile is
// dropped, unsent, when a URL appears.
func TestHorizonRunsWithoutURL(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.set.Set(func(a *settings.Application) { a.Webhooks.URL = "" })
		e.enqueue(t, status("old"))
		e.clock.Advance(23 * time.Hour)
		e.enqueue(t, status("young"))
		e.clock.Advance(90 * time.Minute)
		e.set.Set(func(a *settings.Application) { a.Webhooks.URL = e.recv.URL() })
		if res := e.runOnce(t); res != (Result{Posts: 1, Delivered: 1, Dropped: 1}) {
			t.Fatalf("%+v", res)
		}
		reqs := e.recv.requests()
		if len(reqs) != 1 || !strings.Contains(string(reqs[0].body), "young") || strings.Contains(string(reqs[0].body), "old") {
			t.Fatalf("sent %d requests: %v", len(reqs), reqs)
		}
		if !strings.Contains(e.logs.String(), "past the retry horizon before it could be sent") {
			t.Fatalf("drop not logged: %s", e.logs.String())
		}
	})
}

func TestQueueBound(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, func(o *Options) { o.QueueLimit = 5 })
		e.set.Set(func(a *settings.Application) { a.Webhooks.URL = "" })
		for i := range 4 {
			e.enqueue(t, status(string(rune('a'+i))))
		}
		if e.d.Full() {
			t.Fatal("full at 4 of 5")
		}
		// Below the bound a batch is taken whole, past it (a status and an
		// error: kinds that cannot share a row).
		e.enqueue(t, status("x"), Notification{Kind: KindErrors, Payload: []byte(`{"errors":[{"code":1014,"title":"Internal error"}]}`)})
		if !e.d.Full() {
			t.Fatal("not full at 6 of 5")
		}
		if err := e.d.Enqueue(context.Background(), status("f")); !errors.Is(err, ErrOverloaded) {
			t.Fatalf("seventh: %v", err)
		}
		if err := e.d.Enqueue(context.Background(), status("g"), Notification{Kind: KindErrors, Payload: []byte(`{"errors":[]}`)}); !errors.Is(err, ErrOverloaded) {
			t.Fatalf("a pair when full: %v", err)
		}
		e.set.Set(func(a *settings.Application) { a.Webhooks.URL = e.recv.URL() })
		if res := e.runOnce(t); res.Delivered != 6 {
			t.Fatalf("%+v", res)
		}
		if e.d.Full() {
			t.Fatal("still full after delivery")
		}
		e.enqueue(t, status("g"))
	})
}

func TestEnqueueRejectsMalformedItems(t *testing.T) {
	e := newEnv(t, backend{name: "memory"})
	for _, n := range []Notification{
		{Kind: "presence", Payload: []byte(`{"presence":[]}`)},
		{Kind: KindStatuses, Payload: []byte(`[1]`)},
		{Kind: KindStatuses, Payload: []byte(`{"messages":[]}`)},
		{Kind: KindStatuses, Payload: []byte(`{"statuses":{}}`)},
		{Kind: KindErrors, Payload: []byte("{\"errors\":[\"\xff\"]}")},
	} {
		if err := e.d.Enqueue(context.Background(), status("ok"), n); err == nil {
			t.Errorf("accepted %s %s", n.Kind, n.Payload)
		}
	}
	if st := e.d.Stats(); st.Queued != 0 {
		t.Fatalf("a rejected call queued something: %+v", st)
	}
}

// max_concurrent_requests bounds the POSTs in flight, and a new value applies
// without a restart.
func TestConcurrencyLimit(t *testing.T) {
	memoryAndSQLite(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, func(o *Options) { o.BatchMax = 1 })
		var inFlight, peak atomic.Int64
		release := make(chan struct{})
		e.recv.answer(func(w http.ResponseWriter, _ *http.Request) {
			n := inFlight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-release
			inFlight.Add(-1)
			w.WriteHeader(http.StatusOK)
		})
		for i := range 40 {
			e.enqueue(t, status(string(rune('A'+i))))
		}
		var (
			wg  sync.WaitGroup
			res Result
		)
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, _ = e.d.RunOnce(context.Background())
		}()
		settle := func(n int64) {
			t.Helper()
			waitFor(t, "requests in flight", func() bool { return inFlight.Load() == n })
			time.Sleep(150 * time.Millisecond) // time for an excess request to show up
			if got, p := inFlight.Load(), peak.Load(); got != n || p != n {
				t.Fatalf("in flight %d, peak %d, want %d", got, p, n)
			}
			if st := e.d.Stats(); st.InFlight != int(n) {
				t.Fatalf("Stats.InFlight %d, want %d", st.InFlight, n)
			}
		}
		settle(6)
		e.set.Set(func(a *settings.Application) { a.Webhooks.MaxConcurrentRequests = 12 })
		e.d.Wake()
		settle(12)
		close(release)
		wg.Wait()
		if res.Delivered != 40 || peak.Load() != 12 {
			t.Fatalf("result %+v, peak %d", res, peak.Load())
		}
	})
}

// Enqueue never waits for deliveries, however stuck the receiver is; Run
// stops promptly and gives back what it held, without counting an attempt.
func TestHangingReceiverNeitherBlocksEnqueueNorShutdown(t *testing.T) {
	memoryAndSQLite(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		e.recv.answer(func(w http.ResponseWriter, req *http.Request) { <-req.Context().Done() })
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			e.d.Run(ctx)
			close(done)
		}()
		e.enqueue(t, status("first"))
		waitFor(t, "the first POST", func() bool { return e.recv.count() == 1 })
		start := time.Now()
		for i := range 200 {
			e.enqueue(t, status(string(rune('a'+i%26))))
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("200 enqueues took %v while the receiver hung", took)
		}
		waitFor(t, "6 POSTs in flight", func() bool { return e.d.Stats().InFlight == 6 })
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not stop")
		}
		st := e.d.Stats()
		if st.InFlight != 0 || st.Retried != 0 || st.Queued != 201 {
			t.Fatalf("after shutdown: %+v", st)
		}
		// Everything is claimable at once (no lease held, no attempt counted).
		e.recv.status(http.StatusOK)
		next := e.d // in memory only the same process still has them
		if b.store != nil {
			next = e.dispatcher(t, func(o *Options) { o.NodeID = "node-restarted" })
		}
		if res, err := next.RunOnce(context.Background()); err != nil || res.Delivered != 201 {
			t.Fatalf("after restart: %+v %v", res, err)
		}
	})
}
