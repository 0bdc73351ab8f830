package store_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

var callbackT0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func callbackIDs(cbs []store.Callback) []int64 {
	ids := make([]int64, len(cbs))
	for i, cb := range cbs {
		ids[i] = cb.ID
	}
	return ids
}

func callbackPayloads(cbs []store.Callback) []string {
	out := make([]string, len(cbs))
	for i, cb := range cbs {
		out[i] = string(cb.Payload)
	}
	return out
}

func TestCallbackClaimDueTimeOrderLimitAndLease(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		const lease = 30 * time.Second
		// Inserted out of due order, to see the claim sort by due time.
		var cbs []store.Callback
		for i, offset := range []time.Duration{0, -2 * time.Second, time.Second, -time.Second, 1500 * time.Millisecond} {
			cbs = append(cbs, store.Callback{
				Kind:          "statuses",
				Payload:       fmt.Appendf(nil, `{"statuses":[{"n":%d}]}`, i),
				NextAttemptAt: callbackT0.Add(offset),
				CreatedAt:     callbackT0.Add(-time.Minute),
			})
		}
		if err := s.EnqueueCallbacks(ctx, cbs); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountCallbacks(ctx); err != nil || n != 5 {
			t.Fatalf("count %d %v", n, err)
		}
		got, err := s.ClaimCallbacks(ctx, "node-a", callbackT0, lease, 2)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{`{"statuses":[{"n":1}]}`, `{"statuses":[{"n":3}]}`}; !slices.Equal(callbackPayloads(got), want) {
			t.Fatalf("first claim %v, want %v", callbackPayloads(got), want)
		}
		first := got[0]
		if first.Kind != "statuses" || first.Attempts != 0 || first.LastError != "" ||
			!first.NextAttemptAt.Equal(callbackT0.Add(-2*time.Second)) || !first.CreatedAt.Equal(callbackT0.Add(-time.Minute)) {
			t.Fatalf("claimed row %+v", first)
		}
		// The leased rows are not handed out again; the rest that is due is.
		got, err = s.ClaimCallbacks(ctx, "node-b", callbackT0, lease, 10)
		if err != nil || !slices.Equal(callbackPayloads(got), []string{`{"statuses":[{"n":0}]}`}) {
			t.Fatalf("second claim %v %v", callbackPayloads(got), err)
		}
		if got, err = s.ClaimCallbacks(ctx, "node-b", callbackT0.Add(time.Second), lease, 10); err != nil || len(got) != 1 {
			t.Fatalf("claim at +1s: %v %v", callbackPayloads(got), err)
		}
		if got, err = s.ClaimCallbacks(ctx, "node-b", callbackT0.Add(lease-time.Millisecond), lease, 10); err != nil || len(got) != 1 {
			t.Fatalf("claim before the leases end: %v %v (want only n=4)", callbackPayloads(got), err)
		}
		// The first leases ran out (their holder crashed): claimed again.
		got, err = s.ClaimCallbacks(ctx, "node-c", callbackT0.Add(lease), lease, 10)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{`{"statuses":[{"n":1}]}`, `{"statuses":[{"n":3}]}`, `{"statuses":[{"n":0}]}`}; !slices.Equal(callbackPayloads(got), want) {
			t.Fatalf("reclaim after lease %v, want %v", callbackPayloads(got), want)
		}
		if got, err := s.ClaimCallbacks(ctx, "node-a", callbackT0, lease, 0); err != nil || len(got) != 0 {
			t.Fatalf("limit 0: %v %v", got, err)
		}
	})
}

