// Package bench is the benchmark program of cmd/wabiz-bench: it starts the
// real wabiz server (or targets a running one), registers a number, drives
// POST /v1/messages at a fixed concurrency or offered rate, and reports
// accept throughput and latency, the time from accept to the delivered
// callback, callbacks per second, errors, the server's peak RSS, and the
// same load against a trivial in-process handler as a baseline.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/wabiz/wabiz/internal/client"
	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
	"github.com/wabiz/wabiz/internal/spawn"
)

// Config is what the command line chose.
type Config struct {
	Load
	Network     string // sandbox or cloud
	URL         string // a running server; "" = build and start one
	Bin         string // a wabiz binary to start instead of building one
	PID         int    // with URL: the server's process id, for its RSS
	User        string
	Password    string // with URL: the admin's password
	Recipients  int
	CloudRate   int
	CloudStatus bool          // the double reports sends delivered
	Drain       time.Duration // how long to wait for delivered callbacks
	HookConc    int           // webhooks.max_concurrent_requests, 0 = server default
	NoBaseline  bool
	DB          string // "" = SQLite in the data directory; postgres://… or mysql://… = a database of its own on that server
	Preload     int    // finished messages stored before the server starts
	Restart     bool   // after the run, restart the server and time start-up to ready
	Profile     string // a directory: CPU, allocation and heap profiles of the started server go there
	Cluster
	Log func(format string, a ...any)
}

// Report is the result, printed as text or JSON.
type Report struct {
	Network     string        `json:"network"`
	Mode        string        `json:"mode"`
	CPUs        int           `json:"cpus"`
	Server      Side          `json:"server"`
	Baseline    *Side         `json:"baseline,omitempty"`
	Ratio       float64       `json:"accept_ratio_to_baseline,omitempty"`
	PeakRSS     int64         `json:"server_peak_rss_bytes,omitempty"`
	Delivered   int           `json:"delivered"`
	ToDeliver   Latency       `json:"accept_to_delivered"`
	Callbacks   callbackStats `json:"callbacks"`
	GraphSends  int           `json:"graph_sends,omitempty"`
	GraphRate   float64       `json:"graph_sends_per_sec,omitempty"`
	GraphPosts  int           `json:"graph_status_post_errors,omitempty"`
	GraphSteady float64       `json:"graph_sends_steady_per_sec,omitempty"`

	Database       string   `json:"database"`
	Preloaded      int      `json:"preloaded_messages,omitempty"`
	DeliveredSec   float64  `json:"delivered_per_sec,omitempty"`
	StartToReadyMs float64  `json:"start_to_ready_ms,omitempty"`
	Nodes          *Nodes   `json:"nodes,omitempty"`
	RestartReadyMs float64  `json:"restart_to_ready_ms,omitempty"`
	Profiles       []string `json:"profiles,omitempty"`
	// Per message accepted and then delivered, from the server's counters
	// over the load and the wait for the deliveries (accepting, sending,
	// the statuses and their callbacks together).
	AllocsPerMessage     float64 `json:"server_allocations_per_message,omitempty"`
	StatementsPerMessage float64 `json:"server_sql_statements_per_message,omitempty"`
	// The same work split between the accept and the delivery (see
	// splitWork), with the server's CPU and the group commit's busy time.
	PerMessage  *Work `json:"server_work_per_message,omitempty"`
	PerAccept   *Work `json:"server_work_per_accept,omitempty"`
	PerDelivery *Work `json:"server_work_per_delivery,omitempty"`
}

// Work is the server's work for one message (or one accept, or one
// delivery), from its own counters.
type Work struct {
	Allocations float64 `json:"allocations"`
	Statements  float64 `json:"sql_statements"`
	// CPUMicros is the server process's CPU time (user and system).
	CPUMicros float64 `json:"cpu_us,omitempty"`
	// GroupCommitMicros is the time the group commit was busy: on SQLite
	// one flusher writes for the whole node, so it bounds the node.
	GroupCommitMicros float64 `json:"group_commit_us,omitempty"`
	// GroupCommits is the transactions the group commit ran for it.
	GroupCommits float64 `json:"group_commits,omitempty"`
}

func workOf(c serverCounters, per float64) *Work {
	return &Work{Allocations: c.Mallocs / per, Statements: c.Statements / per, CPUMicros: c.CPUSeconds * 1e6 / per, GroupCommitMicros: c.GroupSeconds * 1e6 / per, GroupCommits: c.Groups / per}
}

