package media

import (
	"fmt"
	"mime"
	"slices"
	"strings"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/message"
)

// Media kinds: the message types that carry media, plus voice (an inbound
// voice note; the On-Premises API sends those as audio). The names are the
// message package's.
const (
	KindImage    = message.TypeImage
	KindVideo    = message.TypeVideo
	KindAudio    = message.TypeAudio
	KindVoice    = message.TypeVoice
	KindSticker  = message.TypeSticker
	KindDocument = message.TypeDocument
)

// MaxUploadBytes is the Webapp's cap on one upload (and on a link download):
// 100 MiB.
const MaxUploadBytes = 100 << 20

// Which types and sizes each kind accepts is decided by the message package
// (message.AllowedMIME, message.MaxSize: spec §7.4), so a send's validation
// and the media checks cannot disagree. kindText only words the errors.
type kindText struct {
	accepted []string // the types to suggest; nil for documents (any type)
	noun     string   // "Image", for "Image is N bytes"
	plural   string   // "images", for "images may be at most N"
}

var kindTexts = map[string]kindText{
	KindImage:    {accepted: []string{"image/jpeg", "image/png"}, noun: "Image", plural: "images"},
	KindVideo:    {accepted: []string{"video/mp4", "video/3gpp"}, noun: "Video", plural: "videos"},
	KindAudio:    {accepted: []string{"audio/aac", "audio/mp4", "audio/amr", "audio/mpeg", mimeOggOpus}, noun: "Audio", plural: "audio files"},
	KindVoice:    {accepted: []string{mimeOggOpus}, noun: "Voice note", plural: "voice notes"},
	KindSticker:  {accepted: []string{"image/webp"}, noun: "Sticker", plural: "stickers"},
	KindDocument: {noun: "Document", plural: "documents"},
}

// Kinds lists the media kinds in a stable order.
func Kinds() []string {
	return []string{KindAudio, KindDocument, KindImage, KindSticker, KindVideo, KindVoice}
}

// NormalizeMIME lower-cases the type and keeps only the parameters that
// change what a type means to WhatsApp (codecs), so "Audio/OGG;codecs=opus"
// and "audio/ogg; codecs=opus" compare equal and stored types look alike.
func NormalizeMIME(declared string) (string, error) {
	t, params, err := mime.ParseMediaType(declared)
	if err != nil {
		return "", err
	}
	if !strings.Contains(t, "/") || strings.HasPrefix(t, "/") || strings.HasSuffix(t, "/") {
		return "", fmt.Errorf("media: %q is not a type/subtype", t)
	}
	if c, ok := params["codecs"]; ok {
		return mime.FormatMediaType(t, map[string]string{"codecs": strings.ToLower(c)}), nil
	}
	return t, nil
}

// baseType is the type without parameters, lower-cased; "" when unparsable.
func baseType(m string) string {
	t, _, _ := strings.Cut(m, ";")
	return strings.ToLower(strings.TrimSpace(t))
}

// CheckUpload is what POST /v1/media enforces on top of the size cap: the
// declared type must parse, the bytes must not be a program, and they must
// not contradict the type (contentMatches, the rule of the send: a file
// declared video/mp4 that is no MP4 is refused where it was given, not
// when it is sent). Whether the type suits a message kind, and the kind's
// size limit, are checked when the media is sent.
func CheckUpload(declaredMIME string, head []byte) *apierr.Error {
	norm, err := NormalizeMIME(declaredMIME)
	if err != nil {
		return apierr.Newf(1009, "Content-Type '%s' is not a valid media type", declaredMIME)
	}
	detected := Detect(head)
	if IsExecutable(detected) || IsExecutable(norm) {
		return executableError()
	}
	if resolved := resolveMIME(norm, detected); !contentMatches(resolved, detected) {
		return contentMismatch(resolved)
	}
	return nil
}

func executableError() *apierr.Error {
	return apierr.New(1009, "The media content is an executable program; executables are not accepted as media")
}

func contentMismatch(mimeType string) *apierr.Error {
	return apierr.Newf(1009, "The media content does not match its type '%s'", mimeType)
}

// CheckKind applies the spec's §7.4 to a media about to be sent (or received)
// as kind: the type must be one the kind allows, the size within the kind's
// cap, and the bytes (head: at least the first SniffLen, or all of a
// smaller file) must fit the type (contentMatches). The type is the declared
// one as resolveMIME reads it with the bytes: Ogg/Opus declared plain
// audio/ogg is Ogg/Opus. A PNG declared image/jpeg passes — WhatsApp
// re-encodes images — but an executable never does, whatever it claims to
// be. size < 0 means unknown (not checked).
func CheckKind(kind, declaredMIME string, head []byte, size int64) *apierr.Error {
	_, err := checkKind(kind, declaredMIME, head, size)
	return err
}

// checkKind is CheckKind that also returns the type the media is sent with.
func checkKind(kind, declaredMIME string, head []byte, size int64) (string, *apierr.Error) {
	text, ok := kindTexts[kind]
	if !ok {
		return "", apierr.Newf(1009, "Media kind '%s' is not supported", kind)
	}
	norm, err := NormalizeMIME(declaredMIME)
	if err != nil {
		return "", apierr.Newf(1009, "Media type '%s' is not a valid MIME type", declaredMIME)
	}
	detected := Detect(head)
	if IsExecutable(detected) || IsExecutable(norm) {
		return "", executableError()
	}
	resolved := resolveMIME(norm, detected)
	if !message.AllowedMIME(kind, resolved) {
		return "", unsupportedType(kind, resolved, text)
	}
	if size == 0 || len(head) == 0 {
		return "", apierr.New(1009, "The media file is empty")
	}
	if limit := message.MaxSize(kind); size > limit {
		return "", apierr.Newf(1009, "%s is %d bytes; %s may be at most %d", text.noun, size, text.plural, limit)
	}
	if !contentMatches(resolved, detected) {
		return "", contentMismatch(resolved)
	}
	return resolved, nil
}

func unsupportedType(kind, norm string, text kindText) *apierr.Error {
	if baseType(norm) == "audio/ogg" && slices.Contains(text.accepted, mimeOggOpus) {
		return apierr.Newf(1009, "Media type '%s' is not supported for %s: use '%s'", norm, kind, mimeOggOpus)
	}
	quoted := make([]string, len(text.accepted))
	for i, t := range text.accepted {
		quoted[i] = "'" + t + "'"
	}
	return apierr.Newf(1009, "Media type '%s' is not supported for %s: use %s", norm, kind, strings.Join(quoted, ", "))
}

// Extension is the usual file extension (with the dot) for a type, used
// when a media has no stored file name; "" when none is known.
func Extension(mimeType string) string {
	switch baseType(mimeType) {
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/webp":
		return ".webp"
	case "image/gif":
		return ".gif"
	case "video/mp4":
		return ".mp4"
	case "video/3gpp":
		return ".3gp"
	case "audio/ogg":
		return ".ogg"
	case "audio/mpeg":
		return ".mp3"
	case "audio/aac":
		return ".aac"
	case "audio/mp4":
		return ".m4a"
	case "audio/amr":
		return ".amr"
	case "application/pdf":
		return ".pdf"
	case "text/plain":
		return ".txt"
	case mimeDOCX:
		return ".docx"
	case mimeXLSX:
		return ".xlsx"
	case mimePPTX:
		return ".pptx"
	case "application/msword":
		return ".doc"
	case "application/vnd.ms-excel":
		return ".xls"
	case "application/vnd.ms-powerpoint":
		return ".ppt"
	case "application/zip":
		return ".zip"
	}
	return ""
}