func TestCallbackRescheduleAndDelete(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		const lease = time.Minute
		cbs := make([]store.Callback, 3)
		for i := range cbs {
			cbs[i] = store.Callback{Kind: "errors", Payload: []byte(`{"errors":[]}`), NextAttemptAt: callbackT0, CreatedAt: callbackT0}
		}
		if err := s.EnqueueCallbacks(ctx, cbs); err != nil {
			t.Fatal(err)
		}
		got, err := s.ClaimCallbacks(ctx, "node-a", callbackT0, lease, 10)
		if err != nil || len(got) != 3 {
			t.Fatalf("claim %d %v", len(got), err)
		}
		// A failed attempt releases the lease at once: due again at its new
		// time, not only when the lease would have run out.
		retry := got[0]
		retry.Attempts, retry.NextAttemptAt, retry.LastError = 1, callbackT0.Add(3*time.Second), "HTTP 500"
		if err := s.RescheduleCallbacks(ctx, []store.Callback{retry}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.ClaimCallbacks(ctx, "node-b", callbackT0.Add(3*time.Second-time.Millisecond), lease, 10); err != nil || len(got) != 0 {
			t.Fatalf("claimed before due: %v %v", callbackIDs(got), err)
		}
		again, err := s.ClaimCallbacks(ctx, "node-b", callbackT0.Add(3*time.Second), lease, 10)
		if err != nil || len(again) != 1 {
			t.Fatalf("claim after reschedule: %d %v", len(again), err)
		}
		if a := again[0]; a.ID != retry.ID || a.Attempts != 1 || a.LastError != "HTTP 500" || !a.NextAttemptAt.Equal(retry.NextAttemptAt) {
			t.Fatalf("rescheduled row %+v", a)
		}
		if err := s.DeleteCallbacks(ctx, []int64{got[1].ID, got[2].ID}); err != nil {
			t.Fatal(err)
		}
		// Deleting what is already gone is not an error (another node
		// delivered a row whose lease had run out).
		if err := s.DeleteCallbacks(ctx, []int64{got[1].ID, 999999}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountCallbacks(ctx); err != nil || n != 1 {
			t.Fatalf("count after delete %d %v", n, err)
		}
		if err := s.DeleteCallbacks(ctx, nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCallbackConcurrentClaimersNeverShareARow(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		const total, claimers = 300, 4
		seed := storetest.OpenConfig(t, cfg)
		cbs := make([]store.Callback, total)
		for i := range cbs {
			cbs[i] = store.Callback{Kind: "statuses", Payload: fmt.Appendf(nil, `{"statuses":[{"n":%d}]}`, i), NextAttemptAt: callbackT0, CreatedAt: callbackT0}
		}
		if err := seed.EnqueueCallbacks(ctx, cbs); err != nil {
			t.Fatal(err)
		}
		// Several processes: one Store (connection pool) each.
		stores := make([]*store.Store, claimers)
		for i := range stores {
			stores[i] = storetest.OpenConfig(t, cfg)
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			seen = map[int64]string{}
			errs []error
		)
		for i, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := fmt.Sprintf("node-%d", i)
				for {
					got, err := s.ClaimCallbacks(ctx, owner, callbackT0, time.Hour, 7)
					if err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, cb := range got {
						if prev, dup := seen[cb.ID]; dup {
							errs = append(errs, fmt.Errorf("row %d claimed by %s and %s", cb.ID, prev, owner))
						}
						seen[cb.ID] = owner
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			t.Error(err)
		}
		if len(seen) != total {
			t.Fatalf("%d rows claimed, want %d", len(seen), total)
		}
	})
}

func TestCallbackLargePayloadsAndManyRows(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		// 200 KB is over MySQL's TEXT; twelve of them span several INSERT
		// statements (1 MiB each at most), 1,200 small rows span several too.
		big := bytes.Repeat([]byte("x"), 200_000)
		payload := append(append([]byte(`{"errors":[{"details":"`), big...), `"}]}`...)
		var cbs []store.Callback
		for range 12 {
			cbs = append(cbs, store.Callback{Kind: "errors", Payload: payload, NextAttemptAt: callbackT0, CreatedAt: callbackT0})
		}
		for i := range 1200 {
			cbs = append(cbs, store.Callback{Kind: "statuses", Payload: fmt.Appendf(nil, `{"statuses":[{"n":%d}]}`, i),
				NextAttemptAt: callbackT0.Add(time.Second), CreatedAt: callbackT0})
		}
		if err := s.EnqueueCallbacks(ctx, cbs); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountCallbacks(ctx); err != nil || n != int64(len(cbs)) {
			t.Fatalf("count %d %v", n, err)
		}
		got, err := s.ClaimCallbacks(ctx, "node-a", callbackT0, time.Minute, 100)
		if err != nil || len(got) != 12 {
			t.Fatalf("claim big: %d %v", len(got), err)
		}
		for _, cb := range got {
			if !bytes.Equal(cb.Payload, payload) {
				t.Fatalf("payload came back with %d bytes, want %d", len(cb.Payload), len(payload))
			}
		}
		got, err = s.ClaimCallbacks(ctx, "node-a", callbackT0.Add(time.Second), time.Minute, 2000)
		if err != nil || len(got) != 1200 {
			t.Fatalf("claim small: %d %v", len(got), err)
		}
		// Same due time: insertion order.
		for i, cb := range got {
			if want := fmt.Sprintf(`{"statuses":[{"n":%d}]}`, i); string(cb.Payload) != want {
				t.Fatalf("row %d is %s, want %s", i, cb.Payload, want)
			}
		}
		if err := s.DeleteCallbacks(ctx, callbackIDs(got)); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountCallbacks(ctx); err != nil || n != 12 {
			t.Fatalf("count after deleting 1200: %d %v", n, err)
		}
	})
}

// TestReleaseCallbackClaims gives back exactly the rows of the named claims:
// same owner, same lease end.
func TestReleaseCallbackClaims(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		var cbs []store.Callback
		for i := range 3 {
			cbs = append(cbs, store.Callback{Kind: "statuses", Payload: []byte(fmt.Sprintf(`{"statuses":[{"id":"%d"}]}`, i)),
				NextAttemptAt: callbackT0, CreatedAt: callbackT0})
		}
		if err := s.EnqueueCallbacks(ctx, cbs); err != nil {
			t.Fatal(err)
		}
		claim := func(owner string, at, lease time.Duration, limit int) []store.Callback {
			t.Helper()
			got, err := s.ClaimCallbacks(ctx, owner, callbackT0.Add(at), lease, limit)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		claim("node-a", 0, time.Minute, 1)                  // lease ends at T0+1m
		claim("node-a", time.Millisecond, time.Minute, 1)   // at T0+1m+1ms
		claim("node-b", 2*time.Millisecond, time.Minute, 1) // another owner
		n, err := s.ReleaseCallbackClaims(ctx, "node-a", []time.Time{callbackT0.Add(time.Minute)})
		if err != nil || n != 1 {
			t.Fatalf("released %d, %v; want 1", n, err)
		}
		if got := claim("node-c", 3*time.Millisecond, time.Minute, 10); len(got) != 1 {
			t.Fatalf("after the release another node claimed %d callbacks, want the 1 released", len(got))
		}
	})
}

