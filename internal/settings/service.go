package settings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// DocumentName is the stored document holding the application settings.
const DocumentName = "settings.application"

// Store is the storage the settings service needs.
type Store interface {
	GetDocument(ctx context.Context, name string) (store.Document, error)
	PutDocument(ctx context.Context, name string, body []byte, expectVersion int64, now time.Time) (int64, error)
	DocumentVersion(ctx context.Context, name string) (int64, error)
}

// Service keeps the current settings in memory for the hot paths (a send
// reads them on every request) and in the database for every node. A change
// made here is visible at once on this node; other nodes pick it up on their
// next Refresh (the node's watcher calls it when the document's version
// moves, every WABIZ_SETTINGS_REFRESH).
type Service struct {
	store Store
	rules PatchRules
	now   func() time.Time

	current   atomic.Pointer[snapshot]
	writeMu   sync.Mutex // one local writer at a time; other nodes are handled by document versions
	publishMu sync.Mutex // a Refresh and a local write publish one at a time, so listeners see versions in order

	listenMu  sync.Mutex
	listeners []func(Application)
}

type snapshot struct {
	app     Application
	version int64
}

// NewService loads the stored settings (or the defaults on a new database).
func NewService(ctx context.Context, s Store, rules PatchRules, now func() time.Time) (*Service, error) {
	if now == nil {
		now = time.Now
	}
	svc := &Service{store: s, rules: rules, now: now}
	app, version, err := svc.load(ctx)
	if err != nil {
		return nil, err
	}
	svc.current.Store(&snapshot{app: app, version: version})
	return svc, nil
}

// Current returns the settings in force. The caller owns the copy.
func (s *Service) Current() Application { return s.current.Load().app.Clone() }

// OnChange registers fn to run after every change (local or picked up by
// Refresh), with the new settings. Calls come one at a time, in version
// order. fn must not block, nor call Patch, Reset or Refresh.
func (s *Service) OnChange(fn func(Application)) {
	s.listenMu.Lock()
	s.listeners = append(s.listeners, fn)
	s.listenMu.Unlock()
}

// Patch validates and applies a PATCH body. The returned error is an
// *apierr.Error for bad input, anything else for storage failures.
func (s *Service) Patch(ctx context.Context, body map[string]json.RawMessage) error {
	return s.update(ctx, func(cur Application) (Application, error) {
		next, apiErr := Patch(cur, body, s.rules)
		if apiErr != nil {
			return cur, apiErr
		}
		return next, nil
	})
}

// Reset restores the factory defaults.
func (s *Service) Reset(ctx context.Context) error {
	return s.update(ctx, func(Application) (Application, error) { return Defaults(), nil })
}

// update runs a read-modify-write against the stored document, retrying when
// another node wrote in between.
func (s *Service) update(ctx context.Context, change func(Application) (Application, error)) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	for attempt := 0; attempt < 10; attempt++ {
		cur, version, err := s.load(ctx)
		if err != nil {
			return err
		}
		next, err := change(cur)
		if err != nil {
			return err
		}
		body, err := json.Marshal(next)
		if err != nil {
			return err
		}
		newVersion, err := s.store.PutDocument(ctx, DocumentName, body, version, s.now())
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		s.publish(next, newVersion)
		return nil
	}
	return fmt.Errorf("settings: gave up after repeated concurrent updates")
}

// Refresh picks up a change another node made. It reads only the version
// unless something changed.
func (s *Service) Refresh(ctx context.Context) error {
	version, err := s.store.DocumentVersion(ctx, DocumentName)
	if err != nil {
		return err
	}
	if version == s.current.Load().version {
		return nil
	}
	app, version, err := s.load(ctx)
	if err != nil {
		return err
	}
	s.publish(app, version)
	return nil
}

func (s *Service) publish(app Application, version int64) {
	// Held through the listener calls: otherwise a Refresh that swapped in an
	// older version could notify after a newer local write did, leaving
	// listeners on stale settings.
	s.publishMu.Lock()
	defer s.publishMu.Unlock()
	for {
		old := s.current.Load()
		if version <= old.version && old.version != 0 {
			return // a newer version is already in place
		}
		if s.current.CompareAndSwap(old, &snapshot{app: app, version: version}) {
			break
		}
	}
	s.listenMu.Lock()
	listeners := append([]func(Application){}, s.listeners...)
	s.listenMu.Unlock()
	for _, fn := range listeners {
		fn(app.Clone())
	}
}

// load reads the stored settings over the defaults, so a field added by a
// newer version gets its default on an older database.
func (s *Service) load(ctx context.Context) (Application, int64, error) {
	doc, err := s.store.GetDocument(ctx, DocumentName)
	if errors.Is(err, store.ErrNotFound) {
		return Defaults(), 0, nil
	}
	if err != nil {
		return Application{}, 0, err
	}
	app, err := decodeDocument(doc.Body)
	if err != nil {
		return Application{}, 0, err
	}
	return app, doc.Version, nil
}

func decodeDocument(body []byte) (Application, error) {
	app := Defaults()
	if err := json.Unmarshal(body, &app); err != nil {
		return Application{}, fmt.Errorf("settings: stored document is corrupt: %w", err)
	}
	if app.Media.AutoDownload == nil { // stored as null by hand: render as []
		app.Media.AutoDownload = []string{}
	}
	app.WaID = ""
	app.DBGarbageCollectorEnable = app.GarbageCollectorEnable.Messages
	return app, nil
}

// CheckDocument reports whether body is a settings document that loads and
// holds only values PATCH accepts under rules. A restore checks the
// settings of a backup with it before writing them: the document is the
// backup's to choose, and a value no PATCH could set (a wrong type, a
// concurrency of 0) would otherwise stop the server at its next start or
// break webhook delivery.
func CheckDocument(body []byte, rules PatchRules) error {
	app, err := decodeDocument(body)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(app)
	if err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return err
	}
	if _, perr := Patch(Defaults(), fields, rules); perr != nil {
		return perr
	}
	return nil
}
