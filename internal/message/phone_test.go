package message

import (
	"strings"
	"testing"
)

func TestNormalizeNumber(t *testing.T) {
	cases := []struct {
		input string
		want  string // "" means rejected
	}{
		// The spec's examples (§5.1.1, §6.1).
		{"15550001111", "15550001111"},
		{"+1 (555) 000-1111", "15550001111"},
		{"1-555-000-1112", "15550001112"},
		{"+44 20 7946 0958", "442079460958"},

		// Other separators people use.
		{"+1.555.000.1111", "15550001111"},
		{"  +15550001111  ", "15550001111"},
		{"+49 30/1234567", "49301234567"},
		{"+1\t555\n000 1111", "15550001111"},
		{"+1\u00a0555\u00a0000\u00a01111", "15550001111"}, // no-break spaces
		{"+1\u202f555\u2009000\u20071111", "15550001111"}, // narrow, thin, figure spaces
		{"\u200e+1 555 000 1111\u200f", "15550001111"},    // bidi marks from contact apps
		{"+1\u2013555\u2014000\u22121111", "15550001111"}, // en dash, em dash, minus sign
		{"\ufeff15550001111", "15550001111"},              // byte order mark
		{"＋１ ５５５ ０００ １１１１", "15550001111"},                // fullwidth
		{"+٩٧١ ٥٠ ١٢٣ ٤٥٦٧", "971501234567"},              // Arabic-Indic digits
		{"+۹۸ ۹۱۲ ۳۴۵ ۶۷۸۹", "989123456789"},              // Persian digits
		{"（+1）555 000 1111", "15550001111"},               // fullwidth parentheses

		// Trunk prefix "(0)" after a country code is dropped.
		{"+44 (0)20 7946 0958", "442079460958"},
		{"+44(0)2079460958", "442079460958"},
		{"(0)20 7946 0958", ""}, // no country code: starts with 0

		// "00" international prefix.
		{"0044 20 7946 0958", "442079460958"},
		{"00 1 555 000 1111", "15550001111"},
		{"+0044 20 7946 0958", ""},  // "+" and "00" together
		{"011 44 20 7946 0958", ""}, // North-American exit code is not guessed
		{"020 7946 0958", ""},       // national number, trunk 0
		{"0015550001111111111", ""}, // too long after the prefix
		{"001234567", ""},           // 7 digits after the prefix

		// Lengths: 8..15 digits.
		{"1234567", ""},
		{"12345678", "12345678"},
		{"123456789012345", "123456789012345"},
		{"1234567890123456", ""},
		{"+" + strings.Repeat("1", 100), ""},

		// Letters and misplaced signs.
		{"", ""},
		{"   ", ""},
		{"+", ""},
		{"1555000111a", ""},
		{"+1 555 000 1111 ext. 12", ""},
		{"tel:+15550001111", ""},
		{"1-800-FLOWERS", ""},
		{"1+5550001111", ""},
		{"++15550001111", ""},
		{"+1 555 000 1111 #", ""},
		{"+1 555 000 1111,", ""},
		{"١٥٥٥٠٠٠١١١١x", ""},
		{"\U0001D7CF5550001111", ""}, // mathematical digit: not a script people type
		{"0\u0000015550001111", ""},
	}
	for _, c := range cases {
		got, ok := NormalizeNumber(c.input)
		if ok != (c.want != "") || got != c.want {
			t.Errorf("NormalizeNumber(%q) = %q, %v; want %q", c.input, got, ok, c.want)
		}
	}
}

// A normalised number is a fixed point.
func TestNormalizeNumberIsIdempotent(t *testing.T) {
	for _, in := range []string{"+1 (555) 000-1111", "0044 20 7946 0958", "+44 (0)20 7946 0958"} {
		once, ok := NormalizeNumber(in)
		if !ok {
			t.Fatalf("NormalizeNumber(%q) rejected", in)
		}
		if twice, ok := NormalizeNumber(once); !ok || twice != once {
			t.Errorf("NormalizeNumber(%q) = %q, %v; want %q", once, twice, ok, once)
		}
	}
}
