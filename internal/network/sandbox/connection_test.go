package sandbox

import (
	"context"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// TestConnectionDown: while the world cuts the connection, everything the
// business asks of WhatsApp fails with a temporary 1014 and nothing reaches
// it; a user's message waits and arrives once the connection is back.
func TestConnectionDown(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		st := storetest.OpenConfig(t, cfg)
		now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
		sb := New(st, func() time.Time { return now })
		const user = "15550001111"
		setDown := func(down bool) {
			t.Helper()
			w := DefaultWorld()
			w.ConnectionDown = down
			if err := sb.SetWorld(ctx, w); err != nil {
				t.Fatal(err)
			}
		}
		setDown(true)
		id, err := sb.UserSends(ctx, user, UserMessage{Type: "image", Content: []byte(`{"image":{}}`),
			Media: &UserMedia{Kind: "image", MimeType: "image/png", Data: []byte("png")}})
		if err != nil {
			t.Fatal(err)
		}
		_, _, downloadErr := sb.DownloadMedia(ctx, "sbx-"+id)
		_, sendErr := sb.SendReportingDelivery(ctx, network.Outgoing{ID: "gBC1", To: user, Type: "text", Body: []byte(`{"text":{"body":"x"}}`)})
		for name, err := range map[string]error{
			"connect": sb.Connect(ctx, network.Account{WaID: "15550100"}), "probe": sb.ProbeConnection(ctx),
			"send": sendErr, "download": downloadErr,
		} {
			if !network.IsConnectionLoss(err) {
				t.Errorf("%s while the connection is down: %v", name, err)
			}
		}
		if events, err := sb.Events(ctx, "node-a", 10); err != nil || len(events) != 0 {
			t.Fatalf("events while the connection is down: %v %v", events, err)
		}
		setDown(false)
		if err := sb.ProbeConnection(ctx); err != nil {
			t.Fatalf("probe with the connection back: %v", err)
		}
		events, err := sb.Events(ctx, "node-a", 10)
		if err != nil || len(events) != 1 || events[0].Message == nil || events[0].Message.ID != id {
			t.Fatalf("events with the connection back: %v %v", events, err)
		}
	})
}
