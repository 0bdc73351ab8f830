package message

import (
	"strings"
	"unicode"
)

// E.164 bounds a wa_id must meet. Eight is the shortest number with a
// country code that WhatsApp serves in practice; fifteen is E.164's maximum.
const (
	minNumberDigits = 8
	maxNumberDigits = 15
)

// NormalizeNumber turns a phone number written in any dialable format into a
// wa_id: the international number as digits only ("+1 (555) 000-1111" ->
// "15550001111"). Since v2.39.1 `to` may be such a number (spec §5.1.1), and
// /v1/contacts takes the same inputs (§6.1).
//
// What it accepts, and why:
//   - A leading "+" (ASCII or fullwidth), once, before any digit.
//   - Separators people paste: spaces of any kind (including no-break and
//     narrow spaces), invisible format characters (bidi marks, zero-width
//     space — contact apps insert them), hyphens and dashes, dots, slashes
//     ("030/1234567" style) and parentheses.
//   - "(0)" after the country code, the European way of writing the trunk
//     prefix ("+44 (0)20 7946 0958"): it is not dialled internationally, so
//     it is dropped. Without digits before it, it is kept and the number is
//     rejected for starting with 0.
//   - A leading "00" without "+" is the international call prefix used in
//     most of the world ("0044 20 7946 0958" -> "442079460958"). Other exit
//     codes (011 in North America, 810, ...) are not stripped: they are
//     ambiguous with national numbers, and the result then starts with 0 and
//     is rejected.
//   - Decimal digits of the common non-Latin scripts (Arabic-Indic, Persian,
//     Devanagari, Bengali, fullwidth), since phones type them.
//
// Anything else (letters, "ext." suffixes, "tel:" URIs, a "+" after digits)
// is rejected rather than guessed at. The result must have 8–15 digits and
// not start with 0, as E.164 requires. No country-specific rules are applied:
// the network decides whether the number exists.
func NormalizeNumber(input string) (waID string, ok bool) {
	input = dropTrunkPrefix(input)
	digits := make([]byte, 0, maxNumberDigits+2)
	sawPlus := false
	for _, r := range input {
		if d, isDigit := decimalDigit(r); isDigit {
			// "00" plus fifteen digits is the longest input that can pass;
			// stopping early keeps the work bounded on hostile input.
			if len(digits) == maxNumberDigits+2 {
				return "", false
			}
			digits = append(digits, '0'+d)
			continue
		}
		switch {
		case r == '+' || r == '＋':
			if sawPlus || len(digits) > 0 {
				return "", false
			}
			sawPlus = true
		case isNumberSeparator(r):
		default:
			return "", false
		}
	}
	if !sawPlus && len(digits) >= 2 && digits[0] == '0' && digits[1] == '0' {
		digits = digits[2:]
	}
	if len(digits) < minNumberDigits || len(digits) > maxNumberDigits || digits[0] == '0' {
		return "", false
	}
	return string(digits), true
}

// dropTrunkPrefix removes the first "(0)" when a digit comes before it (the
// country code). The "(0)" written with fullwidth parentheses is left alone.
func dropTrunkPrefix(s string) string {
	i := strings.Index(s, "(0)")
	if i <= 0 || !strings.ContainsFunc(s[:i], func(r rune) bool { _, ok := decimalDigit(r); return ok }) {
		return s
	}
	return s[:i] + " " + s[i+len("(0)"):]
}

func isNumberSeparator(r rune) bool {
	switch r {
	case '-', '.', '/', '(', ')', '（', '）', '−': // '−' is U+2212 MINUS SIGN
		return true
	}
	return unicode.IsSpace(r) || unicode.In(r, unicode.Zs, unicode.Pd, unicode.Cf)
}

// digitZeros are the code points of "0" in the scripts whose digits are
// accepted; each script encodes 0–9 contiguously.
var digitZeros = []rune{
	'0',
	'\u0660', // Arabic-Indic
	'\u06F0', // Extended Arabic-Indic (Persian, Urdu)
	'\u0966', // Devanagari
	'\u09E6', // Bengali
	'\uFF10', // Fullwidth
}

func decimalDigit(r rune) (byte, bool) {
	for _, zero := range digitZeros {
		if zero <= r && r <= zero+9 {
			return byte(r - zero), true
		}
	}
	return 0, false
}
