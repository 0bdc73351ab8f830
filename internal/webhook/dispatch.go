package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
)

// Outcome writes run on a context detached from the caller's: a delivery
// that got its 200 must be recorded even when shutdown begins that instant.
const outcomeTimeout = 10 * time.Second

// How often Run re-reads the queue size from the table, so the bound sees
// what other nodes queued and delivered.
const recountInterval = 30 * time.Second

const maxLastError = 500

// tracker follows the deliveries one RunOnce (or Run) started.
type tracker struct {
	wg     sync.WaitGroup
	active atomic.Int64
	mu     sync.Mutex
	res    Result
}

func (t *tracker) add(fn func(r *Result)) {
	t.mu.Lock()
	fn(&t.res)
	t.mu.Unlock()
}

func (t *tracker) result() Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.res
}

// RunOnce delivers everything due now: it claims as many batches as there
// are free slots, starts them, claims more as slots free up, and returns when
// nothing due is left and its deliveries have ended. It never sleeps for the
// schedule: retries fall due later and wait for a later call. It may run
// beside Run and other RunOnce calls; the slots are shared.
func (d *Dispatcher) RunOnce(ctx context.Context) (Result, error) {
	tr := &tracker{}
	var err error
	for {
		sig := d.changed()
		started, more, derr := d.dispatch(ctx, tr)
		if derr != nil {
			err = derr
			break
		}
		if more || started > 0 {
			continue
		}
		if tr.active.Load() == 0 && !d.hasPendingWork() {
			break
		}
		select {
		case <-sig:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			break
		}
	}
	tr.wg.Wait()
	if ctx.Err() != nil {
		d.releasePending(ctx)
	}
	d.flushAttempts(ctx)
	return tr.result(), err
}

// Run delivers until ctx ends, then waits for the POSTs under way (they are
// cancelled) and gives back what it held. It wakes on Wake, on a freed slot,
// when its own retries fall due, and every PollInterval for work that other
// nodes queued or left behind.
func (d *Dispatcher) Run(ctx context.Context) {
	tr := &tracker{}
	lastCount := d.o.Now()
	logDone := make(chan struct{})
	go func() { defer close(logDone); d.runAttemptLog(ctx) }()
	defer func() { <-logDone; d.flushAttempts(ctx) }()
	for ctx.Err() == nil {
		sig := d.changed()
		_, more, err := d.dispatch(ctx, tr)
		if err != nil && ctx.Err() == nil {
			d.log.Error("webhook queue claim failed", "err", err)
		}
		if more && err == nil {
			continue
		}
		now := d.o.Now()
		if d.persist && now.Sub(lastCount) >= recountInterval {
			lastCount = now
			if n, err := d.q.count(ctx); err == nil {
				d.queued.Store(n)
			}
		}
		wait := d.o.PollInterval
		if next, ok := d.NextDue(); ok && err == nil && d.canStart() {
			wait = min(wait, max(next.Sub(now), time.Millisecond))
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-sig:
		case <-timer.C:
		}
		timer.Stop()
	}
	tr.wg.Wait()
	d.releasePending(ctx)
}

// concurrency is webhooks.max_concurrent_requests, read on every round so
// a change applies without a restart.
func concurrency(app settings.Application) int {
	if n := app.Webhooks.MaxConcurrentRequests; n > 0 {
		return n
	}
	return 6
}

