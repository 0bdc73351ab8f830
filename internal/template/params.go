package template

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/message"
)

// Parameter types of a `template` send.
const (
	paramText       = "text"
	paramCurrency   = "currency"
	paramDateTime   = "date_time"
	paramImage      = "image"
	paramVideo      = "video"
	paramDocument   = "document"
	paramLocation   = "location"
	paramPayload    = "payload"
	paramCouponCode = "coupon_code"
)

var paramTypes = []string{paramText, paramCurrency, paramDateTime, paramImage, paramVideo, paramDocument,
	paramLocation, paramPayload, paramCouponCode}

// unsupportedMedia are media kinds a message may carry but a template
// never does (2008).
var unsupportedMedia = []string{message.TypeAudio, message.TypeSticker}

// Limits of parameters, in characters; over them is 2004.
const (
	MaxParamChars   = 1024 // a body parameter, an hsm default, a fallback_value in the body
	MaxPayloadChars = 256  // a quick-reply payload, like an interactive reply id
)

// Bounds of date_time fields; maxTimestamp is 9999-12-31T23:59:59Z.
const maxTimestamp = 253402300799

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// slot is a place in a template that takes parameters.
type slot struct {
	label    string   // "body", "header", "button 1 (url)": the subject of 2000, 2005 and 2009 texts
	what     string   // "the body", "the image header": the subject of 2012 texts
	accepts  []string // parameter types
	limit    int      // characters of a text parameter (2004)
	policies bool     // the whitespace (2006) and format-character (2007) policies apply
	required bool     // a component with no parameters is a missing component (2009), not a count (2000)
}

var textual = []string{paramText, paramCurrency, paramDateTime}

var bodySlot = slot{label: "body", what: "the body", accepts: textual, limit: MaxParamChars, policies: true}

func headerSlot(format string) slot {
	s := slot{label: "header", what: "the " + format + " header", accepts: []string{format}, required: true}
	if format == FormatText {
		s.accepts, s.limit, s.policies = textual, MaxHeaderTextChars, true
	}
	return s
}

func buttonSlot(index int, kind string) slot {
	s := slot{label: "button " + strconv.Itoa(index) + " (" + kind + ")", what: "a " + kind + " button", required: true}
	switch kind {
	case ButtonURL:
		s.accepts, s.limit = []string{paramText}, MaxURLChars
	case ButtonQuickReply:
		s.accepts, s.limit = []string{paramPayload}, MaxPayloadChars
	case ButtonCopyCode:
		s.accepts, s.limit, s.policies = []string{paramCouponCode}, MaxCouponChars, true
	}
	return s
}

// value is one parameter, read: the text it renders as (text, the
// fallback_value of currency and date_time, a payload, a coupon code, a URL
// suffix), or a header's media or location.
type value struct {
	text     string
	media    *message.Media
	location *message.Location
}

func texts(values []value) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = v.text
	}
	return out
}

// readParam reads one parameter for s: its type first (1008/1009 when
// missing or unknown, 2008 for audio and stickers, 2012 when s does not
// take it), then its object.
func readParam(errs *apierr.List, raw json.RawMessage, path string, s slot) (value, bool) {
	fields := message.ObjectFields(raw)
	if fields == nil {
		errs.Merge(apierr.InvalidValue(path, message.Display(raw)))
		return value{}, false
	}
	typePath := message.Join(path, "type")
	typeRaw, ok := message.Given(fields, "type")
	if !ok {
		errs.Merge(apierr.MissingParam(typePath))
		return value{}, false
	}
	typ, _ := message.JSONString(typeRaw)
	switch {
	case slices.Contains(unsupportedMedia, typ):
		errs.Addf(2008, "Parameter '%s' is '%s': templates carry only image, video and document media", typePath, typ)
		return value{}, false
	case !slices.Contains(paramTypes, typ):
		errs.Merge(apierr.InvalidValue(typePath, message.Display(typeRaw)))
		return value{}, false
	case !slices.Contains(s.accepts, typ):
		errs.Addf(2012, "Parameter '%s' is '%s': %s takes %s", typePath, typ, s.what, orList(s.accepts))
		return value{}, false
	}

	before := errs.Len()
	var v value
	switch typ {
	case paramText, paramPayload, paramCouponCode:
		v.text = textParam(errs, fields, typ, message.Join(path, typ), s)
	case paramCurrency:
		v.text = currencyParam(errs, fields, message.Join(path, typ), s)
	case paramDateTime:
		v.text = dateTimeParam(errs, fields, message.Join(path, typ), s)
	case paramImage, paramVideo, paramDocument:
		v.media = mediaParam(errs, fields, typ, message.Join(path, typ))
	case paramLocation:
		v.location = locationParam(errs, fields, message.Join(path, typ))
	}
	return v, errs.Len() == before
}

