package message

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/wabiz/wabiz/internal/apierr"
)

// Inbound message types a simulated user can send (runtime spec §1.4).
// `system` messages come from events (a number change), not from a user,
// and `ephemeral` has no content to simulate.
const (
	TypeButton  = "button" // a tap on a template's quick-reply button
	TypeOrder   = "order"
	TypeUnknown = "unknown" // content WhatsApp cannot show; the engine adds the 501 error
)

var inboundTypes = []string{
	TypeText, TypeImage, TypeAudio, TypeVoice, TypeVideo, TypeDocument, TypeSticker,
	TypeLocation, TypeContacts, TypeButton, TypeInteractive, TypeOrder, TypeUnknown,
}

// InboundTypes lists every value of `type` DecodeInbound accepts.
func InboundTypes() []string { return slices.Clone(inboundTypes) }

// inboundMediaKinds are the inbound types whose object is a media object.
var inboundMediaKinds = []string{TypeImage, TypeAudio, TypeVoice, TypeVideo, TypeDocument, TypeSticker}

// referralTypes are the types an ad or post referral may come with (a
// Click-to-WhatsApp ad opens a chat with a text, an image or a video).
var referralTypes = []string{TypeText, TypeImage, TypeVideo}

// Inbound is a validated message from a simulated user.
type Inbound struct {
	Type string
	// Content is the canonical message object less from, id, timestamp and
	// type: {"context": ..., "<type>": {...}, "referral": ...}, keys in that
	// order, each only when there is one ({} for a bare unknown message).
	// A media object holds what the request said (id when given,
	// mime_type, caption, filename); the engine adds sha256, and the id
	// when none was given, before it delivers the message.
	Content json.RawMessage
	// Media is set for image, audio, voice, video, document and sticker.
	Media *InboundMedia
	// ContextID is the id of the message the user replies to; "" when the
	// message is no reply.
	ContextID string
}

// InboundMedia is the file of an inbound media message.
type InboundMedia struct {
	MediaID  string // an uploaded media id whose bytes to send; "" for made-up bytes
	MimeType string // canonical; DefaultMIME of the kind when not given
	Caption  string // image, video, document
	Filename string // document
}

// DecodeInbound validates a message a simulated user sends to the business
// (the sandbox's control API), given as the user's app would put it in the
// webhook: {"type": "text", "text": {"body": "hi"}}, with an optional
// `context` (a reply) and, for text, image and video, an optional
// `referral`. `type` defaults to text, as for POST /v1/messages; other
// top-level keys (from, id, timestamp ...) are ignored, the sandbox sets
// them.
//
// There is no legacy to follow here, so the checks are one pass that
// accumulates every error, in this order: `type`, the type object (missing,
// or another type's present), the fields of the type object, `context`,
// `referral`. The texts and conventions are those of Decode's value checks
// (fields.go).
func DecodeInbound(params map[string]json.RawMessage) (*Inbound, *apierr.Error) {
	var errs apierr.List
	typ := TypeText
	if raw, ok := Given(params, "type"); ok {
		s, isString := JSONString(raw)
		if !isString || !slices.Contains(inboundTypes, s) {
			errs.Merge(apierr.InvalidValue("type", Display(raw)))
			return nil, errs.Err()
		}
		typ = s
	}
	in := &Inbound{Type: typ}

	object, hasObject := Given(params, typ)
	switch {
	case typ == TypeUnknown && hasObject:
		errs.Merge(apierr.NotRequired(typ, "type", typ))
	case typ != TypeUnknown && !hasObject:
		errs.Merge(apierr.MandatoryFor(typ, "type", typ))
	}
	for _, other := range inboundTypes {
		if _, ok := Given(params, other); ok && other != typ {
			errs.Merge(apierr.NotRequired(other, "type", typ))
		}
	}

	var typeObject []byte
	if hasObject && typ != TypeUnknown {
		typeObject = checkInboundObject(&errs, in, object)
	}
	context := checkInboundContext(&errs, in, params)
	var referral []byte
	if raw, ok := Given(params, "referral"); ok {
		if slices.Contains(referralTypes, typ) {
			referral = checkReferral(&errs, raw)
		} else {
			errs.Merge(apierr.NotRequired("referral", "type", typ))
		}
	}
	if errs.Len() > 0 {
		return nil, errs.Err()
	}

	var buf bytes.Buffer
	buf.WriteByte('{')
	for _, member := range []struct {
		key   string
		value []byte
	}{{"context", context}, {typ, typeObject}, {"referral", referral}} {
		if member.value == nil {
			continue
		}
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		buf.Write(quote(member.key))
		buf.WriteByte(':')
		buf.Write(member.value)
	}
	buf.WriteByte('}')
	in.Content = buf.Bytes()
	return in, nil
}

