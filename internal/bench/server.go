package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
	"github.com/wabiz/wabiz/internal/spawn"
)

// server is a wabiz child process.
type server struct {
	proc   *spawn.Process
	addr   string // plain HTTP host:port
	output *spawn.Buffer

	bin, dataDir string
	extra        []string
	startedAt    time.Time
	readyAfter   time.Duration // from the start until /v1/health answered
}

// buildServer builds ./cmd/wabiz of the module around the working
// directory into dir.
func buildServer(dir string) (string, error) { return spawn.Build(dir) }

// startServer runs "bin serve" on dataDir with plain HTTP on httpAddr (""
// = a free port) and waits until it answers /v1/health.
func startServer(ctx context.Context, bin, dataDir, httpAddr string, extra []string) (*server, error) {
	var err error
	if httpAddr == "" {
		if httpAddr, err = spawn.FreeAddr(); err != nil {
			return nil, err
		}
	}
	httpsAddr, err := spawn.FreeAddr()
	if err != nil {
		return nil, err
	}
	env := append(spawn.CleanEnv(),
		"WABIZ_DATA_DIR="+dataDir,
		"WABIZ_LISTEN="+httpsAddr,
		"WABIZ_HTTP_LISTEN="+httpAddr,
		"WABIZ_WEBHOOK_ALLOW_HTTP=true",
		"WABIZ_HEALTH_RATE_LIMIT=0",
		"WABIZ_BCRYPT_COST=4",
		"WABIZ_LOGIN_FAILURE_LIMIT=100000",
		"WABIZ_LOG_LEVEL=warn",
		"WABIZ_NODE_ID=bench",
	)
	env = append(env, extra...)
	// The start of the output is kept: enough to explain a failure.
	s := &server{addr: httpAddr, output: &spawn.Buffer{Limit: 4 << 20}, bin: bin, dataDir: dataDir, extra: extra}
	s.startedAt = time.Now()
	if s.proc, err = spawn.Start(bin, env, s.output, "serve"); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + httpAddr + "/v1/health")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			s.readyAfter = time.Since(s.startedAt)
			return s, nil
		}
		select {
		case <-s.proc.Done():
			return nil, fmt.Errorf("wabiz serve exited at start:\n%s", s.output.String())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("wabiz serve did not answer within 30s:\n%s", s.output.String())
		}
	}
}

func (s *server) pid() int { return s.proc.Pid() }

// stop sends SIGTERM, then SIGKILL after 20 seconds.
func (s *server) stop() { s.proc.Stop(20 * time.Second) }

// cloudEnv points a server at the Graph double.
func cloudEnv(g *graphtest.Server, appSecret string, rate int) []string {
	return []string{
		"WABIZ_NETWORK=cloud",
		"WABIZ_CLOUD_GRAPH_URL=" + g.GraphURL(),
		"WABIZ_CLOUD_PHONE_NUMBER_ID=" + g.PhoneNumberID,
		"WABIZ_CLOUD_WABA_ID=" + g.WABAID,
		"WABIZ_CLOUD_ACCESS_TOKEN=" + g.Token,
		"WABIZ_CLOUD_APP_SECRET=" + appSecret,
		"WABIZ_CLOUD_VERIFY_TOKEN=bench-verify",
		fmt.Sprintf("WABIZ_CLOUD_RATE=%d", rate),
	}
}

// graphMeter follows the sends reaching the double and, when statuses is
// set, reports each as delivered with a signed Cloud webhook, as Meta
// would, in batches of up to 100 statuses.
type graphMeter struct {
	g           *graphtest.Server
	hookURL     string
	secret      string
	statuses    bool
	mu          sync.Mutex
	count       int
	firstCount  int
	first, last time.Time
	samples     []meterSample // every poll that saw new sends
	postErrors  int
}

type meterSample struct {
	at    time.Time
	count int
}

func (m *graphMeter) run(ctx context.Context) {
	hc := newHTTPClient(4)
	seen := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
		ids := m.g.SentIDs()
		if len(ids) == seen {
			continue
		}
		now := time.Now()
		m.mu.Lock()
		if m.count == 0 {
			m.first, m.firstCount = now, len(ids)
		}
		m.count, m.last = len(ids), now
		m.samples = append(m.samples, meterSample{now, len(ids)})
		m.mu.Unlock()
		if m.statuses {
			sends := m.g.Sends()
			for start := seen; start < len(ids); start += 100 {
				end := min(start+100, len(ids))
				var sts []any
				for i := start; i < end; i++ {
					to := ""
					if i < len(sends) {
						to, _ = sends[i]["to"].(string)
					}
					sts = append(sts, map[string]any{"id": ids[i], "status": "delivered",
						"timestamp": fmt.Sprint(now.Unix()), "recipient_id": to})
				}
				body, sig := m.g.Delivery(m.secret, map[string]any{"statuses": sts})
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.hookURL, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Hub-Signature-256", sig)
				resp, err := hc.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != http.StatusOK {
					m.mu.Lock()
					m.postErrors++
					m.mu.Unlock()
				}
			}
		}
		seen = len(ids)
	}
}

// steadyRate is the send rate over the middle half of the sending period:
// the ramp at the start and the drain of the backlog at the end (which
// rate counts in) are left out, so a bridge that keeps up with the offered
// rate shows that rate.
func (m *graphMeter) steadyRate() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	span := m.last.Sub(m.first)
	from, to := m.first.Add(span/4), m.last.Add(-span/4)
	var a, b *meterSample
	for i := range m.samples {
		s := &m.samples[i]
		if a == nil && !s.at.Before(from) {
			a = s
		}
		if !s.at.After(to) {
			b = s
		}
	}
	if a == nil || b == nil || !b.at.After(a.at) {
		return 0
	}
	return float64(b.count-a.count) / b.at.Sub(a.at).Seconds()
}

// rate is the sends reaching the double, and their rate per second between
// the first and the last poll that saw new ones (50 ms resolution).
func (m *graphMeter) rate() (int, float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	span := m.last.Sub(m.first).Seconds()
	if span <= 0 {
		return m.count, 0
	}
	return m.count, float64(m.count-m.firstCount) / span
}
