package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wabiz/wabiz/internal/client"
	"github.com/wabiz/wabiz/internal/core"
	"github.com/wabiz/wabiz/internal/network/cloud/graphtest"
	"github.com/wabiz/wabiz/internal/spawn"
	"github.com/wabiz/wabiz/internal/store"
)

// Cluster is the multi-node mode: Webs web nodes taking the load round
// robin and Cores core nodes sending, all on one database, with the Cloud
// network against the Graph double answering each send after SendDelay.
// Each core node then sends at most SendConcurrency / SendDelay messages a
// second whatever this machine's CPUs, so the figure shows how sending
// scales with the core nodes.
type Cluster struct {
	Cores int // core nodes; 0 = the single-node modes
	Webs  int // web nodes
	// SendDelay is the Graph double's answer time to a send; it also
	// applies to the single-node cloud mode.
	SendDelay time.Duration
	// SendConcurrency is WABIZ_SEND_CONCURRENCY of each server started.
	SendConcurrency int
	// Scaling lists core counts to run one after the other (RunScaling).
	Scaling []int
}

// Nodes is a multi-node run's deployment and what it sent.
type Nodes struct {
	Cores           int     `json:"core_nodes"`
	Webs            int     `json:"web_nodes"`
	Shards          int     `json:"shards"`
	SendDelayMs     float64 `json:"send_delay_ms"`
	SendConcurrency int     `json:"send_concurrency"`
	CloudRate       int     `json:"cloud_rate"`
	// Ideal is Cores * SendConcurrency / SendDelay, or CloudRate when
	// that is lower: the most the double lets through (0 = no delay).
	Ideal float64 `json:"ideal_per_sec"`
	// Delivered is the sends reaching the double per second over the
	// middle half of the load (graph_sends_steady_per_sec).
	Delivered float64 `json:"delivered_per_sec"`
	PerCore   float64 `json:"delivered_per_core_node_per_sec"`
}

// maxCores bounds --cores: the largest shard count.
var maxCores = slices.Max(core.ShardCounts)

// ShardCount is the shard count a deployment of cores core nodes sets: the
// smallest allowed one that gives every node a shard.
func ShardCount(cores int) int {
	for _, n := range core.ShardCounts {
		if n >= cores {
			return n
		}
	}
	return maxCores
}

// ParseScaling reads --scaling: core counts separated by commas, each 1 to
// 32, e.g. "1,2,4".
func ParseScaling(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > maxCores {
			return nil, fmt.Errorf("--scaling: %q is not a core count from 1 to %d (give e.g. 1,2,4)", f, maxCores)
		}
		out = append(out, n)
	}
	return out, nil
}

// checkCluster refuses a multi-node configuration that cannot run.
func (cfg Config) checkCluster() error {
	if cfg.Cores < 1 || cfg.Cores > maxCores {
		return fmt.Errorf("--cores: %d is not from 1 to %d", cfg.Cores, maxCores)
	}
	if cfg.Webs < 1 || cfg.Webs > 16 {
		return fmt.Errorf("--webs: %d is not from 1 to 16", cfg.Webs)
	}
	if cfg.URL != "" {
		return errors.New("--cores starts its own nodes; it cannot use --url")
	}
	if cfg.Network != "cloud" {
		return errors.New("--cores runs the nodes against the Graph double: --network cloud (or leave --network out)")
	}
	if cfg.DB == "" {
		return errors.New("--cores needs a database all nodes share: --db postgres://user@host:port or mysql://user@host:port (SQLite is one process's file)")
	}
	dbc, err := databaseConfig(cfg.DB, "")
	if err != nil {
		return err
	}
	if dbc.Engine == store.SQLite {
		return errors.New("--cores needs PostgreSQL or MySQL/MariaDB, not SQLite")
	}
	if cfg.SendDelay < 0 || cfg.SendDelay > time.Minute {
		return fmt.Errorf("--send-delay: %s is not from 0 to 1m", cfg.SendDelay)
	}
	if cfg.SendConcurrency < 1 || cfg.SendConcurrency > 100000 {
		return fmt.Errorf("--send-concurrency: %d is not from 1 to 100000", cfg.SendConcurrency)
	}
	if cfg.Preload > 0 || cfg.Restart {
		return errors.New("--preload and --restart are single-node measurements; leave them out with --cores")
	}
	return nil
}