// TestCallbacksAtLeast: the bounded count answers at the bound and below
// it, leased rows included, on every engine.
func TestCallbacksAtLeast(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		at := func(n int, want bool) {
			t.Helper()
			if got, err := s.CallbacksAtLeast(ctx, n); err != nil || got != want {
				t.Fatalf("CallbacksAtLeast(%d) = %v, %v; want %v", n, got, err, want)
			}
		}
		at(1, false)
		cbs := make([]store.Callback, 3)
		for i := range cbs {
			cbs[i] = store.Callback{Kind: "statuses", Payload: []byte(`{"statuses":[]}`), NextAttemptAt: callbackT0, CreatedAt: callbackT0}
		}
		if err := s.EnqueueCallbacks(ctx, cbs); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ClaimCallbacks(ctx, "node", callbackT0, time.Minute, 1); err != nil {
			t.Fatal(err)
		}
		at(3, true)
		at(4, false)
	})
}

// BenchmarkCallbacksAtLeast is the web node's 1016 check against a queue
// of 100,000 callbacks on SQLite, asked at the default bound (all rows
// counted) and at a bound of 100 (docs/decisions.md).
func BenchmarkCallbacksAtLeast(b *testing.B) {
	ctx := context.Background()
	s := storetest.Open(b, store.SQLite)
	const queued = 100_000
	batch := make([]store.Callback, 1000)
	for i := range batch {
		batch[i] = store.Callback{Kind: "statuses", Payload: []byte(`{"statuses":[{"id":"x","status":"sent"}]}`), NextAttemptAt: callbackT0, CreatedAt: callbackT0}
	}
	for range queued / len(batch) {
		if err := s.EnqueueCallbacks(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	for _, bound := range []int{100_000, 100} {
		b.Run(fmt.Sprint("bound=", bound), func(b *testing.B) {
			for b.Loop() {
				if full, err := s.CallbacksAtLeast(ctx, bound); err != nil || !full {
					b.Fatal(full, err)
				}
			}
		})
	}
}
