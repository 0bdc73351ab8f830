package cloud_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/cloud"
	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

const secret = "app-secret"

type fixture struct {
	net   *cloud.Network
	graph *graphtest.Server
	store *store.Store
	now   *time.Time
	ctx   context.Context
}

func setup(t *testing.T, change ...func(*cloud.Options)) fixture {
	t.Helper()
	g := graphtest.New(t)
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	st := storetest.Open(t, store.SQLite)
	opt := cloud.Options{GraphURL: g.GraphURL(), PhoneNumberID: g.PhoneNumberID, WABAID: g.WABAID,
		AccessToken: g.Token, AppSecret: secret, VerifyToken: "vt", PIN: "123456",
		Store: st, Now: func() time.Time { return now }}
	for _, c := range change {
		c(&opt)
	}
	n := cloud.New(opt)
	n.Limiter().Wait = func(context.Context, time.Duration) error { return nil }
	return fixture{net: n, graph: g, store: st, now: &now, ctx: context.Background()}
}

func text(id, to string) network.Outgoing {
	return network.Outgoing{ID: id, To: to, Type: "text",
		Body: json.RawMessage(`{"to":"` + to + `","recipient_type":"individual","type":"text","preview_url":false,"text":{"body":"hi"}}`)}
}

func wantNetErr(t *testing.T, err error, code int, temporary bool) {
	t.Helper()
	var ne *network.Error
	if !errors.As(err, &ne) || ne.Code != code || ne.Temporary != temporary {
		t.Fatalf("err %v, want code %d temporary=%v", err, code, temporary)
	}
}

func (f fixture) deliver(t *testing.T, value map[string]any) {
	t.Helper()
	body, sig := f.graph.Delivery(secret, value)
	if err := f.net.HandleWebhook(f.ctx, body, sig); err != nil {
		t.Fatal(err)
	}
}

