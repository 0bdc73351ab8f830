package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/client"
)

// dashboard is the part of Grafana's dashboard model the checks read.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title      string      `json:"title"`
	Type       string      `json:"type"`
	Datasource *datasource `json:"datasource"`
	Targets    []struct {
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// TestGrafanaDashboard holds every query of the dashboard to the metrics a
// real server exports: the built binary, after a message went out and came
// back through the sandbox and a webhook, so the series that appear only
// once something happened exist.
func TestGrafanaDashboard(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("grafana/wabiz.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("grafana/wabiz.json: %v", err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion == 0 {
		t.Errorf("uid %q, title %q, schemaVersion %d: all needed for an import", d.UID, d.Title, d.SchemaVersion)
	}
	dsVar := ""
	for _, v := range d.Templating.List {
		if v.Type == "datasource" && v.Query == "prometheus" {
			dsVar = "${" + v.Name + "}"
		}
	}
	if dsVar == "" {
		t.Fatal("no datasource variable of type prometheus: the dashboard would be bound to one Grafana's data source")
	}

	exported := scrapeRealServer(t)
	used := map[string][]string{} // metric → panels
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			if p.Datasource == nil || p.Datasource.UID != dsVar || p.Datasource.Type != "prometheus" {
				t.Errorf("panel %q: datasource %+v, want prometheus %s", p.Title, p.Datasource, dsVar)
			}
			for _, target := range p.Targets {
				names := metricNames(target.Expr)
				if len(names) == 0 {
					t.Errorf("panel %q: query %q names no metric", p.Title, target.Expr)
				}
				for _, n := range names {
					used[n] = append(used[n], p.Title)
				}
			}
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(map[string]any)
		text, _ := q["query"].(string)
		m := labelValues.FindStringSubmatch(text)
		if m == nil {
			t.Errorf("variable %s: query %v is not label_values(metric, label)", v.Name, v.Query)
			continue
		}
		for _, n := range metricNames(m[1]) {
			used[n] = append(used[n], "variable "+v.Name)
		}
	}
	if len(used) == 0 {
		t.Fatal("the dashboard queries nothing")
	}
	for _, name := range sortedKeys(used) {
		if !exported[name] {
			t.Errorf("panels %q query %s, which the server does not export", used[name], name)
		}
	}
}

