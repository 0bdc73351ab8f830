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
