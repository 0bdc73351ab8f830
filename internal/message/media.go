package message

import (
	"encoding/json"
	"mime"
	"net/url"
	"slices"
	"strings"
	"unicode"

	"github.com/wabiz/wabiz/internal/apierr"
)

// TypeVoice is the kind of an inbound voice note; it is not a send type
// (spec §5.1.2: outbound voice is sent as audio).
const TypeVoice = "voice"

// mediaKinds are the send types whose object is a media object.
var mediaKinds = []string{TypeAudio, TypeDocument, TypeImage, TypeSticker, TypeVideo}

// MediaKinds lists the message types that carry a media object.
func MediaKinds() []string { return slices.Clone(mediaKinds) }

// IsMediaKind reports whether t is one of MediaKinds.
func IsMediaKind(t string) bool { return slices.Contains(mediaKinds, t) }

// Limits of the media object (spec §5.1.2). Meta documents 1024 characters
// for captions; file names are bounded by what file systems store.
const (
	MaxCaptionChars  = 1024
	MaxFilenameChars = 255
	MaxLinkChars     = 2048
)

// Size limits after processing (spec §7.4), in binary units: the upload
// limit the spec gives as "100 MiB" is answered as "100 MB", so Meta's MB
// is 2^20 bytes. One limit per kind: an animated sticker (500 KB on the
// Cloud API) was never sendable on On-Premises, so stickers get the static
// limit.
const (
	kib = int64(1) << 10
	mib = int64(1) << 20
)

var maxSizes = map[string]int64{
	TypeAudio:    16 * mib,
	TypeVoice:    16 * mib,
	TypeDocument: 100 * mib,
	TypeImage:    5 * mib,
	TypeSticker:  100 * kib,
	TypeVideo:    16 * mib,
}

// MaxSize is the largest file a message of kind may carry, in bytes; 0 for
// a kind that carries no media. "voice" (inbound only) is accepted too.
func MaxSize(kind string) int64 { return maxSizes[kind] }

// mimeTypes are the accepted MIME types per kind (spec §7.4); a document
// may be of any type, and Ogg audio must say it holds Opus.
var mimeTypes = map[string][]string{
	TypeAudio:   {"audio/aac", "audio/mp4", "audio/amr", "audio/mpeg"},
	TypeImage:   {"image/jpeg", "image/png"},
	TypeSticker: {"image/webp"},
	TypeVideo:   {"video/mp4", "video/3gpp"},
}

// AllowedMIME reports whether a file of type mimeType (a Content-Type value,
// parameters included) may be sent as kind. Audio takes Ogg only with
// "codecs=opus" (plain "audio/ogg" is refused, as by WhatsApp); a voice
// note (inbound kind "voice") is Ogg Opus only; a document takes any
// well-formed type. Type names are compared without regard to case.
func AllowedMIME(kind, mimeType string) bool {
	mediaType, params, ok := parseMIME(mimeType)
	if !ok {
		return false
	}
	oggOpus := mediaType == "audio/ogg" && strings.EqualFold(params["codecs"], "opus")
	switch kind {
	case TypeDocument:
		return true
	case TypeAudio:
		return oggOpus || slices.Contains(mimeTypes[kind], mediaType)
	case TypeVoice:
		return oggOpus
	}
	return slices.Contains(mimeTypes[kind], mediaType)
}

// DefaultMIME is the type a simulated user's file of kind has when the
// sandbox is not told one; "" for a kind that carries no media.
func DefaultMIME(kind string) string {
	switch kind {
	case TypeAudio:
		return "audio/mpeg"
	case TypeVoice:
		return "audio/ogg; codecs=opus"
	case TypeDocument:
		return "application/pdf"
	case TypeImage:
		return "image/jpeg"
	case TypeSticker:
		return "image/webp"
	case TypeVideo:
		return "video/mp4"
	}
	return ""
}

// parseMIME splits a MIME type into a lower-case "type/subtype" and its
// parameters, refusing anything that is not of that form.
func parseMIME(s string) (string, map[string]string, bool) {
	mediaType, params, err := mime.ParseMediaType(s)
	if err != nil {
		return "", nil, false
	}
	major, minor, found := strings.Cut(mediaType, "/")
	if !found || major == "" || minor == "" {
		return "", nil, false
	}
	return mediaType, params, true
}

// canonicalMIME writes an accepted MIME type the one way ("Audio/OGG;
// codecs=opus" -> "audio/ogg; codecs=opus").
func canonicalMIME(s string) string {
	mediaType, params, ok := parseMIME(s)
	if !ok {
		return s
	}
	if out := mime.FormatMediaType(mediaType, params); out != "" {
		return out
	}
	return s
}

