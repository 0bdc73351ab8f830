// Package docwatch makes a change made through one node take effect on
// every node: the parts that keep a stored document applied in memory (the
// settings, the served TLS certificate, the webhook CA bundle) register a
// reload, and every node reads the versions of all watched documents in one
// query once a pass and calls the reload of each owner whose documents
// moved. A polled version works on every engine and costs one indexed read
// per node per pass, whatever the traffic; requests pay nothing.
package docwatch

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/wabiz/wabiz/internal/periodic"
)

// Versions is the store's read of several documents' versions (0 when a
// document is absent).
type Versions interface {
	DocumentVersions(ctx context.Context, names []string) (map[string]int64, error)
}

// Watcher follows the versions of the documents its owners registered.
type Watcher struct {
	store Versions
	log   *slog.Logger

	mu     sync.Mutex // one pass at a time; guards seen
	owners []owner
	seen   map[string]int64
}

type owner struct {
	what   string
	names  []string
	reload func(context.Context) error
}

// New returns a Watcher with no owners.
func New(s Versions, log *slog.Logger) *Watcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{store: s, log: log, seen: map[string]int64{}}
}

// Watch registers reload to run when any of names changes version; what
// names the owner in logs. Register every owner, then Prime, before the
// owners first load what is stored: a change made while they load is then
// seen by the first pass rather than lost.
func (w *Watcher) Watch(what string, reload func(context.Context) error, names ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.owners = append(w.owners, owner{what: what, names: names, reload: reload})
}

// Prime records the versions in the database as the ones applied.
func (w *Watcher) Prime(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	versions, err := w.store.DocumentVersions(ctx, w.names())
	if err != nil {
		return err
	}
	w.seen = versions
	return nil
}

// Pass reads the versions once and reloads each owner with a moved one. An
// owner whose reload fails keeps its old versions, so the next pass tries
// again. It reports how many owners reloaded.
func (w *Watcher) Pass(ctx context.Context) (reloaded int, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	versions, err := w.store.DocumentVersions(ctx, w.names())
	if err != nil {
		return 0, err
	}
	for _, o := range w.owners {
		moved := false
		for _, name := range o.names {
			moved = moved || versions[name] != w.seen[name]
		}
		if !moved {
			continue
		}
		if err := o.reload(ctx); err != nil {
			if ctx.Err() == nil {
				w.log.Warn("applying a change made through another node failed; retrying at the next pass", "what", o.what, "err", err)
			}
			continue
		}
		for _, name := range o.names {
			w.seen[name] = versions[name]
		}
		reloaded++
	}
	return reloaded, nil
}

// Run makes a pass every interval until ctx ends.
func (w *Watcher) Run(ctx context.Context, interval time.Duration) {
	periodic.Every(ctx, interval, func(ctx context.Context) {
		if _, err := w.Pass(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("reading the versions of the shared documents failed", "err", err)
		}
	})
}

func (w *Watcher) names() []string {
	var names []string
	for _, o := range w.owners {
		names = append(names, o.names...)
	}
	return names
}
