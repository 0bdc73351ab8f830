package media

import (
	"strings"

	"github.com/wabiz/wabiz/internal/message"
)

// What a file is, from its declared type and its first bytes. One rule for
// every way a file arrives (POST /v1/media, a link's download, an inbound
// download) and for every send: the bytes decide whenever the declaration
// says less than they do, and a declaration the bytes contradict is refused.

// genericTypes say nothing about a file's format: what web servers send for
// a file they cannot name (binary/octet-stream was S3's default), and what
// download scripts send to make browsers save a file.
var genericTypes = map[string]bool{
	"application/octet-stream":   true,
	"binary/octet-stream":        true,
	"application/force-download": true,
	"application/x-download":     true,
	"application/download":       true,
	"application/unknown":        true,
}

// resolveMIME is the type a file is stored and sent with, given its
// declared type (normalised; "" when there was none) and what Detect names
// its bytes ("" when it cannot):
//   - no type, or a generic one: the sniffed type (application/octet-stream
//     when the bytes are not recognised either);
//   - a type of the bytes' family that WhatsApp does not take, when the
//     bytes are a format it takes: the sniffed type. This is what web
//     servers send for files WhatsApp takes: audio/ogg (no codecs
//     parameter) or application/ogg for Ogg/Opus, image/jpg, audio/mp3,
//     audio/x-m4a, video/quicktime over an MP4;
//   - anything else as declared: a type WhatsApp takes is never replaced
//     (contentMatches decides whether the bytes fit it), nor is one whose
//     bytes WhatsApp would not take anyway.
func resolveMIME(declared, detected string) string {
	base := baseType(declared)
	generic := declared == "" || genericTypes[base]
	switch {
	case detected == "" && generic:
		return "application/octet-stream"
	case detected == "":
		return declared
	case generic:
		return detected
	case takenByWhatsApp(declared):
		return declared
	}
	if sniffed := sameFamilyType(base, detected); sniffed != "" && takenByWhatsApp(sniffed) {
		return sniffed
	}
	return declared
}

// sameFamilyType is the sniffed type named for the declared type's family,
// or "" when the bytes are of another family. An MP4/3GP container is audio
// or video, whichever was declared.
func sameFamilyType(declaredBase, detected string) string {
	family := familyOf(declaredBase)
	switch {
	case family == "audio" && isISOContainer(detected):
		return "audio/mp4"
	case family == "video" && isISOContainer(detected) && detected != "audio/mp4":
		return detected
	case family != "" && family == familyOf(detected):
		return detected
	}
	return ""
}

// familyOf is "image", "audio" or "video" for a media type, "" for any
// other. application/ogg (RFC 5334's type for any Ogg file, what Go's
// and some servers' sniffers send) counts as audio: WhatsApp takes Ogg
// only as audio.
func familyOf(mimeType string) string {
	base := baseType(mimeType)
	if base == "application/ogg" {
		return "audio"
	}
	top, _, _ := strings.Cut(base, "/")
	switch top {
	case "image", "audio", "video":
		return top
	}
	return ""
}

func isISOContainer(detected string) bool {
	switch detected {
	case "video/mp4", "video/3gpp", "video/3gpp2", "audio/mp4":
		return true
	}
	return false
}

func isOgg(detected string) bool { return baseType(detected) == "audio/ogg" }

// takenByWhatsApp reports whether some media kind other than document
// takes the type (spec §7.4, as the message package has it).
func takenByWhatsApp(mimeType string) bool {
	for _, kind := range []string{KindImage, KindVideo, KindAudio, KindSticker} {
		if message.AllowedMIME(kind, mimeType) {
			return true
		}
	}
	return false
}

// contentMatches reports whether bytes Detect names detected can be a file
// of mimeType (as resolveMIME gives it). The types WhatsApp takes are held
// to the family WhatsApp can transcode within: any image for jpeg/png, an
// MP4/3GP container for video, any audio (or an MP4 audio container) for
// the audio types; a sticker must really be WebP, Ogg/Opus must carry Opus,
// and a PDF must be one. Other image, audio and video types (GIF, WAV,
// WebM, SVG, ...) are refused only when the bytes are recognisably of
// another kind (a PDF, an office file, a picture declared as a sound);
// bytes the sniffer does not know, or text (SVG, playlists), pass. Other
// documents cannot be told by their bytes and are not matched. Programs are
// refused before this question is asked.
func contentMatches(mimeType, detected string) bool {
	switch {
	case mimeType == "image/webp":
		return detected == "image/webp"
	case mimeType == mimeOggOpus:
		return detected == mimeOggOpus
	case mimeType == "application/pdf":
		return detected == "application/pdf"
	case message.AllowedMIME(KindImage, mimeType):
		return familyOf(detected) == "image"
	case message.AllowedMIME(KindVideo, mimeType):
		return isISOContainer(detected)
	case message.AllowedMIME(KindAudio, mimeType):
		return familyOf(detected) == "audio" || isISOContainer(detected)
	}
	family := familyOf(mimeType)
	switch {
	case family == "":
		return true
	case detected == "" || detected == "text/plain":
		return true
	case (family == "audio" || family == "video") && (isISOContainer(detected) || isOgg(detected)):
		return true
	}
	return familyOf(detected) == family
}