// splitWork divides the server's work between accepting and delivering.
// The two run at the same time during the load, so they cannot be told
// apart there; but once the load ends the server only delivers the
// backlog. The drain gives the cost of one delivery; the load's work less
// that cost for the messages it delivered meanwhile is the accepts'. It
// needs a backlog: at least a tenth of the messages (and 500) delivered
// after the load, or it reports nothing.
func splitWork(load, drain serverCounters, accepted, deliveredInLoad, deliveredInDrain int) (perAccept, perDelivery *Work) {
	if accepted == 0 || deliveredInDrain < 500 || deliveredInDrain*10 < deliveredInLoad+deliveredInDrain {
		return nil, nil
	}
	perDelivery = workOf(drain, float64(deliveredInDrain))
	accepts := load.minus(drain.scaled(float64(deliveredInLoad) / float64(deliveredInDrain)))
	return workOf(accepts, float64(accepted)), perDelivery
}

// Side is the client's view of one target.
type Side struct {
	Sent       int            `json:"sent"`
	Accepted   int            `json:"accepted"`
	ElapsedSec float64        `json:"elapsed_sec"`
	PerSec     float64        `json:"accepted_per_sec"`
	Accept     Latency        `json:"accept_latency"`
	Errors     map[string]int `json:"errors"`
	CutOff     int            `json:"cut_off_at_end,omitempty"`
}

func side(r driveResult) Side {
	s := Side{Sent: r.Sent, Accepted: r.Accepted, ElapsedSec: r.Elapsed.Seconds(), Accept: Summarize(r.Accept), Errors: r.Errors, CutOff: r.CutOff}
	if r.Elapsed > 0 {
		s.PerSec = float64(r.Accepted) / r.Elapsed.Seconds()
	}
	return s
}

// workDir makes the run's temporary directory and returns it with the
// wabiz binary to start: bin, or one built into the directory.
func workDir(bin string, logf func(string, ...any)) (dir, server string, err error) {
	if dir, err = os.MkdirTemp("", "wabiz-bench-"); err != nil {
		return "", "", err
	}
	if bin == "" {
		logf("building ./cmd/wabiz")
		if bin, err = buildServer(dir); err != nil {
			os.RemoveAll(dir)
			return "", "", err
		}
	}
	return dir, bin, nil
}

