package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// clock is the injected time: tests move it, nothing sleeps for the schedule.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// settingsBox stands in for settings.Service.Current.
type settingsBox struct {
	mu  sync.Mutex
	app settings.Application
}

func newSettings(url string) *settingsBox {
	app := settings.Defaults()
	app.Webhooks.URL = url
	return &settingsBox{app: app}
}

func (b *settingsBox) Current() settings.Application {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.app.Clone()
}

func (b *settingsBox) Set(fn func(*settings.Application)) {
	b.mu.Lock()
	fn(&b.app)
	b.mu.Unlock()
}

// receiver is a webhook endpoint that records every request.
type receiver struct {
	srv     *httptest.Server
	clock   *clock
	mu      sync.Mutex
	reqs    []recorded
	respond atomic.Pointer[http.HandlerFunc]
}

type recorded struct {
	body   []byte
	at     time.Time // on the injected clock
	header http.Header
	path   string
}

func newReceiver(t *testing.T, c *clock) *receiver {
	r := &receiver{clock: c}
	r.answer(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, recorded{body: body, at: c.Now(), header: req.Header.Clone(), path: req.URL.Path})
		r.mu.Unlock()
		(*r.respond.Load())(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) URL() string { return r.srv.URL + "/hook" }

func (r *receiver) answer(h http.HandlerFunc) { r.respond.Store(&h) }

func (r *receiver) status(code int) {
	r.answer(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) })
}

func (r *receiver) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

func (r *receiver) count() int { return len(r.requests()) }

// backend is where the queue lives: memory, or the callbacks table of one
// engine.
type backend struct {
	name  string
	store *store.Store // nil for memory
	cfg   store.Config
}

// eachBackend runs fn on the in-memory queue and on the table of every
// engine storetest offers.
func eachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Run("memory", func(t *testing.T) { fn(t, backend{name: "memory"}) })
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		fn(t, backend{name: string(cfg.Engine), store: storetest.OpenConfig(t, cfg), cfg: cfg})
	})
}

// memoryAndSQLite is for the long schedule tests: the queue logic is the
// same on every engine, the store tests cover the engines.
func memoryAndSQLite(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Run("memory", func(t *testing.T) { fn(t, backend{name: "memory"}) })
	t.Run("SQLITE", func(t *testing.T) {
		cfg := storetest.Config(t, store.SQLite)
		fn(t, backend{name: "SQLITE", store: storetest.OpenConfig(t, cfg), cfg: cfg})
	})
}

type env struct {
	d     *Dispatcher
	clock *clock
	set   *settingsBox
	recv  *receiver
	logs  *logBuffer
	b     backend
}

func newEnv(t *testing.T, b backend, mods ...func(*Options)) *env {
	t.Helper()
	c := newClock()
	recv := newReceiver(t, c)
	set := newSettings(recv.URL())
	set.Set(func(a *settings.Application) { a.CallbackPersist = b.store != nil })
	e := &env{clock: c, set: set, recv: recv, logs: &logBuffer{}, b: b}
	e.d = e.dispatcher(t, mods...)
	return e
}

// dispatcher builds another dispatcher on the same backend, clock and
// settings (a restarted process).
func (e *env) dispatcher(t *testing.T, mods ...func(*Options)) *Dispatcher {
	t.Helper()
	o := Options{
		Settings: e.set.Current,
		Now:      e.clock.Now,
		Log:      slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Version:  "test",
		NodeID:   "node-" + e.b.name,
	}
	if e.b.store != nil {
		o.Store = e.b.store
	}
	for _, m := range mods {
		m(&o)
	}
	d, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *env) enqueue(t *testing.T, items ...Notification) {
	t.Helper()
	if err := e.d.Enqueue(context.Background(), items...); err != nil {
		t.Fatal(err)
	}
}

func (e *env) runOnce(t *testing.T) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := e.d.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func status(id string) Notification {
	return Notification{Kind: KindStatuses, Payload: json.RawMessage(fmt.Sprintf(`{"statuses":[{"id":%q,"status":"delivered"}]}`, id))}
}

// logBuffer collects log output from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) count(s string) int { return strings.Count(l.String(), s) }

// waitFor polls cond for up to 10 s: for things that happen on other
// goroutines (requests arriving), never for the retry schedule.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
