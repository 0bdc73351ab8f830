package api

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetricsJSONWritesNonFiniteValuesAsNull: JSON has no NaN or infinity;
// one such sample (a summary's quantile before any observation, a gauge
// that cannot be read) must not cost the whole answer.
func TestMetricsJSONWritesNonFiniteValuesAsNull(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "unreadable", Help: "h"}, func() float64 { return math.NaN() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "unbounded", Help: "h"}, func() float64 { return math.Inf(1) }),
		prometheus.NewSummary(prometheus.SummaryOpts{Name: "unobserved", Help: "h", Objectives: map[float64]float64{0.5: 0.05}}),
	)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(familiesJSON(mfs))
	want := `{"unbounded":{"type":"gauge","help":"h","data":[{"labels":{},"value":null}]},` +
		`"unobserved":{"type":"summary","help":"h","data":[{"labels":{},"quantile":{"0.5":null},"sum":0,"count":0}]},` +
		`"unreadable":{"type":"gauge","help":"h","data":[{"labels":{},"value":null}]}}`
	if err != nil || string(got) != want {
		t.Fatalf("got %s, %v\nwant %s", got, err, want)
	}
}
