package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
)

// cloudSetup is a registered cloud-mode harness with a webhook receiver.
type cloudSetup struct {
	*harness
	graph *graphtest.Server
	admin string
	hook  *receiver
}

func newCloudSetup(t *testing.T, opts ...harnessOption) cloudSetup {
	t.Helper()
	return newCloudSetupOn(t, graphtest.New(t), opts...)
}

// newCloudSetupOn is newCloudSetup against a Graph double the caller has
// prepared (templates in the WABA's catalogue are loaded at registration).
func newCloudSetupOn(t *testing.T, graph *graphtest.Server, opts ...harnessOption) cloudSetup {
	t.Helper()
	h := sqliteHarness(t, append([]harnessOption{withCloud(graph)}, opts...)...)
	admin := h.adminToken()
	hook := newReceiver(t)
	h.do(request{method: "POST", path: "/v1/account", header: bearer(admin), body: `{"cc":"1","phone_number":"5550100000","method":"sms","cert":"Y2VydA==","pin":"123456"}`})
	if res := h.do(request{method: "POST", path: "/v1/account/verify", header: bearer(admin), body: `{"code":"123456"}`}); res.Status != 201 {
		t.Fatalf("verify: %d %s", res.Status, res.Raw)
	}
	waitReady(t, h)
	h.setWebhook(admin, hook.srv.URL)
	return cloudSetup{harness: h, graph: graph, admin: admin, hook: hook}
}

// deliver posts a signed Cloud webhook delivery carrying value and expects want.
func (s cloudSetup) deliver(value map[string]any, want int) {
	s.t.Helper()
	body, sig := s.graph.Delivery(testAppSecret, value)
	if w := s.raw("POST", "/cloud/webhook", "application/json", bytes.NewReader(body), map[string]string{"X-Hub-Signature-256": sig}); w.Code != want {
		s.t.Fatalf("delivery answered %d, want %d: %s", w.Code, want, w.Body.String())
	}
}

// wamids maps our ids to the wamids the double answered the sends with
// (when the double refused none).
func (s cloudSetup) wamids() map[string]string {
	out := map[string]string{}
	for i, id := range s.graph.SentIDs() {
		ours, _ := s.graph.Sends()[i]["biz_opaque_callback_data"].(string)
		out[ours] = id
	}
	return out
}

// customerWrites delivers a text from the customer with the given wamid.
func (s cloudSetup) customerWrites(wamid, text string) {
	s.t.Helper()
	s.deliver(map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]any{"name": "Dana Reyes"}, "wa_id": customer}},
		"messages": []any{map[string]any{"from": customer, "id": wamid, "timestamp": "1795255200", "type": "text", "text": map[string]any{"body": text}}},
	}, 200)
}

// rawStatusesOf returns the callback bodies' status objects for id as
// the bytes the receiver got, so number-or-string can be checked.
func (r *receiver) rawStatusesOf(t *testing.T, id string) []json.RawMessage {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []json.RawMessage
	for _, b := range r.bodies {
		var body struct {
			Statuses []json.RawMessage `json:"statuses"`
		}
		json.Unmarshal(b, &body)
		for _, s := range body.Statuses {
			var head struct {
				ID string `json:"id"`
			}
			json.Unmarshal(s, &head)
			if head.ID == id {
				out = append(out, s)
			}
		}
	}
	return out
}

var conversationIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestCloudStatusesUseTheCloudsBilling: a status the Cloud reports with
// its conversation and pricing reaches the webhook with them (the
// expiration as a number); without them, wabiz's own; deleted and warning
// statuses are passed on; "played" is not; value.errors become an errors
// callback. Every step goes in as a signed delivery and out as a callback.
func TestCloudStatusesUseTheCloudsBilling(t *testing.T) {
	t.Parallel()
	s := newCloudSetup(t)
	s.customerWrites("wamid.HBgLMTU1NTAwMDExMTEVAgASGBQzQkMx", "Hello?")
	first := s.send(s.admin, `{"to":"`+customer+`","type":"text","text":{"body":"Hello Dana"}}`)
	second := s.send(s.admin, `{"to":"`+customer+`","type":"text","text":{"body":"Anything else?"}}`)
	s.pump()
	wamids := s.wamids()
	ids := []string{wamids[first], wamids[second]}
	if len(wamids) != 2 {
		t.Fatalf("cloud sends %v", wamids)
	}
	status := func(wamid, st, ts string, extra map[string]any) map[string]any {
		m := map[string]any{"id": wamid, "status": st, "timestamp": ts, "recipient_id": customer}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	s.deliver(map[string]any{"statuses": []any{
		status(ids[0], "delivered", "1795255260", map[string]any{
			"conversation": map[string]any{"id": "5f0c1a2b3c4d5e6f708192a3b4c5d6e7", "expiration_timestamp": "1795341600", "origin": map[string]any{"type": "service"}},
			"pricing":      map[string]any{"billable": false, "pricing_model": "PMP", "category": "service", "type": "free_customer_service"}}),
		status(ids[1], "delivered", "1795255261", nil),
		status(ids[0], "played", "1795255262", nil),
		status(ids[0], "deleted", "1795255263", nil),
		status(ids[1], "warning", "1795255264", map[string]any{"errors": []any{map[string]any{"code": 131061, "title": "Catalog item unavailable",
			"message": "Catalog item unavailable", "error_data": map[string]any{"details": "product 42 is hidden"}}}}),
	}}, 200)
	s.clock.Advance(time.Second)
	s.pump()

	got := s.hook.rawStatusesOf(t, first)
	want := []string{
		`{"id":"` + first + `","recipient_id":"` + customer + `","status":"delivered","timestamp":"1795255260",` +
			`"conversation":{"id":"5f0c1a2b3c4d5e6f708192a3b4c5d6e7","expiration_timestamp":1795341600,"origin":{"type":"service"}},` +
			`"pricing":{"billable":false,"pricing_model":"PMP","category":"service"}}`,
		`{"id":"` + first + `","recipient_id":"` + customer + `","status":"deleted","timestamp":"1795255263"}`,
	}
	if len(got) != len(want) {
		t.Fatalf("statuses of %s: %s", first, got)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("status %d\ngot  %s\nwant %s", i, got[i], want[i])
		}
	}
	st := s.hook.statusesOf(second)
	if len(st) != 2 || st[0]["status"] != "delivered" || st[1]["status"] != "warning" {
		t.Fatalf("statuses of %s: %v", second, st)
	}
	conv, _ := st[0]["conversation"].(map[string]any)
	price, _ := st[0]["pricing"].(map[string]any)
	if id, _ := conv["id"].(string); !conversationIDPattern.MatchString(id) || price["pricing_model"] != "CBP" {
		t.Fatalf("without the Cloud's billing, wabiz's own: %v", st[0])
	}
	errs, _ := st[1]["errors"].([]any)
	if len(errs) != 1 || string(mustJSON(errs[0])) != `{"code":1000,"details":"Cloud API error 131061: Catalog item unavailable (product 42 is hidden)","title":"Generic error"}` {
		t.Fatalf("warning errors: %v", st[1])
	}

	// An error of the account, tied to no message.
	s.deliver(map[string]any{"errors": []any{map[string]any{"code": 130429, "title": "Rate limit hit", "message": "(#130429) Rate limit hit",
		"error_data": map[string]any{"details": "Cloud API message throughput has been reached."}, "href": "/docs/whatsapp/cloud-api/support/error-codes/"}}}, 200)
	s.pump()
	e := s.hook.items("errors")
	if len(e) != 1 || string(mustJSON(e[0])) != `{"code":1015,"details":"Cloud API error 130429: (#130429) Rate limit hit (Cloud API message throughput has been reached.)","title":"Too many requests"}` {
		t.Fatalf("errors callback: %v", e)
	}
	if !strings.Contains(s.logText(), "ignoring a Cloud status On-Premises has no counterpart for") {
		t.Errorf("the played status was not logged")
	}
}

