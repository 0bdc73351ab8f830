// Command wabiz-bench measures a wabiz server: accepted messages per
// second, accept latency, time to the delivered callback, callbacks per
// second, peak RSS, and a baseline of the same load against a trivial
// handler. See docs/performance.md; the logic is in internal/bench.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wabiz/wabiz/internal/bench"
)

func main() {
	var cfg bench.Config
	var asJSON, quiet bool
	fs := flag.NewFlagSet("wabiz-bench", flag.ExitOnError)
	fs.IntVar(&cfg.Concurrency, "concurrency", 64, "requests in flight at once (closed loop; ignored with --rate)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "offered requests per second (open loop); 0 = use --concurrency")
	fs.IntVar(&cfg.MaxInFlight, "max-in-flight", 1024, "with --rate: requests open at once before new ones count as 'client saturated'")
	fs.IntVar(&cfg.Messages, "messages", 0, "stop after this many requests (default 20000 when --duration is not set)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "stop after this long (e.g. 30s)")
	fs.StringVar(&cfg.Network, "network", "sandbox", "sandbox, or cloud (the bridge against an in-process Graph API double)")
	fs.IntVar(&cfg.CloudRate, "cloud-rate", 1000, "cloud: WABIZ_CLOUD_RATE, and the offered rate unless --rate is set")
	fs.BoolVar(&cfg.CloudStatus, "cloud-statuses", true, "cloud: the double reports each send delivered with a signed webhook")
	fs.StringVar(&cfg.URL, "url", "", "a running wabiz (plain HTTP, sandbox network) instead of starting one")
	fs.IntVar(&cfg.PID, "pid", 0, "with --url: the server's process id, to read its peak RSS")
	fs.StringVar(&cfg.User, "user", "admin", "with --url: the admin user")
	fs.StringVar(&cfg.Password, "password", "", "with --url: the admin's password [$WABIZ_PASSWORD]")
	fs.StringVar(&cfg.Bin, "bin", "", "start this wabiz binary instead of building ./cmd/wabiz")
	fs.IntVar(&cfg.Recipients, "recipients", 100, "distinct recipients, each with an open 24-hour window")
	fs.DurationVar(&cfg.Drain, "drain", 60*time.Second, "after the load, wait this long at most for the delivered callbacks")
	fs.IntVar(&cfg.HookConc, "webhook-concurrency", 0, "webhooks.max_concurrent_requests (6, 12, 18, 24); 0 = the server's setting")
	fs.BoolVar(&cfg.NoBaseline, "no-baseline", false, "skip the baseline run")
	fs.StringVar(&cfg.DB, "db", "", "database of the started server: empty = SQLite; postgres://user@host:port or mysql://user@host:port = a fresh database there, dropped after the run")
	fs.IntVar(&cfg.Preload, "preload", 0, "store this many finished messages before the server starts")
	fs.BoolVar(&cfg.Restart, "restart", false, "after the run, restart the server and time start-up to connected")
	fs.StringVar(&cfg.Profile, "profile", "", "a directory: write CPU (over the load), allocation and heap profiles of the started server there")
	fs.IntVar(&cfg.Cores, "cores", 0, "several nodes: this many core nodes (WABIZ_ROLE=core) on the --db server, against the Graph double; 0 = one node")
	fs.IntVar(&cfg.Webs, "webs", 2, "with --cores or --scaling: web nodes taking the load round robin")
	var scaling string
	fs.StringVar(&scaling, "scaling", "", "run the several-node deployment once per core count, e.g. 1,2,4, and print a table")
	fs.DurationVar(&cfg.SendDelay, "send-delay", 0, "cloud: the Graph double answers each send after this long (a round trip), e.g. 50ms")
	fs.IntVar(&cfg.SendConcurrency, "send-concurrency", 1024, "WABIZ_SEND_CONCURRENCY of each server started: sends one core node has in flight")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.BoolVar(&quiet, "q", false, "no progress lines on standard error")
	fs.Parse(os.Args[1:])
	if err := bench.Resolve(&cfg, scaling, isSet(fs, "network")); err != nil {
		fmt.Fprintln(os.Stderr, "wabiz-bench:", err)
		os.Exit(2)
	}
	if !quiet {
		cfg.Log = func(format string, a ...any) {
			fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(cfg.Scaling) > 0 {
		reps, err := bench.RunScaling(ctx, cfg)
		exitOn(err)
		if asJSON {
			printJSON(reps)
			return
		}
		bench.WriteScaling(os.Stdout, reps)
		return
	}
	run := bench.Run
	if cfg.Cores > 0 {
		run = bench.RunCluster
	}
	rep, err := run(ctx, cfg)
	exitOn(err)
	if asJSON {
		printJSON(rep)
		return
	}
	rep.WriteText(os.Stdout)
}

// isSet says whether the command line gave flag name.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// exitOn ends the program with err, when there is one.
func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "wabiz-bench:", err)
		os.Exit(1)
	}
}

// printJSON writes v to standard output as indented JSON.
func printJSON(v any) {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