// ideal is what the double lets cores core nodes send per second.
func (cfg Config) ideal(cores int) float64 {
	if cfg.SendDelay <= 0 {
		return float64(cfg.CloudRate)
	}
	return min(float64(cores*cfg.SendConcurrency)/cfg.SendDelay.Seconds(), float64(cfg.CloudRate))
}

// RunScaling runs the deployment once per core count of cfg.Scaling,
// building the binary once.
func RunScaling(ctx context.Context, cfg Config) ([]*Report, error) {
	if cfg.Bin == "" {
		dir, err := os.MkdirTemp("", "wabiz-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		if cfg.Log != nil {
			cfg.Log("building ./cmd/wabiz")
		}
		if cfg.Bin, err = buildServer(dir); err != nil {
			return nil, err
		}
	}
	var out []*Report
	for _, n := range cfg.Scaling {
		c := cfg
		c.Cores = n
		rep, err := RunCluster(ctx, c)
		if err != nil {
			return out, fmt.Errorf("%d core nodes: %w", n, err)
		}
		out = append(out, rep)
	}
	return out, nil
}

// RunCluster starts cfg.Webs web nodes and cfg.Cores core nodes on a
// database of their own, registers the number in cloud mode, sets the
// shard count, waits until every node reports connected, offers the load
// round robin over the web nodes and measures the sends reaching the
// double. It does not wait for the backlog: the offered rate is above what
// the nodes can send, and the figure is the steady rate while they send.
func RunCluster(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.checkCluster(); err != nil {
		return nil, err
	}
	if cfg.Messages <= 0 && cfg.Duration <= 0 {
		return nil, errors.New("set --messages or --duration")
	}
	logf := cfg.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if cfg.Rate <= 0 {
		// Above what the nodes can send, so they always have work, and
		// no more, so the accepts take no more CPU than they must.
		cfg.Rate = 1.1 * cfg.ideal(cfg.Cores)
	}
	rep := &Report{Network: "cloud", CPUs: runtime.NumCPU(), Mode: mode(cfg.Load)}
	recipients := make([]string, max(cfg.Recipients, 1))
	for i := range recipients {
		recipients[i] = fmt.Sprintf("1555%07d", 2000000+i)
	}
	hooks, err := startReceiver()
	if err != nil {
		return nil, err
	}
	defer hooks.close()
	dir, bin, err := workDir(cfg.Bin, logf)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	graph := graphtest.Start()
	defer graph.Close()
	graph.SetSendDelay(cfg.SendDelay)
	secret := randomHex()
	dbc, err := databaseConfig(cfg.DB, dir)
	if err != nil {
		return nil, err
	}
	rep.Database = describeDatabase(dbc)
	defer dropDatabase(dbc, logf)

	common := cloudEnv(graph, secret, cfg.CloudRate)
	common = append(common, dbc.Environment()...)
	common = append(common,
		"WABIZ_MEDIA_DIR="+filepath.Join(dir, "media"),
		"WA_API_KEY=bench-"+randomHex(), // the same on every node
		fmt.Sprintf("WABIZ_SEND_CONCURRENCY=%d", cfg.SendConcurrency))
	var nodes []*server
	defer func() { stopAll(nodes) }()
	start := func(role, name string, more ...string) (*server, error) {
		env := append(slices.Clone(common), "WABIZ_ROLE="+role, "WABIZ_NODE_NAME="+name, "WABIZ_NODE_ID="+name)
		addr := ""
		if role == "core" {
			// A core node has no API listener; its monitoring one
			// answers /v1/health once it runs.
			if addr, err = spawn.FreeAddr(); err != nil {
				return nil, err
			}
			env = append(env, "WABIZ_CORE_MONITOR_LISTEN="+addr)
		}
		s, err := startServer(ctx, bin, filepath.Join(dir, name), addr, append(env, more...))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		nodes = append(nodes, s)
		logf("%s node %s (pid %d)", role, name, s.pid())
		return s, nil
	}
	var webURLs []string
	for i := range cfg.Webs {
		s, err := start("web", fmt.Sprintf("web-%d", i+1))
		if err != nil {
			return nil, err
		}
		webURLs = append(webURLs, "http://"+s.addr)
	}
	for i := range cfg.Cores {
		if _, err := start("core", fmt.Sprintf("core-%d", i+1)); err != nil {
			return nil, err
		}
	}

	shards := ShardCount(cfg.Cores)
	rep.Nodes = &Nodes{Cores: cfg.Cores, Webs: cfg.Webs, Shards: shards, SendDelayMs: ms(cfg.SendDelay),
		SendConcurrency: cfg.SendConcurrency, CloudRate: cfg.CloudRate, Ideal: cfg.ideal(cfg.Cores)}
	api := client.New(webURLs[0])
	ready := func(ctx context.Context, api *client.Client) error {
		// Beats every second: a node joins, and (with shards) receives
		// its shards, within a second or two.
		if err := api.SetSettings(ctx, map[string]any{"heartbeat_interval": 1, "unhealthy_interval": 10}); err != nil {
			return fmt.Errorf("heartbeat settings: %w", err)
		}
		body := map[string]any{"cc": "1", "phone_number": "5550100000", "shards": shards, "cert": "Y2VydA==", "pin": "123456"}
		if err := api.Do(ctx, "POST", "/v1/account/shards", body, nil); err != nil {
			return fmt.Errorf("set %d shards: %w", shards, err)
		}
		return waitNodes(ctx, api, cfg.Webs, cfg.Cores, 60*time.Second)
	}
	if err := setup(ctx, api, cfg, recipients, hooks.url, ready); err != nil {
		return nil, fmt.Errorf("%w\nnode output:\n%s", err, nodesOutput(nodes))
	}
	time.Sleep(time.Second)
	hooks.reset()

	meterCtx, stopMeter := context.WithCancel(ctx)
	defer stopMeter()
	meter := &graphMeter{g: graph, hookURL: webURLs[0] + "/cloud/webhook", secret: secret, statuses: cfg.CloudStatus}
	go meter.run(meterCtx)
	logf("%d web and %d core nodes, %d shards: %s round robin over the web nodes", cfg.Webs, cfg.Cores, shards, rep.Mode)
	t := target{url: webURLs[0] + "/v1/messages", auth: "Bearer " + api.Token(), bodies: textBodies(recipients)}
	for _, u := range webURLs[1:] {
		t.more = append(t.more, u+"/v1/messages")
	}
	res := drive(ctx, t, cfg.Load)
	// The backlog left is not waited for: the rate while sending is the figure.
	stopMeter()
	rep.Server = side(res)
	rep.Callbacks, _ = hooks.result(res.AcceptedAt)
	rep.GraphSends, rep.GraphRate = meter.rate()
	rep.GraphSteady = meter.steadyRate()
	rep.GraphPosts = meter.postErrors
	rep.Nodes.Delivered = rep.GraphSteady
	rep.Nodes.PerCore = rep.GraphSteady / float64(cfg.Cores)
	return rep, nil
}