// TestCloudReplayedDeliveryIsHandledOnce: Meta delivers the same message
// and status again (its retry of a delivery whose 200 it never got), before
// and after the first copy was handled: one callback each.
func TestCloudReplayedDeliveryIsHandledOnce(t *testing.T) {
	t.Parallel()
	s := newCloudSetup(t)
	s.customerWrites("wamid.HBgLMTU1NTAwMDExMTEVAgASGBQzQkMy", "Are you open?")
	s.customerWrites("wamid.HBgLMTU1NTAwMDExMTEVAgASGBQzQkMy", "Are you open?")
	s.pump()
	s.customerWrites("wamid.HBgLMTU1NTAwMDExMTEVAgASGBQzQkMy", "Are you open?")
	id := s.send(s.admin, `{"to":"`+customer+`","type":"text","text":{"body":"Yes"}}`)
	s.pump()
	delivered := map[string]any{"statuses": []any{map[string]any{"id": s.wamids()[id], "status": "delivered", "timestamp": "1795255260", "recipient_id": customer}}}
	s.deliver(delivered, 200)
	s.clock.Advance(time.Second)
	s.pump()
	s.deliver(delivered, 200)
	s.pump()
	if msgs := s.hook.items("messages"); len(msgs) != 1 {
		t.Fatalf("%d inbound callbacks for one message delivered three times: %v", len(msgs), msgs)
	}
	if st := s.hook.statusesOf(id); len(st) != 1 {
		t.Fatalf("%d status callbacks for one status delivered twice: %v", len(st), st)
	}
}

// TestCloudInboundMediaURLExpiresMidDownload: the customer's photo's URL
// expires while wabiz downloads it; the download resumes with a new URL
// from GET /{media-id}, the message reaches the webhook once, and
// GET /v1/media serves the whole file.
func TestCloudInboundMediaURLExpiresMidDownload(t *testing.T) {
	t.Parallel()
	s := newCloudSetup(t)
	photo := bytes.Repeat([]byte("not really a jpeg, but long enough to break off "), 2000)
	s.graph.AddMedia("1166426254101831", "image/jpeg", photo)
	s.graph.CutNextDownload(30000)
	s.deliver(map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]any{"name": "Dana"}, "wa_id": customer}},
		"messages": []any{map[string]any{"from": customer, "id": "wamid.HBgLMTU1NTAwMDExMTEVAgASGBQzQkM0", "timestamp": "1795255200", "type": "image",
			"image": map[string]any{"id": "1166426254101831", "mime_type": "image/jpeg", "sha256": base64Sum(photo)}}},
	}, 200)
	s.pump()
	msgs := s.hook.items("messages")
	if len(msgs) != 1 {
		t.Fatalf("inbound callbacks: %v", msgs)
	}
	id, _ := msgs[0]["image"].(map[string]any)["id"].(string)
	w := s.raw("GET", "/v1/media/"+id, "", nil, bearer(s.admin))
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), photo) {
		t.Fatalf("GET /v1/media/%s: %d, %d of %d bytes", id, w.Code, w.Body.Len(), len(photo))
	}
	if !strings.Contains(s.logText(), "a media download broke off; resuming with a new URL") {
		t.Errorf("no log line for the broken download")
	}

	// A file that cannot be had at all: the message is not lost, the file
	// can be asked for again.
	s.graph.AddMedia("1166426254101832", "image/jpeg", photo)
	s.graph.HandOutExpiredURLs(100)
	s.deliver(map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]any{"name": "Dana"}, "wa_id": customer}},
		"messages": []any{map[string]any{"from": customer, "id": "wamid.HBgLMTU1NTAwMDExMTEVAgASGBQzQkM2", "timestamp": "1795255201", "type": "image",
			"image": map[string]any{"id": "1166426254101832", "mime_type": "image/jpeg", "sha256": base64Sum(photo)}}},
	}, 200)
	s.pump()
	msgs = s.hook.items("messages")
	if len(msgs) != 2 || msgs[1]["id"] != "wamid.HBgLMTU1NTAwMDExMTEVAgASGBQzQkM2" {
		t.Fatalf("the message whose file failed was lost: %v", msgs)
	}
	pending, _ := msgs[1]["image"].(map[string]any)["id"].(string)
	if w := s.raw("GET", "/v1/media/"+pending, "", nil, bearer(s.admin)); w.Code != 404 || !strings.Contains(w.Body.String(), "not downloaded yet") {
		t.Fatalf("GET /v1/media/%s: %d %s", pending, w.Code, w.Body.String())
	}
	s.graph.HandOutExpiredURLs(0)
	if w := s.raw("GET", "/v1/media/"+pending+"/download", "", nil, bearer(s.admin)); w.Code != 200 {
		t.Fatalf("download again: %d %s", w.Code, w.Body.String())
	}
	if w := s.raw("GET", "/v1/media/"+pending, "", nil, bearer(s.admin)); w.Code != 200 || !bytes.Equal(w.Body.Bytes(), photo) {
		t.Fatalf("after the download: %d, %d bytes", w.Code, w.Body.Len())
	}
}

