package settings_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

var fixedNow = time.Date(2024, 3, 3, 9, 30, 0, 0, time.UTC)

func clock() time.Time { return fixedNow }

func newService(t *testing.T, s settings.Store) *settings.Service {
	t.Helper()
	svc, err := settings.NewService(context.Background(), s, settings.PatchRules{}, clock)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	return svc
}

func mustPatch(t testing.TB, svc *settings.Service, body string) {
	t.Helper()
	if err := svc.Patch(context.Background(), decodeBody(t, body)); err != nil {
		t.Fatalf("Patch(%s): %v", body, err)
	}
}

func mustRefresh(t testing.TB, svc *settings.Service) {
	t.Helper()
	if err := svc.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
}

func expectCurrent(t testing.TB, svc *settings.Service, want settings.Application) {
	t.Helper()
	if got := svc.Current(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Current():\n got %+v\nwant %+v", got, want)
	}
}

func version(t testing.TB, s *store.Store) int64 {
	t.Helper()
	v, err := s.DocumentVersion(context.Background(), settings.DocumentName)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// recorder is an OnChange listener that keeps every value it was given.
type recorder struct {
	mu   sync.Mutex
	seen []settings.Application
}

func (r *recorder) listen(a settings.Application) {
	r.mu.Lock()
	r.seen = append(r.seen, a)
	r.mu.Unlock()
}

func (r *recorder) calls() []settings.Application {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]settings.Application(nil), r.seen...)
}

// typical is the spec's typical client PATCH and what it yields on defaults.
const typical = `{ "webhooks": { "url": "https://hooks.example.org/whatsapp", "max_concurrent_requests": 12 },
  "callback_persist": true, "sent_status": true,
  "media": { "auto_download": [ "image", "document", "audio" ] } }`

func typicalResult() settings.Application {
	a := settings.Defaults()
	a.Webhooks.URL = "https://hooks.example.org/whatsapp"
	a.Webhooks.MaxConcurrentRequests = 12
	a.SentStatus = true
	a.Media.AutoDownload = []string{"image", "document", "audio"}
	return a
}

func TestServiceFreshDatabase(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		s := storetest.OpenConfig(t, cfg)
		svc := newService(t, s)
		expectCurrent(t, svc, settings.Defaults())

		// Starting does not write anything.
		if _, err := s.GetDocument(context.Background(), settings.DocumentName); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetDocument on a fresh database = %v, want ErrNotFound", err)
		}
		var rec recorder
		svc.OnChange(rec.listen)
		mustRefresh(t, svc)
		expectCurrent(t, svc, settings.Defaults())
		if n := len(rec.calls()); n != 0 {
			t.Fatalf("Refresh of an unchanged fresh database fired %d listeners", n)
		}
	})
}

func TestServicePatchPersists(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s1 := storetest.OpenConfig(t, cfg)
		s2 := storetest.OpenConfig(t, cfg) // a second node on the same database
		a := newService(t, s1)
		b := newService(t, s2)

		mustPatch(t, a, typical)
		want := typicalResult()
		expectCurrent(t, a, want)

		// The other node keeps its copy until it refreshes.
		expectCurrent(t, b, settings.Defaults())
		mustRefresh(t, b)
		expectCurrent(t, b, want)

		doc, err := s2.GetDocument(ctx, settings.DocumentName)
		if err != nil {
			t.Fatal(err)
		}
		if doc.Version != 1 {
			t.Errorf("stored version = %d, want 1", doc.Version)
		}
		if !doc.UpdatedAt.Equal(fixedNow) {
			t.Errorf("stored updated_at = %v, want %v (the service's clock)", doc.UpdatedAt, fixedNow)
		}
		var stored settings.Application
		if err := json.Unmarshal(doc.Body, &stored); err != nil {
			t.Fatalf("stored body %s: %v", doc.Body, err)
		}
		if !reflect.DeepEqual(stored, want) {
			t.Fatalf("stored body:\n got %+v\nwant %+v", stored, want)
		}

		// A change made on b reaches a the same way, on top of a's change.
		mustPatch(t, b, `{"log_level":"DEBUG","webhooks":{"message":{"sent":true}}}`)
		want.LogLevel = "debug"
		want.Webhooks.Message.Sent = true
		expectCurrent(t, b, want)
		mustRefresh(t, a)
		expectCurrent(t, a, want)
		if v := version(t, s1); v != 2 {
			t.Fatalf("version after two patches = %d, want 2", v)
		}
	})
}

