package bench

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestProfileNeedsAStartedServer: --profile with --url is refused, as the
// benchmark can only set the profiler address of a server it starts.
func TestProfileNeedsAStartedServer(t *testing.T) {
	t.Parallel()
	_, err := Run(context.Background(), Config{Load: Load{Messages: 1}, URL: "http://127.0.0.1:1", Profile: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "--profile profiles the server the benchmark starts") {
		t.Fatalf("Run with --profile and --url: %v", err)
	}
}

// TestProfilerFetches: the profiler asks for a CPU profile as long as the
// load and a trace inside it, then the allocations and the heap, and
// writes each to its file.
func TestProfilerFetches(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		asked []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.RequestURI())
		mu.Unlock()
		w.Write([]byte("profile of " + r.URL.Path))
	}))
	defer srv.Close()
	dir := t.TempDir()
	p := &profiler{dir: dir, addr: strings.TrimPrefix(srv.URL, "http://"), traceAfter: time.Nanosecond}
	p.startCPU(context.Background(), 12*time.Second)
	files, err := p.finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The CPU profile and the trace run side by side; the others follow.
	slices.Sort(asked[:2])
	want := []string{"/debug/pprof/profile?seconds=12", "/debug/pprof/trace?seconds=2", "/debug/pprof/allocs", "/debug/pprof/heap"}
	if strings.Join(asked, " ") != strings.Join(want, " ") {
		t.Fatalf("asked %v, want %v", asked, want)
	}
	for i, name := range []string{"cpu.pprof", "allocs.pprof", "heap.pprof", "trace.out"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || files[i] != filepath.Join(dir, name) || !strings.HasPrefix(string(b), "profile of /debug/pprof/") {
			t.Fatalf("%s: %q %v (files %v)", name, b, err, files)
		}
	}
}

// TestParseCounters: the two counters are read from a text exposition,
// whatever else it holds; an exposition without them is an error.
func TestParseCounters(t *testing.T) {
	t.Parallel()
	text := "# HELP go_memstats_mallocs_total x\n# TYPE go_memstats_mallocs_total counter\ngo_memstats_mallocs_total 1.234e+06\n" +
		`wabiz_http_requests_total{route="/v1/messages"} 7` + "\nwabiz_db_statements_total 4321\n"
	c, err := parseCounters(bufio.NewScanner(strings.NewReader(text)))
	if err != nil || c.Mallocs != 1234000 || c.Statements != 4321 {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := parseCounters(bufio.NewScanner(strings.NewReader("go_memstats_mallocs_total 1\n"))); err == nil {
		t.Fatal("an exposition without the statements counter was read")
	}
}

// TestSplitWork: the drain's cost per delivery is taken off the load's
// work for what the load delivered, the rest is the accepts'; without a
// backlog worth measuring there is no split.
func TestSplitWork(t *testing.T) {
	t.Parallel()
	// 1,000 accepts at 50 allocations, 400 deliveries during the load and
	// 600 after it, at 300 allocations each.
	load := serverCounters{Mallocs: 1000*50 + 400*300, Statements: 1000*1 + 400*4, CPUSeconds: 0.05 + 0.4*0.1}
	drain := serverCounters{Mallocs: 600 * 300, Statements: 600 * 4, CPUSeconds: 0.6 * 0.1}
	a, d := splitWork(load, drain, 1000, 400, 600)
	if a == nil || d == nil {
		t.Fatal("no split")
	}
	near := func(got, want float64) bool { return got > want-0.001 && got < want+0.001 }
	if !near(a.Allocations, 50) || !near(d.Allocations, 300) || !near(a.Statements, 1) || !near(d.Statements, 4) || !near(a.CPUMicros, 50) || !near(d.CPUMicros, 100) {
		t.Fatalf("accept %+v delivery %+v", a, d)
	}
	if a, d := splitWork(load, drain, 1000, 9000, 600); a != nil || d != nil {
		t.Fatal("split on a backlog of a sixteenth of the messages")
	}
}
