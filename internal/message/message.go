// Package message is the message model: it decodes and validates a
// POST /v1/messages request with the exact error codes and texts of the
// On-Premises API (Decode) and a simulated user's message for the sandbox
// (DecodeInbound), holds the per-kind media rules, mints message ids,
// normalises phone numbers and parses TTLs. It is pure (no I/O, no clock)
// and imports nothing of ours but apierr, so the API, the engine and the
// networks can all use it.
package message

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Message types a client may send (spec §5.1.2).
const (
	TypeAudio       = "audio"
	TypeDocument    = "document"
	TypeHSM         = "hsm"
	TypeImage       = "image"
	TypeLocation    = "location"
	TypeText        = "text"
	TypeVideo       = "video"
	TypeContacts    = "contacts"
	TypeTemplate    = "template"
	TypeSticker     = "sticker"
	TypeInteractive = "interactive"
	TypeReaction    = "reaction"
)

// knownTypes is in the Webapp's ALLOWED_TYPES order, which fixes the order
// of the 1010 "is not required" errors; the types later builds added come
// after it.
var knownTypes = []string{
	TypeAudio, TypeDocument, TypeHSM, TypeImage, TypeLocation, TypeText,
	TypeVideo, TypeContacts, TypeTemplate,
	TypeSticker, TypeInteractive, TypeReaction,
}

// KnownTypes lists every accepted value of `type`.
func KnownTypes() []string { return slices.Clone(knownTypes) }

// IsKnownType reports whether t is an accepted value of `type`.
func IsKnownType(t string) bool { return slices.Contains(knownTypes, t) }

// Recipient types. Groups were removed from the product; the value is still
// recognised so that it gets its own error (1002) rather than 1009.
const (
	RecipientIndividual = "individual"
	RecipientGroup      = "group"
)

// MaxTextBodyChars is the longest text body, counted in characters
// (Unicode code points), spec §5.1.2.
const MaxTextBodyChars = 4096

// Outbound is a validated POST /v1/messages request.
type Outbound struct {
	To             string // `to` as the client wrote it
	WaID           string // `to` normalised to digits (NormalizeNumber)
	Type           string
	RecipientType  string
	PreviewURL     bool
	RenderMentions bool
	TTL            time.Duration // DefaultTTL unless the request set one
	TTLSet         bool          // whether the request carried a ttl
	Context        *Context      // set when the message replies to another

	// The object of the message's type, by Type.
	Text        *Text         // text
	Media       *Media        // image, audio, video, document, sticker
	Location    *Location     // location
	Contacts    []ContactCard // contacts
	Interactive *Interactive  // interactive
	Reaction    *Reaction     // reaction
	// Template is the template or hsm object as received, for the engine
	// to hydrate against its catalogue (template.Catalogue.Hydrate).
	Template json.RawMessage

	// Raw is every top-level parameter as received, kept for storage and
	// for the types this package does not model yet.
	Raw map[string]json.RawMessage
}

// MediaRef returns the media the message carries, for the engine to
// resolve an `id` or download a `link`: the media object of a media type,
// or the image, video or document header of an interactive message.
func (m *Outbound) MediaRef() (*Media, bool) {
	switch {
	case m.Media != nil:
		return m.Media, true
	case m.Interactive != nil && m.Interactive.HeaderMedia != nil:
		return m.Interactive.HeaderMedia, true
	}
	return nil, false
}

// Text is the `text` object.
type Text struct {
	Body string `json:"body"`
}

// Context makes the message a reply. MessageID is kept as the client gave
// it: it may be an inbound id ("AB..."), one of ours, or an id this server
// never saw (after a migration), and only the network can tell.
type Context struct {
	MessageID string `json:"message_id"`
}

// Body returns the canonical JSON of the message: what is stored in the
// outbox and handed to the network. `to` is the normalised wa_id (the input
// is in Raw); `ttl` is left out because the engine enforces it, not the
// recipient; `render_mentions` is left out because it only ever applied to
// groups. Keys come in a fixed order so equal messages have equal bodies.
func (m *Outbound) Body() ([]byte, error) {
	// One buffer and one encoder for the whole body: encoding member by
	// member into buffers of their own cost a tenth of an accept's
	// allocations.
	w := newJSONWriter()
	w.buf.WriteString(`{"to":`)
	w.value(m.WaID)
	w.buf.WriteString(`,"recipient_type":`)
	w.value(m.RecipientType)
	w.buf.WriteString(`,"type":`)
	w.value(m.Type)
	w.buf.WriteString(`,"preview_url":`)
	w.buf.WriteString(strconv.FormatBool(m.PreviewURL))
	if m.Context != nil {
		w.buf.WriteString(`,"context":`)
		w.value(m.Context)
	}
	w.buf.WriteByte(',')
	w.value(m.Type)
	w.buf.WriteByte(':')
	if err := m.writeTypeObject(w); err != nil {
		return nil, err
	}
	w.buf.WriteByte('}')
	return w.buf.Bytes(), nil
}

// writeTypeObject writes the canonical object of the message's type, from
// its model; template and hsm, which are not modelled yet, send the
// client's own object, compacted.
func (m *Outbound) writeTypeObject(w *jsonWriter) error {
	switch m.Type {
	case TypeText:
		if m.Text != nil {
			w.value(m.Text)
			return nil
		}
	case TypeAudio, TypeDocument, TypeImage, TypeSticker, TypeVideo:
		if m.Media != nil {
			w.value(*m.Media)
			return nil
		}
	case TypeLocation:
		if m.Location != nil {
			w.value(m.Location)
			return nil
		}
	case TypeContacts:
		if len(m.Contacts) > 0 {
			w.buf.Write(contactList(m.Contacts))
			return nil
		}
	case TypeInteractive:
		if m.Interactive != nil {
			w.value(m.Interactive)
			return nil
		}
	case TypeReaction:
		if m.Reaction != nil {
			w.value(m.Reaction)
			return nil
		}
	case TypeTemplate, TypeHSM:
		raw, ok := m.Raw[m.Type]
		if !ok || isNull(raw) {
			break
		}
		if err := json.Compact(&w.buf, raw); err != nil {
			return fmt.Errorf("message: %q object: %w", m.Type, err)
		}
		return nil
	}
	return fmt.Errorf("message: no %q object to send", m.Type)
}

// jsonWriter encodes values one after another into one buffer, without
// HTML escaping (as marshal).
type jsonWriter struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func newJSONWriter() *jsonWriter {
	w := &jsonWriter{}
	w.buf.Grow(256)
	w.enc = json.NewEncoder(&w.buf)
	w.enc.SetEscapeHTML(false)
	return w
}

// value writes v, which (as for marshal) cannot fail to encode.
func (w *jsonWriter) value(v any) {
	if w.enc.Encode(v) == nil {
		w.buf.Truncate(w.buf.Len() - 1) // the newline Encode ends with
	}
}

// contactList writes the cards' canonical JSON as one list.
func contactList(cards []ContactCard) []byte {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, card := range cards {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(card.Raw)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

func quote(s string) []byte { return marshal(s) }

// marshal encodes without HTML escaping: the body is stored and sent, never
// embedded in a page, and "<" is more legible than "\u003c" in the database.
// The values passed here (strings, bools, small structs of strings) cannot
// fail to encode.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
