package core

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/wabiz/wabiz/internal/store"
)

// TestOutboxSenderKeepsEachRecipientsOrder: one recipient's messages go out
// one after another in claim order while another recipient is not held up,
// a message claimed again while in flight is not sent twice, and a failure
// stops only its recipient's later messages (they stay leased).
func TestOutboxSenderKeepsEachRecipientsOrder(t *testing.T) {
	var (
		mu      sync.Mutex
		order   = map[string][]string{}
		release = make(chan struct{})
		started = make(chan string, 10)
	)
	deliver := func(_ context.Context, m store.OutboxMessage) error {
		started <- m.ID
		if m.ID == "a1" {
			<-release // the first message of A is slow
		}
		mu.Lock()
		order[m.Recipient] = append(order[m.Recipient], m.ID)
		mu.Unlock()
		if m.ID == "c1" {
			return errors.New("database gone")
		}
		return nil
	}
	msg := func(id, to string) store.OutboxMessage { return store.OutboxMessage{ID: id, Recipient: to} }
	s := newOutboxSender(deliver)
	ctx := context.Background()
	if n := s.add(ctx, []store.OutboxMessage{msg("a1", "A"), msg("b1", "B"), msg("a2", "A")}); n != 3 {
		t.Fatalf("added %d, want 3", n)
	}
	// B finishes while A's first message is still under way.
	for seen := map[string]bool{}; !seen["a1"] || !seen["b1"]; {
		seen[<-started] = true
	}
	// Claimed again (its lease ran out while it waited): not sent twice.
	if n := s.add(ctx, []store.OutboxMessage{msg("a2", "A"), msg("a3", "A"), msg("c1", "C"), msg("c2", "C")}); n != 3 {
		t.Fatalf("added %d, want 3 (a2 is already in flight)", n)
	}
	close(release)
	s.wait()
	if want := []string{"a1", "a2", "a3"}; !slices.Equal(order["A"], want) {
		t.Errorf("A got %v, want %v", order["A"], want)
	}
	if want := []string{"b1"}; !slices.Equal(order["B"], want) {
		t.Errorf("B got %v, want %v", order["B"], want)
	}
	if want := []string{"c1"}; !slices.Equal(order["C"], want) {
		t.Errorf("C got %v, want %v (c2 waits for its lease after c1 failed)", order["C"], want)
	}
	if err := s.takeError(); err == nil || err.Error() != "database gone" {
		t.Errorf("error %v, want the failure of c1", err)
	}
	if n := s.count(); n != 0 {
		t.Errorf("%d messages still counted in flight", n)
	}
	// c2 is free to be claimed again and is sent.
	if n := s.add(ctx, []store.OutboxMessage{msg("c2", "C")}); n != 1 {
		t.Fatalf("added %d, want 1", n)
	}
	s.wait()
	if want := []string{"c1", "c2"}; !slices.Equal(order["C"], want) {
		t.Errorf("C got %v, want %v", order["C"], want)
	}
}
