package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

func TestCloudMessagesAndEvents(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		prev, err := s.BeginCloudSend(ctx, "gB1", t0)
		if err != nil || prev.State != "" {
			t.Fatalf("first attempt: %+v %v", prev, err)
		}
		if err := s.FinishCloudSend(ctx, "gB1", store.CloudUnknown, "", "timeout", t0); err != nil {
			t.Fatal(err)
		}
		if prev, _ = s.BeginCloudSend(ctx, "gB1", t0.Add(1)); prev.State != store.CloudUnknown || prev.Attempts != 1 || prev.LastError != "timeout" {
			t.Fatalf("second attempt saw %+v", prev)
		}
		// A status naming our id settles it; unknown ids change nothing.
		if err := s.LinkCloudMessage(ctx, "gB1", "wamid.A", t0); err != nil {
			t.Fatal(err)
		}
		s.LinkCloudMessage(ctx, "gBnobody", "wamid.B", t0)
		if _, err := s.CloudMessageByWAMID(ctx, "wamid.B"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("foreign id linked: %v", err)
		}
		// A late failure report cannot undo a send that is proven.
		s.FinishCloudSend(ctx, "gB1", store.CloudUnknown, "", "late", t0)
		m, err := s.CloudMessageByWAMID(ctx, "wamid.A")
		if err != nil || m.ID != "gB1" || m.State != store.CloudSent || m.Attempts != 2 {
			t.Fatalf("%+v %v", m, err)
		}
		if prev, _ = s.BeginCloudSend(ctx, "gB1", t0); prev.State != store.CloudSent {
			t.Fatalf("sent message re-begun: %+v", prev)
		}
		if m, _ = s.GetCloudMessage(ctx, "gB1"); m.Attempts != 2 {
			t.Fatalf("an attempt was counted on a sent message: %+v", m)
		}

		evs := []store.CloudEvent{{Kind: "status", Payload: []byte(`{"id":"x"}`), ReceivedAt: t0}, {Kind: "message", Payload: []byte(`{"m":1}`), ReceivedAt: t0}}
		if n, err := s.AddCloudEvents(ctx, evs); err != nil || n != 2 {
			t.Fatal(n, err)
		}
		got, err := s.CloudEvents(ctx, 10)
		if err != nil || len(got) != 2 || got[0].Kind != "status" || string(got[1].Payload) != `{"m":1}` || !got[0].ReceivedAt.Equal(t0) {
			t.Fatalf("%+v %v", got, err)
		}
		if err := s.DeleteCloudEvents(ctx, []int64{got[0].ID}); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.CloudEvents(ctx, 10); len(got) != 1 || got[0].Kind != "message" {
			t.Fatalf("after delete: %+v", got)
		}
	})
}

// TestCloudItemsAreStoredOnce: an item whose key was received before, in
// the same delivery or an earlier one (even one handled and deleted since),
// is not stored again until its key is forgotten.
func TestCloudItemsAreStoredOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		msg := func(key string, at time.Time) store.CloudEvent {
			return store.CloudEvent{Kind: "message", Payload: []byte(`{"id":"` + key + `"}`), ReceivedAt: at, Key: key}
		}
		n, err := s.AddCloudEvents(ctx, []store.CloudEvent{msg("m:wamid.A", t0), msg("m:wamid.A", t0), msg("m:wamid.B", t0),
			{Kind: "error", Payload: []byte(`{}`), ReceivedAt: t0}, {Kind: "error", Payload: []byte(`{}`), ReceivedAt: t0}})
		if err != nil || n != 4 {
			t.Fatalf("first delivery stored %d, %v (want A, B and both keyless errors)", n, err)
		}
		got, _ := s.CloudEvents(ctx, 10)
		ids := make([]int64, len(got))
		for i, e := range got {
			ids[i] = e.ID
		}
		s.DeleteCloudEvents(ctx, ids)
		if n, err := s.AddCloudEvents(ctx, []store.CloudEvent{msg("m:wamid.A", t0.Add(time.Hour)), msg("m:wamid.C", t0.Add(time.Hour))}); err != nil || n != 1 {
			t.Fatalf("a repeated delivery stored %d, %v (want only C)", n, err)
		}
		if n, err := s.ForgetCloudItems(ctx, t0.Add(time.Minute), 1); err != nil || n != 1 {
			t.Fatalf("forgot %d, %v (limit 1)", n, err)
		}
		if n, err := s.ForgetCloudItems(ctx, t0.Add(time.Minute), 100); err != nil || n != 1 {
			t.Fatalf("forgot %d, %v (A or B left, C is newer)", n, err)
		}
		if n, _ := s.AddCloudEvents(ctx, []store.CloudEvent{msg("m:wamid.A", t0.Add(2*time.Hour)), msg("m:wamid.C", t0.Add(2*time.Hour))}); n != 1 {
			t.Fatalf("after forgetting A: stored %d (want A again, C not)", n)
		}
	})
}

func TestCloudMediaCache(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		if _, err := s.GetCloudMedia(ctx, "m1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("empty cache: %v", err)
		}
		if err := s.PutCloudMedia(ctx, store.CloudMedia{MediaID: "m1", CloudID: "900001", SHA256: "aa", UploadedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if m, err := s.GetCloudMedia(ctx, "m1"); err != nil || m.CloudID != "900001" || m.SHA256 != "aa" || !m.UploadedAt.Equal(t0) {
			t.Fatalf("%+v %v", m, err)
		}
		// A new upload replaces the entry.
		later := t0.Add(29 * 24 * time.Hour)
		if err := s.PutCloudMedia(ctx, store.CloudMedia{MediaID: "m1", CloudID: "900002", SHA256: "aa", UploadedAt: later}); err != nil {
			t.Fatal(err)
		}
		// Forgetting an id that was replaced meanwhile keeps the new one.
		if err := s.DeleteCloudMedia(ctx, "m1", "900001"); err != nil {
			t.Fatal(err)
		}
		if m, err := s.GetCloudMedia(ctx, "m1"); err != nil || m.CloudID != "900002" || !m.UploadedAt.Equal(later) {
			t.Fatalf("after replace: %+v %v", m, err)
		}
		if err := s.DeleteCloudMedia(ctx, "m1", "900002"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetCloudMedia(ctx, "m1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	})
}