func TestServiceFailedPatchChangesNothing(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		svc := newService(t, s)
		var rec recorder
		svc.OnChange(rec.listen)

		// On a fresh database a failed PATCH must not create the document.
		err := svc.Patch(ctx, decodeBody(t, `{"sent_status":"true"}`))
		var apiErr *apierr.Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("Patch error = %v (%T), want *apierr.Error", err, err)
		}
		checkAPIErr(t, apiErr, invalid("sent_status", "true"))
		if v := version(t, s); v != 0 {
			t.Fatalf("failed PATCH wrote version %d", v)
		}

		mustPatch(t, svc, `{"heartbeat_interval":9}`)
		before := svc.Current()
		docBefore, err := s.GetDocument(ctx, settings.DocumentName)
		if err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			body    string
			details []string
		}{
			{`{"heartbeat_interval":10,"webhooks":{"url":"ftp://x.example/"}}`, []string{invalid("webhooks.url", "ftp://x.example/") + ": must be an absolute https URL"}},
			{`{"sent_status":true,"media":{"auto_download":["gif"]},"log_level":"loud"}`, []string{invalid("media.auto_download", "gif"), invalid("log_level", "loud")}},
			{`{"foo":1}`, []string{noValid}},
			{`{"wa_id":"123"}`, []string{noValid}},
			{``, []string{noValid}},
		} {
			err := svc.Patch(ctx, decodeBody(t, tc.body))
			var apiErr *apierr.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("Patch(%s) error = %v, want *apierr.Error", tc.body, err)
			}
			checkAPIErr(t, apiErr, tc.details...)
		}
		expectCurrent(t, svc, before)
		docAfter, err := s.GetDocument(ctx, settings.DocumentName)
		if err != nil {
			t.Fatal(err)
		}
		if docAfter.Version != docBefore.Version || string(docAfter.Body) != string(docBefore.Body) {
			t.Fatalf("failed PATCHes changed the stored document: v%d %s -> v%d %s",
				docBefore.Version, docBefore.Body, docAfter.Version, docAfter.Body)
		}
		if n := len(rec.calls()); n != 1 {
			t.Fatalf("listeners fired %d times, want 1 (only the good PATCH)", n)
		}
		// A restart sees the good value only.
		expectCurrent(t, newService(t, storetest.OpenConfig(t, cfg)), before)
	})
}

func TestServiceReset(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s1 := storetest.OpenConfig(t, cfg)
		a := newService(t, s1)
		b := newService(t, storetest.OpenConfig(t, cfg))

		// Reset on a fresh database stores the defaults.
		if err := a.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		expectCurrent(t, a, settings.Defaults())
		if v := version(t, s1); v != 1 {
			t.Fatalf("version after first Reset = %d, want 1", v)
		}

		mustPatch(t, a, typical)
		mustPatch(t, a, `{"garbagecollector_enable":{"messages":false,"media":true},"log_level":"error"}`)
		mustRefresh(t, b)
		if reflect.DeepEqual(b.Current(), settings.Defaults()) {
			t.Fatal("b did not see the patches")
		}

		var rec recorder
		b.OnChange(rec.listen)
		if err := b.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		expectCurrent(t, b, settings.Defaults())
		if v := version(t, s1); v != 4 {
			t.Fatalf("version after Reset = %d, want 4", v)
		}
		if calls := rec.calls(); len(calls) != 1 || !reflect.DeepEqual(calls[0], settings.Defaults()) {
			t.Fatalf("Reset fired listeners with %+v, want the defaults once", calls)
		}
		mustRefresh(t, a)
		expectCurrent(t, a, settings.Defaults())
		expectCurrent(t, newService(t, storetest.OpenConfig(t, cfg)), settings.Defaults())
	})
}