// IsMediaID reports whether id has the shape of the ids POST /v1/media
// hands out: a version-4 UUID, 36 characters, hyphenated (either case).
func IsMediaID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
			continue
		case 14:
			if c != '4' {
				return false
			}
		case 19:
			if !strings.ContainsRune("89abAB", rune(c)) {
				return false
			}
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// IsMediaLink reports whether s is a link the server can download media
// from: an absolute http or https URL with a host, at most MaxLinkChars,
// without spaces or control characters.
func IsMediaLink(s string) bool {
	if s == "" || len(s) > MaxLinkChars ||
		strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.Hostname() == "" {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	return scheme == "http" || scheme == "https"
}

// Media is a validated media object: exactly one of ID and Link; the other
// fields only where the kind takes them.
type Media struct {
	Kind         string // image, audio, video, document or sticker
	ID           string // an uploaded media id, lower-cased
	Link         string // an http(s) URL to download the file from
	ProviderName string // with Link only: the media provider whose credentials fetch it
	Caption      string // image, video, document
	Filename     string // document
}

// mediaJSON is the canonical media object, in its fixed key order.
type mediaJSON struct {
	ID       string        `json:"id,omitempty"`
	Link     string        `json:"link,omitempty"`
	Provider *providerJSON `json:"provider,omitempty"`
	Caption  string        `json:"caption,omitempty"`
	Filename string        `json:"filename,omitempty"`
}

type providerJSON struct {
	Name string `json:"name"`
}

// MarshalJSON writes the canonical media object (without Kind, which the
// key it is under says).
func (m Media) MarshalJSON() ([]byte, error) {
	out := mediaJSON{ID: m.ID, Link: m.Link, Caption: m.Caption, Filename: m.Filename}
	if m.ProviderName != "" {
		out.Provider = &providerJSON{Name: m.ProviderName}
	}
	return marshal(out), nil
}

// MediaSource reads where a media object's file comes from into m: exactly
// one of id (a media id of the volume) and link (an HTTP(S) URL), and a
// provider only with a link. Messages and template headers share it.
func MediaSource(errs *apierr.List, fields map[string]json.RawMessage, path string, m *Media) {
	id, hasID := Given(fields, "id")
	link, hasLink := Given(fields, "link")
	switch {
	case hasID && hasLink:
		errs.Add(1010, "Exactly one of the following parameters must be present: 'id', 'link'")
	case !hasID && !hasLink:
		errs.Add(1008, "Atleast one of the following parameters must be present: 'id', 'link'")
	case hasID:
		if s, isString := JSONString(id); isString && IsMediaID(s) {
			m.ID = strings.ToLower(s)
		} else {
			errs.Merge(apierr.InvalidValue(Join(path, "id"), Display(id)))
		}
	default:
		if s, isString := JSONString(link); isString && IsMediaLink(s) {
			m.Link = s
		} else {
			errs.Merge(apierr.InvalidValue(Join(path, "link"), Display(link)))
		}
	}
	if provider, ok := Given(fields, "provider"); ok {
		switch {
		case hasLink:
			if pf := objectAt(errs, provider, Join(path, "provider")); pf != nil {
				m.ProviderName, _ = RequiredText(errs, pf, "name", Join(path, "provider.name"), 0)
			}
		case hasID:
			errs.Addf(1010, "Parameter '%s' is only allowed with '%s'", Join(path, "provider"), Join(path, "link"))
		}
	}
}

// checkMedia validates the media object of kind at path. At the top level
// the Webapp's pass has already refused a caption or filename the kind does
// not take, so they are only read where allowed; in an interactive header
// (inHeader) this pass refuses them itself.
func checkMedia(errs *apierr.List, kind, path string, raw json.RawMessage, inHeader bool) *Media {
	fields := objectAt(errs, raw, path)
	if fields == nil {
		return nil
	}
	before := errs.Len()
	m := &Media{Kind: kind}
	MediaSource(errs, fields, path, m)

	takesCaption := kind == TypeImage || kind == TypeVideo || kind == TypeDocument
	if inHeader {
		takesCaption = false
	}
	if takesCaption {
		m.Caption, _ = OptionalText(errs, fields, "caption", Join(path, "caption"), MaxCaptionChars)
	} else if inHeader && IsPHPTruthy(fields["caption"]) {
		errs.Merge(apierr.NotRequired(Join(path, "caption"), "interactive.header.type", kind))
	}
	if kind == TypeDocument {
		m.Filename, _ = OptionalText(errs, fields, "filename", Join(path, "filename"), MaxFilenameChars)
	} else if inHeader && IsPHPTruthy(fields["filename"]) {
		errs.Merge(apierr.NotRequired(Join(path, "filename"), "interactive.header.type", kind))
	}

	if errs.Len() > before {
		return nil
	}
	return m
}

// checkMedia is the value check of the five media types.
func (d *decoder) checkMedia(errs *apierr.List) {
	d.out.Media = checkMedia(errs, d.out.Type, d.out.Type, d.params[d.out.Type], false)
}
