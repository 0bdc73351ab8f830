package cloud_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/message"
	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/template"
)

func ourFile(id, sha string) *network.OutgoingMedia {
	return &network.OutgoingMedia{ID: id, Kind: "image", MimeType: "image/jpeg", SHA256: sha, Filename: "a.jpg",
		Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("jpeg")), nil }}
}

func image(id, mediaID, sha string) network.Outgoing {
	return network.Outgoing{ID: id, To: "1555", Type: "image",
		Body:  json.RawMessage(`{"to":"1555","recipient_type":"individual","type":"image","preview_url":false,"image":{"id":"` + mediaID + `"}}`),
		Media: ourFile(mediaID, sha)}
}

func sentMediaID(t *testing.T, send map[string]any, typ string) string {
	t.Helper()
	obj, _ := send[typ].(map[string]any)
	id, _ := obj["id"].(string)
	if id == "" {
		t.Fatalf("no media id in %v", send)
	}
	return id
}

// canonical re-marshals JSON so that key order does not matter.
func canonical(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	json.Unmarshal(b, &x)
	b, _ = json.Marshal(x)
	return string(b)
}

func TestMediaIsUploadedOnceUntilItsCloudIDExpires(t *testing.T) {
	f := setup(t)
	if err := f.net.Send(f.ctx, image("gBC1", "3f1c2b9e", "aa")); err != nil {
		t.Fatal(err)
	}
	first := sentMediaID(t, f.graph.Sends()[0], "image")
	// The second send of the same file uses the cached Cloud id.
	*f.now = f.now.Add(28 * 24 * time.Hour)
	if err := f.net.Send(f.ctx, image("gBC2", "3f1c2b9e", "aa")); err != nil {
		t.Fatal(err)
	}
	if n := f.graph.Uploads(); n != 1 {
		t.Fatalf("%d uploads for two sends of one file", n)
	}
	if id := sentMediaID(t, f.graph.Sends()[1], "image"); id != first {
		t.Fatalf("second send carried %s, want the cached %s", id, first)
	}
	// After 29 days the file is uploaded again, a day before the Cloud
	// forgets it, and the new id is cached from then on.
	*f.now = f.now.Add(24*time.Hour + time.Second)
	if err := f.net.Send(f.ctx, image("gBC3", "3f1c2b9e", "aa")); err != nil {
		t.Fatal(err)
	}
	second := sentMediaID(t, f.graph.Sends()[2], "image")
	if f.graph.Uploads() != 2 || second == first {
		t.Fatalf("after 29 days: %d uploads, id %s (first %s)", f.graph.Uploads(), second, first)
	}
	if err := f.net.Send(f.ctx, image("gBC4", "3f1c2b9e", "aa")); err != nil || f.graph.Uploads() != 2 ||
		sentMediaID(t, f.graph.Sends()[3], "image") != second {
		t.Fatalf("the new upload is not cached: %v, %d uploads", err, f.graph.Uploads())
	}
	// A different file under the same id (its hash changed) is uploaded.
	if err := f.net.Send(f.ctx, image("gBC5", "3f1c2b9e", "bb")); err != nil || f.graph.Uploads() != 3 {
		t.Fatalf("changed file: %v, %d uploads", err, f.graph.Uploads())
	}
}

func TestRefusedCachedMediaIsUploadedAgain(t *testing.T) {
	f := setup(t)
	if err := f.net.Send(f.ctx, image("gBX1", "3f1c2b9e", "aa")); err != nil {
		t.Fatal(err)
	}
	cached := sentMediaID(t, f.graph.Sends()[0], "image")
	// The Cloud forgot the id early: the send is refused, the file is
	// uploaded again and the message goes out in the same Send.
	f.graph.ExpireMedia(cached)
	if err := f.net.Send(f.ctx, image("gBX2", "3f1c2b9e", "aa")); err != nil {
		t.Fatal(err)
	}
	sends := f.graph.Sends()
	if len(sends) != 3 || f.graph.Uploads() != 2 || sentMediaID(t, sends[1], "image") != cached || sentMediaID(t, sends[2], "image") == cached {
		t.Fatalf("%d sends, %d uploads: %v", len(sends), f.graph.Uploads(), sends)
	}
	m, err := f.store.GetCloudMessage(f.ctx, "gBX2")
	if err != nil || m.State != store.CloudSent || m.Attempts != 2 {
		t.Fatalf("%+v %v", m, err)
	}
	// Other refusals of a send with a cached id do not upload again.
	f.graph.FailNext(1, graphtest.Failure{Code: 131047, Message: "Re-engagement message"})
	wantNetErr(t, f.net.Send(f.ctx, image("gBX3", "3f1c2b9e", "aa")), 470, false)
	if f.graph.Uploads() != 2 {
		t.Fatalf("%d uploads after an unrelated refusal", f.graph.Uploads())
	}
}

func TestTemplateHeaderMediaByOurID(t *testing.T) {
	f := setup(t)
	// The client wrote the id in upper case; media ids are case-insensitive.
	body := `{"to":"1555","recipient_type":"individual","type":"template","template":{"namespace":"ns","name":"receipt","language":{"policy":"deterministic","code":"en"},` +
		`"components":[{"type":"header","parameters":[{"type":"image","image":{"id":"3F1C2B9E"}}]},{"type":"body","parameters":[{"type":"text","text":"42"}]}]}}`
	msg := network.Outgoing{ID: "gBT1", To: "1555", Type: "template", Body: json.RawMessage(body), Media: ourFile("3f1c2b9e", "aa"),
		Template: &template.Rendered{Language: "en", Body: "Receipt 42",
			Header: &template.RenderedHeader{Format: "image", Media: &message.Media{Kind: "image", ID: "3f1c2b9e"}}}}
	if err := f.net.Send(f.ctx, msg); err != nil {
		t.Fatal(err)
	}
	want := `{"biz_opaque_callback_data":"gBT1","messaging_product":"whatsapp","recipient_type":"individual","template":{"components":[` +
		`{"parameters":[{"image":{"id":"900001"},"type":"image"}],"type":"header"},{"parameters":[{"text":"42","type":"text"}],"type":"body"}],` +
		`"language":{"code":"en"},"name":"receipt"},"to":"1555","type":"template"}`
	if got := canonical(t, f.graph.Sends()[0]); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// The same header again: the cached id, no upload.
	msg.ID = "gBT2"
	if err := f.net.Send(f.ctx, msg); err != nil {
		t.Fatal(err)
	}
	if f.graph.Uploads() != 1 || !strings.Contains(canonical(t, f.graph.Sends()[1]), `"image":{"id":"900001"}`) {
		t.Fatalf("%d uploads, %v", f.graph.Uploads(), f.graph.Sends()[1])
	}
}
