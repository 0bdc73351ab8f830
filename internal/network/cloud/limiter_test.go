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