// waitNodes waits until /v1/health lists webs web nodes and cores core
// nodes, each connected.
func waitNodes(ctx context.Context, api *client.Client, webs, cores int, within time.Duration) error {
	deadline := time.Now().Add(within)
	var last map[string]nodeHealth
	for {
		var out struct {
			Health map[string]nodeHealth `json:"health"`
		}
		err := api.Do(ctx, "GET", "/v1/health", nil, &out)
		if err == nil {
			last = out.Health
			if connectedNodes(last, "web", webs) && connectedNodes(last, "core", cores) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d web and %d core nodes not all connected after %s: %v %v", webs, cores, within, last, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// nodeHealth is one node's entry in a multi-node /v1/health.
type nodeHealth struct {
	GatewayStatus string `json:"gateway_status"`
	Role          string `json:"role"`
}

// connectedNodes says whether nodes named <host>:<prefix>-1 to -n are all
// listed connected.
func connectedNodes(health map[string]nodeHealth, prefix string, n int) bool {
	for i := range n {
		found := false
		for id, h := range health {
			if strings.HasSuffix(id, fmt.Sprintf(":%s-%d", prefix, i+1)) {
				found = h.GatewayStatus == "connected"
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// stopAll stops the nodes at once (each gets SIGTERM, then SIGKILL after
// 20 seconds).
func stopAll(nodes []*server) {
	var wg sync.WaitGroup
	for _, s := range nodes {
		wg.Go(s.stop)
	}
	wg.Wait()
}

func nodesOutput(nodes []*server) string {
	var b strings.Builder
	for _, s := range nodes {
		fmt.Fprintf(&b, "==== %s ====\n%s\n", filepath.Base(s.dataDir), s.output.String())
	}
	return b.String()
}

// WriteScaling prints the runs of RunScaling as a table.
func WriteScaling(w io.Writer, reps []*Report) {
	if len(reps) == 0 {
		return
	}
	n := reps[0].Nodes
	db, _, _ := strings.Cut(reps[0].Database, ", database ") // each run had a database of its own
	fmt.Fprintf(w, "wabiz-bench: %d web nodes, send delay %.0f ms, %d sends in flight per core node, WABIZ_CLOUD_RATE %d, %d CPUs, %s\n\n",
		n.Webs, n.SendDelayMs, n.SendConcurrency, n.CloudRate, reps[0].CPUs, db)
	fmt.Fprintln(w, "| core nodes | shards | offered/s | accepted/s | ideal sends/s | delivered sends/s | per core node | of ideal |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range reps {
		n := r.Nodes
		of := 0.0
		if n.Ideal > 0 {
			of = 100 * n.Delivered / n.Ideal
		}
		offered := float64(r.Server.Sent)
		if r.Server.ElapsedSec > 0 {
			offered /= r.Server.ElapsedSec
		}
		fmt.Fprintf(w, "| %d | %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f %% |\n",
			n.Cores, n.Shards, offered, r.Server.PerSec, n.Ideal, n.Delivered, n.PerCore, of)
	}
	for _, r := range reps {
		for k, v := range r.Server.Errors {
			fmt.Fprintf(w, "%d core nodes: error %s: %d\n", r.Nodes.Cores, k, v)
		}
	}
}

// Resolve completes a configuration read from the command line: the
// defaults that depend on other flags, --scaling parsed, and the
// several-node settings checked before anything starts. networkGiven says
// whether --network was on the command line (several nodes imply cloud).
func Resolve(cfg *Config, scaling string, networkGiven bool) error {
	if cfg.Messages == 0 && cfg.Duration == 0 {
		cfg.Messages = 20000
	}
	if cfg.Password == "" {
		cfg.Password = os.Getenv("WABIZ_PASSWORD")
	}
	if scaling != "" {
		var err error
		if cfg.Scaling, err = ParseScaling(scaling); err != nil {
			return err
		}
		if cfg.Cores != 0 {
			return errors.New("--scaling gives the core counts: leave --cores out")
		}
	}
	if cfg.Cores == 0 && len(cfg.Scaling) == 0 {
		if cfg.Network == "cloud" && cfg.Rate == 0 {
			cfg.Rate = float64(cfg.CloudRate)
		}
		return nil
	}
	if !networkGiven {
		cfg.Network = "cloud"
	}
	for _, n := range append([]int{cfg.Cores}, cfg.Scaling...) {
		if n == 0 {
			continue
		}
		c := *cfg
		c.Cores = n
		if err := c.checkCluster(); err != nil {
			return err
		}
	}
	return nil
}
