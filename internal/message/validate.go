package message

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/wabiz/wabiz/internal/apierr"
)

// Decode validates the parameters of POST /v1/messages and returns the
// message to queue.
//
// The original checked a send in two places, and Decode keeps the two passes
// because the split shows in the answers clients get:
//
//  1. The Webapp (PHP, MessagesController::parseSendRequest) checked the
//     shape and accumulated every error it found, in a fixed order: `to`
//     present, `type`, `recipient_type`, `preview_url`, `render_mentions`,
//     an empty `ttl` (which stopped the checks there), the type object, the
//     other type objects, then the fields inside the type object. Any error
//     answered 400 without going further.
//  2. The Coreapp then checked the values. Its texts are not documented; the
//     ones here are wabiz's: the recipient (`to` normalised, groups refused
//     with 1002), the TTL, the reply context, then the object of the type
//     (text body 1001 when too long; media, location, contacts,
//     interactive and reaction objects field by field, see fields.go for
//     the conventions). A template or hsm object is only checked by the
//     first pass here: its values depend on the template catalogue, so the
//     engine hydrates it (package template) and answers its 2000-series
//     errors.
//
// A nil error means the returned message is valid as far as this package
// can tell: the field of Outbound that matches its type is set (Template
// for template and hsm).
func Decode(params map[string]json.RawMessage) (*Outbound, *apierr.Error) {
	d := &decoder{
		params: params,
		out: &Outbound{
			Type:          TypeText,
			RecipientType: RecipientIndividual,
			TTL:           DefaultTTL,
			Raw:           maps.Clone(params),
		},
	}
	if err := d.checkShape(); err != nil {
		return nil, err
	}
	if err := d.checkValues(); err != nil {
		return nil, err
	}
	return d.out, nil
}

// DecodeMarkRead validates the body of PUT /v1/messages/{id}, which must be
// {"status": "read"}. (The v2.2x Webapp ignored the body; enforcing it is
// the spec's recommendation, §5.2.)
func DecodeMarkRead(params map[string]json.RawMessage) *apierr.Error {
	raw, ok := params["status"]
	if !ok {
		return apierr.MissingParam("status")
	}
	if s, isString := JSONString(raw); !isString || s != "read" {
		return apierr.InvalidValue("status", Display(raw))
	}
	return nil
}

type decoder struct {
	params map[string]json.RawMessage
	out    *Outbound
}

// checkShape is the Webapp's pass (see Decode).
func (d *decoder) checkShape() *apierr.Error {
	var errs apierr.List
	if _, ok := d.params["to"]; !ok {
		errs.Merge(apierr.MissingParam("to"))
	}

	typeKnown := true
	if raw, ok := d.params["type"]; ok {
		s, isString := JSONString(raw)
		typeKnown = isString && IsKnownType(s)
		if typeKnown {
			d.out.Type = s
		} else {
			errs.Merge(apierr.InvalidValue("type", Display(raw)))
		}
	}

	if raw, ok := d.params["recipient_type"]; ok {
		s, isString := JSONString(raw)
		if isString && (s == RecipientIndividual || s == RecipientGroup) {
			d.out.RecipientType = s
		} else {
			errs.Merge(apierr.InvalidValue("recipient_type", Display(raw)))
		}
	}

	d.out.PreviewURL = d.optionalBool(&errs, "preview_url")
	d.out.RenderMentions = d.optionalBool(&errs, "render_mentions")

	// The Webapp broke out of its checks here, so an empty ttl hides any
	// type-object error. A null ttl is "not given" (PHP's is_null test).
	if raw, ok := d.params["ttl"]; ok && !isNull(raw) && isPHPEmpty(raw) {
		errs.Add(1009, emptyTTLDetails)
		return errs.Err()
	}

	// With an unknown type the Webapp had no type to check objects against.
	if typeKnown {
		d.checkTypeObjects(&errs)
		checkTypeObjectFields(&errs, d.out.Type, d.params[d.out.Type])
	}
	return errs.Err()
}

// optionalBool accepts only a JSON boolean, as the Webapp's is_bool did:
// "true" as a string or 1 is 1009.
func (d *decoder) optionalBool(errs *apierr.List, name string) bool {
	raw, ok := d.params[name]
	if !ok {
		return false
	}
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true
	case "false":
		return false
	}
	errs.Merge(apierr.InvalidValue(name, Display(raw)))
	return false
}

