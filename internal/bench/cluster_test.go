package bench

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestShardCount(t *testing.T) {
	t.Parallel()
	want := map[int]int{1: 1, 2: 2, 3: 4, 4: 4, 5: 8, 8: 8, 9: 16, 17: 32, 32: 32}
	for cores, shards := range want {
		if got := ShardCount(cores); got != shards {
			t.Errorf("ShardCount(%d) = %d, want %d", cores, got, shards)
		}
	}
}

func TestParseScaling(t *testing.T) {
	t.Parallel()
	got, err := ParseScaling("1, 2,4")
	if err != nil || !slices.Equal(got, []int{1, 2, 4}) {
		t.Fatalf("1, 2,4: %v %v", got, err)
	}
	for _, bad := range []string{"", "1,,2", "0", "33", "two", "1;2", "-1"} {
		if got, err := ParseScaling(bad); err == nil {
			t.Errorf("%q accepted as %v", bad, got)
		}
	}
}

// cluster is a several-node configuration that passes, to vary.
func cluster() Config {
	c := Config{Network: "sandbox", DB: "postgres://postgres@127.0.0.1:5432", CloudRate: 1000}
	c.Webs, c.SendConcurrency, c.SendDelay = 2, 32, 50*time.Millisecond
	c.Duration = 10 * time.Second
	return c
}

func TestResolveSeveralNodes(t *testing.T) {
	t.Parallel()
	// Several nodes imply the cloud network, and the offered rate is left
	// to the run (above what the nodes can send).
	c := cluster()
	c.Cores = 3
	if err := Resolve(&c, "", false); err != nil || c.Network != "cloud" || c.Rate != 0 {
		t.Fatalf("--cores 3: %v, network %s, rate %v", err, c.Network, c.Rate)
	}
	c = cluster()
	if err := Resolve(&c, "1,2,4", false); err != nil || !slices.Equal(c.Scaling, []int{1, 2, 4}) || c.Cores != 0 {
		t.Fatalf("--scaling: %v %+v", err, c.Cluster)
	}
	// One node: as before, cloud offers WABIZ_CLOUD_RATE and 20,000
	// messages are the default length.
	c = Config{Network: "cloud", CloudRate: 1000}
	if err := Resolve(&c, "", true); err != nil || c.Rate != 1000 || c.Messages != 20000 {
		t.Fatalf("one node: %v %+v", err, c.Load)
	}

	bad := map[string]func(c *Config) string{
		"SQLite":               func(c *Config) string { c.DB = ""; return "" },
		"sandbox network":      func(c *Config) string { return "network" },
		"an unknown database":  func(c *Config) string { c.DB = "redis://h"; return "" },
		"--url":                func(c *Config) string { c.URL = "http://127.0.0.1:8080"; return "" },
		"no web node":          func(c *Config) string { c.Webs = 0; return "" },
		"too many cores":       func(c *Config) string { c.Cores = 33; return "" },
		"a negative delay":     func(c *Config) string { c.SendDelay = -time.Millisecond; return "" },
		"no send concurrency":  func(c *Config) string { c.SendConcurrency = 0; return "" },
		"concurrency too high": func(c *Config) string { c.SendConcurrency = 100001; return "" },
		"--preload":            func(c *Config) string { c.Preload = 10; return "" },
		"--cores and scaling":  func(c *Config) string { return "scaling" },
	}
	for name, change := range bad {
		c := cluster()
		c.Cores = 2
		networkGiven, scaling := false, ""
		switch change(&c) {
		case "network":
			networkGiven = true // --network sandbox given
		case "scaling":
			scaling = "1,2"
		}
		if err := Resolve(&c, scaling, networkGiven); err == nil {
			t.Errorf("%s: accepted", name)
		} else if name == "SQLite" && !strings.Contains(err.Error(), "postgres://") {
			t.Errorf("SQLite refused without saying what to give: %v", err)
		}
	}
}

func TestIdealIsTheDelayBoundOrTheRate(t *testing.T) {
	t.Parallel()
	c := cluster() // 32 in flight, 50 ms: 640/s per core node, 1,000/s the rate
	if got := c.ideal(1); got != 640 {
		t.Errorf("one core node: %v, want 640", got)
	}
	if got := c.ideal(2); got != 1000 {
		t.Errorf("two core nodes: %v, want the rate, 1000", got)
	}
	c.SendDelay = 0
	if got := c.ideal(4); got != 1000 {
		t.Errorf("no delay: %v, want the rate", got)
	}
}

func TestTargetRoundRobin(t *testing.T) {
	t.Parallel()
	tg := target{url: "a", more: []string{"b", "c"}}
	var got []string
	for n := range 7 {
		got = append(got, tg.urlFor(n))
	}
	if want := []string{"a", "b", "c", "a", "b", "c", "a"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if one := (target{url: "a"}); one.urlFor(5) != "a" {
		t.Fatal("a single URL is not always used")
	}
}

func TestWriteScaling(t *testing.T) {
	t.Parallel()
	rep := func(cores int, delivered float64) *Report {
		return &Report{CPUs: 2, Database: "PGSQL at 127.0.0.1, database bench_x_wabiz",
			Server: Side{Sent: 2000, Accepted: 2000, ElapsedSec: 10, PerSec: 200},
			Nodes: &Nodes{Cores: cores, Webs: 2, Shards: cores, SendDelayMs: 200, SendConcurrency: 32, CloudRate: 1000,
				Ideal: float64(cores) * 160, Delivered: delivered, PerCore: delivered / float64(cores)}}
	}
	var b strings.Builder
	WriteScaling(&b, []*Report{rep(1, 144), rep(2, 288)})
	out := b.String()
	for _, want := range []string{"send delay 200 ms", "PGSQL at 127.0.0.1\n", "| 1 | 1 | 200 | 200 | 160 | 144 | 144 | 90 % |", "| 2 | 2 | 200 | 200 | 320 | 288 | 144 | 90 % |"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}
