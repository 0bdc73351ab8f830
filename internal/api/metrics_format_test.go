package api_test

import (
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// prometheusAccept is what Prometheus 2 sends when it scrapes.
const prometheusAccept = "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"

func apikeyAccepting(accept string) map[string]string {
	hdr := apikey()
	hdr["Accept"] = accept
	return hdr
}

// TestMetricsAnswersJSONByDefault: without ?format= and without a scraper's
// Accept, /metrics answers the Webapp's JSON shape (spec §10.4) with every
// family the text exposition has, each with its type, help and samples;
// histograms carry their buckets (with +Inf), sum and count, summaries
// their quantiles.
func TestMetricsAnswersJSONByDefault(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	h.do(request{method: "GET", path: "/v1/settings/application", header: bearer(admin)})
	text := h.scrape(apikey())

	for _, accept := range []string{"", "*/*", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/json, text/plain, */*"} {
		res := h.do(request{method: "GET", path: "/metrics", header: apikeyAccepting(accept)})
		if res.Status != 200 || res.Header.Get("Content-Type") != "application/json" || !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Accept") {
			t.Fatalf("Accept %q: %d %v %s", accept, res.Status, res.Header, truncate(res.Raw))
		}
		families, _ := res.Body["metrics"].(map[string]any)
		for name, mf := range text {
			got, _ := families[name].(map[string]any)
			if got == nil || got["type"] != strings.ToLower(mf.GetType().String()) || got["help"] != mf.GetHelp() || len(got["data"].([]any)) < len(mf.GetMetric()) {
				t.Fatalf("Accept %q: family %s is %v, the exposition has %v", accept, name, got, mf)
			}
		}
	}

	res := h.do(request{method: "GET", path: "/metrics", header: apikey()})
	families := res.Body["metrics"].(map[string]any)
	sampleOf := func(family string, labels map[string]string) map[string]any {
		t.Helper()
	next:
		for _, d := range families[family].(map[string]any)["data"].([]any) {
			smp := d.(map[string]any)
			for k, v := range labels {
				if smp["labels"].(map[string]any)[k] != v {
					continue next
				}
			}
			return smp
		}
		t.Fatalf("no %s%v in %v", family, labels, families[family])
		return nil
	}
	if uptime := sampleOf("web_uptime", nil); uptime["value"] == nil {
		t.Fatalf("web_uptime: %v", uptime)
	}
	// The instruments are the process's: other tests have moved them too.
	hist := sampleOf("wabiz_http_request_duration_seconds", map[string]string{"route": "/v1/settings/application", "method": "GET", "status": "200"})
	bucket, _ := hist["bucket"].(map[string]any)
	count, _ := hist["count"].(float64)
	if count < 1 || bucket["+Inf"] != count || len(bucket) != 14 || bucket["0.001"] == nil || bucket["10"] == nil || hist["sum"] == nil || hist["value"] != nil {
		t.Fatalf("histogram sample: %v", hist)
	}
	summary := sampleOf("api_requests_duration_ms", map[string]string{"method": "GET_v1_settings_application", "result": "200"})
	if count, _ := summary["count"].(float64); count < 1 || summary["sum"] == nil || summary["bucket"] != nil || summary["value"] != nil {
		t.Fatalf("summary sample: %v", summary)
	}
	quantiles, _ := sampleOf("go_gc_duration_seconds", nil)["quantile"].(map[string]any)
	for _, q := range []string{"0", "0.25", "0.5", "0.75", "1"} {
		if _, ok := quantiles[q]; !ok {
			t.Fatalf("go_gc_duration_seconds quantiles: %v", quantiles)
		}
	}
}

// TestMetricsNegotiatesTheExposition: a scraper's Accept gets the Prometheus
// text format 0.0.4 (never OpenMetrics) or, when it prefers it,
// Prometheus's protobuf; ?format= wins over Accept either way; an unknown
// format is refused.
func TestMetricsNegotiatesTheExposition(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	admin := h.adminToken()
	const textType = "text/plain; version=0.0.4; charset=utf-8"
	cases := []struct {
		path, accept string
		header       map[string]string
		contentType  string // prefix; "" for the JSON envelope
	}{
		{"/metrics", prometheusAccept, nil, textType},
		// Prometheus 3.
		{"/metrics", "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2", nil, textType},
		{"/v1/metrics", "text/plain;version=0.0.4", nil, textType},
		{"/metrics", "text/plain", bearer(admin), textType},
		{"/metrics", "application/openmetrics-text", nil, textType},
		{"/metrics", "application/json;q=0.2, text/plain;q=0.5", nil, textType},
		{"/metrics", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2", nil, "application/vnd.google.protobuf"},
		{"/metrics", "text/plain;q=0.5, application/json", nil, ""},
		{"/metrics", "text/*", nil, ""},
		{"/metrics", "application/vnd.google.protobuf", nil, ""}, // not Prometheus's message
		{"/metrics?format=json", prometheusAccept, nil, ""},
		{"/v1/metrics?format=json", "text/plain", nil, ""},
		{"/metrics?format=prometheus", "application/json", nil, textType},
		{"/metrics?format=prometheus", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", nil, textType},
		{"/metrics?format=prometheus", "*/*", nil, textType},
	}
	for _, c := range cases {
		hdr := c.header
		if hdr == nil {
			hdr = apikey()
		}
		hdr["Accept"] = c.accept
		w := h.raw("GET", c.path, "", nil, hdr)
		got := w.Header().Get("Content-Type")
		if c.contentType == "" {
			res := asResponse(t, w)
			if res.Status != 200 || got != "application/json" || res.Body["metrics"].(map[string]any)["web_uptime"] == nil {
				t.Errorf("GET %s, Accept %q: %d %s %s, want JSON", c.path, c.accept, res.Status, got, truncate(res.Raw))
			}
			continue
		}
		if w.Code != 200 || !strings.HasPrefix(got, c.contentType) {
			t.Errorf("GET %s, Accept %q: %d %s, want %s", c.path, c.accept, w.Code, got, c.contentType)
			continue
		}
		if c.contentType != textType {
			continue
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := parser.TextToMetricFamilies(w.Body)
		if err != nil || mfs["web_uptime"] == nil || mfs["web_handled_requests"] == nil {
			t.Errorf("GET %s, Accept %q: not the text exposition: %v", c.path, c.accept, err)
		}
	}

	for _, format := range []string{"xml", "Prometheus", "openmetrics", ""} {
		for _, accept := range []string{"", prometheusAccept} {
			expectError(t, h.do(request{method: "GET", path: "/metrics?format=" + format, header: apikeyAccepting(accept)}), 400,
				e(1009, "Parameter value is not valid", "Parameter 'format' has invalid value '"+format+"'"))
		}
	}
	expectError(t, h.do(request{method: "GET", path: "/metrics", header: map[string]string{"Accept": prometheusAccept}}), 401,
		e(1005, "Access denied", "Missing or invalid authentication credentials"))
}