func TestSendRecordsTheWamidAndStatusesMapBack(t *testing.T) {
	f := setup(t)
	if err := f.net.Send(f.ctx, text("gBA1", "15550001111")); err != nil {
		t.Fatal(err)
	}
	sends := f.graph.Sends()
	if len(sends) != 1 || sends[0]["biz_opaque_callback_data"] != "gBA1" || sends[0]["messaging_product"] != "whatsapp" {
		t.Fatalf("sends %v", sends)
	}
	// A repeated Send (the core crashed before recording "sent") calls nothing.
	if err := f.net.Send(f.ctx, text("gBA1", "15550001111")); err != nil || len(f.graph.Sends()) != 1 {
		t.Fatalf("repeat: %v, %d sends", err, len(f.graph.Sends()))
	}
	f.deliver(t, map[string]any{"statuses": []any{
		map[string]any{"id": "wamid.HBgL155500011110001", "status": "sent", "timestamp": "1700000000", "recipient_id": "15550001111"},
		map[string]any{"id": "wamid.HBgL155500011110001", "status": "delivered", "timestamp": "1700000001", "recipient_id": "15550001111"},
		map[string]any{"id": "wamid.HBgL155500011110001", "status": "failed", "timestamp": "1700000002", "recipient_id": "15550001111",
			"errors": []any{map[string]any{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message", "error_data": map[string]any{"details": "24h"}}}},
	}})
	evs, err := f.net.Events(f.ctx, "node-a", 10)
	if err != nil || len(evs) != 2 {
		t.Fatalf("events %+v, %v (sent is not an event)", evs, err)
	}
	if s := evs[0].Status; s.MessageID != "gBA1" || s.Status != "delivered" || !evs[0].Time.Equal(time.Unix(1700000001, 0)) {
		t.Fatalf("delivered: %+v at %v", s, evs[0].Time)
	}
	if s := evs[1].Status; s.Status != "failed" || s.Error == nil || s.Error.Code != 470 {
		t.Fatalf("failed: %+v", s)
	}
	// Events stay pending until acknowledged.
	if again, _ := f.net.Events(f.ctx, "node-a", 10); len(again) != 2 {
		t.Fatalf("unacknowledged events: %d", len(again))
	}
	if err := f.net.Ack(f.ctx, []string{evs[0].ID, evs[1].ID}); err != nil {
		t.Fatal(err)
	}
	if again, _ := f.net.Events(f.ctx, "node-a", 10); len(again) != 0 {
		t.Fatalf("after ack: %d", len(again))
	}
	// A reply to our message carries our message's wamid.
	reply := network.Outgoing{ID: "gBA2", To: "15550001111", Type: "text",
		Body: json.RawMessage(`{"to":"15550001111","recipient_type":"individual","type":"text","preview_url":false,"context":{"message_id":"gBA1"},"text":{"body":"re"}}`)}
	if err := f.net.Send(f.ctx, reply); err != nil {
		t.Fatal(err)
	}
	if c := f.graph.Sends()[1]["context"].(map[string]any); c["message_id"] != "wamid.HBgL155500011110001" {
		t.Fatalf("context %v", c)
	}
}

func TestSendErrors(t *testing.T) {
	f := setup(t)
	f.graph.FailNext(1, graphtest.Failure{Code: 131047, Message: "Re-engagement message"})
	wantNetErr(t, f.net.Send(f.ctx, text("gBE1", "1555")), 470, false)
	f.graph.FailNext(1, graphtest.Failure{Code: 130429, Message: "Rate limit hit"})
	wantNetErr(t, f.net.Send(f.ctx, text("gBE2", "1555")), 1015, true)
	// A refused send sent nothing: the retry goes out at once.
	if err := f.net.Send(f.ctx, text("gBE2", "1555")); err != nil {
		t.Fatal(err)
	}
	f.graph.FailNext(1, graphtest.Failure{HTTPStatus: 401, Code: 190, Message: "token expired"})
	wantNetErr(t, f.net.Send(f.ctx, text("gBE3", "1555")), 1005, false)
	// The double holds the contract: no messaging_product, no send.
	if err := f.net.MarkRead(f.ctx, "1555", "wamid.X"); err != nil {
		t.Fatal(err)
	}
}

func TestAmbiguousSendIsNotRepeatedBlindly(t *testing.T) {
	f := setup(t)
	f.graph.FailNext(1, graphtest.Failure{Hang: true})
	wantNetErr(t, f.net.Send(f.ctx, text("gBU1", "1555")), 1014, true)
	if n := len(f.graph.Sends()); n != 1 {
		t.Fatalf("%d sends", n)
	}
	// Within the hold: refused without calling the Cloud.
	*f.now = f.now.Add(time.Minute)
	wantNetErr(t, f.net.Send(f.ctx, text("gBU1", "1555")), 1014, true)
	if n := len(f.graph.Sends()); n != 1 {
		t.Fatalf("resent within the hold: %d sends", n)
	}
	// A status webhook proves the send: the retry succeeds without a call.
	f.deliver(t, map[string]any{"statuses": []any{map[string]any{"id": "wamid.LOST", "status": "sent", "timestamp": "1700000000",
		"recipient_id": "1555", "biz_opaque_callback_data": "gBU1"}}})
	if err := f.net.Send(f.ctx, text("gBU1", "1555")); err != nil || len(f.graph.Sends()) != 1 {
		t.Fatalf("after the status: %v, %d sends", err, len(f.graph.Sends()))
	}
	// Without any status, the message goes again once the hold is over.
	f.graph.FailNext(1, graphtest.Failure{Hang: true})
	wantNetErr(t, f.net.Send(f.ctx, text("gBU2", "1555")), 1014, true)
	*f.now = f.now.Add(3 * time.Minute)
	if err := f.net.Send(f.ctx, text("gBU2", "1555")); err != nil || len(f.graph.Sends()) != 3 {
		t.Fatalf("after the hold: %v, %d sends", err, len(f.graph.Sends()))
	}
}

func TestWebhookSignatureAndChallenge(t *testing.T) {
	f := setup(t)
	body, sig := f.graph.Delivery(secret, map[string]any{"messages": []any{}})
	var se *cloud.SignatureError
	for name, c := range map[string]struct {
		body []byte
		sig  string
	}{
		"missing":  {body, ""},
		"bad":      {body, "sha256=00ff"},
		"no sha":   {body, strings.TrimPrefix(sig, "sha256=")},
		"tampered": {append([]byte(" "), body...), sig},
		"other":    {body, graphtest.Sign("other-secret", body)},
	} {
		if err := f.net.HandleWebhook(f.ctx, c.body, c.sig); !errors.As(err, &se) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := f.net.HandleWebhook(f.ctx, body, sig); err != nil {
		t.Fatalf("good: %v", err)
	}
	junk := []byte(`{"object":"page"}`)
	var pe *cloud.PayloadError
	if err := f.net.HandleWebhook(f.ctx, junk, graphtest.Sign(secret, junk)); !errors.As(err, &pe) {
		t.Fatalf("not a WhatsApp body: %v", err)
	}
	if c, ok := f.net.VerifyChallenge("subscribe", "vt", "1158201444"); !ok || c != "1158201444" {
		t.Fatal("good challenge refused")
	}
	if _, ok := f.net.VerifyChallenge("subscribe", "wrong", "1"); ok {
		t.Fatal("wrong token accepted")
	}
	if _, ok := f.net.VerifyChallenge("unsubscribe", "vt", "1"); ok {
		t.Fatal("wrong mode accepted")
	}
}

func TestInboundTranslation(t *testing.T) {
	f := setup(t)
	if err := f.net.Send(f.ctx, text("gBO1", "15550002222")); err != nil {
		t.Fatal(err)
	}
	ours := "wamid.HBgL155500022220001"
	sum := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" // SHA-256 of "" in base64
	f.deliver(t, map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]any{"name": "Ana"}, "wa_id": "15550002222"}},
		"messages": []any{
			map[string]any{"from": "15550002222", "id": "wamid.IN1", "timestamp": "1700000100", "type": "text", "text": map[string]any{"body": "oi"},
				"context": map[string]any{"from": "15550100000", "id": ours}},
			map[string]any{"from": "15550002222", "id": "wamid.IN2", "timestamp": "1700000101", "type": "image",
				"image": map[string]any{"id": "1234567890", "mime_type": "image/jpeg", "sha256": sum, "caption": "nota", "url": "https://lookaside/x"}},
			map[string]any{"from": "15550002222", "id": "wamid.IN3", "timestamp": "1700000102", "type": "audio",
				"audio": map[string]any{"id": "555", "mime_type": "audio/ogg; codecs=opus", "sha256": sum, "voice": true}},
			map[string]any{"from": "15550002222", "id": "wamid.IN4", "timestamp": "1700000103", "type": "unsupported",
				"errors": []any{map[string]any{"code": 131051, "title": "Message type unknown"}}},
			map[string]any{"from": "15550002222", "id": "wamid.IN5", "timestamp": "1700000104", "type": "system",
				"system": map[string]any{"body": "changed", "wa_id": "15550003333", "type": "user_changed_number"}},
		},
	})
	evs, err := f.net.Events(f.ctx, "node-a", 10)
	if err != nil || len(evs) != 5 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	m := evs[0].Message
	if m.ID != "wamid.IN1" || m.Type != "text" || m.ProfileName != "Ana" || string(m.Content) != `{"context":{"from":"15550100000","id":"gBO1"},"text":{"body":"oi"}}` {
		t.Fatalf("text: %+v %s", m, m.Content)
	}
	img := evs[1].Message
	hexEmpty := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if img.Type != "image" || img.Media == nil || img.Media.NetworkID != "1234567890" || img.Media.SHA256 != hexEmpty ||
		string(img.Content) != `{"image":{"caption":"nota","id":"1234567890","mime_type":"image/jpeg","sha256":"`+hexEmpty+`"}}` {
		t.Fatalf("image: %+v %s", img.Media, img.Content)
	}
	if v := evs[2].Message; v.Type != "voice" || v.Media.Kind != "voice" || !strings.HasPrefix(string(v.Content), `{"voice":`) {
		t.Fatalf("voice: %+v %s", v, v.Content)
	}
	if u := evs[3].Message; u.Type != "unknown" || string(u.Content) != `{}` {
		t.Fatalf("unsupported: %+v %s", u, u.Content)
	}
	if c := evs[4].Change; evs[4].Kind != network.EventNumberChange || c.OldWaID != "15550002222" || c.NewWaID != "15550003333" {
		t.Fatalf("number change: %+v", evs[4])
	}
}

