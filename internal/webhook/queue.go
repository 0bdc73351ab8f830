package webhook

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// queue is what the delivery code needs from where callbacks wait: the
// callbacks table (callback_persist=true) or process memory. Both hand out
// due items oldest first and take them back as delivered or rescheduled.
type queue interface {
	add(ctx context.Context, cbs []store.Callback) error
	// claim takes up to limit items due at now; nobody else gets them until
	// they are removed or rescheduled (or, in the table, the lease ends).
	claim(ctx context.Context, now time.Time, limit int) ([]store.Callback, error)
	remove(ctx context.Context, ids []int64) error
	// reschedule writes Attempts, NextAttemptAt and LastError and gives
	// the items back.
	reschedule(ctx context.Context, cbs []store.Callback) error
	count(ctx context.Context) (int64, error)
}

// storeQueue is the durable queue: rows in the callbacks table, leased to
// this node while it delivers them.
type storeQueue struct {
	s     Store
	owner string
	lease time.Duration

	// A claim that fails may still have been committed: the database leased
	// the rows, and the reply was lost when the connection broke. Nobody
	// would deliver those rows until the lease ran out (minutes). So every
	// claim gets a lease end no other claim of this queue has, the lease
	// ends of failed claims are kept, and their rows are given back before
	// the next claim. claim runs under the dispatcher's claimMu.
	lastUntil time.Time
	unsure    []time.Time
}

// maxUnsure bounds the failed claims remembered through a long outage;
// the rows of older ones wait for their lease to run out.
const maxUnsure = 1000

func (q *storeQueue) add(ctx context.Context, cbs []store.Callback) error {
	return q.s.EnqueueCallbacks(ctx, cbs)
}

func (q *storeQueue) claim(ctx context.Context, now time.Time, limit int) ([]store.Callback, error) {
	if len(q.unsure) > 0 {
		if _, err := q.s.ReleaseCallbackClaims(ctx, q.owner, q.unsure); err != nil {
			return nil, err
		}
		q.unsure = nil
	}
	until := now.Add(q.lease).Truncate(time.Millisecond) // the column holds milliseconds
	if !until.After(q.lastUntil) {
		until = q.lastUntil.Add(time.Millisecond)
	}
	q.lastUntil = until
	cbs, err := q.s.ClaimCallbacks(ctx, q.owner, now, until.Sub(now), limit)
	if err != nil {
		if len(q.unsure) == maxUnsure {
			q.unsure = q.unsure[1:]
		}
		q.unsure = append(q.unsure, until)
	}
	return cbs, err
}

func (q *storeQueue) remove(ctx context.Context, ids []int64) error {
	return q.s.DeleteCallbacks(ctx, ids)
}

func (q *storeQueue) reschedule(ctx context.Context, cbs []store.Callback) error {
	return q.s.RescheduleCallbacks(ctx, cbs)
}

func (q *storeQueue) count(ctx context.Context) (int64, error) { return q.s.CountCallbacks(ctx) }

// memoryQueue is callback_persist=false: a heap by due time, lost with the
// process, as on the original. Claimed items leave the heap; nothing can
// crash half-way inside one process, so no lease is needed.
type memoryQueue struct {
	mu      sync.Mutex
	nextID  int64
	waiting callbackHeap
	claimed int64
}

func newMemoryQueue() *memoryQueue { return &memoryQueue{} }

func (q *memoryQueue) add(_ context.Context, cbs []store.Callback) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, cb := range cbs {
		q.nextID++
		cb.ID = q.nextID
		heap.Push(&q.waiting, cb)
	}
	return nil
}

func (q *memoryQueue) claim(_ context.Context, now time.Time, limit int) ([]store.Callback, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []store.Callback
	for len(out) < limit && len(q.waiting) > 0 && !q.waiting[0].NextAttemptAt.After(now) {
		out = append(out, heap.Pop(&q.waiting).(store.Callback))
	}
	q.claimed += int64(len(out))
	return out, nil
}

func (q *memoryQueue) remove(_ context.Context, ids []int64) error {
	q.mu.Lock()
	q.claimed -= int64(len(ids))
	q.mu.Unlock()
	return nil
}

func (q *memoryQueue) reschedule(_ context.Context, cbs []store.Callback) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, cb := range cbs {
		heap.Push(&q.waiting, cb)
	}
	q.claimed -= int64(len(cbs))
	return nil
}

func (q *memoryQueue) count(context.Context) (int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return int64(len(q.waiting)) + q.claimed, nil
}

// callbackHeap orders by due time, then by id (queue order).
type callbackHeap []store.Callback

func (h callbackHeap) Len() int { return len(h) }
func (h callbackHeap) Less(i, j int) bool {
	if c := h[i].NextAttemptAt.Compare(h[j].NextAttemptAt); c != 0 {
		return c < 0
	}
	return h[i].ID < h[j].ID
}
func (h callbackHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *callbackHeap) Push(x any)   { *h = append(*h, x.(store.Callback)) }
func (h *callbackHeap) Pop() any {
	old := *h
	cb := old[len(old)-1]
	old[len(old)-1] = store.Callback{} // let the payload be collected
	*h = old[:len(old)-1]
	return cb
}