func TestServiceOnChange(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		a := newService(t, storetest.OpenConfig(t, cfg))
		b := newService(t, storetest.OpenConfig(t, cfg))

		var order []string
		var mu sync.Mutex
		var recA, recB recorder
		a.OnChange(func(app settings.Application) {
			mu.Lock()
			order = append(order, "first")
			mu.Unlock()
			recA.listen(app.Clone())
			// The listener's copy is its own: scribbling on it changes
			// neither Current nor what the next listener gets.
			app.Media.AutoDownload[0] = "scribbled"
			app.LogLevel = "scribbled"
		})
		var recA2 recorder
		a.OnChange(func(app settings.Application) {
			mu.Lock()
			order = append(order, "second")
			mu.Unlock()
			recA2.listen(app)
		})
		b.OnChange(recB.listen)

		// Local change: fires at once with the new value.
		mustPatch(t, a, typical)
		want := typicalResult()
		if calls := recA.calls(); len(calls) != 1 || !reflect.DeepEqual(calls[0], want) {
			t.Fatalf("local PATCH fired %+v, want once with %+v", calls, want)
		}
		if !reflect.DeepEqual(order, []string{"first", "second"}) {
			t.Fatalf("listeners ran as %v, want registration order", order)
		}
		if calls := recA2.calls(); len(calls) != 1 || !reflect.DeepEqual(calls[0], want) {
			t.Fatalf("second listener got %+v, want %+v", calls, want)
		}
		expectCurrent(t, a, want)

		// Picked up by Refresh: fires on the other node, once.
		if n := len(recB.calls()); n != 0 {
			t.Fatalf("b fired %d times before refreshing", n)
		}
		mustRefresh(t, b)
		mustRefresh(t, b) // nothing new: no second call
		if calls := recB.calls(); len(calls) != 1 || !reflect.DeepEqual(calls[0], want) {
			t.Fatalf("Refresh fired %+v, want once with %+v", calls, want)
		}

		// b's own change comes back to a through Refresh only.
		mustPatch(t, b, `{"verbose_logging":true}`)
		want.VerboseLogging = true
		if n := len(recA.calls()); n != 1 {
			t.Fatalf("a fired for b's change before refreshing")
		}
		mustRefresh(t, a)
		calls := recA.calls()
		if len(calls) != 2 || !reflect.DeepEqual(calls[1], want) {
			t.Fatalf("a's listener after Refresh: %+v, want second call with %+v", calls, want)
		}

		// A failed PATCH fires nothing.
		if err := a.Patch(context.Background(), decodeBody(t, `{"verbose_logging":"no"}`)); err == nil {
			t.Fatal("bad PATCH accepted")
		}
		if n := len(recA.calls()); n != 2 {
			t.Fatalf("failed PATCH fired listeners (%d calls)", n)
		}
	})
}

// TestServiceConcurrentPatches runs two nodes patching different keys at the
// same time. Every write is a read-modify-write checked by document version,
// so each update must survive: the last value each writer set is in place and
// the version counts every write.
func TestServiceConcurrentPatches(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s1 := storetest.OpenConfig(t, cfg)
		a := newService(t, s1)
		b := newService(t, storetest.OpenConfig(t, cfg))

		// Each service gives up after 10 conflicts in a row; a conflict needs a
		// successful write by the other node, so 2 writers x 4 rounds per node
		// (8 < 10) can never exhaust the retries.
		const rounds = 4
		writers := []struct {
			svc  *settings.Service
			body func(i int) string
		}{
			{a, func(i int) string { return fmt.Sprintf(`{"heartbeat_interval":%d}`, 100+i) }},
			{a, func(i int) string { return fmt.Sprintf(`{"webhooks":{"url":"https://a.example/%d"}}`, i) }},
			{b, func(i int) string { return fmt.Sprintf(`{"unhealthy_interval":"%d"}`, 200+i) }},
			{b, func(i int) string {
				return fmt.Sprintf(`{"media":{"auto_download":[%q]}}`, settings.MediaKinds[i%len(settings.MediaKinds)])
			}},
		}
		start := make(chan struct{})
		errs := make(chan error, len(writers)*rounds)
		var wg sync.WaitGroup
		for _, w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := 1; i <= rounds; i++ {
					var body map[string]json.RawMessage
					if err := json.Unmarshal([]byte(w.body(i)), &body); err != nil {
						errs <- err
						return
					}
					if err := w.svc.Patch(ctx, body); err != nil {
						errs <- fmt.Errorf("%s: %w", w.body(i), err)
					}
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if t.Failed() {
			t.FailNow()
		}

		want := settings.Defaults()
		want.HeartbeatInterval = 100 + rounds
		want.Webhooks.URL = fmt.Sprintf("https://a.example/%d", rounds)
		want.UnhealthyInterval = 200 + rounds
		want.Media.AutoDownload = []string{settings.MediaKinds[rounds%len(settings.MediaKinds)]}
		if v := version(t, s1); v != int64(len(writers)*rounds) {
			t.Fatalf("version = %d after %d writes: an update was lost or doubled", v, len(writers)*rounds)
		}
		for _, svc := range []*settings.Service{a, b} {
			mustRefresh(t, svc)
			expectCurrent(t, svc, want)
		}
		expectCurrent(t, newService(t, storetest.OpenConfig(t, cfg)), want)
	})
}

