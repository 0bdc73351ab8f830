package auth

import (
	"sync"
	"time"
)

// Limiter counts events per key in fixed windows, as the Webapp's per-process
// counters did (30 bad logins per hour per IP, 10 health checks per minute).
// Counters live in memory: each node limits on its own, like the original.
type Limiter struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	windows map[string]*window
	sweepAt time.Time
}

type window struct {
	start time.Time
	count int
}

// NewLimiter allows limit events per window per key. A limit of 0 disables it.
func NewLimiter(limit int, per time.Duration, now func() time.Time) *Limiter {
	return &Limiter{limit: limit, window: per, now: now, windows: map[string]*window{}}
}

// Exceeded reports whether key has already used its allowance.
func (l *Limiter) Exceeded(key string) bool {
	if l.limit <= 0 {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.current(key)
	return w != nil && w.count >= l.limit
}

// Add records one event for key.
func (l *Limiter) Add(key string) {
	if l.limit <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.current(key)
	if w == nil {
		w = &window{start: l.now()}
		l.windows[key] = w
	}
	w.count++
}

// Allow records one event and reports whether it was within the limit.
func (l *Limiter) Allow(key string) bool {
	if l.limit <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.current(key)
	if w == nil {
		w = &window{start: l.now()}
		l.windows[key] = w
	}
	if w.count >= l.limit {
		return false
	}
	w.count++
	return true
}

// Release gives back one event recorded by Allow in key's current window:
// a caller that must count an attempt before knowing its outcome (so that
// parallel attempts cannot pass the limit together) returns the ones that
// turn out not to count.
func (l *Limiter) Release(key string) {
	if l.limit <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := l.current(key); w != nil && w.count > 0 {
		w.count--
	}
}

// current returns key's live window, dropping it (and, now and then, every
// other stale one, so an attacker rotating IPs cannot grow the map forever)
// once it has ended. Callers hold mu.
func (l *Limiter) current(key string) *window {
	now := l.now()
	if now.After(l.sweepAt) {
		for k, w := range l.windows {
			if now.Sub(w.start) >= l.window {
				delete(l.windows, k)
			}
		}
		l.sweepAt = now.Add(l.window)
	}
	w := l.windows[key]
	if w != nil && now.Sub(w.start) >= l.window {
		delete(l.windows, key)
		return nil
	}
	return w
}
