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

// Readers of raw JSON values, used by the value checks (the second pass of
// Decode, and DecodeInbound) and, for the exported ones, by package
// template, which validates template definitions and parameters with the
// same rules. They name a nested parameter by its path from the top of the
// request, dotted, with list indices in brackets:
// "interactive.action.sections[1].title" (see Join and At).
//
// Conventions shared by every type:
//   - A key whose value is null is the same as a missing key.
//   - A missing required value is 1008 "Missing mandatory parameter '<path>'"
//     (or "... is mandatory for <dependent> '<value>'" when another value
//     makes it required); a value of the wrong JSON type, or a required text
//     that is empty or only whitespace, is 1009 "Parameter '<path>' has
//     invalid value '<v>'", with <v> written by Display.
//   - An optional text that is "" is the same as a missing one.
//   - Lengths are counted in characters (Unicode code points), as for the
//     text body; too long is 1009 "Parameter '<path>' is longer than <n>
//     characters" (LengthError).
//
// The readers that report add to an *apierr.List and go on, so that one
// answer lists every fault of a request.

// Join names the member key of the object at path: Join("interactive",
// "body") is "interactive.body".
func Join(path, key string) string { return path + "." + key }

// At names item i (from 0) of the list at path: At("contacts", 1) is
// "contacts[1]".
func At(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// Given returns the value of key unless it is missing or null; false means
// the key was not given, which is not an error by itself.
func Given(fields map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	raw, ok := fields[key]
	if !ok || isNull(raw) {
		return nil, false
	}
	return raw, true
}

// objectAt decodes raw as an object, or reports it as an invalid value.
func objectAt(errs *apierr.List, raw json.RawMessage, path string) map[string]json.RawMessage {
	fields := ObjectFields(raw)
	if fields == nil {
		errs.Merge(apierr.InvalidValue(path, Display(raw)))
	}
	return fields
}

// arrayAt decodes raw as a list, or reports it as an invalid value.
func arrayAt(errs *apierr.List, raw json.RawMessage, path string) ([]json.RawMessage, bool) {
	items, ok := List(raw)
	if !ok {
		errs.Merge(apierr.InvalidValue(path, Display(raw)))
	}
	return items, ok
}

// LengthError is the 1009 error of a text at path that has more than limit
// characters.
func LengthError(path string, limit int) *apierr.Error {
	return apierr.Newf(1009, "Parameter '%s' is longer than %d characters", path, limit)
}

// countError is the text of every "how many" rule; what names the things
// counted: "items" of a list, or the "rows in all" and "product_items in
// all" of a message's sections.
func countError(code int, path string, low, high, n int, what string) *apierr.Error {
	return apierr.Newf(code, "Parameter '%s' must have %d to %d %s; it has %d", path, low, high, what, n)
}

// RequiredText reads the text at key, named path in errors, that must be
// there and say something. Missing (or null) is 1008; not a JSON string, or
// only whitespace, is 1009; more than limit characters is 1009 too (limit 0
// means no limit). On any of these it reports to errs and returns false.
func RequiredText(errs *apierr.List, fields map[string]json.RawMessage, key, path string, limit int) (string, bool) {
	raw, ok := Given(fields, key)
	if !ok {
		errs.Merge(apierr.MissingParam(path))
		return "", false
	}
	return textValue(errs, raw, path, limit)
}

// textValue is RequiredText once the value is known to be given.
func textValue(errs *apierr.List, raw json.RawMessage, path string, limit int) (string, bool) {
	s, isString := JSONString(raw)
	if !isString || strings.TrimSpace(s) == "" {
		errs.Merge(apierr.InvalidValue(path, Display(raw)))
		return "", false
	}
	if limit > 0 && utf8.RuneCountInString(s) > limit {
		errs.Merge(LengthError(path, limit))
		return "", false
	}
	return s, true
}

// OptionalText reads the text at key, named path in errors, that may be
// left out: missing or null returns "" and true, as does "". Not a JSON
// string, or more than limit characters (limit 0 means no limit), is 1009,
// reported to errs, and returns false.
func OptionalText(errs *apierr.List, fields map[string]json.RawMessage, key, path string, limit int) (string, bool) {
	raw, ok := Given(fields, key)
	if !ok {
		return "", true
	}
	s, isString := JSONString(raw)
	if !isString {
		errs.Merge(apierr.InvalidValue(path, Display(raw)))
		return "", false
	}
	if limit > 0 && utf8.RuneCountInString(s) > limit {
		errs.Merge(LengthError(path, limit))
		return "", false
	}
	return s, true
}

// optionalFlag reads a flag that may be left out; only JSON booleans count.
func optionalFlag(errs *apierr.List, fields map[string]json.RawMessage, key, path string) bool {
	raw, ok := Given(fields, key)
	if !ok {
		return false
	}
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true
	case "false":
		return false
	}
	errs.Merge(apierr.InvalidValue(path, Display(raw)))
	return false
}

// identifier reads a required id that clients write as a string or, being
// numeric (catalog ids), as a JSON integer; the result is always a string.
func identifier(errs *apierr.List, fields map[string]json.RawMessage, key, path string) (string, bool) {
	raw, ok := Given(fields, key)
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
	if s, isString := JSONString(v); isString {
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
