package core

import (
	"context"
	"encoding/json"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/message"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/sandbox"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// gatedTemplates is a network whose catalogue fetches wait for the gate
// (or their context).
type gatedTemplates struct {
	network.Network
	gate    chan struct{}
	fetches atomic.Int32
}

func (g *gatedTemplates) Templates(ctx context.Context) ([]network.Template, error) {
	g.fetches.Add(1)
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Network.Templates(ctx)
}

// newMissFixture is a core whose network holds the template "welcome" and
// whose catalogue (never loaded) lacks it, and a send of it.
func newMissFixture(t *testing.T) (*Core, *gatedTemplates, *message.Outbound) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { return at }
	st := storetest.OpenConfig(t, storetest.Config(t, store.SQLite))
	sb := sandbox.New(st, now)
	ns, err := sb.Namespace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.AddTemplate(ctx, json.RawMessage(`{"name":"welcome","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"Hello"}]}`)); err != nil {
		t.Fatal(err)
	}
	g := &gatedTemplates{Network: sb, gate: make(chan struct{})}
	c := New(Options{Store: st, Network: g, Log: slog.New(slog.DiscardHandler), Now: now})
	out := &message.Outbound{Type: message.TypeTemplate,
		Template: json.RawMessage(`{"namespace":"` + ns + `","name":"welcome","language":{"policy":"deterministic","code":"en"}}`)}
	return c, g, out
}

// TestSendsMissingAtOnceShareOneReload: sends that miss while a reload
// runs wait for that one and are served from what it loaded.
func TestSendsMissingAtOnceShareOneReload(t *testing.T) {
	t.Parallel()
	c, g, out := newMissFixture(t)
	const sends = 8
	answers := make(chan *apierr.Error, sends)
	for range sends {
		go func() { answers <- c.checkTemplate(context.Background(), out) }()
	}
	// Open the gate only when every send waits for the one reload.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.templates.missMu.Lock()
		waiting := 0
		if call := c.templates.missReload; call != nil {
			waiting = call.waiting
		}
		c.templates.missMu.Unlock()
		if waiting == sends {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sends wait for the reload, want %d", waiting, sends)
		}
		runtime.Gosched()
	}
	close(g.gate)
	for range sends {
		if err := <-answers; err != nil {
			t.Fatalf("a send that waited for the reload: %v", err)
		}
	}
	if n := g.fetches.Load(); n != 1 {
		t.Fatalf("%d catalogue fetches, want 1", n)
	}
}

// TestSendWaitsForAMissReloadOnlySoLong: a network that does not answer
// holds a send no longer than the bound; the send gets the answer the
// catalogue in force gives.
func TestSendWaitsForAMissReloadOnlySoLong(t *testing.T) {
	t.Parallel()
	c, g, out := newMissFixture(t)
	c.templates.missWait = 20 * time.Millisecond
	started := time.Now()
	err := c.checkTemplate(context.Background(), out)
	if err == nil || err.Code() != 2001 {
		t.Fatalf("answer %v, want the 2001 of the catalogue in force", err)
	}
	if waited := time.Since(started); waited > time.Second {
		t.Fatalf("the send waited %v for a network that never answered", waited)
	}
	if n := g.fetches.Load(); n != 1 {
		t.Fatalf("%d catalogue fetches, want 1", n)
	}
}
