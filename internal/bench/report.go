package bench

import (
	"fmt"
	"io"
	"maps"
	"slices"
)

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "wabiz-bench: %s network, %s, %d CPUs\n\n", r.Network, r.Mode, r.CPUs)
	writeSide(w, "wabiz", r.Server)
	if r.Baseline != nil {
		writeSide(w, "baseline", *r.Baseline)
		fmt.Fprintf(w, "  wabiz / baseline accepted/s: %.3f\n", r.Ratio)
	}
	fmt.Fprintln(w)
	if r.Network != "cloud" || r.Delivered > 0 {
		fmt.Fprintf(w, "accept -> delivered callback: %d of %d accepted  %s\n", r.Delivered, r.Server.Accepted, latencyText(r.ToDeliver))
	}
	c := r.Callbacks
	fmt.Fprintf(w, "callbacks received: %d requests (%.0f/s), %d statuses (%.0f/s) %v\n",
		c.Requests, c.RequestsSec, c.Statuses, c.StatusesSec, c.ByStatus)
	if r.Network == "cloud" {
		fmt.Fprintf(w, "sends reaching the Graph double: %d (%.0f/s from the first to the last; %.0f/s over the middle half of the run)", r.GraphSends, r.GraphRate, r.GraphSteady)
		if r.GraphPosts > 0 {
			fmt.Fprintf(w, ", %d status deliveries refused", r.GraphPosts)
		}
		fmt.Fprintln(w)
	}
	if n := r.Nodes; n != nil {
		fmt.Fprintf(w, "nodes: %d web, %d core, %d shards; send delay %.0f ms, %d sends in flight per core node: ideal %.0f/s, delivered %.0f/s (%.0f per core node)\n",
			n.Webs, n.Cores, n.Shards, n.SendDelayMs, n.SendConcurrency, n.Ideal, n.Delivered, n.PerCore)
	}
	if r.DeliveredSec > 0 {
		fmt.Fprintf(w, "delivered callbacks per second, first accept to last delivered: %.0f\n", r.DeliveredSec)
	}
	if r.AllocsPerMessage > 0 {
		fmt.Fprintf(w, "server work per message accepted and delivered: %s\n", r.PerMessage)
		if r.PerAccept != nil {
			fmt.Fprintf(w, "  of it per accept (estimated): %s\n  per delivery (measured on the backlog after the load): %s\n", r.PerAccept, r.PerDelivery)
		}
	}
	if r.PeakRSS > 0 {
		fmt.Fprintf(w, "server peak RSS (VmHWM): %.1f MiB\n", float64(r.PeakRSS)/(1<<20))
	}
	if r.Database != "" {
		fmt.Fprintf(w, "database: %s", r.Database)
		if r.Preloaded > 0 {
			fmt.Fprintf(w, ", %d finished messages stored before the run", r.Preloaded)
		}
		fmt.Fprintln(w)
	}
	if r.StartToReadyMs > 0 {
		fmt.Fprintf(w, "start to answering /v1/health: %.0f ms\n", r.StartToReadyMs)
	}
	if r.RestartReadyMs > 0 {
		fmt.Fprintf(w, "restart to connected (registered number, start-up process done): %.0f ms\n", r.RestartReadyMs)
	}
}

func (wk *Work) String() string {
	if wk == nil {
		return "-"
	}
	s := fmt.Sprintf("%.0f allocations, %.1f SQL statements", wk.Allocations, wk.Statements)
	if wk.CPUMicros > 0 {
		s += fmt.Sprintf(", %.0f µs CPU", wk.CPUMicros)
	}
	if wk.GroupCommitMicros > 0 {
		s += fmt.Sprintf(", %.0f µs group commit busy in %.2f commits", wk.GroupCommitMicros, wk.GroupCommits)
	}
	return s
}

func writeSide(w io.Writer, name string, s Side) {
	fmt.Fprintf(w, "%-9s %d sent, %d accepted in %.2fs: %.0f accepted/s\n", name+":", s.Sent, s.Accepted, s.ElapsedSec, s.PerSec)
	fmt.Fprintf(w, "  accept latency %s\n", latencyText(s.Accept))
	for _, k := range slices.Sorted(maps.Keys(s.Errors)) {
		fmt.Fprintf(w, "  error %s: %d\n", k, s.Errors[k])
	}
	if s.CutOff > 0 {
		fmt.Fprintf(w, "  %d requests unanswered when the duration ran out (not counted; the server may have accepted them)\n", s.CutOff)
	}
}

func latencyText(l Latency) string {
	return fmt.Sprintf("p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms", l.P50, l.P90, l.P99, l.Max)
}