func TestUnmappedStatusWaitsThenPasses(t *testing.T) {
	f := setup(t)
	f.deliver(t, map[string]any{"statuses": []any{map[string]any{"id": "wamid.ELSEWHERE", "status": "read", "timestamp": "1700000000", "recipient_id": "1555"}}})
	if evs, _ := f.net.Events(f.ctx, "node-a", 10); len(evs) != 0 {
		t.Fatalf("unmapped status passed at once: %+v", evs)
	}
	*f.now = f.now.Add(3 * time.Minute)
	evs, _ := f.net.Events(f.ctx, "node-a", 10)
	if len(evs) != 1 || evs[0].Status.MessageID != "wamid.ELSEWHERE" {
		t.Fatalf("after the grace: %+v", evs)
	}
}

func TestTemplatesArePagedAndParsed(t *testing.T) {
	f := setup(t)
	for _, name := range []string{"order_update", "welcome", "shipping"} {
		f.graph.AddTemplate(map[string]any{"id": "1", "name": name, "language": "en_US", "status": "APPROVED", "category": "UTILITY",
			"parameter_format": "POSITIONAL",
			"components":       []any{map[string]any{"type": "BODY", "text": "Hello {{1}}"}}})
	}
	ts, err := f.net.Templates(f.ctx)
	if err != nil || len(ts) != 3 {
		t.Fatalf("%d templates, %v", len(ts), err)
	}
	if ts[2].Name != "shipping" || ts[2].Namespace != f.graph.Namespace || ts[2].Status != "approved" || ts[2].Category != "utility" || len(ts[2].Body) == 0 {
		t.Fatalf("%+v", ts[2])
	}
	pages := 0
	for _, r := range f.graph.Requests() {
		if strings.HasSuffix(r, "/message_templates") {
			pages++
		}
	}
	if pages != 2 {
		t.Fatalf("%d pages fetched, want 2", pages)
	}
}

