package periodic

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestEveryCallsUntilTheContextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	done := make(chan struct{})
	go func() {
		Every(ctx, time.Millisecond, func(context.Context) {
			if calls.Add(1) == 3 {
				cancel()
			}
		})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Every did not return after its context ended")
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("calls = %d, want 3 (none after the context ended)", n)
	}
}

func TestEveryReturnsAtOnceOnAnEndedContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	Every(ctx, time.Hour, func(context.Context) { called = true })
	if called {
		t.Fatal("fn was called on an ended context")
	}
}

func TestEveryIntervalReadsTheIntervalBeforeEachWait(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// One read per wait: a changed setting applies from the next wait on.
	var reads atomic.Int32
	interval := func() time.Duration {
		reads.Add(1)
		return time.Millisecond
	}
	var calls atomic.Int32
	done := make(chan struct{})
	go func() {
		EveryInterval(ctx, interval, func(context.Context) {
			if calls.Add(1) == 3 {
				cancel()
			}
		})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("EveryInterval did not return after its context ended")
	}
	if n, r := calls.Load(), reads.Load(); n != 3 || r != 3 {
		t.Fatalf("calls = %d, interval reads = %d; want 3 and 3", n, r)
	}
}
