package template

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wabiz/wabiz/internal/message"
)

// The readers of raw JSON values (paths, texts, objects, lists, the error
// conventions) are package message's: definitions and the request's own
// fields follow message's rules, so they use its code rather than a copy.
// What stays here is what only this package needs.

// chars counts a text's length the way every limit here is stated: in
// characters (code points), as message counts them.
func chars(s string) int { return utf8.RuneCountInString(s) }

// integer reads a whole number written as a JSON integer or as a string of
// decimal digits with an optional minus sign ("2024", "-5"). Fractions,
// exponents, spaces and leading zeros are refused. Only template parameters
// (currency amounts, date parts, timestamps) take integers, so message has
// no such reader.
func integer(raw json.RawMessage) (int64, bool) {
	text := string(bytes.TrimSpace(raw))
	if s, isString := message.JSONString(raw); isString {
		text = s
	}
	digits := strings.TrimPrefix(text, "-")
	if digits == "" || !allDigits(digits) || len(digits) > 1 && digits[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseInt(text, 10, 64)
	return n, err == nil
}

// allDigits reports whether s is one or more ASCII digits. message has a
// loop like it for its own rules, but unexported and true for ""; seven
// lines are not worth a place in message's API.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// marshal encodes without HTML escaping (the values are small structs of
// strings that cannot fail to encode). message has the same six lines for
// its bodies; they are an encoder, not one of the readers it shares, and
// exporting a general JSON helper from message for one call was not worth
// widening its API.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// plural writes "1 parameter", "2 parameters".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