func TestRegistrationMediaAndContacts(t *testing.T) {
	f := setup(t)
	res, err := f.net.RequestCode(f.ctx, network.CodeRequest{CC: "1", PhoneNumber: "5550100000", Method: "sms"})
	if err != nil || res.VName != "Wabiz Test" {
		t.Fatalf("%+v %v", res, err)
	}
	acct, err := f.net.Register(f.ctx, "123456")
	if err != nil || acct.WaID != "15550100000" || acct.VName != "Wabiz Test" {
		t.Fatalf("%+v %v", acct, err)
	}
	if err := f.net.Connect(f.ctx, acct); err != nil {
		t.Fatal(err)
	}
	f.graph.AddMedia("777", "image/png", []byte("png-bytes"))
	r, mime, err := f.net.DownloadMedia(f.ctx, "777")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(r)
	r.Close()
	if string(data) != "png-bytes" || mime != "image/png" {
		t.Fatalf("%q %q", data, mime)
	}
	if _, _, err := f.net.DownloadMedia(f.ctx, "nope"); err == nil {
		t.Fatal("unknown media downloaded")
	}
	cs, _ := f.net.CheckContacts(f.ctx, []string{"+1 (555) 000-1111", "12"})
	if !cs[0].Valid || cs[0].WaID != "15550001111" || cs[1].Valid {
		t.Fatalf("%+v", cs)
	}
}

func TestSendUploadsOurMedia(t *testing.T) {
	f := setup(t)
	msg := network.Outgoing{ID: "gBM1", To: "1555", Type: "image",
		Body: json.RawMessage(`{"to":"1555","recipient_type":"individual","type":"image","preview_url":false,"image":{"id":"3f1c2b9e"}}`),
		Media: &network.OutgoingMedia{ID: "3f1c2b9e", Kind: "image", MimeType: "image/jpeg",
			Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("jpeg")), nil }}}
	if err := f.net.Send(f.ctx, msg); err != nil {
		t.Fatal(err)
	}
	img := f.graph.Sends()[0]["image"].(map[string]any)
	if id, _ := img["id"].(string); id == "3f1c2b9e" || id == "" {
		t.Fatalf("our media id went to the Cloud: %v", img)
	}
}