// checkTypeObjects requires the object named by `type` and refuses every
// other type object. "Present" is PHP's: an empty object or string, false,
// 0 and null count as absent, for both rules.
func (d *decoder) checkTypeObjects(errs *apierr.List) {
	typ := d.out.Type
	if !IsPHPTruthy(d.params[typ]) {
		errs.Merge(apierr.MandatoryFor(typ, "type", typ))
	}
	for _, other := range knownTypes {
		if other != typ && IsPHPTruthy(d.params[other]) {
			errs.Merge(apierr.NotRequired(other, "type", typ))
		}
	}
}

// fieldRule is one row of the Webapp's per-type tables of fields inside the
// type object: required for some types, refused ("not required") for
// others, ignored for the rest.
type fieldRule struct {
	field        string
	mandatoryFor []string
	refusedFor   []string
}

// typeObjectRules are the Webapp's tables (MessagesController constants), in
// its order of checking. The three types later builds added are placed by
// what the spec says of them: a sticker is media without a caption, like
// audio; `element_name` is refused for every type but hsm and `filename` for
// every type but document (spec §5.1.1), so interactive and reaction are
// refused both. Nothing else is assumed of those two types.
var typeObjectRules = []fieldRule{
	{"body", []string{TypeText},
		[]string{TypeAudio, TypeDocument, TypeHSM, TypeImage, TypeLocation, TypeVideo, TypeContacts, TypeSticker}},
	{"id", nil,
		[]string{TypeHSM, TypeLocation, TypeText, TypeContacts}},
	{"namespace", []string{TypeHSM, TypeTemplate},
		[]string{TypeAudio, TypeDocument, TypeImage, TypeLocation, TypeText, TypeVideo, TypeSticker}},
	{"element_name", []string{TypeHSM},
		[]string{TypeAudio, TypeDocument, TypeImage, TypeLocation, TypeText, TypeVideo, TypeContacts, TypeTemplate,
			TypeSticker, TypeInteractive, TypeReaction}},
	{"caption", nil,
		[]string{TypeAudio, TypeHSM, TypeLocation, TypeText, TypeContacts, TypeSticker}},
	{"filename", nil,
		[]string{TypeAudio, TypeHSM, TypeImage, TypeLocation, TypeText, TypeVideo, TypeContacts, TypeTemplate,
			TypeSticker, TypeInteractive, TypeReaction}},
}

// checkTypeObjectFields applies typeObjectRules and the language rules to
// the object of the message's type. The Webapp ran them even when the
// object was missing or not an object (it then has no fields), so a text
// message without `text` also reports the missing body.
func checkTypeObjectFields(errs *apierr.List, typ string, object json.RawMessage) {
	fields := ObjectFields(object)
	for _, rule := range typeObjectRules {
		present := IsPHPTruthy(fields[rule.field])
		switch {
		case present && slices.Contains(rule.refusedFor, typ):
			errs.Merge(apierr.NotRequired(rule.field, "type", typ))
		case !present && slices.Contains(rule.mandatoryFor, typ):
			errs.Merge(apierr.MandatoryFor(rule.field, "type", typ))
		}
	}
	checkLanguage(errs, fields)
}

// languagePolicies are the values of `language.policy`; "fallback" is
// deprecated but was never refused.
var languagePolicies = []string{"fallback", "deterministic"}

// checkLanguage applies to any type object that has a `language`: the
// Webapp checked it wherever it appeared. Here presence means the key
// exists (array_key_exists), unlike the table rules above.
func checkLanguage(errs *apierr.List, fields map[string]json.RawMessage) {
	language, ok := fields["language"]
	if !ok || isNull(language) {
		return
	}
	for _, legacy := range []string{"fallback_lg", "fallback_lc"} {
		if _, clash := fields[legacy]; clash {
			errs.Addf(1010, "Exactly one of the following parameters must be present: 'language', '%s'", legacy)
		}
	}
	inner := ObjectFields(language)
	if _, ok := inner["code"]; !ok {
		errs.Merge(apierr.MissingParam("code"))
	}
	policy, ok := inner["policy"]
	if !ok {
		errs.Merge(apierr.MissingParam("policy"))
	} else if s, isString := JSONString(policy); !isString || !slices.Contains(languagePolicies, s) {
		errs.Merge(apierr.InvalidValue("policy", Display(policy)))
	}
}