// TestCloudUploadsMediaAtUpload: in cloud mode POST /v1/media puts the
// file on the Cloud at once and the first send uses that Cloud id; a file
// the Cloud refuses is answered 1009 and not kept; when the Cloud cannot
// take it (down, token expired) the upload still succeeds and the file
// goes at its first send.
func TestCloudUploadsMediaAtUpload(t *testing.T) {
	t.Parallel()
	s := newCloudSetup(t)
	s.customerWrites("wamid.HBgLMTU1NTAwMDExMTEVAgASGBQzQkM1", "Send me the map")
	png, _ := media.Sample("image")

	id := s.upload(s.admin, "image/png", png, nil)
	if s.graph.Uploads() != 1 {
		t.Fatalf("%d uploads to the Cloud at POST /v1/media", s.graph.Uploads())
	}
	cached, err := s.store.GetCloudMedia(context.Background(), id)
	if err != nil || cached.CloudID == "" || cached.SHA256 != sha(png) {
		t.Fatalf("cloud media id of %s: %+v %v", id, cached, err)
	}
	s.send(s.admin, `{"to":"`+customer+`","type":"image","image":{"id":"`+id+`"}}`)
	s.pump()
	if n := s.graph.Uploads(); n != 1 {
		t.Fatalf("the first send uploaded again: %d uploads", n)
	}
	if sent := s.graph.Sends()[0]["image"].(map[string]any)["id"]; sent != cached.CloudID {
		t.Fatalf("sent with %v, want the id of the upload %s", sent, cached.CloudID)
	}

	// A file the Cloud does not take: refused, not kept.
	before := len(volumeFiles(t, s.node.Media))
	gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
	w := s.raw("POST", "/v1/media", "image/gif", bytes.NewReader(gif), bearer(s.admin))
	expectError(t, asResponse(t, w), 400, e(1009, "Parameter value is not valid",
		"Media upload error: the file was refused: Cloud API error 131053: (#131053) Media upload error (Unsupported file type image/gif)"))
	if after := len(volumeFiles(t, s.node.Media)); after != before {
		t.Fatalf("a refused file was kept: %d files, %d before", after, before)
	}

	// The Cloud is down, then the token expired: the upload stands.
	for _, f := range []graphtest.Failure{{HTTPStatus: 503, Code: 2, Message: "Service temporarily unavailable"},
		{HTTPStatus: 401, Code: 190, Message: "Error validating access token: Session has expired"}} {
		s.graph.FailNext(1, f)
		kept := s.upload(s.admin, "image/png", png, nil)
		if _, err := s.store.GetCloudMedia(context.Background(), kept); err == nil {
			t.Fatalf("a failed upload was recorded")
		}
		uploads := s.graph.Uploads()
		s.send(s.admin, `{"to":"`+customer+`","type":"image","image":{"id":"`+kept+`"}}`)
		s.pump()
		if s.graph.Uploads() != uploads+1 {
			t.Fatalf("the first send did not upload the kept file (%d uploads)", s.graph.Uploads())
		}
	}
	if !strings.Contains(s.logText(), "could not put an uploaded file on the network now") {
		t.Errorf("no warning for the upload the Cloud could not take")
	}
}

