package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/retention"
	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// scrape parses /metrics?format=prometheus with Prometheus's own text parser.
func (h *harness) scrape(header map[string]string) map[string]*dto.MetricFamily {
	h.t.Helper()
	w := h.raw("GET", "/metrics?format=prometheus", "", nil, header)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		h.t.Fatalf("/metrics: %d %s %s", w.Code, w.Header().Get("Content-Type"), w.Body.Bytes())
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(w.Body)
	if err != nil {
		h.t.Fatalf("/metrics is not valid Prometheus text: %v", err)
	}
	return mfs
}

// sample is the value of the sample of name whose labels include want.
func sample(mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	mf := mfs[name]
	if mf == nil {
		return 0
	}
next:
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Summary != nil:
			return float64(m.GetSummary().GetSampleCount())
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}

func apikey() map[string]string { return map[string]string{"Authorization": "Apikey " + testAPIKey} }

func TestOperationsAccessAndShapes(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	user := h.createUser(admin, "ops_viewer", "Passw0rd!")

	res := h.do(request{method: "GET", path: "/v1/support", header: bearer(user)})
	sup, _ := res.Body["support"].(map[string]any)
	if res.Status != 200 || sup["db_engine"] != "SQLITE" || sup["api_version"] != "v2.51.2" || sup["debug_info"] != "unregistered" ||
		sup["socket_conn"] != "DN" || sup["gateway_status"] != "unregistered" || sup["node"] != "test" {
		t.Fatalf("support: %d %s", res.Status, res.Raw)
	}
	if sup["free_space_data"].(float64) <= 0 || sup["free_space_media"].(float64) <= 0 || sup["schema"].(map[string]any)["wabiz"].(float64) != float64(store.LatestVersion()) {
		t.Fatalf("support lacks free space or schema: %s", res.Raw)
	}
	if info := sup["db_info"].([]any); len(info) != 1 || info[0] == "" {
		t.Fatalf("db_info: %s", res.Raw)
	}
	// Decision (§17.15): the API key stops at health, stats and metrics.
	expectError(t, h.do(request{method: "GET", path: "/v1/support", header: apikey()}), 403, e(1005, "Access denied", "User doesn't have permission"))
	expectError(t, h.do(request{method: "GET", path: "/v1/stats/app"}), 401, e(1005, "Access denied", "Missing or invalid authentication credentials"))
	expectError(t, h.do(request{method: "PUT", path: "/v1/services/message/gc", header: apikey()}), 403, e(1005, "Access denied", "User doesn't have permission"))

	for _, path := range []string{"/v1/stats/app", "/v1/stats/db", "/v1/stats/app/internal", "/v1/stats/db/internal"} {
		for _, hdr := range []map[string]string{bearer(user), apikey()} {
			res := h.do(request{method: "GET", path: path, header: hdr})
			stats, _ := res.Body["stats"].(map[string]any)
			area := strings.Split(path, "/")[3]
			body, _ := stats[area].(map[string]any)
			if strings.HasSuffix(path, "/internal") {
				body, _ = body["internal"].(map[string]any)
			}
			if res.Status != 200 || len(body) == 0 {
				t.Fatalf("%s: %d %s", path, res.Status, res.Raw)
			}
		}
		w := h.raw("GET", path+"?format=prometheus", "", nil, apikey())
		parser := expfmt.NewTextParser(model.UTF8Validation)
		if _, err := parser.TextToMetricFamilies(w.Body); w.Code != 200 || err != nil {
			t.Fatalf("%s?format=prometheus: %d %v", path, w.Code, err)
		}
	}
	res = h.do(request{method: "GET", path: "/v1/stats/db", header: apikey()})
	msgs := res.Body["stats"].(map[string]any)["db"].(map[string]any)["db_messages"].(map[string]any)
	if msgs["type"] != "gauge" || msgs["help"] == "" || len(msgs["data"].([]any)) != 6 {
		t.Fatalf("db_messages: %v", msgs)
	}
	h.scrape(apikey())
	if w := h.raw("GET", "/v1/metrics?format=prometheus", "", nil, bearer(user)); w.Code != 200 || !strings.Contains(w.Body.String(), "# TYPE web_uptime gauge") {
		t.Fatalf("/v1/metrics: %d %s", w.Code, w.Body.Bytes())
	}
	res = h.do(request{method: "GET", path: "/metrics?format=json", header: apikey()})
	if res.Status != 200 || res.Body["metrics"].(map[string]any)["web_uptime"] == nil {
		t.Fatalf("metrics json: %d %s", res.Status, res.Raw)
	}
}

