package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/sandbox"
	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
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
	passes := map[string][][]string{} // recipient -> the ids of each pass
	deliver := func(_ context.Context, pass []store.OutboxMessage) error {
		var ids []string
		for _, m := range pass {
			ids = append(ids, m.ID)
		}
		mu.Lock()
		passes[pass[0].Recipient] = append(passes[pass[0].Recipient], ids)
		mu.Unlock()
		for _, m := range pass {
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
	// What waited for A while a1 was under way went out in one pass.
	if got, want := passes["A"], [][]string{{"a1", "a2"}, {"a3"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("A's passes %v, want %v (a1 and a2 were claimed together)", got, want)
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

// blockingNetwork holds every send until the test releases it, and counts
// the sends under way.
type blockingNetwork struct {
	network.Network
	release chan struct{}
	started chan struct{} // one value per send that began
	ended   chan struct{} // one value per send released and no longer counted

	mu             sync.Mutex
	inFlight, most int
}

func (n *blockingNetwork) Send(ctx context.Context, _ network.Outgoing) error {
	n.mu.Lock()
	n.inFlight++
	n.most = max(n.most, n.inFlight)
	n.mu.Unlock()
	n.started <- struct{}{}
	<-n.release
	n.mu.Lock()
	n.inFlight--
	n.mu.Unlock()
	n.ended <- struct{}{}
	return nil
}

func (n *blockingNetwork) counts() (inFlight, most int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.inFlight, n.most
}

// TestSendConcurrencyBoundsSendsInFlight: with SendConcurrency k and more
// recipients waiting than that, the outbox loop keeps k sends under way,
// taking up the next message as each one finishes, and never starts a
// k+1st.
func TestSendConcurrencyBoundsSendsInFlight(t *testing.T) {
	t.Parallel()
	const k, total = 5, 23
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := storetest.Open(t, store.SQLite)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	settingsSvc, err := settings.NewService(ctx, st, settings.PatchRules{}, clock)
	if err != nil {
		t.Fatal(err)
	}
	net := &blockingNetwork{Network: sandbox.New(st, clock), release: make(chan struct{}),
		started: make(chan struct{}, total), ended: make(chan struct{})}
	c := New(Options{Store: st, Network: net, Hooks: &refusingHooks{}, Settings: settingsSvc, Now: clock, NodeID: "node-a",
		SendConcurrency: k, Log: slog.New(slog.DiscardHandler)})
	for i := range total {
		// One recipient each: the per-recipient order never holds a send back.
		m := store.OutboxMessage{ID: fmt.Sprintf("m%02d", i), Recipient: fmt.Sprintf("1555000%04d", i), Type: "text",
			Body: []byte(`{"text":{"body":"hi"}}`), Plan: plainPlan, Status: store.OutboxQueued,
			ScheduledAt: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour), UpdatedAt: now}
		if err := st.InsertOutbox(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	c.ready.Store(true)
	done := make(chan struct{})
	go func() { c.runOutbox(ctx); close(done) }()

	// Each time k sends are under way (or all that are left), one is let
	// go: the loop refills the room, and a k+1st send would show in most.
	begun := 0
	for finished := 0; finished < total; finished++ {
		for inFlight, _ := net.counts(); inFlight < min(k, total-finished); inFlight, _ = net.counts() {
			<-net.started
			begun++
		}
		net.release <- struct{}{}
		<-net.ended
	}
	cancel()
	<-done
	// A send may have begun before the loop above looked for its token
	// (the count it waits on had already grown): those are counted here.
	for len(net.started) > 0 {
		<-net.started
		begun++
	}
	if _, most := net.counts(); most != k || begun != total {
		t.Fatalf("at most %d sends in flight (want %d), %d of %d sends begun", most, k, begun, total)
	}
}
