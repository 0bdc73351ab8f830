package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// profiler fetches profiles of the started server from its
// WABIZ_PPROF_LISTEN, into dir: a CPU profile over the load and an
// execution trace of two seconds inside it, then the allocations and the
// heap once the run is over, for `go tool pprof` and `go tool trace`
// (`go tool trace -pprof=sched trace.out` says where goroutines waited
// for a CPU: on 2 CPUs the one SQLite flusher shares them with the rest).
type profiler struct {
	dir, addr string
	cpuDone   chan error
	traceDone chan error
	// traceAfter is when the trace begins, past the load's ramp; zero
	// means defaultTraceAfter.
	traceAfter time.Duration
}

const (
	defaultTraceAfter = time.Second
	traceSeconds      = 2
)

// defaultProfileSeconds is the CPU profile's length when the load is a
// number of messages rather than a duration.
const defaultProfileSeconds = 10

// startCPU begins the CPU profile, for the load's duration (or
// defaultProfileSeconds), in the background.
func (p *profiler) startCPU(ctx context.Context, d time.Duration) {
	secs := int(d.Round(time.Second).Seconds())
	if secs <= 0 {
		secs = defaultProfileSeconds
	}
	p.cpuDone = make(chan error, 1)
	go func() { p.cpuDone <- p.fetch(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), "cpu.pprof") }()
	p.traceDone = make(chan error, 1)
	go func() {
		select {
		case <-time.After(cmp.Or(p.traceAfter, defaultTraceAfter)):
		case <-ctx.Done():
			p.traceDone <- ctx.Err()
			return
		}
		p.traceDone <- p.fetch(ctx, fmt.Sprintf("/debug/pprof/trace?seconds=%d", traceSeconds), "trace.out")
	}()
}

// finish waits for the CPU profile and takes the allocation and heap
// profiles; it returns the files written.
func (p *profiler) finish(ctx context.Context) ([]string, error) {
	if err := <-p.cpuDone; err != nil {
		return nil, err
	}
	if err := <-p.traceDone; err != nil {
		return nil, err
	}
	for _, name := range []string{"allocs", "heap"} {
		if err := p.fetch(ctx, "/debug/pprof/"+name, name+".pprof"); err != nil {
			return nil, err
		}
	}
	return []string{filepath.Join(p.dir, "cpu.pprof"), filepath.Join(p.dir, "allocs.pprof"), filepath.Join(p.dir, "heap.pprof"), filepath.Join(p.dir, "trace.out")}, nil
}

func (p *profiler) fetch(ctx context.Context, path, file string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+p.addr+path, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profile %s: %w", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("profile %s: %d %s", path, res.StatusCode, b)
	}
	f, err := os.Create(filepath.Join(p.dir, file))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
