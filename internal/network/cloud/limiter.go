package cloud

import (
	"context"
	"sync"
	"time"
)

// Limiter is a token bucket: Rate tokens a second, holding at most one
// second's worth, so a quiet number may burst to its per-second limit and
// no more (the Cloud answers 130429 above it). The clock and the wait are
// replaceable so tests never sleep.
type Limiter struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
	// Wait blocks for d or until ctx ends. Tests replace it.
	Wait func(ctx context.Context, d time.Duration) error
}

// NewLimiter builds a full bucket.
func NewLimiter(rate float64, now func() time.Time) *Limiter {
	burst := max(rate, 1)
	return &Limiter{rate: rate, burst: burst, tokens: burst, now: now, Wait: sleep}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Reserve takes a token and says how long the caller must wait before
// using it (0: now). Tokens taken in advance make later callers wait
// longer, so concurrent senders queue in order.
func (l *Limiter) Reserve() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.last.IsZero() && now.After(l.last) {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	if l.last.IsZero() || now.After(l.last) {
		l.last = now
	}
	l.tokens--
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens / l.rate * float64(time.Second))
}

// SetRate changes the rate, keeping one second's worth as the burst: a
// core node's share of the deployment's rate changes as core nodes join and
// leave (Network.SetShare). Tokens above the new burst are dropped, so a
// lowered share takes effect at once.
func (l *Limiter) SetRate(rate float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rate <= 0 || rate == l.rate {
		return
	}
	now := l.now()
	if !l.last.IsZero() && now.After(l.last) {
		// What was earned so far, at the old rate.
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
		l.last = now
	}
	l.rate, l.burst = rate, max(rate, 1)
	l.tokens = min(l.tokens, l.burst)
}

// Rate is the tokens a second the limiter gives now.
func (l *Limiter) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rate
}

// Take waits for a token.
func (l *Limiter) Take(ctx context.Context) error {
	if d := l.Reserve(); d > 0 {
		return l.Wait(ctx, d)
	}
	return nil
}
