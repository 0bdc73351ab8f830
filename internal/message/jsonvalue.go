package message

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// The Webapp was PHP: it decoded the body with json_decode(..., true) and
// tested parameters with PHP's notions of "present" and "empty". These
// helpers reproduce those notions on raw JSON so the same requests produce
// the same errors.

// isNull reports whether raw is the JSON literal null.
func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// IsPHPTruthy is the test Util::getConditionalParam applied to decide
// whether a type object or a nested field is there: a string counts when it
// is non-empty (even "0"), anything else by PHP truthiness — so false, 0,
// 0.0, [], {} and null count as absent, as does a key that is not there
// (nil raw).
func IsPHPTruthy(raw json.RawMessage) bool {
	v := bytes.TrimSpace(raw)
	if len(v) == 0 {
		return false
	}
	switch v[0] {
	case 'n', 'f':
		return false // null, false
	case 't':
		return true
	case '"':
		return len(v) > 2
	case '[', '{':
		return !isEmptyContainer(v)
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return err != nil || f != 0
}

// isPHPEmpty is PHP's empty() on a decoded value: what the Webapp checked
// `ttl` with. Unlike IsPHPTruthy, the string "0" is empty here.
func isPHPEmpty(raw json.RawMessage) bool {
	if s, ok := JSONString(raw); ok {
		return s == "" || s == "0"
	}
	return !IsPHPTruthy(raw)
}

// isEmptyContainer reports whether v is [] or {} (with any inner spacing).
func isEmptyContainer(v []byte) bool {
	if len(v) < 2 {
		return false
	}
	inner := bytes.TrimSpace(v[1 : len(v)-1])
	return len(inner) == 0
}

// JSONString returns the value of raw when it is a JSON string; false for
// any other JSON type.
func JSONString(raw json.RawMessage) (string, bool) {
	v := bytes.TrimSpace(raw)
	if len(v) == 0 || v[0] != '"' {
		return "", false
	}
	// Most strings need no unescaping: their text is the bytes between
	// the quotes, taken without the decoder's reflection (this runs for
	// every string field of every request). Anything with an escape, a
	// control character or bytes that are not UTF-8 goes to the decoder,
	// which says what it makes of them.
	if len(v) >= 2 && v[len(v)-1] == '"' && plainJSONText(v[1:len(v)-1]) {
		return string(v[1 : len(v)-1]), true
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// plainJSONText reports whether b, the inside of a JSON string, is its own
// text: no quote, backslash or control character, and valid UTF-8.
func plainJSONText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.Valid(b)
}

// Display renders a value inside "has invalid value '<v>'": a string as its
// text, anything else as its JSON (the project's choice over PHP's "Array"
// and "1" coercions, see docs/decisions.md).
func Display(raw json.RawMessage) string {
	if s, ok := JSONString(raw); ok {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

// ObjectFields decodes raw when it is a JSON object. Anything else — a
// string, a list (as for `contacts`), null — has no fields (nil), which is
// how PHP's array_key_exists saw it.
func ObjectFields(raw json.RawMessage) map[string]json.RawMessage {
	v := bytes.TrimSpace(raw)
	if len(v) == 0 || v[0] != '{' {
		return nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(v, &fields) != nil {
		return nil
	}
	return fields
}

// List decodes raw when it is a JSON list; false for anything else,
// including null.
func List(raw json.RawMessage) ([]json.RawMessage, bool) {
	v := bytes.TrimSpace(raw)
	var items []json.RawMessage
	if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &items) != nil {
		return nil, false
	}
	return items, true
}
