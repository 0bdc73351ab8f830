package cloud

import (
	"context"
	"testing"
	"time"
)

func TestLimiterTokenBucket(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(80, func() time.Time { return now })
	var waited []time.Duration
	l.Wait = func(_ context.Context, d time.Duration) error { waited = append(waited, d); return nil }
	for range 80 {
		if err := l.Take(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(waited) != 0 {
		t.Fatalf("a full bucket made %d callers wait", len(waited))
	}
	l.Take(context.Background())
	l.Take(context.Background())
	if len(waited) != 2 || waited[0] != 12500*time.Microsecond || waited[1] != 25*time.Millisecond {
		t.Fatalf("waits %v, want [12.5ms 25ms]", waited)
	}
	// A second later the bucket has refilled, but not beyond its burst.
	now = now.Add(10 * time.Second)
	waited = nil
	for range 80 {
		l.Take(context.Background())
	}
	if len(waited) != 0 {
		t.Fatalf("after refilling: %v", waited)
	}
	l.Take(context.Background())
	if len(waited) != 1 {
		t.Fatalf("burst above the rate: %v", waited)
	}
}

// TestLimiterSetRate: a node's share changes the rate and the burst at
// once; what was earned at the old rate is kept up to the new burst.
func TestLimiterSetRate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(80, func() time.Time { return now })
	var waited []time.Duration
	l.Wait = func(_ context.Context, d time.Duration) error { waited = append(waited, d); return nil }
	l.SetRate(40) // a second core node joined
	if l.Rate() != 40 {
		t.Fatalf("rate %v, want 40", l.Rate())
	}
	for range 40 {
		l.Take(context.Background())
	}
	if len(waited) != 0 {
		t.Fatalf("the halved bucket made %d of 40 wait", len(waited))
	}
	l.Take(context.Background())
	if len(waited) != 1 || waited[0] != 25*time.Millisecond {
		t.Fatalf("above the share: waits %v, want [25ms]", waited)
	}
	// The other node left a second later: what the second earned at 40
	// a second is there (39, one was owed); the whole rate refills from now.
	now = now.Add(time.Second)
	l.SetRate(80)
	waited = nil
	for range 40 {
		l.Take(context.Background())
	}
	if len(waited) != 1 || waited[0] != 12500*time.Microsecond {
		t.Fatalf("after the rate came back: waits %v, want [12.5ms]", waited)
	}
	now = now.Add(2 * time.Second)
	waited = nil
	for range 80 {
		l.Take(context.Background())
	}
	if len(waited) != 0 {
		t.Fatalf("the bucket did not refill to the whole rate: %v", waited)
	}
}