// Run performs the benchmark.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Messages <= 0 && cfg.Duration <= 0 {
		return nil, errors.New("set --messages or --duration")
	}
	if cfg.Cores > 0 {
		return nil, errors.New("several nodes: use RunCluster")
	}
	if cfg.Profile != "" && cfg.URL != "" {
		return nil, errors.New("--profile profiles the server the benchmark starts; it cannot use --url (profile that server through its own WABIZ_PPROF_LISTEN)")
	}
	if cfg.Network == "cloud" && cfg.URL != "" {
		return nil, errors.New("--network cloud starts its own server against the Graph double; it cannot use --url")
	}
	logf := cfg.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	rep := &Report{Network: cfg.Network, CPUs: runtime.NumCPU(), Mode: mode(cfg.Load)}
	recipients := make([]string, max(cfg.Recipients, 1))
	for i := range recipients {
		recipients[i] = fmt.Sprintf("1555%07d", 2000000+i)
	}
	bodies := textBodies(recipients)

	if !cfg.NoBaseline {
		url, stop, err := baseline()
		if err != nil {
			return nil, err
		}
		logf("baseline: %s against a trivial in-process handler", rep.Mode)
		b := side(drive(ctx, target{url: url, bodies: bodies}, cfg.Load))
		stop()
		rep.Baseline = &b
	}

	hooks, err := startReceiver()
	if err != nil {
		return nil, err
	}
	defer hooks.close()

	base := cfg.URL
	var srv *server
	var prof *profiler
	var graph *graphtest.Server
	var secret string
	if base == "" {
		dir, bin, err := workDir(cfg.Bin, logf)
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		var extra []string
		if cfg.Network == "cloud" {
			graph = graphtest.Start()
			defer graph.Close()
			graph.SetSendDelay(cfg.SendDelay)
			secret = randomHex()
			extra = cloudEnv(graph, secret, cfg.CloudRate)
		}
		dbc, err := databaseConfig(cfg.DB, dir)
		if err != nil {
			return nil, err
		}
		rep.Database = describeDatabase(dbc)
		defer dropDatabase(dbc, logf)
		if cfg.Preload > 0 {
			logf("storing %d finished messages first", cfg.Preload)
			if err := preload(ctx, dbc, cfg.Preload); err != nil {
				return nil, err
			}
			rep.Preloaded = cfg.Preload
		}
		extra = append(extra, dbc.Environment()...)
		if cfg.SendConcurrency > 0 {
			extra = append(extra, fmt.Sprintf("WABIZ_SEND_CONCURRENCY=%d", cfg.SendConcurrency))
		}
		if cfg.Profile != "" {
			if err := os.MkdirAll(cfg.Profile, 0o755); err != nil {
				return nil, err
			}
			addr, err := spawn.FreeAddr()
			if err != nil {
				return nil, err
			}
			prof = &profiler{dir: cfg.Profile, addr: addr}
			extra = append(extra, "WABIZ_PPROF_LISTEN="+addr)
		}
		if srv, err = startServer(ctx, bin, dir+"/data", "", extra); err != nil {
			return nil, err
		}
		defer func() { srv.stop() }()
		base = "http://" + srv.addr
		cfg.PID = srv.pid()
		logf("wabiz serve (pid %d) on %s, %s network", cfg.PID, base, cfg.Network)
	}

	api := client.New(base)
	if err := setup(ctx, api, cfg, recipients, hooks.url, waitConnected); err != nil {
		if srv != nil {
			err = fmt.Errorf("%w\nserver output:\n%s", err, srv.output.String())
		}
		return nil, err
	}
	if srv != nil {
		rep.StartToReadyMs = ms(srv.readyAfter)
	}
	// The recipients' own messages reach the receiver first: not counted.
	time.Sleep(time.Second)
	hooks.reset()

	meterCtx, stopMeter := context.WithCancel(ctx)
	var meter *graphMeter
	if graph != nil {
		meter = &graphMeter{g: graph, hookURL: base + "/cloud/webhook", secret: secret, statuses: cfg.CloudStatus}
		go meter.run(meterCtx)
	}
	before, countersErr := readCounters(ctx, base, api.Token())
	logf("wabiz: %s", rep.Mode)
	if prof != nil {
		prof.startCPU(ctx, cfg.Duration)
	}
	res := drive(ctx, target{url: base + "/v1/messages", auth: "Bearer " + api.Token(), bodies: bodies}, cfg.Load)
	loadEnd, loadEndErr := readCounters(ctx, base, api.Token())
	deliveredInLoad := hooks.deliveredCount()
	rep.Server = side(res)
	if rep.Baseline != nil && rep.Baseline.PerSec > 0 {
		rep.Ratio = rep.Server.PerSec / rep.Baseline.PerSec
	}
	wantDelivered := graph == nil || cfg.CloudStatus
	if wantDelivered && cfg.Drain > 0 {
		logf("waiting up to %s for the delivered callbacks of %d messages", cfg.Drain, len(res.AcceptedAt))
		rep.Delivered = hooks.waitDelivered(res.AcceptedAt, time.Now().Add(cfg.Drain))
	} else if meter != nil {
		waitSends(meter, res.Accepted, time.Now().Add(cfg.Drain))
	}
	stopMeter()
	if after, err := readCounters(ctx, base, api.Token()); err == nil && countersErr == nil && rep.Delivered > 0 {
		rep.AllocsPerMessage = (after.Mallocs - before.Mallocs) / float64(rep.Delivered)
		rep.StatementsPerMessage = (after.Statements - before.Statements) / float64(rep.Delivered)
		rep.PerMessage = workOf(after.minus(before), float64(rep.Delivered))
		if loadEndErr == nil {
			rep.PerAccept, rep.PerDelivery = splitWork(loadEnd.minus(before), after.minus(loadEnd), res.Accepted, deliveredInLoad, rep.Delivered-deliveredInLoad)
		}
	} else if err != nil || countersErr != nil {
		logf("server counters: %v %v", countersErr, err)
	}
	if prof != nil {
		files, err := prof.finish(ctx)
		if err != nil {
			return nil, err
		}
		rep.Profiles = files
		logf("profiles: %v (go tool pprof -top %s)", files, files[0])
	}
	var toDeliver []time.Duration
	rep.Callbacks, toDeliver = hooks.result(res.AcceptedAt)
	rep.ToDeliver = Summarize(toDeliver)
	rep.DeliveredSec = hooks.deliveredRate(res.AcceptedAt)
	if meter != nil {
		rep.GraphSends, rep.GraphRate = meter.rate()
		rep.GraphSteady = meter.steadyRate()
		rep.GraphPosts = meter.postErrors
	}
	if cfg.PID > 0 {
		if rss, err := PeakRSS(cfg.PID); err == nil {
			rep.PeakRSS = rss
		} else {
			logf("peak RSS: %v", err)
		}
	}
	if cfg.Restart && srv != nil {
		logf("restarting the server on the same database")
		srv.stop()
		restarted, err := startServer(ctx, srv.bin, srv.dataDir, srv.addr, srv.extra)
		if err != nil {
			return nil, fmt.Errorf("restart: %w", err)
		}
		srv = restarted
		if err := waitConnected(ctx, api); err != nil {
			return nil, fmt.Errorf("restart: %w", err)
		}
		rep.RestartReadyMs = ms(time.Since(restarted.startedAt))
	}
	return rep, nil
}

