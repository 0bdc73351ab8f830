package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

var clusterT0 = time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)

// TestClusterNodeRegistry: a node's row is written at registration and
// rewritten by each heartbeat; rows of silent nodes can be pruned and a
// node's own row removed at shutdown.
func TestClusterNodeRegistry(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		t.Parallel()
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		web := store.ClusterNode{ID: "h1:web", Host: "h1", Name: "web", Role: "web", Address: "127.0.0.1:9090", Version: "v1",
			GatewayStatus: "disconnected", StartedAt: clusterT0, HeartbeatAt: clusterT0}
		core := store.ClusterNode{ID: "h2:core", Host: "h2", Name: "core", Role: "core", Version: "v1",
			GatewayStatus: "connecting", StartedAt: clusterT0.Add(time.Second), HeartbeatAt: clusterT0.Add(time.Second)}
		for _, n := range []store.ClusterNode{web, core} {
			if err := s.PutClusterNode(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		// A heartbeat: same row, a later time and a new status.
		core.HeartbeatAt, core.GatewayStatus = clusterT0.Add(6*time.Second), "connected"
		if err := s.PutClusterNode(ctx, core); err != nil {
			t.Fatal(err)
		}
		nodes, err := s.ClusterNodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(nodes) != 2 || nodes[0] != web || nodes[1] != core {
			t.Fatalf("registry = %+v, want %+v and %+v", nodes, web, core)
		}

		n, err := s.RemoveClusterNodesSilentSince(ctx, clusterT0.Add(5*time.Second))
		if err != nil || n != 1 {
			t.Fatalf("pruning the nodes silent since +5 s removed %d (%v), want the web node", n, err)
		}
		if err := s.RemoveClusterNode(ctx, core.ID); err != nil {
			t.Fatal(err)
		}
		if nodes, err := s.ClusterNodes(ctx); err != nil || len(nodes) != 0 {
			t.Fatalf("registry after removals = %+v (%v), want empty", nodes, err)
		}
	})
}

// TestLeaseTakeRenewExpireRelease: a lease is taken by the first asker,
// renewed by its holder, not taken by another while it runs, taken over
// once it ran out, and free at once when released.
func TestLeaseTakeRenewExpireRelease(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		t.Parallel()
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		const ttl = 25 * time.Second
		take := func(holder string, at time.Duration) store.Lease {
			t.Helper()
			l, err := s.TakeLease(ctx, "leader", holder, clusterT0.Add(at), ttl)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		if _, err := s.GetLease(ctx, "leader"); err != store.ErrNotFound {
			t.Fatalf("a lease never taken: %v, want ErrNotFound", err)
		}
		l := take("a", 0)
		if !l.HeldBy("a", clusterT0) || !l.Until.Equal(clusterT0.Add(ttl)) || !l.TakenAt.Equal(clusterT0) {
			t.Fatalf("first take: %+v", l)
		}
		// Renewed at the same instant (MySQL reports no row changed) and later.
		if l := take("a", 0); !l.HeldBy("a", clusterT0) {
			t.Fatalf("renewal at the same time: %+v", l)
		}
		l = take("a", 5*time.Second)
		if !l.Until.Equal(clusterT0.Add(5*time.Second+ttl)) || !l.TakenAt.Equal(clusterT0) {
			t.Fatalf("renewal moves the end, not the start: %+v", l)
		}
		// b cannot take it while it runs, up to its last millisecond.
		if l := take("b", 5*time.Second+ttl-time.Millisecond); l.Holder != "a" {
			t.Fatalf("taken while it ran: %+v", l)
		}
		// a stopped renewing: b takes it when it runs out.
		l = take("b", 5*time.Second+ttl)
		if !l.HeldBy("b", clusterT0.Add(5*time.Second+ttl)) || !l.TakenAt.Equal(clusterT0.Add(5*time.Second+ttl)) {
			t.Fatalf("takeover after expiry: %+v", l)
		}
		if l.HeldBy("a", clusterT0.Add(5*time.Second+ttl)) {
			t.Fatal("the old holder still counts as holding it")
		}
		// A release by someone else changes nothing; b's own frees it.
		if err := s.ReleaseLease(ctx, "leader", "a"); err != nil {
			t.Fatal(err)
		}
		if l := take("a", 31*time.Second); l.Holder != "b" {
			t.Fatalf("a's release freed b's lease: %+v", l)
		}
		if err := s.ReleaseLease(ctx, "leader", "b"); err != nil {
			t.Fatal(err)
		}
		if l := take("a", 32*time.Second); !l.HeldBy("a", clusterT0.Add(32*time.Second)) {
			t.Fatalf("taken after a release: %+v", l)
		}
	})
}