// TestServiceListenerOrder races a node's Refresh against its own PATCHes
// while another node writes: whatever the interleaving, the last value a
// listener receives must be the value in force, never an older one.
func TestServiceListenerOrder(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		a := newService(t, storetest.OpenConfig(t, cfg))
		b := newService(t, storetest.OpenConfig(t, cfg))
		var mu sync.Mutex
		var last settings.Application
		a.OnChange(func(app settings.Application) {
			mu.Lock()
			last = app
			mu.Unlock()
		})
		const rounds, perRound = 5, 4 // perRound < 10: retries never run out
		for r := 0; r < rounds; r++ {
			errs := make(chan error, 2*perRound+1)
			write := func(svc *settings.Service, key string) {
				for i := 1; i <= perRound; i++ {
					body := map[string]json.RawMessage{key: json.RawMessage(fmt.Sprint(r*perRound + i))}
					if err := svc.Patch(ctx, body); err != nil {
						errs <- err
					}
				}
			}
			var writers sync.WaitGroup
			writers.Add(2)
			go func() { defer writers.Done(); write(b, "unhealthy_interval") }() // the other node
			go func() { defer writers.Done(); write(a, "heartbeat_interval") }() // this node
			stop, stopped := make(chan struct{}), make(chan struct{})
			go func() { // this node's refresh loop
				defer close(stopped)
				for {
					select {
					case <-stop:
						return
					default:
					}
					if err := a.Refresh(ctx); err != nil {
						errs <- err
						return
					}
				}
			}()
			writers.Wait()
			close(stop)
			<-stopped
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			mustRefresh(t, a)
			mu.Lock()
			got := last
			mu.Unlock()
			cur := a.Current()
			if cur.HeartbeatInterval != int64((r+1)*perRound) || cur.UnhealthyInterval != int64((r+1)*perRound) {
				t.Fatalf("round %d: Current() = %+v, missing a write", r, cur)
			}
			if !reflect.DeepEqual(got, cur) {
				t.Fatalf("round %d: the last value given to listeners is stale:\n got %+v\nwant %+v", r, got, cur)
			}
		}
	})
}

// signalStore is the real store with a signal after each successful write,
// so a test can tell when a PATCH has reached the database.
type signalStore struct {
	*store.Store
	written chan int64
}

func (s signalStore) PutDocument(ctx context.Context, name string, body []byte, expect int64, now time.Time) (int64, error) {
	v, err := s.Store.PutDocument(ctx, name, body, expect, now)
	if err == nil {
		s.written <- v
	}
	return v, err
}

// TestServiceListenerHeldOpen is the worst interleaving of TestServiceListenerOrder
// made deterministic: a Refresh is inside a listener call (as if descheduled)
// when a local PATCH commits a newer version. The listeners must still get
// the versions in order, one call at a time, and end on the value in force.
func TestServiceListenerHeldOpen(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		ss := signalStore{Store: storetest.OpenConfig(t, cfg), written: make(chan int64, 1)}
		a := newService(t, ss)
		b := newService(t, storetest.OpenConfig(t, cfg))

		entered, release := make(chan struct{}), make(chan struct{})
		var (
			mu           sync.Mutex
			seen         []int64 // heartbeat_interval of each call
			inside, most int
			first        = true
		)
		a.OnChange(func(app settings.Application) {
			mu.Lock()
			inside++
			most = max(most, inside)
			hold := first
			first = false
			mu.Unlock()
			if hold {
				close(entered)
				<-release
				for range 1000 { // let a racing publish run first, if it can
					runtime.Gosched()
				}
			}
			mu.Lock()
			seen = append(seen, app.HeartbeatInterval)
			inside--
			mu.Unlock()
		})

		mustPatch(t, b, `{"heartbeat_interval":11}`) // version 1, made elsewhere
		refreshed := make(chan error, 1)
		go func() { refreshed <- a.Refresh(ctx) }()
		<-entered // a has v1 in place and is inside the listener

		patched := make(chan error, 1)
		go func() { patched <- a.Patch(ctx, decodeBody(t, `{"heartbeat_interval":22}`)) }()
		if v := <-ss.written; v != 2 {
			t.Fatalf("local PATCH wrote version %d, want 2", v)
		}
		close(release)
		if err := <-refreshed; err != nil {
			t.Fatal(err)
		}
		if err := <-patched; err != nil {
			t.Fatal(err)
		}

		if got := a.Current().HeartbeatInterval; got != 22 {
			t.Fatalf("Current().HeartbeatInterval = %d, want 22", got)
		}
		mu.Lock()
		defer mu.Unlock()
		if !reflect.DeepEqual(seen, []int64{11, 22}) {
			t.Errorf("listeners saw heartbeat_interval %v, want [11 22] (older value delivered last)", seen)
		}
		if most != 1 {
			t.Errorf("%d listener calls ran at the same time, want 1", most)
		}
	})
}