// checkInboundObject validates the object of in.Type and returns it in
// canonical form (nil after an error).
func checkInboundObject(errs *apierr.List, in *Inbound, raw json.RawMessage) []byte {
	typ := in.Type
	before := errs.Len()
	var out []byte
	switch {
	case typ == TypeText:
		if fields := objectAt(errs, raw, typ); fields != nil {
			if body, ok := inboundTextBody(errs, fields); ok {
				out = marshal(Text{Body: body})
			}
		}
	case slices.Contains(inboundMediaKinds, typ):
		var object inboundMediaJSON
		in.Media, object = checkInboundMedia(errs, typ, raw)
		out = marshal(object)
	case typ == TypeLocation:
		if loc := checkLocation(errs, typ, raw, true); loc != nil {
			out = marshal(loc)
		}
	case typ == TypeContacts:
		if cards := checkContacts(errs, typ, raw); cards != nil {
			out = contactList(cards)
		}
	case typ == TypeButton:
		out = checkButtonTap(errs, raw)
	case typ == TypeInteractive:
		out = checkInteractiveReply(errs, raw)
	case typ == TypeOrder:
		out = checkOrder(errs, raw)
	}
	if errs.Len() > before {
		return nil
	}
	return out
}

// inboundTextBody applies the text body rules of a send: required, at most
// MaxTextBodyChars (1001 beyond, with Decode's text).
func inboundTextBody(errs *apierr.List, fields map[string]json.RawMessage) (string, bool) {
	body, ok := RequiredText(errs, fields, "body", "text.body", 0)
	if ok && utf8.RuneCountInString(body) > MaxTextBodyChars {
		errs.Addf(1001, "Text body is longer than %d characters", MaxTextBodyChars)
		return "", false
	}
	return body, ok
}