// TestMetricsMoveWithTraffic: after a round trip the counters of the
// request path, the core and the webhook have moved.
func TestMetricsMoveWithTraffic(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	before := h.scrape(apikey())
	h.ready(admin) // a customer writes, its callback is delivered
	h.send(admin, `{"to":"`+customer+`","text":{"body":"hi"}}`)
	h.pump()
	h.clock.Advance(time.Minute) // the sandbox delivers after a simulated delay
	h.pump()
	after := h.scrape(apikey())

	grew := func(name string, labels map[string]string, by float64) {
		t.Helper()
		if d := sample(after, name, labels) - sample(before, name, labels); d < by {
			t.Errorf("%s%v moved by %v, want at least %v", name, labels, d, by)
		}
	}
	grew("wabiz_messages_sent_total", nil, 1)
	grew("wabiz_messages_received_total", nil, 1)
	grew("wabiz_message_status_changes_total", map[string]string{"status": "delivered"}, 1)
	grew("wabiz_http_requests_total", map[string]string{"route": "/v1/messages", "method": "POST", "status": "201"}, 1)
	grew("wabiz_http_request_duration_seconds", map[string]string{"route": "/v1/messages", "method": "POST", "status": "201"}, 1)
	grew("api_requests_duration_ms", map[string]string{"method": "POST_v1_messages", "result": "201"}, 1)
	grew("wabiz_callbacks_total", map[string]string{"result": "delivered"}, 2)
	grew("web_handled_requests", nil, 5)
	if _, ok := after["wabiz_pending_messages"]; !ok {
		t.Error("no wabiz_pending_messages")
	}
	if sample(after, "wabiz_callback_queue_size", nil) != 0 {
		t.Error("callback queue not empty after pump")
	}
	// A raw path never becomes a label: unknown paths count as "other".
	h.raw("GET", "/v1/nothing/here", "", nil, nil)
	if sample(h.scrape(apikey()), "wabiz_http_requests_total", map[string]string{"route": "other", "status": "404"}) < 1 {
		t.Error("unknown path not counted as other")
	}
	res := h.do(request{method: "GET", path: "/v1/stats/app", header: apikey()})
	out := res.Body["stats"].(map[string]any)["app"].(map[string]any)["outgoing_messages"].(map[string]any)
	if v := out["data"].([]any)[0].(map[string]any)["value"].(float64); v < 1 {
		t.Fatalf("outgoing_messages %v", out)
	}
}

