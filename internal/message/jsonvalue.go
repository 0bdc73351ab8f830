package message

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// The Webapp was PHP: it decoded the body with json_decode(..., true) and
// tested parameters with PHP's notions of "present" and "empty". These
// helpers reproduce those notions on raw JSON so the same requests produce
// the same errors.

// isNull reports whether raw is the JSON literal null.
func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// isPHPTruthy is the test Util::getConditionalParam applied to decide
// whether a type object or a nested field is there: a string counts when it
// is non-empty (even "0"), anything else by PHP truthiness — so false, 0,
// 0.0, [], {} and null count as absent.
func isPHPTruthy(raw json.RawMessage) bool {
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
// `ttl` with. Unlike isPHPTruthy, the string "0" is empty here.
func isPHPEmpty(raw json.RawMessage) bool {
	if s, ok := jsonString(raw); ok {
		return s == "" || s == "0"
	}
	return !isPHPTruthy(raw)
}

// isEmptyContainer reports whether v is [] or {} (with any inner spacing).
func isEmptyContainer(v []byte) bool {
	if len(v) < 2 {
		return false
	}
	inner := bytes.TrimSpace(v[1 : len(v)-1])
	return len(inner) == 0
}

// jsonString returns the value of raw when it is a JSON string.
func jsonString(raw json.RawMessage) (string, bool) {
	v := bytes.TrimSpace(raw)
	if len(v) == 0 || v[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// display renders a value inside "has invalid value '<v>'": a string as its
// text, anything else as its JSON (the project's choice over PHP's "Array"
// and "1" coercions, see docs/decisions.md).
func display(raw json.RawMessage) string {
	if s, ok := jsonString(raw); ok {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

// objectFields decodes raw when it is a JSON object. Anything else — a
// string, a list (as for `contacts`), null — has no fields, which is how
// PHP's array_key_exists saw it.
func objectFields(raw json.RawMessage) map[string]json.RawMessage {
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
