// Package retention is how long wabiz keeps messages and media, and the
// garbage collection that enforces it (spec §11): message GC removes
// finished outbound messages and inbound messages past the 7-day
// retention; media GC removes media nobody used for 30 days; the
// pass_through sweep removes outbound messages soon after they are read.
//
// A collection asked for through the API (PUT /v1/services/{message,media}/gc)
// runs in the background and reports on the webhook as a "services"
// notification; the automatic daily collections only log.
package retention

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/metrics"
	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/webhook"
)

// Retention periods (spec: messages 7 days, media unused for 30 days).
const (
	MessageRetention = 7 * 24 * time.Hour
	MediaRetention   = 30 * 24 * time.Hour
	// PassThroughDeliveredGrace keeps a delivered message for a day under
	// pass_through, so that its read receipt still finds it.
	PassThroughDeliveredGrace = 24 * time.Hour
)

// Store is the storage the collectors delete from.
type Store interface {
	DeleteFinishedOutbox(ctx context.Context, before time.Time, limit int) (int64, error)
	DeletePassThroughOutbox(ctx context.Context, deliveredBefore time.Time, limit int) (int64, error)
	DeleteInboundBefore(ctx context.Context, before time.Time, limit int) (int64, error)
	ListMediaUnusedSince(ctx context.Context, cutoff time.Time, limit int) ([]store.Media, error)
}

// Media deletes one media, row and file.
type Media interface {
	Delete(ctx context.Context, id string) error
}

// Hooks is the webhook queue the completion notifications go to.
type Hooks interface {
	Enqueue(ctx context.Context, items ...webhook.Notification) error
}

// Options configure a Collector.
type Options struct {
	Store    Store
	Media    Media // nil: no media volume, media GC deletes nothing
	Hooks    Hooks
	Settings func() settings.Application
	Log      *slog.Logger
	Now      func() time.Time
	// BatchSize is how many rows one statement deletes (1000).
	BatchSize int
}

// Kinds of collection.
const (
	Messages = "message"
	MediaGC  = "media"
)

// Collector runs the collections.
type Collector struct {
	o       Options
	base    context.Context // background runs outlive the request that started them
	running [2]atomic.Bool  // messages, media: one run of each at a time
	wg      sync.WaitGroup
}

// New builds a collector. ctx bounds the background runs started by StartGC.
func New(ctx context.Context, o Options) *Collector {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	return &Collector{o: o, base: ctx}
}

// ErrUnknownKind is returned by StartGC for anything but "message" or "media".
var ErrUnknownKind = errors.New("gc: unknown collection")

// StartGC begins a collection of kind in the background and returns at once;
// its result goes to the webhook. A request while the same collection runs
// joins it: the running one reports, as the spec's "run repeatedly on large
// databases" expects nothing more.
func (c *Collector) StartGC(kind string) error {
	i, ok := kindIndex(kind)
	if !ok {
		return ErrUnknownKind
	}
	if !c.running[i].CompareAndSwap(false, true) {
		return nil
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.running[i].Store(false)
		c.runAndNotify(c.base, kind)
	}()
	return nil
}

// Wait blocks until the background runs started so far are over (tests,
// shutdown).
func (c *Collector) Wait() { c.wg.Wait() }

func kindIndex(kind string) (int, bool) {
	switch kind {
	case Messages:
		return 0, true
	case MediaGC:
		return 1, true
	}
	return 0, false
}

func (c *Collector) runAndNotify(ctx context.Context, kind string) {
	var (
		n   int64
		err error
	)
	result := map[string]any{}
	if kind == Messages {
		n, err = c.CollectMessages(ctx)
		result["messages_deleted"] = n
	} else {
		n, err = c.CollectMedia(ctx)
		result["items_deleted"] = n
	}
	result["status"] = "complete"
	if err != nil {
		c.o.Log.Error("garbage collection failed", "collection", kind, "deleted", n, "err", err)
		result["status"] = "failed"
		details := "Could not delete messages"
		if kind == MediaGC {
			details = "Could not delete media files"
		}
		result["errors"] = []map[string]any{{"code": 1014, "details": details}}
	} else {
		c.o.Log.Info("garbage collection complete", "collection", kind, "deleted", n)
	}
	payload, _ := json.Marshal(map[string]any{"services": []any{map[string]any{kind: map[string]any{"gc": result}}}})
	if err := c.o.Hooks.Enqueue(ctx, webhook.Notification{Kind: webhook.KindServices, Payload: payload}); err != nil {
		c.o.Log.Warn("could not queue the garbage collection notification", "collection", kind, "err", err)
	}
}

// CollectMessages deletes finished outbound messages (delivered, read,
// failed) last changed more than 7 days ago and inbound messages received
// more than 7 days ago. Queued and sent messages stay: their TTL (at most
// 30 days) fails them first.
func (c *Collector) CollectMessages(ctx context.Context) (int64, error) {
	cutoff := c.o.Now().Add(-MessageRetention)
	out, err := c.drain(ctx, "gc_outbox", "outbox", func(ctx context.Context) (int64, error) {
		return c.o.Store.DeleteFinishedOutbox(ctx, cutoff, c.o.BatchSize)
	})
	if err != nil {
		return out, err
	}
	in, err := c.drain(ctx, "gc_inbound", "inbound", func(ctx context.Context) (int64, error) {
		return c.o.Store.DeleteInboundBefore(ctx, cutoff, c.o.BatchSize)
	})
	return out + in, err
}

// SweepPassThrough is pass_through's deletion: read and failed messages at
// once, delivered ones after a day. It does nothing unless the setting is on.
func (c *Collector) SweepPassThrough(ctx context.Context) (int64, error) {
	if c.o.Settings == nil || !c.o.Settings().PassThrough {
		return 0, nil
	}
	cutoff := c.o.Now().Add(-PassThroughDeliveredGrace)
	return c.drain(ctx, "gc_pass_through", "pass_through", func(ctx context.Context) (int64, error) {
		return c.o.Store.DeletePassThroughOutbox(ctx, cutoff, c.o.BatchSize)
	})
}

// CollectMedia deletes media (row, then file) not used for 30 days.
func (c *Collector) CollectMedia(ctx context.Context) (int64, error) {
	if c.o.Media == nil {
		return 0, nil
	}
	cutoff := c.o.Now().Add(-MediaRetention)
	var total int64
	for {
		start := time.Now()
		list, err := c.o.Store.ListMediaUnusedSince(ctx, cutoff, c.o.BatchSize)
		metrics.DBQueryDuration.WithLabelValues("gc_media_list").Observe(time.Since(start).Seconds())
		if err != nil {
			return total, err
		}
		for _, m := range list {
			// Another node or a DELETE /v1/media may have taken it: not ours to count.
			if err := c.o.Media.Delete(ctx, m.ID); err != nil && !errors.Is(err, media.ErrNotFound) {
				return total, err
			} else if err == nil {
				total++
				metrics.GCDeleted.WithLabelValues("media").Inc()
			}
		}
		if len(list) < c.o.BatchSize {
			return total, nil
		}
	}
}

// drain repeats one batch deletion until a batch comes back short.
func (c *Collector) drain(ctx context.Context, query, kind string, batch func(context.Context) (int64, error)) (int64, error) {
	var total int64
	for {
		start := time.Now()
		n, err := batch(ctx)
		metrics.DBQueryDuration.WithLabelValues(query).Observe(time.Since(start).Seconds())
		total += n
		metrics.GCDeleted.WithLabelValues(kind).Add(float64(n))
		if err != nil || n < int64(c.o.BatchSize) {
			return total, err
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}
