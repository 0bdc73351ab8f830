package message

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wabiz/wabiz/internal/apierr"
)

// Helpers of the value checks (the second pass of Decode, and DecodeInbound).
// They name a nested parameter by its path from the top of the request,
// dotted, with list indices in brackets: "interactive.action.sections[1].title".
//
// Conventions shared by every type:
//   - A key whose value is null is the same as a missing key.
//   - A missing required value is 1008 "Missing mandatory parameter '<path>'"
//     (or "... is mandatory for <dependent> '<value>'" when another value
//     makes it required); a value of the wrong JSON type, or a required text
//     that is empty or only whitespace, is 1009 "Parameter '<path>' has
//     invalid value '<v>'".
//   - An optional text that is "" is the same as a missing one.
//   - Lengths are counted in characters (Unicode code points), as for the
//     text body; too long is 1009 "Parameter '<path>' is longer than <n>
//     characters".

func join(path, key string) string { return path + "." + key }

func at(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// given returns the value of key unless it is missing or null.
func given(fields map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	raw, ok := fields[key]
	if !ok || isNull(raw) {
		return nil, false
	}
	return raw, true
}

// objectAt decodes raw as an object, or reports it as an invalid value.
func objectAt(errs *apierr.List, raw json.RawMessage, path string) map[string]json.RawMessage {
	fields := objectFields(raw)
	if fields == nil {
		errs.Merge(apierr.InvalidValue(path, display(raw)))
	}
	return fields
}

// arrayAt decodes raw as a list, or reports it as an invalid value.
func arrayAt(errs *apierr.List, raw json.RawMessage, path string) ([]json.RawMessage, bool) {
	v := bytes.TrimSpace(raw)
	var items []json.RawMessage
	if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &items) != nil {
		errs.Merge(apierr.InvalidValue(path, display(raw)))
		return nil, false
	}
	return items, true
}

func lengthError(path string, limit int) *apierr.Error {
	return apierr.Newf(1009, "Parameter '%s' is longer than %d characters", path, limit)
}

// countError is the text of every "how many" rule; what names the things
// counted: "items" of a list, or the "rows in all" and "product_items in
// all" of a message's sections.
func countError(code int, path string, low, high, n int, what string) *apierr.Error {
	return apierr.Newf(code, "Parameter '%s' must have %d to %d %s; it has %d", path, low, high, what, n)
}

// requiredText reads a text that must be there and say something. limit 0
// means no length limit.
func requiredText(errs *apierr.List, fields map[string]json.RawMessage, key, path string, limit int) (string, bool) {
	raw, ok := given(fields, key)
	if !ok {
		errs.Merge(apierr.MissingParam(path))
		return "", false
	}
	return textValue(errs, raw, path, limit)
}

// textValue is requiredText once the value is known to be given.
func textValue(errs *apierr.List, raw json.RawMessage, path string, limit int) (string, bool) {
	s, isString := jsonString(raw)
	if !isString || strings.TrimSpace(s) == "" {
		errs.Merge(apierr.InvalidValue(path, display(raw)))
		return "", false
	}
	if limit > 0 && utf8.RuneCountInString(s) > limit {
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
	if limit > 0 && utf8.RuneCountInString(s) > limit {
		errs.Merge(lengthError(path, limit))
		return "", false
	}
	return s, true
}

// optionalFlag reads a flag that may be left out; only JSON booleans count.
func optionalFlag(errs *apierr.List, fields map[string]json.RawMessage, key, path string) bool {
	raw, ok := given(fields, key)
	if !ok {
		return false
	}
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true
	case "false":
		return false
	}
	errs.Merge(apierr.InvalidValue(path, display(raw)))
	return false
}

// identifier reads a required id that clients write as a string or, being
// numeric (catalog ids), as a JSON integer; the result is always a string.
func identifier(errs *apierr.List, fields map[string]json.RawMessage, key, path string) (string, bool) {
	raw, ok := given(fields, key)
	if !ok {
		errs.Merge(apierr.MissingParam(path))
		return "", false
	}
	if v := string(bytes.TrimSpace(raw)); v != "" && allDigits(v) {
		return v, true
	}
	return textValue(errs, raw, path, maxIdentifierChars)
}

// maxIdentifierChars bounds catalog and product ids: Meta's are short, and
// an id is never prose.
const maxIdentifierChars = 256

// singleLine applies the character policy (2017) of the interactive labels
// that WhatsApp shows on one line: no line breaks, tabs or other control
// characters.
func singleLine(errs *apierr.List, path, s string) bool {
	if strings.ContainsFunc(s, unicode.IsControl) {
		errs.Addf(2017, "Parameter '%s' must not contain line breaks or control characters", path)
		return false
	}
	return true
}

// unpadded applies the character policy (2017) of reply button ids: no
// space at either end.
func unpadded(errs *apierr.List, path, s string) bool {
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		errs.Addf(2017, "Parameter '%s' must not begin or end with a space", path)
		return false
	}
	return true
}

// number reads a finite number given as a JSON number or as a string of
// decimal digits with an optional sign and fraction ("51.5072", "-0.12").
// The string form refuses exponents, spaces, "NaN" and "Inf", which
// strconv.ParseFloat alone would take.
func number(raw json.RawMessage) (float64, bool) {
	v := bytes.TrimSpace(raw)
	text := string(v)
	if s, isString := jsonString(v); isString {
		if !isDecimal(s) {
			return 0, false
		}
		text = s
	} else if len(v) == 0 || v[0] != '-' && (v[0] < '0' || v[0] > '9') ||
		bytes.ContainsFunc(v, func(r rune) bool { return !strings.ContainsRune("0123456789.eE+-", r) }) {
		// JSON's number grammar; ParseFloat would also take "0x1p-2",
		// "Inf" and "1_000" from a caller that passed unchecked bytes.
		return 0, false
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	if f == 0 {
		f = 0 // no "-0" in canonical bodies
	}
	return f, true
}

func isDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	whole, fraction, hasPoint := strings.Cut(s, ".")
	return whole != "" && allDigits(whole) && (!hasPoint || fraction != "" && allDigits(fraction))
}

// duplicates tracks values that must be unique within a message (row ids,
// reply ids and titles).
type duplicates map[string]bool

// seen records s and reports an error if it was recorded before.
func (d duplicates) seen(errs *apierr.List, path, s string) bool {
	if d[s] {
		errs.Addf(1009, "Parameter '%s' has duplicate value '%s'", path, s)
		return true
	}
	d[s] = true
	return false
}
