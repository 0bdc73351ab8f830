package retention

import (
	"context"
	"time"

	"github.com/wabiz/wabiz/internal/periodic"
)

// Intervals of the automatic collections.
const (
	dailyInterval       = 24 * time.Hour
	passThroughInterval = time.Minute
	// firstDailyRun waits after start so that a restart loop does not
	// turn into a collection loop.
	firstDailyRun = 10 * time.Minute
)

// Run drives the automatic collections until ctx ends: message and media GC
// once a day when garbagecollector_enable.messages / .media (or the older
// db_garbagecollector_enable for messages) say so, read at each run, and the
// pass_through sweep every minute.
func (c *Collector) Run(ctx context.Context) {
	go func() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(firstDailyRun):
		}
		c.RunDaily(ctx)
		periodic.Every(ctx, dailyInterval, c.RunDaily)
	}()
	periodic.Every(ctx, passThroughInterval, func(ctx context.Context) {
		if n, err := c.SweepPassThrough(ctx); err != nil && ctx.Err() == nil {
			c.o.Log.Warn("pass_through sweep failed", "err", err)
		} else if n > 0 {
			c.o.Log.Debug("pass_through removed delivered messages", "count", n)
		}
	})
}

// RunDaily is one automatic round: each collection the settings enable,
// logged, not notified (nobody asked for it).
func (c *Collector) RunDaily(ctx context.Context) {
	a := c.o.Settings()
	if a.GarbageCollectorEnable.Messages && a.DBGarbageCollectorEnable {
		n, err := c.CollectMessages(ctx)
		c.logRound(ctx, Messages, n, err)
	}
	if a.GarbageCollectorEnable.Media {
		n, err := c.CollectMedia(ctx)
		c.logRound(ctx, MediaGC, n, err)
	}
}

func (c *Collector) logRound(ctx context.Context, kind string, n int64, err error) {
	switch {
	case err != nil && ctx.Err() == nil:
		c.o.Log.Warn("automatic garbage collection failed", "collection", kind, "deleted", n, "err", err)
	case err == nil:
		c.o.Log.Info("automatic garbage collection", "collection", kind, "deleted", n)
	}
}
