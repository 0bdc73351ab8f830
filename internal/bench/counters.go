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

// parseCounters picks the two counters out of a text exposition.
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
		switch name {
		case "go_memstats_mallocs_total":
			into = &c.Mallocs
		case "wabiz_db_statements_total":
			into = &c.Statements
		default:
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return c, fmt.Errorf("%s: %w", name, err)
		}
		*into = v
		found++
	}
	if err := sc.Err(); err != nil {
		return c, err
	}
	if found < 2 {
		return c, fmt.Errorf("the server's /metrics lacks go_memstats_mallocs_total or wabiz_db_statements_total")
	}
	return c, nil
}