// canStart reports whether a delivery could start now: a URL and a free slot.
func (d *Dispatcher) canStart() bool {
	app := d.o.Settings()
	if app.Webhooks.URL == "" {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.inFlight < concurrency(app)
}

func (d *Dispatcher) hasPendingWork() bool {
	if d.o.Settings().Webhooks.URL == "" {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending) > 0
}

// dispatch starts what it can: first the batches already claimed, then new
// claims for the free slots. more reports a full claim (more may be due).
// With no URL it does nothing: callbacks wait, and are not dropped for it.
func (d *Dispatcher) dispatch(ctx context.Context, tr *tracker) (started int, more bool, err error) {
	app := d.o.Settings()
	if ctx.Err() != nil {
		return 0, false, ctx.Err()
	}
	if app.Webhooks.URL == "" {
		// Batches claimed before the URL was removed would sit on their
		// lease; give them back so the table shows them waiting.
		d.releasePending(ctx)
		return 0, false, nil
	}
	d.claimMu.Lock()
	defer d.claimMu.Unlock()
	limit := concurrency(app)

	d.mu.Lock()
	for len(d.pending) > 0 && d.inFlight < limit {
		b := d.pending[0]
		d.pending = d.pending[1:]
		d.start(ctx, tr, b, app.Webhooks.URL)
		started++
	}
	free, waiting := limit-d.inFlight, len(d.pending) > 0
	d.mu.Unlock()
	if free <= 0 || waiting {
		return started, false, nil
	}

	now := d.o.Now()
	want := free * d.o.BatchMax
	cbs, err := d.q.claim(ctx, now, want)
	if err != nil {
		return started, false, err
	}
	more = len(cbs) == want
	var live, expired []store.Callback
	for _, cb := range cbs {
		if now.Sub(cb.CreatedAt) > d.o.Horizon {
			expired = append(expired, cb)
		} else {
			live = append(live, cb)
		}
	}
	if len(expired) > 0 {
		d.drop(ctx, tr, expired, now, "past the retry horizon before it could be sent")
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if !more {
		d.due.popThrough(now) // everything due at now was claimed
	}
	for _, b := range makeBatches(live, d.o.BatchMax) {
		if d.inFlight < limit {
			d.start(ctx, tr, b, app.Webhooks.URL)
			started++
		} else {
			d.pending = append(d.pending, b)
		}
	}
	return started, more, nil
}

// start launches one delivery. d.mu is held.
func (d *Dispatcher) start(ctx context.Context, tr *tracker, b batch, url string) {
	d.inFlight++
	tr.active.Add(1)
	tr.wg.Add(1)
	go d.deliver(ctx, tr, b, url)
}

// deliver POSTs one batch and records the outcome for every item in it.
func (d *Dispatcher) deliver(ctx context.Context, tr *tracker, b batch, url string) {
	defer func() {
		d.mu.Lock()
		d.inFlight--
		d.mu.Unlock()
		tr.active.Add(-1)
		d.Wake() // a slot is free
		tr.wg.Done()
	}()
	body := b.body()
	at, began := d.o.Now(), time.Now() // latency is real time even under a test clock
	status, err := d.post(ctx, url, body)
	latency := time.Since(began)
	tr.add(func(r *Result) { r.Posts++ })
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), outcomeTimeout)
	defer cancel()

	if err == nil && status == http.StatusOK {
		d.recordAttempt(b, body, url, at, latency, status, "", time.Time{})
		n := len(b.items)
		if err := d.q.remove(octx, b.ids()); err != nil {
			// The rows stay leased and are sent again when the lease
			// ends: a duplicate, never a loss.
			d.log.Error("webhook delivered but not removed from the queue; it will be sent again", "count", n, "err", err)
			return
		}
		d.queued.Add(-int64(n))
		d.delivered.Add(uint64(n))
		tr.add(func(r *Result) { r.Delivered += n })
		if d.failing.Swap(false) {
			d.log.Info("webhook deliveries succeed again")
		}
		return
	}
	if ctx.Err() != nil {
		// Shutting down: the receiver is not at fault, so no attempt is
		// counted; the items are due again at once for the next run.
		d.recordAttempt(b, body, url, at, latency, status, "cancelled: the node is shutting down", time.Time{})
		d.release(octx, b.items)
		return
	}
	reason := failureReason(status, err)
	if !d.failing.Swap(true) {
		d.log.Warn("webhook delivery failed; retrying with backoff", "reason", reason)
	}
	d.log.Debug("webhook delivery failed", "reason", reason, "items", len(b.items))
	next := d.recordFailure(octx, tr, b.items, reason)
	d.recordAttempt(b, body, url, at, latency, status, reason, next)
}

func failureReason(status int, err error) string {
	var reason string
	if err != nil {
		reason = err.Error()
	} else {
		reason = fmt.Sprintf("HTTP %d", status)
	}
	if len(reason) > maxLastError {
		reason = reason[:maxLastError]
	}
	return reason
}

