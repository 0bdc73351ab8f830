package media

import (
	"bytes"
	"encoding/binary"
	"unicode/utf8"
)

// SniffLen is how many leading bytes Detect looks at. Enough for the Ogg
// first page (OpusHead), a zip's first entries and a PE header.
const SniffLen = 8192

// MIME types Detect reports besides the usual ones. Executables get their
// own names so that callers can refuse them whatever was declared.
const (
	mimeELF         = "application/x-executable"
	mimePE          = "application/vnd.microsoft.portable-executable"
	mimeMachO       = "application/x-mach-binary"
	mimeShellScript = "text/x-shellscript"
	mimeOggOpus     = "audio/ogg; codecs=opus"
	mimeOLE2        = "application/x-ole-storage"
	mimeDOCX        = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	mimeXLSX        = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	mimePPTX        = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
)

var executableMIME = map[string]bool{
	mimeELF: true, mimePE: true, mimeMachO: true, mimeShellScript: true,
	// Names clients use when they declare an executable themselves.
	"application/x-elf": true, "application/x-msdownload": true, "application/x-dosexec": true,
	"application/x-msdos-program": true, "application/x-sh": true, "application/x-shellscript": true,
	"application/x-mach-o-executable": true,
}

// IsExecutable reports whether a MIME type (as Detect names them, or as a
// client may declare one) is a program.
func IsExecutable(mimeType string) bool { return executableMIME[baseType(mimeType)] }

// Detect names the format of a file from its first bytes (at most SniffLen
// are looked at), or returns "" when it does not recognise it. It knows the
// formats WhatsApp accepts, the containers around them, executables (which
// are refused everywhere) and plain text. It does not trust extensions or
// declared types: only the bytes.
func Detect(head []byte) string {
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	h := head
	switch {
	case len(h) == 0:
		return ""
	case bytes.HasPrefix(h, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg"
	case bytes.HasPrefix(h, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(h, []byte("GIF87a")) || bytes.HasPrefix(h, []byte("GIF89a")):
		return "image/gif"
	case len(h) >= 12 && string(h[:4]) == "RIFF" && string(h[8:12]) == "WEBP":
		return "image/webp"
	case len(h) >= 12 && string(h[:4]) == "RIFF" && string(h[8:12]) == "WAVE":
		return "audio/wav"
	case len(h) >= 12 && string(h[4:8]) == "ftyp":
		return detectISOBMFF(h)
	case bytes.HasPrefix(h, []byte("OggS")):
		return detectOgg(h)
	case bytes.HasPrefix(h, []byte("#!AMR-WB\n")):
		return "audio/amr-wb"
	case bytes.HasPrefix(h, []byte("#!AMR\n")):
		return "audio/amr"
	case bytes.HasPrefix(h, []byte("ID3")):
		return "audio/mpeg"
	case len(h) >= 2 && h[0] == 0xFF && h[1]&0xF6 == 0xF0:
		// ADTS: 12-bit sync, then layer bits 00.
		return "audio/aac"
	case len(h) >= 2 && h[0] == 0xFF && h[1]&0xE0 == 0xE0 && h[1]&0x06 != 0:
		// MPEG audio frame sync with a layer (1-3) set.
		return "audio/mpeg"
	case bytes.HasPrefix(h, []byte("%PDF-")):
		return "application/pdf"
	case bytes.HasPrefix(h, []byte("PK\x03\x04")):
		return detectZip(h)
	case bytes.HasPrefix(h, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}):
		return mimeOLE2
	case bytes.HasPrefix(h, []byte("\x7fELF")):
		return mimeELF
	case isMachO(h):
		return mimeMachO
	case bytes.HasPrefix(h, []byte("MZ")) && bytes.IndexByte(h[:min(len(h), 64)], 0) >= 0:
		// A DOS/PE header has NULs in its first bytes; a text that happens
		// to start with "MZ" does not.
		return mimePE
	case bytes.HasPrefix(h, []byte("#!")):
		return mimeShellScript
	case bytes.Contains(h[:min(len(h), pdfHeaderWindow)], []byte("%PDF-")):
		return "application/pdf"
	case isText(h):
		return "text/plain"
	}
	return ""
}

// pdfHeaderWindow is how far into a file PDF readers look for the
// "%PDF-" header: a few generators put a byte order mark, white space or
// a line of their own before it, and readers open those files.
const pdfHeaderWindow = 1024

// detectOgg names an Ogg stream by its first packet, which begins right
// after the first page's header (RFC 3533: 27 bytes, then one lacing value
// per segment) on a page marked beginning-of-stream. Only an Opus stream
// starts with "OpusHead" there (RFC 7845 §5.1); Vorbis, FLAC, Speex and
// Theora streams, and a file that merely holds the word further on (in a
// comment, say), are plain Ogg.
func detectOgg(h []byte) string {
	const pageHeaderLen = 27
	const beginningOfStream = 0x02
	if len(h) <= pageHeaderLen || h[5]&beginningOfStream == 0 {
		return "audio/ogg"
	}
	first := pageHeaderLen + int(h[26])
	if len(h) >= first+8 && string(h[first:first+8]) == "OpusHead" {
		return mimeOggOpus
	}
	return "audio/ogg"
}

// detectISOBMFF reads the major brand of an MP4/3GP/QuickTime file.
func detectISOBMFF(h []byte) string {
	brand := string(h[8:12])
	switch {
	case brand[:3] == "3gp" || brand[:3] == "3gg" || brand[:3] == "3gs":
		return "video/3gpp"
	case brand[:3] == "3g2":
		return "video/3gpp2"
	case brand == "M4A " || brand == "M4B " || brand == "F4A ":
		return "audio/mp4"
	case brand == "qt  ":
		return "video/quicktime"
	case brand == "avif" || brand == "avis":
		return "image/avif"
	case brand == "heic" || brand == "heix" || brand == "mif1" || brand == "msf1":
		return "image/heic"
	}
	return "video/mp4"
}

// detectZip tells the OOXML formats from other zips by the entries near the
// start: Office writes [Content_Types].xml and its part folders first.
func detectZip(h []byte) string {
	if !bytes.Contains(h, []byte("[Content_Types].xml")) {
		return "application/zip"
	}
	switch {
	case bytes.Contains(h, []byte("word/")):
		return mimeDOCX
	case bytes.Contains(h, []byte("xl/")):
		return mimeXLSX
	case bytes.Contains(h, []byte("ppt/")):
		return mimePPTX
	}
	return mimeDOCX // the parts come later in the zip: the type is still OOXML, word the most common
}

func isMachO(h []byte) bool {
	if len(h) < 4 {
		return false
	}
	switch binary.BigEndian.Uint32(h) {
	case 0xFEEDFACE, 0xFEEDFACF, 0xCEFAEDFE, 0xCFFAEDFE, 0xCAFEBABE:
		// 0xCAFEBABE is also a Java class file: a program too.
		return true
	}
	return false
}

// isText accepts valid UTF-8 without NULs. A multi-byte character cut by the
// end of the sniffed window does not count against it.
func isText(h []byte) bool {
	if bytes.IndexByte(h, 0) >= 0 {
		return false
	}
	if utf8.Valid(h) {
		return true
	}
	for cut := 1; cut <= 3 && cut < len(h); cut++ {
		if len(h) == SniffLen && utf8.Valid(h[:len(h)-cut]) {
			return true
		}
	}
	return false
}