// inboundMediaJSON is the canonical inbound media object, in the webhook's
// key order (sha256 comes from the engine).
type inboundMediaJSON struct {
	ID       string `json:"id,omitempty"`
	MimeType string `json:"mime_type"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// checkInboundMedia: an optional uploaded media id, an optional MIME type
// the kind accepts (AllowedMIME), a caption for image, video and document,
// a filename for document. {} is a valid object: the sandbox makes up a
// file.
func checkInboundMedia(errs *apierr.List, kind string, raw json.RawMessage) (*InboundMedia, inboundMediaJSON) {
	fields := objectAt(errs, raw, kind)
	if fields == nil {
		return nil, inboundMediaJSON{}
	}
	before := errs.Len()
	m := &InboundMedia{MimeType: DefaultMIME(kind)}
	if id, ok := Given(fields, "id"); ok {
		if s, isString := JSONString(id); isString && IsMediaID(s) {
			m.MediaID = strings.ToLower(s)
		} else {
			errs.Merge(apierr.InvalidValue(Join(kind, "id"), Display(id)))
		}
	}
	if mimeRaw, ok := Given(fields, "mime_type"); ok {
		if s, isString := JSONString(mimeRaw); isString && AllowedMIME(kind, s) {
			m.MimeType = canonicalMIME(s)
		} else {
			errs.Merge(apierr.InvalidValue(Join(kind, "mime_type"), Display(mimeRaw)))
		}
	}
	if kind == TypeImage || kind == TypeVideo || kind == TypeDocument {
		m.Caption, _ = OptionalText(errs, fields, "caption", Join(kind, "caption"), MaxCaptionChars)
	} else if _, ok := Given(fields, "caption"); ok {
		errs.Merge(apierr.NotRequired(Join(kind, "caption"), "type", kind))
	}
	if kind == TypeDocument {
		m.Filename, _ = OptionalText(errs, fields, "filename", Join(kind, "filename"), MaxFilenameChars)
	} else if _, ok := Given(fields, "filename"); ok {
		errs.Merge(apierr.NotRequired(Join(kind, "filename"), "type", kind))
	}
	if errs.Len() > before {
		return nil, inboundMediaJSON{}
	}
	return m, inboundMediaJSON{ID: m.MediaID, MimeType: m.MimeType, Caption: m.Caption, Filename: m.Filename}
}

// checkInboundContext reads `context`: {"id": "<message id>"} for a reply
// (an outbound "gB..." id, or an inbound "AB..." one when the user quotes
// their own message), and/or the forwarded flags. Button taps and
// interactive replies always answer a business message, so they need the
// id.
func checkInboundContext(errs *apierr.List, in *Inbound, params map[string]json.RawMessage) []byte {
	needsID := in.Type == TypeButton || in.Type == TypeInteractive
	raw, ok := Given(params, "context")
	if !ok {
		if needsID {
			errs.Merge(apierr.MandatoryFor("context", "type", in.Type))
		}
		return nil
	}
	fields := objectAt(errs, raw, "context")
	if fields == nil {
		return nil
	}
	before := errs.Len()
	var out struct {
		ID                  string `json:"id,omitempty"`
		Forwarded           bool   `json:"forwarded,omitempty"`
		FrequentlyForwarded bool   `json:"frequently_forwarded,omitempty"`
	}
	if id, ok := Given(fields, "id"); ok {
		if s, isString := JSONString(id); isString && (IsOutboundID(s) || IsInboundID(s)) {
			out.ID = s
		} else {
			errs.Merge(apierr.InvalidValue("context.id", Display(id)))
		}
	}
	out.Forwarded = optionalFlag(errs, fields, "forwarded", "context.forwarded")
	out.FrequentlyForwarded = optionalFlag(errs, fields, "frequently_forwarded", "context.frequently_forwarded")
	out.Forwarded = out.Forwarded || out.FrequentlyForwarded // frequently forwarded is forwarded
	if _, hasID := Given(fields, "id"); !hasID {
		switch {
		case needsID:
			errs.Merge(apierr.MandatoryFor("context.id", "type", in.Type))
		case !out.Forwarded && errs.Len() == before:
			errs.Merge(apierr.MissingParam("context.id"))
		}
	}
	if errs.Len() > before {
		return nil
	}
	in.ContextID = out.ID
	return marshal(out)
}

// checkReferral reads the ad or post that opened the chat: source_url,
// source_id and source_type ("ad" or "post") required; headline and body
// optional. Referral media (the ad's image or video) is not simulated.
func checkReferral(errs *apierr.List, raw json.RawMessage) []byte {
	const path = "referral"
	fields := objectAt(errs, raw, path)
	if fields == nil {
		return nil
	}
	before := errs.Len()
	var out struct {
		Headline   string `json:"headline,omitempty"`
		Body       string `json:"body,omitempty"`
		SourceType string `json:"source_type"`
		SourceID   string `json:"source_id"`
		SourceURL  string `json:"source_url"`
	}
	out.Headline, _ = OptionalText(errs, fields, "headline", Join(path, "headline"), MaxCaptionChars)
	out.Body, _ = OptionalText(errs, fields, "body", Join(path, "body"), MaxCaptionChars)
	if s, ok := RequiredText(errs, fields, "source_type", Join(path, "source_type"), 0); ok {
		if s == "ad" || s == "post" {
			out.SourceType = s
		} else {
			errs.Merge(apierr.InvalidValue(Join(path, "source_type"), s))
		}
	}
	out.SourceID, _ = identifier(errs, fields, "source_id", Join(path, "source_id"))
	if s, ok := RequiredText(errs, fields, "source_url", Join(path, "source_url"), MaxLinkChars); ok {
		if IsMediaLink(s) {
			out.SourceURL = s
		} else {
			errs.Merge(apierr.InvalidValue(Join(path, "source_url"), s))
		}
	}
	if errs.Len() > before {
		return nil
	}
	return marshal(out)
}
