package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// A connection to WhatsApp lost for longer than the bound (runtime §1.6,
// §4): one errors callback per outage, health "disconnected" meanwhile.

// checkConnection makes the core's periodic look at the connection now.
func (h *harness) checkConnection() {
	h.t.Helper()
	if err := h.core.CheckConnection(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) gatewayStatus(admin string) string {
	h.t.Helper()
	res := h.do(request{method: "GET", path: "/v1/health", header: bearer(admin)})
	health, _ := res.Body["health"].(map[string]any)
	status, _ := health["gateway_status"].(string)
	if res.Status != 200 || status == "" {
		h.t.Fatalf("health: %d %s", res.Status, res.Raw)
	}
	return status
}

// cutConnection sets the sandbox world's connection_down.
func (h *harness) cutConnection(admin string, down bool) {
	h.t.Helper()
	body := `{"connection_down":false}`
	if down {
		body = `{"connection_down":true}`
	}
	res := h.do(request{method: "PATCH", path: "/sandbox/v1/world", header: bearer(admin), body: body})
	if world, _ := res.Body["world"].(map[string]any); res.Status != 200 || world["connection_down"] != down {
		h.t.Fatalf("world: %d %s", res.Status, res.Raw)
	}
}

const connectionLostLog = `level=WARN msg="the connection to WhatsApp is lost: /v1/health says disconnected and an errors callback is queued; sends are kept and retried"`

// TestLostConnectionIsReportedOnce: with the sandbox's connection cut, the
// idle server's probe finds it lost; past the bound (one minute) one errors
// callback says since when, health says disconnected, and neither repeats
// while the outage lasts. A message sent meanwhile is accepted and kept; a
// customer's message waits on WhatsApp's side. When the connection is back
// health says connected and both arrive. A second outage, found by a failed
// send rather than a probe, is reported on its own.
func TestLostConnectionIsReportedOnce(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		admin := h.adminToken()
		hook := h.ready(admin)
		h.cutConnection(admin, true)

		// Idle: the first probe comes five minutes after the last answer.
		h.clock.Advance(5 * time.Minute)
		h.checkConnection()
		lostAt := h.clock.Now()
		id := h.send(admin, `{"to":"`+customer+`","text":{"body":"Your order has shipped"}}`)
		h.userWrites(admin, customer, "Where is my order?")
		h.pump()
		h.clock.Advance(time.Minute) // the bound, not longer
		h.checkConnection()
		h.pump()
		if got := h.gatewayStatus(admin); got != "connected" || len(hook.items("errors")) != 0 {
			t.Fatalf("at the bound: health %s, errors %v", got, hook.items("errors"))
		}

		h.clock.Advance(time.Second)
		h.checkConnection()
		h.pump()
		want := `{"code":1014,"details":"The connection to WhatsApp has been lost since ` + lostAt.UTC().Format(time.RFC3339) + `","title":"Internal error"}`
		if errs := hook.items("errors"); len(errs) != 1 || string(mustJSON(errs[0])) != want {
			t.Fatalf("errors callbacks %v, want one %s", errs, want)
		}
		if got := h.gatewayStatus(admin); got != "disconnected" {
			t.Fatalf("health during the outage: %s", got)
		}
		if _, ok := h.phone(admin, customer)[id]; ok || len(hook.items("messages")) != 1 || len(hook.statusesOf(id)) != 0 {
			t.Fatalf("something crossed a cut connection: statuses %v, messages %v", hook.statusesOf(id), hook.items("messages"))
		}
		for range 3 {
			h.clock.Advance(5 * time.Minute)
			h.checkConnection()
			h.pump()
		}
		if errs := hook.items("errors"); len(errs) != 1 || strings.Count(h.logText(), connectionLostLog) != 1 {
			t.Fatalf("the outage was reported again: %v", errs)
		}

		h.cutConnection(admin, false)
		h.checkConnection()
		if got := h.gatewayStatus(admin); got != "connected" {
			t.Fatalf("health after the outage: %s", got)
		}
		if !strings.Contains(h.logText(), `level=INFO msg="the connection to WhatsApp is back: /v1/health says connected again"`) {
			t.Error("the end of the outage was not logged")
		}
		h.clock.Advance(time.Minute) // the message's next attempt falls due
		h.pump()
		h.clock.Advance(time.Second)
		h.pump()
		if st := hook.statusesOf(id); len(st) == 0 || st[0]["status"] != "delivered" {
			t.Fatalf("the message kept during the outage: %v", st)
		}
		if msgs := hook.items("messages"); len(msgs) != 2 || msgs[1]["text"].(map[string]any)["body"] != "Where is my order?" {
			t.Fatalf("the customer's message that waited: %v", msgs)
		}
		if len(hook.items("errors")) != 1 {
			t.Fatalf("errors callbacks after the outage: %v", hook.items("errors"))
		}

		// A second outage, found by a send this time (the last answer is
		// too recent for an idle probe): reported on its own.
		h.cutConnection(admin, true)
		h.send(admin, `{"to":"`+customer+`","text":{"body":"Anything else?"}}`)
		h.pump()
		lostAgainAt := h.clock.Now()
		h.clock.Advance(61 * time.Second)
		h.checkConnection()
		h.pump()
		want = `{"code":1014,"details":"The connection to WhatsApp has been lost since ` + lostAgainAt.UTC().Format(time.RFC3339) + `","title":"Internal error"}`
		if errs := hook.items("errors"); len(errs) != 2 || string(mustJSON(errs[1])) != want {
			t.Fatalf("errors callbacks %v, want a second %s", errs, want)
		}
		if got := h.gatewayStatus(admin); got != "disconnected" {
			t.Fatalf("health during the second outage: %s", got)
		}
	})
}

