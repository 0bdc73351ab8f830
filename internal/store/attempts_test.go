package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

func attemptIDs(as []store.WebhookAttempt) []int64 {
	ids := make([]int64, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	return ids
}

func TestWebhookAttemptsFilterPruneAndCursor(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		s := storetest.OpenConfig(t, cfg)
		before, err := s.GetConsoleCursor(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var as []store.WebhookAttempt
		for i := range 5 {
			kind := "statuses"
			if i%2 == 1 {
				kind = "messages"
			}
			a := store.WebhookAttempt{At: callbackT0.Add(time.Duration(i) * time.Second), URL: "https://hooks.example/x", StatusCode: 200,
				Latency: 12 * time.Millisecond, Body: fmt.Appendf(nil, `{"%s":[{"id":"m%d"}]}`, kind, i), Kind: kind, Items: 1,
				MessageIDs: []string{fmt.Sprintf("m%d", i), "shared"}, Node: "n1"}
			if i == 4 {
				a.StatusCode, a.Error, a.NextRetryAt = 0, "connection refused", callbackT0.Add(time.Minute)
			}
			as = append(as, a)
		}
		// One insert for the whole round.
		if err := s.InsertWebhookAttempts(ctx, as); err != nil {
			t.Fatal(err)
		}
		all, err := s.WebhookAttempts(ctx, store.WebhookAttemptFilter{})
		if err != nil || len(all) != 5 {
			t.Fatalf("all: %d %v", len(all), err)
		}
		if all[0].Error != "connection refused" || !all[0].NextRetryAt.Equal(callbackT0.Add(time.Minute)) || all[0].Latency != 12*time.Millisecond ||
			!slices.Equal(all[0].MessageIDs, []string{"m4", "shared"}) || all[4].Kind != "statuses" || string(all[4].Body) != `{"statuses":[{"id":"m0"}]}` {
			t.Fatalf("rows read back wrong: %+v", all[0])
		}
		msgs, _ := s.WebhookAttempts(ctx, store.WebhookAttemptFilter{Kind: "messages"})
		byID, _ := s.WebhookAttempts(ctx, store.WebhookAttemptFilter{MessageID: "m2"})
		wild, _ := s.WebhookAttempts(ctx, store.WebhookAttemptFilter{MessageID: "m_"})
		if len(msgs) != 2 || len(byID) != 1 || byID[0].ID != all[2].ID || len(wild) != 0 {
			t.Fatalf("filters: kind %d, id %d, wildcard %d", len(msgs), len(byID), len(wild))
		}
		newer, _ := s.WebhookAttempts(ctx, store.WebhookAttemptFilter{AfterID: all[1].ID})
		if !slices.Equal(attemptIDs(newer), []int64{all[0].ID}) {
			t.Fatalf("after id: %v", attemptIDs(newer))
		}
		after, err := s.GetConsoleCursor(ctx)
		if err != nil || after.Attempt != all[0].ID || after == before {
			t.Fatalf("cursor %+v %v", after, err)
		}
		n, err := s.PruneWebhookAttempts(ctx, 2)
		if err != nil || n != 3 {
			t.Fatalf("pruned %d %v", n, err)
		}
		left, _ := s.WebhookAttempts(ctx, store.WebhookAttemptFilter{})
		if !slices.Equal(attemptIDs(left), attemptIDs(all[:2])) {
			t.Fatalf("kept %v, want %v", attemptIDs(left), attemptIDs(all[:2]))
		}
	})
}
