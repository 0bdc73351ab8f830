package webhook

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// The attempt log (Options.Attempts) keeps one row per POST for the
// console. Delivery must not wait for it nor pay a statement per POST: a
// POST's outcome is appended to a buffer, and the buffer is written in one
// multi-row insert every attemptFlushEvery (or when RunOnce ends). It is a
// log, not a record anything depends on: a buffer lost in a crash loses
// lines of the log, never a callback.

// AttemptLog stores attempts (*store.Store).
type AttemptLog interface {
	InsertWebhookAttempts(ctx context.Context, as []store.WebhookAttempt) error
}

const (
	attemptFlushEvery = 250 * time.Millisecond
	// attemptBufferMax bounds the buffer when the database is slow or
	// down: beyond it the oldest unwritten lines are given up.
	attemptBufferMax = 5000
	// attemptBodyMax bounds the body kept per attempt; the console shows
	// it, and a 1 MiB batch per row would make the log the largest table.
	attemptBodyMax = 64 << 10
)

type attemptBuffer struct {
	mu      sync.Mutex
	pending []store.WebhookAttempt
	lost    int
}

// recordAttempt notes one POST's outcome; a no-op without an attempt log.
func (d *Dispatcher) recordAttempt(b batch, body []byte, url string, at time.Time, latency time.Duration, status int, reason string, next time.Time) {
	if d.o.Attempts == nil {
		return
	}
	if len(body) > attemptBodyMax {
		body = append(body[:attemptBodyMax:attemptBodyMax], []byte("…")...)
	}
	a := store.WebhookAttempt{At: at, URL: url, StatusCode: status, Error: reason, Latency: latency, Body: body,
		NextRetryAt: next, Kind: b.kind, Items: len(b.items), MessageIDs: b.messageIDs(), Node: d.o.NodeID}
	d.attempts.mu.Lock()
	if len(d.attempts.pending) >= attemptBufferMax {
		d.attempts.pending = d.attempts.pending[1:]
		d.attempts.lost++
	}
	d.attempts.pending = append(d.attempts.pending, a)
	d.attempts.mu.Unlock()
}

// flushAttempts writes what the buffer holds in one insert.
func (d *Dispatcher) flushAttempts(ctx context.Context) {
	if d.o.Attempts == nil {
		return
	}
	d.attempts.mu.Lock()
	batch, lost := d.attempts.pending, d.attempts.lost
	d.attempts.pending, d.attempts.lost = nil, 0
	d.attempts.mu.Unlock()
	if lost > 0 {
		d.log.Warn("webhook attempt log: lines given up while the database did not take them", "count", lost)
	}
	if len(batch) == 0 {
		return
	}
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), outcomeTimeout)
	defer cancel()
	if err := d.o.Attempts.InsertWebhookAttempts(octx, batch); err != nil {
		d.log.Warn("webhook attempt log not written", "count", len(batch), "err", err)
	}
}

// runAttemptLog flushes the buffer until ctx ends, then once more.
func (d *Dispatcher) runAttemptLog(ctx context.Context) {
	if d.o.Attempts == nil {
		return
	}
	t := time.NewTicker(attemptFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			d.flushAttempts(ctx)
			return
		case <-t.C:
			d.flushAttempts(ctx)
		}
	}
}

// messageIDs are the ids of the statuses and messages a batch carries, so
// the log can be searched by message.
func (b *batch) messageIDs() []string {
	var ids []string
	add := func(arr []json.RawMessage) {
		for _, raw := range arr {
			if id, ok := stringMember(raw, "id"); ok && id != "" {
				ids = append(ids, id)
			}
		}
	}
	for i, cb := range b.items {
		parts := b.parts[i]
		if parts == nil {
			parts = splitArrays(cb.Payload)
		}
		add(parts[KindStatuses])
		add(parts[KindMessages])
	}
	return ids
}