// TestShortConnectionLossIsNotReported: a send finds the connection cut,
// and it comes back within the bound: no errors callback, health stays
// connected, and the message goes out when it is tried again.
func TestShortConnectionLossIsNotReported(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		admin := h.adminToken()
		hook := h.ready(admin)
		h.cutConnection(admin, true)
		id := h.send(admin, `{"to":"`+customer+`","text":{"body":"Your order has shipped"}}`)
		h.pump()
		if _, ok := h.phone(admin, customer)[id]; ok {
			t.Fatal("a send crossed a cut connection")
		}
		h.clock.Advance(59 * time.Second)
		h.checkConnection()
		if got := h.gatewayStatus(admin); got != "connected" {
			t.Fatalf("health within the bound: %s", got)
		}
		h.cutConnection(admin, false)
		h.checkConnection()
		h.clock.Advance(time.Hour)
		h.checkConnection()
		h.pump()
		h.clock.Advance(time.Second)
		h.pump()
		if errs := hook.items("errors"); len(errs) != 0 || strings.Contains(h.logText(), connectionLostLog) {
			t.Fatalf("a short loss was reported: %v", errs)
		}
		if got := h.gatewayStatus(admin); got != "connected" {
			t.Fatalf("health after a short loss: %s", got)
		}
		if st := hook.statusesOf(id); len(st) == 0 || st[0]["status"] != "delivered" {
			t.Fatalf("the message after a short loss: %v", st)
		}
	})
}

// TestCloudLostConnection: the bridge's probe is GET /{phone-number-id};
// while the Graph API answers only a load balancer's 503 page, the loss
// is reported past the bound, and the first good answer ends it.
func TestCloudLostConnection(t *testing.T) {
	t.Parallel()
	s := newCloudSetup(t)
	probe := "GET " + graphtest.Version + "/" + s.graph.PhoneNumberID
	probes := func() int {
		n := 0
		for _, r := range s.graph.Requests() {
			if r == probe {
				n++
			}
		}
		return n
	}
	before := probes() // start-up's connect
	s.graph.FailNext(2, graphtest.Failure{HTTPStatus: 503, Raw: "<html><body>503 Service Unavailable</body></html>"})
	s.clock.Advance(4 * time.Minute)
	s.checkConnection() // the last answer is recent: no probe
	if probes() != before {
		t.Fatalf("probed a connection that answered %v ago", 4*time.Minute)
	}
	s.clock.Advance(time.Minute)
	s.checkConnection()
	lostAt := s.clock.Now()
	s.clock.Advance(61 * time.Second)
	s.checkConnection()
	s.pump()
	want := `{"code":1014,"details":"The connection to WhatsApp has been lost since ` + lostAt.UTC().Format(time.RFC3339) + `","title":"Internal error"}`
	if errs := s.hook.items("errors"); len(errs) != 1 || string(mustJSON(errs[0])) != want {
		t.Fatalf("errors callbacks %v, want one %s", errs, want)
	}
	if got := s.gatewayStatus(s.admin); got != "disconnected" {
		t.Fatalf("health during the outage: %s", got)
	}
	s.checkConnection() // the Graph answers again
	if got := s.gatewayStatus(s.admin); got != "connected" || probes() != before+3 {
		t.Fatalf("after the outage: health %s, %d probes", got, probes()-before)
	}
}