// checkValues is the Coreapp's pass (see Decode).
func (d *decoder) checkValues() *apierr.Error {
	var errs apierr.List
	if d.out.RecipientType == RecipientGroup {
		// With a group, `to` was a group id; judging it as a phone number
		// would only add a misleading second error.
		errs.Add(1002, "Groups are not supported")
	} else {
		d.checkRecipient(&errs)
	}

	if raw, ok := d.params["ttl"]; ok && !isNull(raw) {
		ttl, err := ParseTTL(raw)
		if err != nil {
			errs.Merge(err)
		} else {
			d.out.TTL, d.out.TTLSet = ttl, true
		}
	}

	if raw, ok := d.params["context"]; ok && !isNull(raw) {
		d.checkContext(&errs, raw)
	}

	switch typ := d.out.Type; {
	case typ == TypeText:
		d.checkText(&errs)
	case IsMediaKind(typ):
		d.checkMedia(&errs)
	case typ == TypeLocation:
		d.checkLocation(&errs)
	case typ == TypeContacts:
		d.checkContacts(&errs)
	case typ == TypeInteractive:
		d.checkInteractive(&errs)
	case typ == TypeReaction:
		d.checkReaction(&errs)
	case typ == TypeTemplate || typ == TypeHSM:
		// The first pass made sure it is an object with a namespace.
		d.out.Template = d.params[typ]
	}
	return errs.Err()
}

// checkRecipient normalises `to`. A JSON number of digits is accepted as
// well as a string: some clients build the body from numeric columns, and
// the digits are unambiguous.
func (d *decoder) checkRecipient(errs *apierr.List) {
	raw := d.params["to"]
	to, isString := JSONString(raw)
	if !isString {
		v := string(bytes.TrimSpace(raw))
		if v == "" || !allDigits(v) {
			errs.Merge(apierr.InvalidValue("to", Display(raw)))
			return
		}
		to = v
	}
	waID, ok := NormalizeNumber(to)
	if !ok {
		errs.Merge(apierr.InvalidValue("to", to))
		return
	}
	d.out.To, d.out.WaID = to, waID
}

// checkContext reads the reply context {"message_id": "..."}. The nested
// name is written dotted, as wabiz does for nested settings.
func (d *decoder) checkContext(errs *apierr.List, raw json.RawMessage) {
	fields := ObjectFields(raw)
	if fields == nil {
		errs.Merge(apierr.InvalidValue("context", Display(raw)))
		return
	}
	id, ok := fields["message_id"]
	if !ok || isNull(id) {
		errs.Merge(apierr.MissingParam("context.message_id"))
		return
	}
	s, isString := JSONString(id)
	if !isString || strings.TrimSpace(s) == "" {
		errs.Merge(apierr.InvalidValue("context.message_id", Display(id)))
		return
	}
	d.out.Context = &Context{MessageID: s}
}

// checkText applies the text rules once the shape is known to be right (the
// first pass guarantees `text` is an object with a non-empty `body`).
//
// A body of only whitespace is refused like an empty one (1008, the
// Webapp's text for a missing body): WhatsApp shows nothing for it, so it is
// a client mistake, not a message. The length is counted in Unicode code
// points; Meta never said which unit its 4096 counts.
func (d *decoder) checkText(errs *apierr.List) {
	body := ObjectFields(d.params[TypeText])["body"]
	s, isString := JSONString(body)
	if !isString {
		errs.Merge(apierr.InvalidValue("body", Display(body)))
		return
	}
	if strings.TrimSpace(s) == "" {
		errs.Merge(apierr.MandatoryFor("body", "type", TypeText))
		return
	}
	if utf8.RuneCountInString(s) > MaxTextBodyChars {
		errs.Addf(1001, "Text body is longer than %d characters", MaxTextBodyChars)
		return
	}
	d.out.Text = &Text{Body: s}
}
