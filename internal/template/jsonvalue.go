package template

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wabiz/wabiz/internal/apierr"
)

// Readers of raw JSON values, with the conventions of package message
// (fields.go there): a null value is a missing one; a missing required
// value is 1008, a value of the wrong JSON type or a blank required text is
// 1009; nested parameters are named by their dotted path from the top of
// the request, list indices in brackets ("template.components[1].index").
// message keeps its helpers unexported, so the few this package needs are
// written again here.

func join(path, key string) string { return path + "." + key }

func at(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// isTruthy is the Webapp's (PHP's) notion of a present value, which the
// first pass of message.Decode applies to `namespace` and `element_name`:
// a non-empty string, a non-zero number, true, a non-empty list or object.
func isTruthy(raw json.RawMessage) bool {
	v := bytes.TrimSpace(raw)
	if len(v) == 0 {
		return false
	}
	switch v[0] {
	case 'n', 'f':
		return false
	case 't':
		return true
	case '"':
		return len(v) > 2
	case '[', '{':
		return len(bytes.TrimSpace(v[1:len(v)-1])) > 0
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return err != nil || f != 0
}

// objectFields decodes raw when it is a JSON object, else returns nil.
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

// list decodes raw when it is a JSON list.
func list(raw json.RawMessage) ([]json.RawMessage, bool) {
	v := bytes.TrimSpace(raw)
	var items []json.RawMessage
	if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &items) != nil {
		return nil, false
	}
	return items, true
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
// text, anything else as its JSON, as message does.
func display(raw json.RawMessage) string {
	if s, ok := jsonString(raw); ok {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

// given returns the value of key unless it is missing or null.
func given(fields map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	raw, ok := fields[key]
	if !ok || isNull(raw) {
		return nil, false
	}
	return raw, true
}

func lengthError(path string, limit int) *apierr.Error {
	return apierr.Newf(1009, "Parameter '%s' is longer than %d characters", path, limit)
}

func chars(s string) int { return utf8.RuneCountInString(s) }

// requiredText reads a text that must be there and say something; limit 0
// means no limit. Too long is 1009 here: definitions and the request's own
// fields follow message's rules; template parameters have their own code
// (2004, see params.go).
func requiredText(errs *apierr.List, fields map[string]json.RawMessage, key, path string, limit int) (string, bool) {
	raw, ok := given(fields, key)
	if !ok {
		errs.Merge(apierr.MissingParam(path))
		return "", false
	}
	s, isString := jsonString(raw)
	if !isString || strings.TrimSpace(s) == "" {
		errs.Merge(apierr.InvalidValue(path, display(raw)))
		return "", false
	}
	if limit > 0 && chars(s) > limit {
		errs.Merge(lengthError(path, limit))
		return "", false
	}
	return s, true
}

// optionalText reads a text that may be left out; "" stands for absent.
func optionalText(errs *apierr.List, fields map[string]json.RawMessage, key, path string, limit int) (string, bool) {
	raw, ok := given(fields, key)
	if !ok {
		return "", true
	}
	s, isString := jsonString(raw)
	if !isString {
		errs.Merge(apierr.InvalidValue(path, display(raw)))
		return "", false
	}
	if limit > 0 && chars(s) > limit {
		errs.Merge(lengthError(path, limit))
		return "", false
	}
	return s, true
}

// integer reads a whole number written as a JSON integer or as a string of
// decimal digits with an optional minus sign ("2024", "-5"). Fractions,
// exponents, spaces and leading zeros are refused.
func integer(raw json.RawMessage) (int64, bool) {
	text := string(bytes.TrimSpace(raw))
	if s, isString := jsonString(raw); isString {
		text = s
	}
	digits := strings.TrimPrefix(text, "-")
	if digits == "" || !allDigits(digits) || len(digits) > 1 && digits[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseInt(text, 10, 64)
	return n, err == nil
}

// number reads a finite number given as a JSON number or as a string of
// decimal digits with an optional sign and fraction (message's rule for
// coordinates).
func number(raw json.RawMessage) (float64, bool) {
	v := bytes.TrimSpace(raw)
	text := string(v)
	if s, isString := jsonString(v); isString {
		whole, fraction, hasPoint := strings.Cut(strings.TrimPrefix(s, "-"), ".")
		if whole == "" || !allDigits(whole) || hasPoint && (fraction == "" || !allDigits(fraction)) {
			return 0, false
		}
		text = s
	} else if len(v) == 0 || v[0] != '-' && (v[0] < '0' || v[0] > '9') ||
		bytes.ContainsFunc(v, func(r rune) bool { return !strings.ContainsRune("0123456789.eE+-", r) }) {
		return 0, false
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	if f == 0 {
		f = 0 // no "-0"
	}
	return f, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// marshal encodes without HTML escaping (the values are small structs of
// strings that cannot fail to encode).
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
