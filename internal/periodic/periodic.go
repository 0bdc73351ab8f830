// Package periodic runs the background loops of a node: a function called
// at a fixed interval until the node stops.
package periodic

import (
	"context"
	"time"
)

// Every calls fn every interval until ctx ends; the first call is one
// interval after the start. A call that takes longer than interval delays
// the next one rather than piling calls up. Every returns when ctx ends.
func Every(ctx context.Context, interval time.Duration, fn func(ctx context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if ctx.Err() != nil {
				return
			}
			fn(ctx)
		}
	}
}

// EveryInterval is Every with an interval read again before each wait, for
// loops whose period is a setting that may change while they run (the
// cluster's heartbeat). A non-positive interval counts as one second.
func EveryInterval(ctx context.Context, interval func() time.Duration, fn func(ctx context.Context)) {
	for ctx.Err() == nil {
		d := interval()
		if d <= 0 {
			d = time.Second
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if ctx.Err() == nil {
			fn(ctx)
		}
	}
}
