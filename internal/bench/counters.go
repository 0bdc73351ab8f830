package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// serverCounters are the server's own counters the benchmark divides by
// the messages: heap allocations (the Go runtime's) and SQL statements
// (the store's), read from GET /metrics?format=prometheus.
type serverCounters struct {
	Mallocs    float64 // go_memstats_mallocs_total
	Statements float64 // wabiz_db_statements_total
	// Optional: read when the server exports them.
	CPUSeconds   float64 // process_cpu_seconds_total
	GroupSeconds float64 // wabiz_db_group_commit_seconds_total
	Groups       float64 // wabiz_db_group_commits_total
}

// minus is the work done between then and c.
func (c serverCounters) minus(then serverCounters) serverCounters {
	return serverCounters{
		Mallocs: c.Mallocs - then.Mallocs, Statements: c.Statements - then.Statements,
		CPUSeconds: c.CPUSeconds - then.CPUSeconds, GroupSeconds: c.GroupSeconds - then.GroupSeconds, Groups: c.Groups - then.Groups,
	}
}

// scaled is c times f.
func (c serverCounters) scaled(f float64) serverCounters {
	return serverCounters{Mallocs: c.Mallocs * f, Statements: c.Statements * f, CPUSeconds: c.CPUSeconds * f, GroupSeconds: c.GroupSeconds * f, Groups: c.Groups * f}
}

// readCounters reads the counters from base's /metrics with the token.
func readCounters(ctx context.Context, base, token string) (serverCounters, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/metrics?format=prometheus", nil)
	if err != nil {
		return serverCounters{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return serverCounters{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return serverCounters{}, fmt.Errorf("GET /metrics: %d", res.StatusCode)
	}
	return parseCounters(bufio.NewScanner(res.Body))
}

// parseCounters picks the counters out of a text exposition; the first
// two are required.
func parseCounters(sc *bufio.Scanner) (serverCounters, error) {
	var c serverCounters
	found := 0
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		var into *float64
		required := true
		switch name {
		case "go_memstats_mallocs_total":
			into = &c.Mallocs
		case "wabiz_db_statements_total":
			into = &c.Statements
		case "process_cpu_seconds_total":
			into, required = &c.CPUSeconds, false
		case "wabiz_db_group_commit_seconds_total":
			into, required = &c.GroupSeconds, false
		case "wabiz_db_group_commits_total":
			into, required = &c.Groups, false
		default:
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return c, fmt.Errorf("%s: %w", name, err)
		}
		*into = v
		if required {
			found++
		}
	}
	if err := sc.Err(); err != nil {
		return c, err
	}
	if found < 2 {
		return c, fmt.Errorf("the server's /metrics lacks go_memstats_mallocs_total or wabiz_db_statements_total")
	}
	return c, nil
}