func TestServiceRestart(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		first := newService(t, storetest.OpenConfig(t, cfg))
		mustPatch(t, first, typical)
		mustPatch(t, first, `{"media":{"auto_download":[]},"db_garbagecollector_enable":false}`)
		want := typicalResult()
		want.Media.AutoDownload = []string{}
		want.DBGarbageCollectorEnable, want.GarbageCollectorEnable.Messages = false, false
		expectCurrent(t, first, want)

		again := newService(t, storetest.OpenConfig(t, cfg))
		expectCurrent(t, again, want)
		// An empty list stays an empty list through the store and Current.
		raw, err := json.Marshal(again.Current().Media)
		if err != nil {
			t.Fatal(err)
		}
		if string(raw) != `{"auto_download":[]}` {
			t.Fatalf("auto_download after restart renders as %s, want []", raw)
		}

		// The restarted node keeps working on the stored version.
		mustPatch(t, again, `{"pass_through":true}`)
		want.PassThrough = true
		mustRefresh(t, first)
		expectCurrent(t, first, want)
	})
}

// TestServiceStoredDocument covers documents written by other versions or by
// hand: missing fields get their defaults, wa_id is not taken from storage,
// the two GC spellings are made to agree, a corrupt body stops the start.
func TestServiceStoredDocument(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		put := func(version int64, body string) {
			t.Helper()
			if _, err := s.PutDocument(ctx, settings.DocumentName, []byte(body), version, fixedNow); err != nil {
				t.Fatalf("PutDocument: %v", err)
			}
		}

		put(0, `{"heartbeat_interval":9,"wa_id":"15550009999","db_garbagecollector_enable":true,"garbagecollector_enable":{"messages":false},"future_field":1}`)
		want := settings.Defaults()
		want.HeartbeatInterval = 9
		want.GarbageCollectorEnable.Messages, want.DBGarbageCollectorEnable = false, false
		svc := newService(t, s)
		expectCurrent(t, svc, want)

		put(1, `{"media":{"auto_download":null}}`)
		want = settings.Defaults()
		want.Media.AutoDownload = []string{}
		mustRefresh(t, svc)
		expectCurrent(t, svc, want)

		// A PATCH on top of a hand-written document works from its version.
		mustPatch(t, svc, `{"sent_status":true}`)
		want.SentStatus = true
		expectCurrent(t, svc, want)
		if v := version(t, s); v != 3 {
			t.Fatalf("version = %d, want 3", v)
		}

		put(3, `{"heartbeat_interval":"not a number"`)
		if _, err := settings.NewService(ctx, s, settings.PatchRules{}, clock); err == nil {
			t.Fatal("NewService accepted a corrupt stored document")
		}
		if err := svc.Refresh(ctx); err == nil {
			t.Fatal("Refresh accepted a corrupt stored document")
		}
		expectCurrent(t, svc, want) // the last good value stays in force
	})
}

func TestServiceCurrentIsACopy(t *testing.T) {
	svc := newService(t, storetest.Open(t, store.SQLite))
	c := svc.Current()
	c.Media.AutoDownload[0] = "scribbled"
	c.Webhooks.URL = "https://scribbled.example/"
	expectCurrent(t, svc, settings.Defaults())
}

func TestServiceRules(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, store.SQLite)
	strict := newService(t, s)
	lax, err := settings.NewService(ctx, s, settings.PatchRules{AllowHTTPWebhook: true}, clock)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"webhooks":{"url":"http://hooks.internal:8080/wa"}}`
	if err := strict.Patch(ctx, decodeBody(t, body)); err == nil {
		t.Fatal("http webhook accepted without AllowHTTPWebhook")
	}
	mustPatch(t, lax, body)
	if got := lax.Current().Webhooks.URL; got != "http://hooks.internal:8080/wa" {
		t.Fatalf("webhooks.url = %q", got)
	}
}