// TestCloudPublishesTheProfilePhoto: POST /v1/settings/profile/photo in
// cloud mode reaches WhatsApp through the Meta app's Resumable Upload API:
// the Cloud gets the very JPEG that GET serves, once; a later profile
// change does not upload it again.
func TestCloudPublishesTheProfilePhoto(t *testing.T) {
	t.Parallel()
	s := newCloudSetup(t)
	res := s.do(request{method: "POST", path: "/v1/settings/profile/photo", header: bearer(s.admin), contentType: "image/png", body: string(testPNG(t, 900, 700))})
	if res.Status != 201 {
		t.Fatalf("photo: %d %s", res.Status, res.Raw)
	}
	stored := httptestGet(s.harness, s.admin, "/v1/settings/profile/photo").Body.Bytes()
	if len(stored) == 0 || !bytes.Equal(s.graph.ProfilePhoto(), stored) {
		t.Fatalf("the Cloud has %d bytes, wabiz serves %d", len(s.graph.ProfilePhoto()), len(stored))
	}
	if res := s.do(request{method: "PATCH", path: "/v1/settings/profile/about", header: bearer(s.admin), body: `{"text":"Open 9 to 5"}`}); res.Status != 200 {
		t.Fatalf("about: %d %s", res.Status, res.Raw)
	}
	uploads := 0
	for _, r := range s.graph.Requests() {
		if r == "POST /v21.0/"+s.graph.AppID+"/uploads" {
			uploads++
		}
	}
	if uploads != 1 || s.graph.Profile()["about"] != "Open 9 to 5" {
		t.Fatalf("%d photo uploads, profile %v", uploads, s.graph.Profile())
	}
}

// TestCloudWebhookRefusesWhatIsNotADelivery: forged, malformed and
// oversized deliveries are answered with an error (so nothing is lost if
// Meta really sent them: it retries) and leave nothing behind; each is
// logged.
func TestCloudWebhookRefusesWhatIsNotADelivery(t *testing.T) {
	t.Parallel()
	s := newCloudSetup(t)
	post := func(body []byte, sig string) int {
		t.Helper()
		return s.raw("POST", "/cloud/webhook", "application/json", bytes.NewReader(body), map[string]string{"X-Hub-Signature-256": sig}).Code
	}
	good, sig := s.graph.Delivery(testAppSecret, map[string]any{"messages": []any{map[string]any{"from": customer, "id": "wamid.NEVER",
		"timestamp": "1795255200", "type": "text", "text": map[string]any{"body": "forged"}}}})
	notJSON := []byte(`{"object":"whatsapp_business_account","entry":[`)
	huge := append([]byte(`{"object":"whatsapp_business_account","entry":[],"pad":"`), bytes.Repeat([]byte("x"), 3<<20)...)
	huge = append(huge, `"}`...)
	for _, c := range []struct {
		name   string
		body   []byte
		sig    string
		status int
	}{
		{"unsigned", good, "", 401},
		{"signed with another secret", good, graphtest.Sign("not-the-secret", good), 401},
		{"signature of other bytes", append([]byte(" "), good...), sig, 401},
		{"not JSON", notJSON, graphtest.Sign(testAppSecret, notJSON), 400},
		{"not a WhatsApp object", []byte(`{"object":"page","entry":[]}`), graphtest.Sign(testAppSecret, []byte(`{"object":"page","entry":[]}`)), 400},
		{"over 3 MiB", huge, graphtest.Sign(testAppSecret, huge), 413},
	} {
		if got := post(c.body, c.sig); got != c.status {
			t.Errorf("%s: %d, want %d", c.name, got, c.status)
		}
	}
	s.pump()
	if n := len(s.hook.items("messages")); n != 0 {
		t.Fatalf("%d callbacks from refused deliveries", n)
	}
	log := s.logText()
	for _, line := range []string{"rejected a Cloud webhook delivery", "rejected a malformed Cloud webhook delivery", "rejected an oversized Cloud webhook delivery"} {
		if !strings.Contains(log, line) {
			t.Errorf("no %q in the log", line)
		}
	}
}