// TestGarbageCollection deletes exactly what has passed its retention, on
// the injected clock, and reports on the webhook.
func TestGarbageCollection(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		h := newHarness(t, cfg)
		admin := h.adminToken()
		hook := newReceiver(t)
		h.setWebhook(admin, hook.srv.URL)
		ctx := context.Background()
		now := h.clock.Now()
		old, recent := now.Add(-retention.MessageRetention-time.Hour), now.Add(-retention.MessageRetention+time.Hour)

		outbox := func(id, status string, at time.Time) {
			t.Helper()
			if err := h.store.InsertOutbox(ctx, store.OutboxMessage{ID: id, Recipient: customer, Type: "text", Body: []byte(`{}`),
				ScheduledAt: at, CreatedAt: at, ExpiresAt: at.Add(30 * 24 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if status != store.OutboxQueued {
				if _, moved, err := h.store.AdvanceOutbox(ctx, id, status, "", at); err != nil || !moved {
					t.Fatalf("advance %s: %v %v", id, moved, err)
				}
			}
		}
		outbox("old-delivered", store.OutboxDelivered, old)
		outbox("old-read", store.OutboxRead, old)
		outbox("old-failed", store.OutboxFailed, old)
		outbox("old-queued", store.OutboxQueued, old) // not finished: its TTL decides
		outbox("recent-read", store.OutboxRead, recent)
		for id, at := range map[string]time.Time{"in-old": old, "in-recent": recent} {
			if _, err := h.store.InsertInbound(ctx, store.InboundMessage{ID: id, Sender: customer, Type: "text", Body: []byte(`{}`), ReceivedAt: at}); err != nil {
				t.Fatal(err)
			}
		}

		res := h.do(request{method: "PUT", path: "/v1/services/message/gc", header: bearer(admin)})
		if res.Status != 200 || !strings.HasPrefix(string(res.Raw), `{"services":{"message":{"gc":{"status":"processing"}}},"meta":`) {
			t.Fatalf("message gc: %d %s", res.Status, res.Raw)
		}
		h.node.Collector.Wait()
		if _, err := h.hooks.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]bool{"old-delivered": false, "old-read": false, "old-failed": false, "old-queued": true, "recent-read": true} {
			if _, err := h.store.GetOutbox(ctx, id); (err == nil) != want {
				t.Errorf("outbox %s kept=%v, want %v", id, err == nil, want)
			}
		}
		for id, want := range map[string]bool{"in-old": false, "in-recent": true} {
			if _, err := h.store.GetInbound(ctx, id); (err == nil) != want {
				t.Errorf("inbound %s kept=%v, want %v", id, err == nil, want)
			}
		}
		svc := hook.items("services")
		if len(svc) != 1 {
			t.Fatalf("services callbacks: %v", svc)
		}
		if g := svc[0]["message"].(map[string]any)["gc"].(map[string]any); g["status"] != "complete" || g["messages_deleted"] != float64(4) {
			t.Fatalf("message gc notification %v", g)
		}

		// Media: one file unused for more than 30 days, one used since.
		png, _ := media.Sample("image")
		stale := h.upload(admin, "image/png", png, nil)
		h.clock.Advance(retention.MediaRetention + time.Hour)
		admin = h.login("admin", testAdminPassword) // the token expired meanwhile
		fresh := h.upload(admin, "image/png", png, nil)
		res = h.do(request{method: "PUT", path: "/v1/services/media/gc/", header: bearer(admin)})
		if res.Status != 200 || !strings.HasPrefix(string(res.Raw), `{"services":{"media":{"gc":{"status":"processing"}}},"meta":`) {
			t.Fatalf("media gc: %d %s", res.Status, res.Raw)
		}
		h.node.Collector.Wait()
		if _, err := h.hooks.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if w := h.raw("GET", "/v1/media/"+stale, "", nil, bearer(admin)); w.Code != 404 {
			t.Errorf("stale media still served: %d", w.Code)
		}
		if w := h.raw("GET", "/v1/media/"+fresh, "", nil, bearer(admin)); w.Code != 200 {
			t.Errorf("fresh media gone: %d", w.Code)
		}
		if files := volumeFiles(t, h.node.Media); len(files) != 1 {
			t.Errorf("volume files %v", files)
		}
		svc = hook.items("services")
		if len(svc) != 2 {
			t.Fatalf("services callbacks: %v", svc)
		}
		if g := svc[1]["media"].(map[string]any)["gc"].(map[string]any); g["status"] != "complete" || g["items_deleted"] != float64(1) {
			t.Fatalf("media gc notification %v", g)
		}
	})
}

// TestPassThroughSweep: with pass_through on, read and failed messages go at
// once and delivered ones after a day; with it off nothing goes.
func TestPassThroughSweep(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	ctx := context.Background()
	now := h.clock.Now()
	for _, m := range []struct {
		id, status string
		at         time.Time
	}{{"read", store.OutboxRead, now}, {"failed", store.OutboxFailed, now}, {"delivered-now", store.OutboxDelivered, now},
		{"delivered-old", store.OutboxDelivered, now.Add(-25 * time.Hour)}, {"sent", store.OutboxSent, now.Add(-48 * time.Hour)}} {
		if err := h.store.InsertOutbox(ctx, store.OutboxMessage{ID: m.id, Recipient: customer, Type: "text", Body: []byte(`{}`), ScheduledAt: m.at, CreatedAt: m.at, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := h.store.AdvanceOutbox(ctx, m.id, m.status, "", m.at); err != nil {
			t.Fatal(err)
		}
	}
	passThrough := false
	c := retention.New(ctx, retention.Options{Store: h.store, Hooks: h.hooks, Now: h.clock.Now, Settings: func() settings.Application {
		a := h.settings.Current()
		a.PassThrough = passThrough
		return a
	}})
	if n, err := c.SweepPassThrough(ctx); n != 0 || err != nil {
		t.Fatalf("sweep with pass_through off: %d %v", n, err)
	}
	passThrough = true
	if n, err := c.SweepPassThrough(ctx); n != 3 || err != nil {
		t.Fatalf("sweep: %d %v", n, err)
	}
	for id, want := range map[string]bool{"read": false, "failed": false, "delivered-old": false, "delivered-now": true, "sent": true} {
		if _, err := h.store.GetOutbox(ctx, id); (err == nil) != want {
			t.Errorf("%s kept=%v, want %v", id, err == nil, want)
		}
	}
}
