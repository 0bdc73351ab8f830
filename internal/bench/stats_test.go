package bench

import (
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {90, 90 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.5, time.Millisecond}} {
		if got := Percentile(ds, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("empty: %v", got)
	}
	three := []time.Duration{1, 2, 3}
	if got := Percentile(three, 50); got != 2 {
		t.Errorf("p50 of 3 = %v, want 2", got)
	}
	if got := Percentile(three, 99); got != 3 {
		t.Errorf("p99 of 3 = %v, want 3", got)
	}
}

func TestSummarize(t *testing.T) {
	ds := []time.Duration{4 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond}
	s := Summarize(ds)
	if s.Count != 4 || s.P50 != 2 || s.P90 != 4 || s.Max != 4 || s.Mean != 2.5 {
		t.Fatalf("summary %+v", s)
	}
	if (Summarize(nil) != Latency{}) {
		t.Fatal("empty summary not zero")
	}
}

func TestParseVmHWM(t *testing.T) {
	status := "Name:\twabiz\nVmPeak:\t 1300000 kB\nVmHWM:\t   51234 kB\nVmRSS:\t   40000 kB\n"
	got, err := ParseVmHWM(strings.NewReader(status))
	if err != nil || got != 51234*1024 {
		t.Fatalf("got %d, %v", got, err)
	}
	if _, err := ParseVmHWM(strings.NewReader("Name:\tx\n")); err == nil {
		t.Fatal("no VmHWM line: no error")
	}
	if _, err := ParseVmHWM(strings.NewReader("VmHWM:\tlots kB\n")); err == nil {
		t.Fatal("bad number: no error")
	}
}

func TestErrorKey(t *testing.T) {
	if got := errorKey(400, []byte(`{"errors":[{"code":1009,"title":"Parameter value is not valid"}]}`)); got != "HTTP 400 / 1009" {
		t.Errorf("envelope: %q", got)
	}
	if got := errorKey(502, []byte(`<html>`)); got != "HTTP 502" {
		t.Errorf("not an envelope: %q", got)
	}
}
