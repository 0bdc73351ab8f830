package core

import (
	"context"
	"time"
)

// pollInterval bounds how long a loop sleeps when nothing woke it: another
// process may have queued work, or a delayed event may have fallen due.
const pollInterval = 250 * time.Millisecond

// Run drives the core until ctx ends: the outbox worker, the event receiver,
// the template refresh and the connection watch, each an explicit
// goroutine. The work done once per deployment runs in Lead.
func (c *Core) Run(ctx context.Context) {
	done := make(chan struct{}, 2)
	go func() { c.runOutbox(ctx); done <- struct{}{} }()
	go func() {
		c.loop(ctx, "events", c.eventWake, func(ctx context.Context) (int, error) {
			if !c.ready.Load() {
				return 0, nil // start-up receives the offline events itself
			}
			seen, deferred, err := c.ProcessEvents(ctx)
			return seen - deferred, err
		})
		done <- struct{}{}
	}()
	go c.refreshTemplates(ctx)
	go c.watchConnection(ctx)
	if p := c.net.Pending(); p != nil {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-p:
					c.wake(c.eventWake)
				}
			}
		}()
	}
	for range 2 {
		<-done
	}
}

// loop runs step until it finds nothing to do, then waits for a wake-up or
// the poll interval. Errors are logged and retried after a pause.
func (c *Core) loop(ctx context.Context, name string, wake <-chan struct{}, step func(context.Context) (int, error)) {
	for {
		n, err := step(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			c.log.Warn("core loop failed; retrying", "loop", name, "err", err)
		}
		if err == nil && n > 0 {
			continue
		}
		t := time.NewTimer(pollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}
