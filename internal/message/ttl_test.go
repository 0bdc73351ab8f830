package message

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseTTLAccepts(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		raw  string
		want time.Duration
	}{
		{`86400`, day},
		{`"86400"`, day},
		{`1`, time.Second},
		{`"1"`, time.Second},
		{`"086400"`, day},
		{`2592000`, 30 * day},
		{`"P1D"`, day},
		{`"P30D"`, 30 * day},
		{`"PT12H"`, 12 * time.Hour},
		{`"P1DT2H30M"`, day + 2*time.Hour + 30*time.Minute},
		{`"PT90S"`, 90 * time.Second},
		{`"PT1M"`, time.Minute},
		{`"PT1H1M1S"`, time.Hour + time.Minute + time.Second},
		{`"P1DT1S"`, day + time.Second},
		{`"P2W"`, 14 * day},
		{`"P4W"`, 28 * day},
		{`"P0DT1H"`, time.Hour},
		{`"PT720H"`, 30 * day},
		{` 86400 `, day},
	}
	for _, c := range cases {
		got, err := ParseTTL(json.RawMessage(c.raw))
		if err != nil || got != c.want {
			t.Errorf("ParseTTL(%s) = %v, %v; want %v", c.raw, got, err, c.want)
		}
	}
}

func TestParseTTLRejects(t *testing.T) {
	const empty = "Empty TTL value not allowed"
	invalid := func(v string) string { return "Parameter 'ttl' has invalid value '" + v + "'" }
	cases := []struct {
		raw     string
		details string
	}{
		// Empty values (PHP empty(), plus zero durations).
		{`""`, empty},
		{`0`, empty},
		{`"0"`, empty},
		{`0.0`, empty},
		{`-0`, empty},
		{`"00"`, empty},
		{`"PT0S"`, empty},
		{`"P0D"`, empty},
		{`"P0W"`, empty},
		{`"P0DT0H0M0S"`, empty},
		{`null`, empty},
		{`false`, empty},
		{`[]`, empty},
		{`{}`, empty},
		{``, empty},

		// Negative, fractional, exponents.
		{`-1`, invalid("-1")},
		{`"-86400"`, invalid("-86400")},
		{`"-P1D"`, invalid("-P1D")},
		{`1.5`, invalid("1.5")},
		{`86400.0`, invalid("86400.0")},
		{`"1.5"`, invalid("1.5")},
		{`"PT1.5S"`, invalid("PT1.5S")},
		{`"PT1,5S"`, invalid("PT1,5S")},
		{`1e5`, invalid("1e5")},
		{`"+86400"`, invalid("+86400")},

		// Years and months have no fixed length.
		{`"P1Y"`, invalid("P1Y")},
		{`"P1M"`, invalid("P1M")},
		{`"P1Y2M3D"`, invalid("P1Y2M3D")},

		// Malformed ISO durations.
		{`"P"`, invalid("P")},
		{`"PT"`, invalid("PT")},
		{`"P1DT"`, invalid("P1DT")},
		{`"P1"`, invalid("P1")},
		{`"PD"`, invalid("PD")},
		{`"PT1H1H"`, invalid("PT1H1H")},
		{`"PT1S1M"`, invalid("PT1S1M")},
		{`"P1H"`, invalid("P1H")},
		{`"PT1D"`, invalid("PT1D")},
		{`"P1W2D"`, invalid("P1W2D")},
		{`"PT1W"`, invalid("PT1W")},
		{`"P1DTT1H"`, invalid("P1DTT1H")},
		{`"p1d"`, invalid("p1d")},
		{`"1D"`, invalid("1D")},
		{`"P 1D"`, invalid("P 1D")},
		{`" 86400"`, invalid(" 86400")},
		{`"1 day"`, invalid("1 day")},
		{`"soon"`, invalid("soon")},

		// Other JSON kinds.
		{`true`, invalid("true")},
		{`[86400]`, invalid("[86400]")},
		{`{"seconds":1}`, invalid(`{"seconds":1}`)},

		// Out of range: above 30 days, and values that would overflow.
		{`2592001`, invalid("2592001")},
		{`"P31D"`, invalid("P31D")},
		{`"P5W"`, invalid("P5W")},
		{`"PT720H1S"`, invalid("PT720H1S")},
		{`99999999999999999999999`, invalid("99999999999999999999999")},
		{`"P99999999999999999999D"`, invalid("P99999999999999999999D")},
		{`"P9223372036854775807W"`, invalid("P9223372036854775807W")},
		{`"PT9223372036854775807S"`, invalid("PT9223372036854775807S")},
		{`"P106751991167300DT1S"`, invalid("P106751991167300DT1S")},
	}
	for _, c := range cases {
		got, err := ParseTTL(json.RawMessage(c.raw))
		if err == nil {
			t.Errorf("ParseTTL(%s) = %v, want an error", c.raw, got)
			continue
		}
		if err.Status != 400 || err.Code() != 1009 || len(err.Details) != 1 || err.Details[0].Details != c.details {
			t.Errorf("ParseTTL(%s) = %d %+v; want 400 1009 %q", c.raw, err.Status, err.Details, c.details)
		}
	}
}

func TestDefaultTTLIsSevenDays(t *testing.T) {
	if DefaultTTL != 7*24*time.Hour || DefaultTTL < MinTTL || DefaultTTL > MaxTTL {
		t.Fatalf("DefaultTTL = %v", DefaultTTL)
	}
}
