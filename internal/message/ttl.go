package message

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/wabiz/wabiz/internal/apierr"
)

// TTL of a message: how long the network keeps trying to deliver it before
// the message fails with the asynchronous error 410 "Message expired".
//
// Bounds. Meta documented the 7-day default; the "minimum 1 day, maximum
// 30 days" seen in a BSP's summary is not confirmed by Meta for On-Premises
// (spec runtime §9). wabiz accepts 1 second to 30 days and clamps nothing:
//   - short TTLs are what one-time-password templates need, and Meta's own
//     Cloud API went down to 30 seconds for them; refusing them would break
//     integrations that set them;
//   - above 30 days no WhatsApp offering has ever kept a message, so a larger
//     value is a mistake the client should hear about (1009), not a value to
//     silently shorten.
const (
	DefaultTTL = 7 * 24 * time.Hour
	MinTTL     = time.Second
	MaxTTL     = 30 * 24 * time.Hour
)

const emptyTTLDetails = "Empty TTL value not allowed"

// ParseTTL reads the `ttl` parameter: a whole number of seconds, as a JSON
// number or a string of digits (86400, "86400"), or an ISO-8601 duration
// string with days, weeks, hours, minutes and seconds ("P1D", "P2W",
// "PT12H", "P1DT2H30M", "PT90S").
//
//   - An empty value — "", 0, "0", and every zero duration such as "PT0S" —
//     is 1009 "Empty TTL value not allowed", the Webapp's text for PHP-empty
//     values (null, false, [] and {} are PHP-empty too and get it as well).
//   - Years and months are refused (1009): they have no fixed length.
//   - Negative, fractional ("PT1.5S", 1.5), exponent (1e5) and otherwise
//     malformed values, weeks combined with other units ("P1W2D", which
//     ISO 8601:2004 does not allow), lower-case designators, surrounding
//     spaces, and values outside [MinTTL, MaxTTL] are 1009
//     "Parameter 'ttl' has invalid value '<v>'".
func ParseTTL(raw json.RawMessage) (time.Duration, *apierr.Error) {
	trimmed := bytes.TrimSpace(raw)
	if isPHPEmpty(trimmed) {
		return 0, apierr.New(1009, emptyTTLDetails)
	}
	invalid := apierr.InvalidValue("ttl", Display(trimmed))

	var seconds int64
	var ok bool
	switch c := trimmed[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(trimmed, &s) != nil {
			return 0, invalid
		}
		if len(s) > 0 && s[0] == 'P' {
			seconds, ok = parseISODuration(s)
		} else {
			seconds, ok = parseSeconds(s)
		}
	case '0' <= c && c <= '9':
		seconds, ok = parseSeconds(string(trimmed))
	}
	if !ok {
		return 0, invalid
	}
	if seconds == 0 {
		return 0, apierr.New(1009, emptyTTLDetails)
	}
	if seconds < int64(MinTTL/time.Second) || seconds > int64(MaxTTL/time.Second) {
		return 0, invalid
	}
	return time.Duration(seconds) * time.Second, nil
}

// parseSeconds accepts plain decimal digits only; strconv.ParseInt alone
// would also take a sign.
func parseSeconds(s string) (int64, bool) {
	if s == "" || !allDigits(s) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// durationUnit is one designator of an ISO-8601 duration, in the only order
// the standard allows them.
type durationUnit struct {
	designator byte
	seconds    int64
	timePart   bool // after the "T"
}

var durationUnits = []durationUnit{
	{'D', 24 * 3600, false},
	{'H', 3600, true},
	{'M', 60, true},
	{'S', 1, true},
}

const weekSeconds = 7 * 24 * 3600

// overflowGuard is far above MaxTTL in seconds yet leaves room to add the
// remaining components without overflowing int64; anything reaching it is
// out of range, which ParseTTL reports like any invalid value.
const overflowGuard = int64(1) << 40

// parseISODuration parses "P[nW]" or "P[nD][T[nH][nM][nS]]" with whole
// numbers, returning the total in seconds.
func parseISODuration(s string) (int64, bool) {
	if len(s) < 3 || s[0] != 'P' {
		return 0, false
	}
	rest := s[1:]
	if n, ok := cutNumber(rest, 'W'); ok {
		if n > overflowGuard/weekSeconds {
			return 0, false
		}
		return n * weekSeconds, true
	}

	var total int64
	next := 0 // index into durationUnits: each unit at most once, in order
	inTime := false
	components := 0
	for len(rest) > 0 {
		if rest[0] == 'T' {
			if inTime {
				return 0, false
			}
			inTime = true
			rest = rest[1:]
			if len(rest) == 0 {
				return 0, false // "P1DT": a T must introduce something
			}
			continue
		}
		end := 0
		for end < len(rest) && '0' <= rest[end] && rest[end] <= '9' {
			end++
		}
		if end == 0 || end == len(rest) {
			return 0, false
		}
		n, err := strconv.ParseInt(rest[:end], 10, 64)
		if err != nil || n > overflowGuard {
			return 0, false
		}
		designator := rest[end]
		matched := false
		for next < len(durationUnits) {
			u := durationUnits[next]
			next++
			if u.designator == designator && u.timePart == inTime {
				total += n * u.seconds
				matched = true
				break
			}
		}
		// Y, M before T, W in a combination, a fraction separator, a
		// repeated or out-of-order designator: none of them match.
		if !matched || total > overflowGuard {
			return 0, false
		}
		components++
		rest = rest[end+1:]
	}
	return total, components > 0
}

// cutNumber reports whether s is exactly digits followed by designator.
func cutNumber(s string, designator byte) (int64, bool) {
	if len(s) < 2 || s[len(s)-1] != designator || !allDigits(s[:len(s)-1]) {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	return n, err == nil
}