var (
	promStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promOffsets  = regexp.MustCompile(`\boffset\s+-?[0-9a-zA-Z]+`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	labelValues  = regexp.MustCompile(`^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)
	promKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true,
		"group_right": true, "offset": true, "bool": true, "and": true, "or": true, "unless": true, "inf": true, "nan": true}
)

// metricNames is the metrics a PromQL expression reads: identifiers that
// are neither functions or aggregations (followed by "("), nor keywords,
// nor inside label matchers, ranges or groupings.
func metricNames(expr string) []string {
	s := promStrings.ReplaceAllString(expr, `""`)
	s = promMatchers.ReplaceAllString(s, " ")
	s = promRanges.ReplaceAllString(s, " ")
	s = promGrouping.ReplaceAllString(s, " ")
	s = promOffsets.ReplaceAllString(s, " ")
	seen := map[string]bool{}
	var names []string
	for _, m := range promIdent.FindAllStringSubmatch(s, -1) {
		name := strings.TrimRight(strings.TrimSuffix(strings.TrimSpace(m[0]), "("), " ")
		if m[1] != "" || promKeywords[strings.ToLower(name)] || seen[name] {
			continue
		}
		seen[name] = true
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func TestMetricNames(t *testing.T) {
	t.Parallel()
	cases := map[string][]string{
		`sum by (status) (rate(wabiz_http_requests_total{route!="/v1/health",job=~"$job"}[$__rate_interval]))`: {"wabiz_http_requests_total"},
		`histogram_quantile(0.95, sum by (le) (rate(wabiz_http_request_duration_seconds_bucket[5m])))`:         {"wabiz_http_request_duration_seconds_bucket"},
		`rate(a_seconds_total[1m]) / on (instance) rate(b_total[1m]) > bool 0`:                                 {"a_seconds_total", "b_total"},
		`wabiz_callback_queue_size offset 5m`:                                                                  {"wabiz_callback_queue_size"},
	}
	for expr, want := range cases {
		if got := metricNames(expr); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("metricNames(%q) = %v, want %v", expr, got, want)
		}
	}
}

// scrapeRealServer starts the built binary on 127.0.0.1, registers a
// number, lets a customer write and answers, waits for the webhook to hear
// the delivery, and returns the names of every series /metrics exports.
func scrapeRealServer(t *testing.T) map[string]bool {
	t.Helper()
	hooks := make(chan []byte, 64)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case hooks <- body:
		default:
		}
	}))
	t.Cleanup(receiver.Close)

	dataDir := t.TempDir()
	addr := freeLoopbackAddr(t)
	const apiKey = "grafana-test-api-key-7"
	env := wabizEnv(map[string]string{
		"WABIZ_DATA_DIR": dataDir, "WABIZ_LISTEN": addr, "WA_API_KEY": apiKey,
		"WABIZ_WEBHOOK_ALLOW_HTTP": "true", "WABIZ_BCRYPT_COST": "4", "WABIZ_HEALTH_RATE_LIMIT": "0",
	})
	cmd := exec.Command(wabizBinary(t), "serve")
	cmd.Env = env
	srv := startServer(t, cmd)
	srv.waitListening(t, addr)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	caFile := filepath.Join(dataDir, "tls", "ca.pem")
	c := client.New("https://"+addr, client.WithCACertFile(caFile))
	if _, _, err := c.Login(ctx, "admin", "secret", "Gr4fana-Test!"); err != nil {
		t.Fatalf("login: %v\n%s", err, srv.logs.String())
	}
	if err := c.SetSettings(ctx, map[string]any{"webhooks": map[string]any{"url": receiver.URL}, "sent_status": true}); err != nil {
		t.Fatalf("settings: %v", err)
	}
	cert, err := c.SandboxCertificate(ctx, "1", "5550100", "Acme")
	if err != nil {
		t.Fatalf("sandbox certificate: %v", err)
	}
	if _, _, err := c.RequestCode(ctx, "1", "5550100", "sms", cert); err != nil {
		t.Fatalf("POST /v1/account: %v", err)
	}
	code, err := c.SandboxCode(ctx)
	if err != nil {
		t.Fatalf("sandbox code: %v", err)
	}
	if err := c.VerifyCode(ctx, code); err != nil {
		t.Fatalf("verify: %v", err)
	}
	const customer = "15550001111"
	if _, err := c.SandboxUserSend(ctx, customer, "Is the store open?"); err != nil {
		t.Fatalf("customer message: %v", err)
	}
	var sent string
	for sent == "" {
		// Sends answer 1011 until start-up ends.
		id, err := c.SendText(ctx, customer, "Yes, until 8 pm.")
		var apiErr *client.Error
		switch {
		case err == nil:
			sent = id
		case errors.As(err, &apiErr) && apiErr.Has(1011) && ctx.Err() == nil:
			time.Sleep(100 * time.Millisecond)
		default:
			t.Fatalf("send: %v", err)
		}
	}
	for delivered := false; !delivered; {
		select {
		case body := <-hooks:
			delivered = strings.Contains(string(body), `"delivered"`) && strings.Contains(string(body), sent)
		case <-ctx.Done():
			t.Fatalf("no delivered status for %s on the webhook within 60 s\n%s", sent, srv.logs.String())
		}
	}

	// `wabiz health` against the real server, outside any container.
	healthCmd := exec.Command(wabizBinary(t), "health")
	healthCmd.Env = env
	if code, out, errOut := exitCode(t, healthCmd); code != 0 || out != "healthy: gateway_status connected\n" {
		t.Errorf("wabiz health against the registered server: exit %d, %q %q", code, out, errOut)
	}

	// A scrape's collectors time their own database queries: the first
	// scrape creates those series, the second shows them.
	hc := httpsClient(t, caFile)
	get(t, hc, "https://"+addr+"/metrics?format=prometheus", apiKey)
	status, text := get(t, hc, "https://"+addr+"/metrics?format=prometheus", apiKey)
	if status != 200 {
		t.Fatalf("GET /metrics: %d %s", status, text)
	}
	names := map[string]bool{}
	for line := range strings.SplitSeq(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		end := strings.IndexAny(line, "{ ")
		if end <= 0 {
			t.Fatalf("unreadable exposition line %q", line)
		}
		names[line[:end]] = true
	}
	if testing.Verbose() {
		t.Logf("exported: %v", sortedKeys(names))
	}
	return names
}
