package api_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// Errors callbacks (runtime §1.6): failures not tied to one outbound
// message, reported on the webhook.

// unreachableMedia is the sandbox with its media store out of reach while
// down is set, and with the acknowledgements of the next failAcks event
// batches lost (as if the server crashed before acknowledging).
type unreachableMedia struct {
	network.Network
	down     atomic.Bool
	failAcks atomic.Int32
}

func (u *unreachableMedia) DownloadMedia(ctx context.Context, networkID string) (io.ReadCloser, string, error) {
	if u.down.Load() {
		return nil, "", &network.Error{Code: 1014, Temporary: true, Details: "the media server did not answer"}
	}
	return u.Network.DownloadMedia(ctx, networkID)
}

func (u *unreachableMedia) Ack(ctx context.Context, ids []string) error {
	if u.failAcks.Add(-1) >= 0 {
		return errors.New("acknowledgement lost")
	}
	return u.Network.Ack(ctx, ids)
}

const mediaDownloadError = `{"code":1014,"details":"Could not download media","title":"Internal error"}`

// TestFailedAutoDownloadIsReported: an inbound image whose automatic
// download fails reaches the webhook with our media id, and an errors
// callback 1014 "Could not download media" comes beside it; the file can
// still be fetched later. An event handled again (its acknowledgement was
// lost) repeats both callbacks while the download still fails: at least
// once, never the message without its error.
func TestFailedAutoDownloadIsReported(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		net := &unreachableMedia{}
		h := newHarness(t, cfg, withNetwork(func(n network.Network) network.Network { net.Network = n; return net }))
		admin := h.adminToken()
		hook := h.ready(admin)
		net.down.Store(true)

		res := h.do(request{method: "POST", path: "/sandbox/v1/users/" + customer + "/messages", header: bearer(admin), body: `{"type":"image","image":{"caption":"receipt"}}`})
		if res.Status != 201 {
			t.Fatalf("user sends image: %d %s", res.Status, res.Raw)
		}
		h.pump()
		msgs := hook.items("messages")
		img, _ := msgs[len(msgs)-1]["image"].(map[string]any)
		id, _ := img["id"].(string)
		if len(msgs) != 2 || id == "" || img["caption"] != "receipt" {
			t.Fatalf("inbound callbacks %v", msgs)
		}
		errs := hook.items("errors")
		if len(errs) != 1 || string(mustJSON(errs[0])) != mediaDownloadError {
			t.Fatalf("errors callbacks %v", errs)
		}
		if !strings.Contains(h.logText(), `level=WARN msg="inbound media download failed; an errors callback is queued with the message" media_id=`+id) {
			t.Error("the failed download was not logged with the media id")
		}
		if w := h.raw("GET", "/v1/media/"+id, "", nil, bearer(admin)); w.Code != 404 {
			t.Fatalf("a file that was not downloaded is served: %d", w.Code)
		}

		// The acknowledgement is lost: the event comes again, the download
		// fails again, and both callbacks are queued again.
		net.failAcks.Store(1)
		h.do(request{method: "POST", path: "/sandbox/v1/users/" + customer + "/messages", header: bearer(admin), body: `{"type":"document","document":{"filename":"scan.pdf"}}`})
		if _, _, err := h.core.ProcessEvents(context.Background()); err == nil {
			t.Fatal("the lost acknowledgement was not reported")
		}
		h.pump()
		msgs, errs = hook.items("messages"), hook.items("errors")
		if len(msgs) != 4 || msgs[2]["id"] != msgs[3]["id"] || len(errs) != 3 {
			t.Fatalf("after a repeated event: %d message callbacks, %d errors callbacks: %v %v", len(msgs), len(errs), msgs, errs)
		}

		// The server is reachable again: the file comes on request.
		net.down.Store(false)
		res = h.do(request{method: "GET", path: "/v1/media/" + id + "/download", header: bearer(admin)})
		h.pump()
		if items := hook.items("media_items"); res.Status != 200 || len(items) != 1 || items[0]["image"].(map[string]any)["status"] != "downloaded" {
			t.Fatalf("download on request: %d %s, media_items %v", res.Status, res.Raw, items)
		}
		if len(hook.items("errors")) != 3 {
			t.Fatalf("a download that worked reported an error: %v", hook.items("errors"))
		}
	})
}

// TestCloudFailedAutoDownloadIsReported: through the Cloud bridge, an
// image the Graph API cannot hand out is reported the same way.
func TestCloudFailedAutoDownloadIsReported(t *testing.T) {
	t.Parallel()
	s := newCloudSetup(t)
	s.deliver(map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]any{"name": "Dana"}, "wa_id": customer}},
		"messages": []any{map[string]any{"from": customer, "id": "wamid.HBgLMTU1NTAwMDExMTEVAgASGBQzQUI5", "timestamp": "1795255200", "type": "image",
			"image": map[string]any{"id": "1166426254101999", "mime_type": "image/jpeg", "sha256": "bm90IHRoZXJl"}}},
	}, 200)
	s.pump()
	if msgs := s.hook.items("messages"); len(msgs) != 1 || msgs[0]["image"].(map[string]any)["id"] == "1166426254101999" {
		t.Fatalf("inbound callbacks %v", msgs)
	}
	if errs := s.hook.items("errors"); len(errs) != 1 || string(mustJSON(errs[0])) != mediaDownloadError {
		t.Fatalf("errors callbacks %v", errs)
	}
}
