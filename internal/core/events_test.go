package core

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network/sandbox"
	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
	"github.com/wabiz/wabiz/internal/webhook"
)

// refusingHooks records the callbacks queued, and fails those that
// mention a message id it is told to.
type refusingHooks struct {
	mu      sync.Mutex
	refuse  map[string]bool
	queued  []string // the inbound message ids, in the order queued
	refused int
}

func (h *refusingHooks) Enqueue(_ context.Context, items ...webhook.Notification) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, it := range items {
		for id := range h.refuse {
			if bytes.Contains(it.Payload, []byte(id)) {
				h.refused++
				return errRefused
			}
		}
	}
	for _, it := range items {
		if it.Kind == webhook.KindMessages {
			h.queued = append(h.queued, string(it.Payload))
		}
	}
	return nil
}

func (h *refusingHooks) Full() bool { return false }

func (h *refusingHooks) FullInTable(context.Context) (bool, error) { return false, nil }

var errRefused = errors.New("callback store failed")

// order says which of ids were queued, in queue order.
func (h *refusingHooks) order(ids ...string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, p := range h.queued {
		for _, id := range ids {
			if bytes.Contains([]byte(p), []byte(id)) {
				out = append(out, id)
			}
		}
	}
	return out
}

// TestFailedEventWaitsWithItsUsersLaterEvents: an event whose handling
// fails is not tried again on the next pass but after a delay that grows
// with its attempts; the user's later message waits behind it, on this
// node and on another one, while other users' messages go on; when the
// delay has passed, the user's messages are handled in the order sent.
func TestFailedEventWaitsWithItsUsersLaterEvents(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		st := storetest.OpenConfig(t, cfg)
		now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		sb := sandbox.New(st, clock)
		settingsSvc, err := settings.NewService(ctx, st, settings.PatchRules{}, clock)
		if err != nil {
			t.Fatal(err)
		}
		hooks := &refusingHooks{refuse: map[string]bool{}}
		node := func(name string) *Core {
			return New(Options{Store: st, Network: sb, Hooks: hooks, Settings: settingsSvc, Now: clock, NodeID: name,
				Log: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))})
		}
		a, b := node("node-a"), node("node-b")
		send := func(user string) string {
			t.Helper()
			id, err := sb.UserSends(ctx, user, sandbox.UserMessage{Type: "text", Content: []byte(`{"text":{"body":"hi"}}`)})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		x1, x2, y1 := send("15550000001"), send("15550000001"), send("15550000002")
		hooks.refuse[x1] = true

		if _, _, err := a.ProcessEvents(ctx); !errors.Is(err, errRefused) {
			t.Fatalf("the failed handling was not reported: %v", err)
		}
		if got := hooks.order(x1, x2, y1); !slices.Equal(got, []string{y1}) {
			t.Fatalf("first pass queued %v, want only %s (x2 waits behind x1)", got, y1)
		}
		// The cause is gone, but the delay has not passed: neither node
		// tries X's messages, and another user's new message goes on.
		delete(hooks.refuse, x1)
		y2 := send("15550000002")
		for _, n := range []*Core{a, b, a} {
			if _, _, err := n.ProcessEvents(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := hooks.order(x1, x2, y1, y2); !slices.Equal(got, []string{y1, y2}) || hooks.refused != 1 {
			t.Fatalf("before the retry delay: queued %v, %d refused", got, hooks.refused)
		}
		now = now.Add(eventRetryDelay(1))
		if seen, _, err := b.ProcessEvents(ctx); err != nil || seen != 2 {
			t.Fatalf("after the delay: %d events, %v", seen, err)
		}
		if got := hooks.order(x1, x2, y1, y2); !slices.Equal(got, []string{y1, y2, x1, x2}) {
			t.Fatalf("queued %v, want X's messages after the delay, in order", got)
		}
		if left, err := st.DueSandboxEvents(ctx, now, 10); err != nil || len(left) != 0 {
			t.Fatalf("events left: %+v %v", left, err)
		}
	})
}

// TestEventRetryDelayGrows: 1 s after the first failure, doubling, at
// most a minute.
func TestEventRetryDelayGrows(t *testing.T) {
	want := map[int]time.Duration{0: time.Second, 1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 6: 32 * time.Second, 7: time.Minute, 50: time.Minute}
	for attempt, d := range want {
		if got := eventRetryDelay(attempt); got != d {
			t.Errorf("attempt %d: %v, want %v", attempt, got, d)
		}
	}
}