func orList(items []string) string {
	if len(items) == 1 {
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// textParam reads a parameter's text: present and not blank (1008/1009),
// at most s.limit characters (2004), then the policies of s.
func textParam(errs *apierr.List, fields map[string]json.RawMessage, key, path string, s slot) string {
	text, ok := message.RequiredText(errs, fields, key, path, 0)
	if !ok {
		return ""
	}
	if chars(text) > s.limit {
		errs.Addf(2004, "Parameter '%s' is longer than %d characters", path, s.limit)
		return ""
	}
	if s.policies && !checkPolicies(errs, path, text) {
		return ""
	}
	return text
}

// checkPolicies applies the whitespace policy (2006: no line breaks or
// tabs, at most 4 spaces in a row) and the format-character policy (2007:
// no control or text-direction characters, and not only formatting marks,
// which would unbalance the template's own *bold*, _italic_, ~strike~ and
// `code`).
func checkPolicies(errs *apierr.List, path, text string) bool {
	run := 0
	for _, r := range text {
		if strings.ContainsRune("\n\r\t\v\f\u0085\u2028\u2029", r) {
			errs.Addf(2006, "Parameter '%s' must not contain line breaks, tabs or more than 4 consecutive spaces", path)
			return false
		}
		if !unicode.IsSpace(r) {
			run = 0
		} else if run++; run > 4 {
			errs.Addf(2006, "Parameter '%s' must not contain line breaks, tabs or more than 4 consecutive spaces", path)
			return false
		}
	}
	onlyMarks := true
	for _, r := range text {
		if unicode.IsControl(r) || isDirectionControl(r) {
			errs.Addf(2007, "Parameter '%s' must not contain control or text-direction characters", path)
			return false
		}
		if !unicode.IsSpace(r) && !strings.ContainsRune("*_~`", r) {
			onlyMarks = false
		}
	}
	if onlyMarks {
		errs.Addf(2007, "Parameter '%s' must not consist only of formatting characters (* _ ~ `)", path)
		return false
	}
	return true
}

// isDirectionControl reports the bidirectional embedding, override and
// isolate characters, which can make a text read differently from what it
// says. Joiners (U+200C, U+200D) stay allowed: emoji sequences need them.
func isDirectionControl(r rune) bool {
	return r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069'
}

// object reads a required nested object (1008 missing, 1009 not an object).
func object(errs *apierr.List, fields map[string]json.RawMessage, key, path string) map[string]json.RawMessage {
	raw, ok := message.Given(fields, key)
	if !ok {
		errs.Merge(apierr.MissingParam(path))
		return nil
	}
	inner := message.ObjectFields(raw)
	if inner == nil {
		errs.Merge(apierr.InvalidValue(path, message.Display(raw)))
	}
	return inner
}

// currencyParam: {fallback_value, code (ISO 4217), amount_1000 (integer)};
// it renders as fallback_value.
func currencyParam(errs *apierr.List, fields map[string]json.RawMessage, path string, s slot) string {
	cf := object(errs, fields, paramCurrency, path)
	if cf == nil {
		return ""
	}
	fallbackValue := textParam(errs, cf, "fallback_value", message.Join(path, "fallback_value"), s)
	checkCurrency(errs, cf, "code", "amount_1000", path)
	return fallbackValue
}

// checkCurrency checks a currency code and an amount in thousandths; the
// hsm spelling names the code "currency_code".
func checkCurrency(errs *apierr.List, fields map[string]json.RawMessage, codeKey, amountKey, path string) {
	if code, ok := message.RequiredText(errs, fields, codeKey, message.Join(path, codeKey), 0); ok && !currencyPattern.MatchString(code) {
		errs.Merge(apierr.InvalidValue(message.Join(path, codeKey), code))
	}
	if amount, ok := message.Given(fields, amountKey); !ok {
		errs.Merge(apierr.MissingParam(message.Join(path, amountKey)))
	} else if _, isInt := integer(amount); !isInt {
		errs.Merge(apierr.InvalidValue(message.Join(path, amountKey), message.Display(amount)))
	}
}

// dateTimeParam: fallback_value and either the component fields or a
// timestamp (neither is fine: only fallback_value is rendered, as on the
// Cloud API); it renders as fallback_value.
func dateTimeParam(errs *apierr.List, fields map[string]json.RawMessage, path string, s slot) string {
	df := object(errs, fields, paramDateTime, path)
	if df == nil {
		return ""
	}
	fallbackValue := textParam(errs, df, "fallback_value", message.Join(path, "fallback_value"), s)
	first := checkDateComponents(errs, df, path)
	if raw, ok := message.Given(df, "timestamp"); ok {
		checkTimestamp(errs, raw, message.Join(path, "timestamp"))
		if first != "" {
			errs.Addf(1010, "Only one of the following parameters may be present: '%s', '%s'", message.Join(path, "timestamp"), first)
		}
	}
	return fallbackValue
}

// dateFields are the component fields of a date_time and their ranges.
var dateFields = []struct {
	key      string
	low, top int64
}{
	{"day_of_week", 1, 7}, {"year", 1, 9999}, {"month", 1, 12}, {"day_of_month", 1, 31}, {"hour", 0, 23}, {"minute", 0, 59},
}

// checkDateComponents checks the component fields present and returns the
// path of the first one ("" when none is).
func checkDateComponents(errs *apierr.List, fields map[string]json.RawMessage, path string) string {
	first := ""
	note := func(p string) {
		if first == "" {
			first = p
		}
	}
	for _, f := range dateFields {
		raw, ok := message.Given(fields, f.key)
		if !ok {
			continue
		}
		note(message.Join(path, f.key))
		if n, isInt := integer(raw); !isInt || n < f.low || n > f.top {
			errs.Merge(apierr.InvalidValue(message.Join(path, f.key), message.Display(raw)))
		}
	}
	if raw, ok := message.Given(fields, "calendar"); ok {
		note(message.Join(path, "calendar"))
		if s, _ := message.JSONString(raw); s != "GREGORIAN" && s != "SOLAR_HIJRI" {
			errs.Merge(apierr.InvalidValue(message.Join(path, "calendar"), message.Display(raw)))
		}
	}
	return first
}

func checkTimestamp(errs *apierr.List, raw json.RawMessage, path string) {
	if n, isInt := integer(raw); !isInt || n < 0 || n > maxTimestamp {
		errs.Merge(apierr.InvalidValue(path, message.Display(raw)))
	}
}

// headerObject reads the object of a media or location header parameter;
// without one the header has no structure to send (2036).
func headerObject(errs *apierr.List, fields map[string]json.RawMessage, kind, path string) map[string]json.RawMessage {
	raw, _ := message.Given(fields, kind)
	inner := message.ObjectFields(raw)
	if inner == nil {
		errs.Addf(2036, "Parameter '%s' must be the %s object of the header", path, kind)
	}
	return inner
}

// mediaParam validates a header's media object with message's rules:
// exactly one of id and link, provider only with a link, a filename only
// for a document, no caption (a template header has none).
func mediaParam(errs *apierr.List, fields map[string]json.RawMessage, kind, path string) *message.Media {
	mf := headerObject(errs, fields, kind, path)
	if mf == nil {
		return nil
	}
	before := errs.Len()
	m := &message.Media{Kind: kind}
	message.MediaSource(errs, mf, path, m)
	if message.IsPHPTruthy(mf["caption"]) {
		errs.Merge(apierr.NotRequired(message.Join(path, "caption"), "template header", kind))
	}
	if kind == paramDocument {
		m.Filename, _ = message.OptionalText(errs, mf, "filename", message.Join(path, "filename"), message.MaxFilenameChars)
	} else if message.IsPHPTruthy(mf["filename"]) {
		errs.Merge(apierr.NotRequired(message.Join(path, "filename"), "template header", kind))
	}
	if errs.Len() > before {
		return nil
	}
	return m
}

// locationParam validates a location header with message's rules:
// latitude and longitude required, name and address optional.
func locationParam(errs *apierr.List, fields map[string]json.RawMessage, path string) *message.Location {
	lf := headerObject(errs, fields, paramLocation, path)
	if lf == nil {
		return nil
	}
	before := errs.Len()
	loc := &message.Location{
		Latitude:  message.Coordinate(errs, lf, "latitude", message.Join(path, "latitude"), 90),
		Longitude: message.Coordinate(errs, lf, "longitude", message.Join(path, "longitude"), 180),
	}
	loc.Name, _ = message.OptionalText(errs, lf, "name", message.Join(path, "name"), message.MaxLocationTextChars)
	loc.Address, _ = message.OptionalText(errs, lf, "address", message.Join(path, "address"), message.MaxLocationTextChars)
	if errs.Len() > before {
		return nil
	}
	return loc
}
