package console_test

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/console"
	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
	"github.com/wabiz/wabiz/internal/store"
)

// What each kind of message draws as: the fields the chat template reads.
func TestBubblesReadEveryKindOfMessage(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	received := []store.SandboxMessage{
		{ID: "gB1", At: t0, Status: "delivered", Body: []byte(`{"to":"1","type":"interactive","interactive":{"type":"button","header":{"type":"text","text":"H"},
			"body":{"text":"Pick"},"footer":{"text":"F"},"action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Yes"}},{"type":"reply","reply":{"id":"no","title":"No"}}]}}}`)},
		{ID: "gB2", At: t0.Add(time.Second), Status: "read", Body: []byte(`{"type":"template","template":{},"shown":{"name":"t","language":"en","header":{"format":"text","text":"Hi"},
			"body":"Body","footer":"Foot","buttons":[{"type":"QUICK_REPLY","text":"Stop","payload":"stop"},{"type":"URL","text":"Open","url":"https://example.org/x"}]}}`)},
		{ID: "gB3", At: t0.Add(2 * time.Second), Status: "sent", Body: []byte(`{"type":"image","image":{"id":"m1","caption":"c"},"media":{"id":"m1","mime_type":"image/png"},"context":{"message_id":"ABx"}}`)},
		{ID: "gB4", At: t0.Add(3 * time.Second), Status: "sent", Body: []byte(`not json`)},
	}
	sent := []store.SandboxMessage{
		{ID: "ABx", At: t0.Add(-time.Second), Body: []byte(`{"location":{"latitude":1.5,"longitude":2.5,"name":"Here"}}`)},
		{ID: "ABy", At: t0.Add(4 * time.Second), Status: "read", Body: []byte(`{"context":{"id":"gB1"},"interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Yes"}}}`)},
		{ID: "ABz", At: t0.Add(5 * time.Second), Body: []byte(`{"contacts":[{"name":{"formatted_name":"Bo"},"phones":[{"phone":"+1 555"}]}]}`)},
		{ID: "ABw", At: t0.Add(6 * time.Second), Body: []byte(`{"document":{"mime_type":"application/pdf","filename":"a.pdf"}}`)},
	}
	b := console.Bubbles(received, sent)
	ids := make([]string, len(b))
	for i, x := range b {
		ids[i] = x.ID
	}
	if strings.Join(ids, " ") != "ABx gB1 gB2 gB3 gB4 ABy ABz ABw" {
		t.Fatalf("order %v", ids)
	}
	loc, buttons, tpl, img, bad, reply, card, doc := b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
	if !loc.Mine || loc.Location == nil || loc.Location.Name != "Here" || loc.Location.Latitude != 1.5 {
		t.Errorf("location %+v", loc)
	}
	if c := buttons.Choice; c == nil || c.Header != "H" || c.Body != "Pick" || c.Footer != "F" || len(c.Buttons) != 2 || c.Buttons[1].ID != "no" {
		t.Errorf("buttons %+v", buttons.Choice)
	}
	if c := tpl.Choice; c == nil || c.Kind != "template" || c.Header != "Hi" || c.Body != "Body" || len(c.Buttons) != 2 ||
		c.Buttons[0].Kind != "quick_reply" || c.Buttons[0].ID != "stop" || c.Buttons[1].URL != "https://example.org/x" {
		t.Errorf("template %+v", tpl.Choice)
	}
	if img.Media == nil || img.Media.URL != "/console/media/biz-m1" || img.Caption != "c" || img.ReplyTo != "ABx" {
		t.Errorf("image %+v", img)
	}
	if bad.Type != "unknown" || bad.Raw != "not json" {
		t.Errorf("a body that is not JSON: %+v", bad)
	}
	if reply.Reply != "Yes" || reply.ReplyTo != "gB1" || reply.Status != "read" {
		t.Errorf("button reply %+v", reply)
	}
	if len(card.Contacts) != 1 || card.Contacts[0].Name != "Bo" || card.Contacts[0].Phone != "+1 555" {
		t.Errorf("contact %+v", card.Contacts)
	}
	if doc.Media == nil || doc.Media.URL != "/console/media/sbx-ABw" || doc.Media.Filename != "a.pdf" || doc.Type != "document" {
		t.Errorf("document %+v", doc.Media)
	}
}

// On the Cloud bridge only the webhook log, timelines, settings and
// health exist.
func TestCloudBridgeConsoleShowsOnlyWhatApplies(t *testing.T) {
	t.Parallel()
	g := graphtest.New(t)
	_, srv := testNode(t, map[string]string{
		"WABIZ_NETWORK": "cloud", "WABIZ_CLOUD_GRAPH_URL": g.GraphURL(), "WABIZ_CLOUD_PHONE_NUMBER_ID": g.PhoneNumberID,
		"WABIZ_CLOUD_WABA_ID": g.WABAID, "WABIZ_CLOUD_APP_ID": g.AppID, "WABIZ_CLOUD_ACCESS_TOKEN": g.Token,
		"WABIZ_CLOUD_APP_SECRET": "app-secret-for-tests", "WABIZ_CLOUD_VERIFY_TOKEN": "verify-me",
	})
	b := newBrowser(t, srv)
	b.login("admin", "secret", "Console#Pass1")
	if resp, _ := b.get("/console/"); resp.Header.Get("Location") != "/console/webhooks" {
		t.Fatalf("home leads to %q", resp.Header.Get("Location"))
	}
	for path, want := range map[string]int{"/console/webhooks": 200, "/console/settings": 200, "/console/customers": 404, "/console/templates": 404} {
		resp, page := b.get(path)
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
		if want == 200 && strings.Contains(page, `href="/console/customers"`) {
			t.Errorf("%s links to the sandbox's pages", path)
		}
	}
}

// Shutdown ends the event streams, so a graceful shutdown does not wait
// for open pages.
func TestShutdownEndsEventStreams(t *testing.T) {
	t.Parallel()
	node, srv := testNode(t, nil)
	b := newBrowser(t, srv)
	b.login("admin", "secret", "Console#Pass1")
	req, _ := http.NewRequest("GET", srv.URL+"/console/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	if line, _ := r.ReadString('\n'); !strings.HasPrefix(line, "retry:") {
		t.Fatalf("first line %q", line)
	}
	node.Console.Shutdown()
	ended := make(chan struct{})
	go func() {
		for {
			if _, err := r.ReadString('\n'); err != nil {
				close(ended)
				return
			}
		}
	}()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end after Shutdown")
	}
}