// retryDelay is the wait before retry n (n = attempts so far, from 1):
// n × callback_backoff_delay_ms, capped at max_callback_backoff_delay_ms,
// and staying at the cap after that.
func retryDelay(attempts int, app settings.Application) time.Duration {
	step := app.CallbackBackoffDelayMs
	if step <= 0 {
		step = settings.Defaults().CallbackBackoffDelayMs
	}
	ceiling := app.MaxCallbackBackoffDelayMs
	if ceiling <= 0 {
		ceiling = settings.Defaults().MaxCallbackBackoffDelayMs
	}
	ms := ceiling
	if int64(attempts) <= ceiling/step { // also keeps attempts×step from overflowing
		ms = int64(attempts) * step
	}
	return time.Duration(ms) * time.Millisecond
}

// recordFailure reschedules each item by its own attempt count, or drops it
// when the next attempt would come after the horizon: no attempt is ever
// made past it. It returns the earliest retry (zero when none is made).
func (d *Dispatcher) recordFailure(ctx context.Context, tr *tracker, items []store.Callback, reason string) time.Time {
	app := d.o.Settings()
	now := d.o.Now()
	var retry, expired []store.Callback
	earliest := time.Time{}
	for _, cb := range items {
		cb.Attempts++
		cb.LastError, cb.FailedAt = reason, now
		cb.NextAttemptAt = now.Add(retryDelay(cb.Attempts, app))
		if cb.NextAttemptAt.Sub(cb.CreatedAt) > d.o.Horizon {
			expired = append(expired, cb)
			continue
		}
		retry = append(retry, cb)
		if earliest.IsZero() || cb.NextAttemptAt.Before(earliest) {
			earliest = cb.NextAttemptAt
		}
	}
	if len(retry) > 0 {
		if err := d.q.reschedule(ctx, retry); err != nil {
			// The lease runs out and the rows are claimed again then.
			d.log.Error("webhook retry not recorded; it is retried when its lease ends", "count", len(retry), "err", err)
		} else {
			d.retried.Add(uint64(len(retry)))
			tr.add(func(r *Result) { r.Retried += len(retry) })
			d.mu.Lock()
			d.due.push(earliest)
			d.mu.Unlock()
		}
	}
	if len(expired) > 0 {
		d.drop(ctx, tr, expired, now, "not delivered within the retry horizon")
	}
	return earliest
}

// drop removes callbacks that ran out of time, one log line each so an
// operator can tell what a receiver missed.
func (d *Dispatcher) drop(ctx context.Context, tr *tracker, cbs []store.Callback, now time.Time, why string) {
	ids := make([]int64, len(cbs))
	for i, cb := range cbs {
		ids[i] = cb.ID
	}
	if err := d.q.remove(ctx, ids); err != nil {
		d.log.Error("webhook callbacks past the horizon not removed", "count", len(cbs), "err", err)
		return
	}
	for _, cb := range cbs {
		d.log.Warn("webhook callback dropped: "+why, "id", cb.ID, "kind", cb.Kind,
			"attempts", cb.Attempts, "age", now.Sub(cb.CreatedAt).Round(time.Second).String(), "last_error", cb.LastError)
	}
	n := len(cbs)
	d.queued.Add(-int64(n))
	d.dropped.Add(uint64(n))
	tr.add(func(r *Result) { r.Dropped += n })
}

// release gives items back unchanged (shutdown, or claimed but never sent).
func (d *Dispatcher) release(ctx context.Context, cbs []store.Callback) {
	if err := d.q.reschedule(ctx, cbs); err != nil && !errors.Is(err, context.Canceled) {
		d.log.Warn("webhook callbacks not released; they are claimed again when their lease ends", "count", len(cbs), "err", err)
	}
}

// releasePending gives back the batches claimed but never started, so a
// restarted node (or another one) need not wait for their lease to end.
func (d *Dispatcher) releasePending(ctx context.Context) {
	d.claimMu.Lock()
	defer d.claimMu.Unlock()
	d.mu.Lock()
	pending := d.pending
	d.pending = nil
	d.mu.Unlock()
	if len(pending) == 0 {
		return
	}
	var cbs []store.Callback
	for _, b := range pending {
		cbs = append(cbs, b.items...)
	}
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), outcomeTimeout)
	defer cancel()
	d.release(octx, cbs)
}