func waitSends(m *graphMeter, n int, deadline time.Time) {
	for time.Now().Before(deadline) {
		if got, _ := m.rate(); got >= n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func mode(l Load) string {
	var s string
	if l.Rate > 0 {
		s = fmt.Sprintf("offered rate %.0f/s", l.Rate)
	} else {
		s = fmt.Sprintf("concurrency %d", l.Concurrency)
	}
	if l.Messages > 0 {
		s += fmt.Sprintf(", %d messages", l.Messages)
	}
	if l.Duration > 0 {
		s += fmt.Sprintf(", at most %s", l.Duration)
	}
	return s
}

func randomHex() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// setup logs in, registers the number, opens the recipients' windows and
// sets the webhook.
func setup(ctx context.Context, api *client.Client, cfg Config, recipients []string, hookURL string, ready func(context.Context, *client.Client) error) error {
	const newPassword = "Bench-Pass-1!"
	if cfg.URL == "" {
		if _, _, err := api.Login(ctx, cfg.User, "secret", newPassword); err != nil {
			return fmt.Errorf("first login: %w", err)
		}
	} else if _, _, err := api.Login(ctx, cfg.User, cfg.Password, ""); err != nil {
		return fmt.Errorf("login as %s: %w", cfg.User, err)
	}
	cc, phone := "1", "5550100000"
	if cfg.Network == "cloud" {
		body := map[string]string{"cc": cc, "phone_number": phone, "method": "sms", "cert": "Y2VydA==", "pin": "123456"}
		if err := api.Do(ctx, "POST", "/v1/account", body, nil); err != nil {
			return fmt.Errorf("request a code: %w", err)
		}
		if err := api.VerifyCode(ctx, "123456"); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
	} else {
		cert, err := api.SandboxCertificate(ctx, cc, phone, "Wabiz Bench")
		if err != nil {
			return fmt.Errorf("sandbox certificate: %w", err)
		}
		_, registered, err := api.RequestCode(ctx, cc, phone, "sms", cert)
		if err != nil {
			return fmt.Errorf("request a code: %w", err)
		}
		if !registered {
			code, err := api.SandboxCode(ctx)
			if err != nil {
				return fmt.Errorf("sandbox code: %w", err)
			}
			if err := api.VerifyCode(ctx, code); err != nil {
				return fmt.Errorf("verify: %w", err)
			}
		}
		// No delays, and no reads: the figures are accept and delivery.
		if _, err := api.SandboxSetWorld(ctx, map[string]any{"delivery_delay_ms": 0, "read_delay_ms": 0, "auto_read": false}); err != nil {
			return fmt.Errorf("sandbox world: %w", err)
		}
		for _, to := range recipients {
			if _, err := api.SandboxUserSend(ctx, to, "Hi, where is my order?"); err != nil {
				return fmt.Errorf("open the window of %s: %w", to, err)
			}
		}
	}
	if err := ready(ctx, api); err != nil {
		return err
	}
	patch := map[string]any{"webhooks": map[string]any{"url": hookURL}, "sent_status": true}
	if cfg.HookConc > 0 {
		patch["webhooks"].(map[string]any)["max_concurrent_requests"] = cfg.HookConc
	}
	if err := api.SetSettings(ctx, patch); err != nil {
		return fmt.Errorf("set the webhook: %w", err)
	}
	return nil
}

func waitConnected(ctx context.Context, api *client.Client) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		h, err := api.Health(ctx)
		if err == nil && h.GatewayStatus == "connected" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server is not connected after 20s: %+v %v", h, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
