package media

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/message"
)

// Heads of real formats, written from their specifications.
var (
	headJPEG  = []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0}
	headPNG   = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	headGIF   = []byte("GIF89a\x01\x00\x01\x00")
	headWebP  = []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00")
	headAnim  = []byte("RIFF\x00\x10\x00\x00WEBPVP8X\x0a\x00\x00\x00\x12\x00\x00\x00\xff\x01\x00\xff\x01\x00")
	headMP4   = []byte("\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41")
	head3GP   = []byte("\x00\x00\x00\x14ftyp3gp5\x00\x00\x00\x00")
	headM4A   = []byte("\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00M4A mp42isom")
	headMOV   = []byte("\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ")
	headOgg   = []byte("OggS\x00\x02" + strings.Repeat("\x00", 20) + "\x01\x13OpusHead\x01\x01")
	headVorb  = []byte("OggS\x00\x02" + strings.Repeat("\x00", 20) + "\x01\x1e\x01vorbis")
	headID3   = []byte("ID3\x04\x00\x00\x00\x00\x00\x00")
	headMP3   = []byte{0xFF, 0xFB, 0x90, 0x64, 0x00}
	headADTS  = []byte{0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC}
	headAMR   = []byte("#!AMR\n\x3c")
	headPDF   = []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	headDOCX  = []byte("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xdf\xa4\xd2lZ\x01\x00\x00 \x05\x00\x00\x13\x00\x08\x02[Content_Types].xml \xa2\x04\x02(\xa0\x00word/document.xml")
	headXLSX  = []byte("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml PK\x03\x04 xl/workbook.xml")
	headZip   = []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00notes.txt")
	headOLE2  = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0}
	headText  = []byte("Invoice 2026-11 — total 12,50 €\n")
	headELF   = []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00>\x00")
	headPE    = []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00")
	headMachO = []byte{0xCF, 0xFA, 0xED, 0xFE, 0x07, 0x00, 0x00, 0x01}
	headShell = []byte("#!/bin/sh\nrm -rf /\n")
)

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name string
		head []byte
		want string
	}{
		{"jpeg", headJPEG, "image/jpeg"},
		{"png", headPNG, "image/png"},
		{"gif", headGIF, "image/gif"},
		{"webp", headWebP, "image/webp"},
		{"mp4", headMP4, "video/mp4"},
		{"3gp", head3GP, "video/3gpp"},
		{"m4a", headM4A, "audio/mp4"},
		{"ogg opus", headOgg, "audio/ogg; codecs=opus"},
		{"ogg vorbis", headVorb, "audio/ogg"},
		{"mp3 id3", headID3, "audio/mpeg"},
		{"mp3 frame", headMP3, "audio/mpeg"},
		{"aac adts", headADTS, "audio/aac"},
		{"amr", headAMR, "audio/amr"},
		{"amr-wb", []byte("#!AMR-WB\n"), "audio/amr-wb"},
		{"pdf", headPDF, "application/pdf"},
		{"docx", headDOCX, mimeDOCX},
		{"xlsx", headXLSX, mimeXLSX},
		{"zip", headZip, "application/zip"},
		{"ole2", headOLE2, mimeOLE2},
		{"text", headText, "text/plain"},
		{"elf", headELF, mimeELF},
		{"pe", headPE, mimePE},
		{"mach-o", headMachO, mimeMachO},
		{"shell", headShell, mimeShellScript},
		{"text starting MZ", []byte("MZ is not a program"), "text/plain"},
		{"binary junk", []byte{0x00, 0x01, 0x02, 0x03}, ""},
		{"invalid utf-8", []byte{'a', 0xC3, 0x28}, ""},
		{"empty", nil, ""},
	} {
		if got := Detect(tc.head); got != tc.want {
			t.Errorf("%s: Detect = %q, want %q", tc.name, got, tc.want)
		}
	}
	// A UTF-8 character cut by the end of the sniffed window is still text.
	long := append(bytes.Repeat([]byte("a"), SniffLen-1), "é"...)
	if got := Detect(long[:SniffLen]); got != "text/plain" {
		t.Errorf("cut text: %q", got)
	}
}

func TestCheckKind(t *testing.T) {
	const mib = 1 << 20
	ok := ""
	for _, tc := range []struct {
		kind, mime string
		head       []byte
		size       int64
		want       string // "" = accepted, else the details text
	}{
		// Images: jpeg/png, 5 MiB, any image bytes.
		{"image", "image/jpeg", headJPEG, 1000, ok},
		{"image", "image/png", headPNG, 5 * mib, ok},
		{"image", "image/jpeg", headPNG, 1000, ok}, // same family: fine
		{"image", "IMAGE/JPEG", headJPEG, 1000, ok},
		{"image", "image/gif", headGIF, 1000, "Media type 'image/gif' is not supported for image: use 'image/jpeg', 'image/png'"},
		{"image", "image/jpeg", headJPEG, 6291456, "Image is 6291456 bytes; images may be at most 5242880"},
		{"image", "image/jpeg", headPDF, 1000, "The media content does not match its type 'image/jpeg'"},
		{"image", "image/jpeg", headELF, 1000, "The media content is an executable program; executables are not accepted as media"},
		{"image", "image/jpeg", nil, 0, "The media file is empty"},
		{"image", "not a type", headJPEG, 1000, "Media type 'not a type' is not a valid MIME type"},
		// Video: mp4/3gpp containers, 16 MiB.
		{"video", "video/mp4", headMP4, 16 * mib, ok},
		{"video", "video/3gpp", head3GP, 1000, ok},
		{"video", "video/mp4", head3GP, 1000, ok},
		{"video", "video/quicktime", headMOV, 1000, "Media type 'video/quicktime' is not supported for video: use 'video/mp4', 'video/3gpp'"},
		{"video", "video/quicktime", headMP4, 1000, ok}, // an MP4 the server misnamed: the bytes decide
		{"video", "video/mp4", headMP4, 16*mib + 1, "Video is 16777217 bytes; videos may be at most 16777216"},
		{"video", "video/mp4", headJPEG, 1000, "The media content does not match its type 'video/mp4'"},
		{"video", "video/mp4", headShell, 1000, "The media content is an executable program; executables are not accepted as media"},
		// Audio: aac, mp4, amr, mpeg, ogg/opus; 16 MiB.
		{"audio", "audio/aac", headADTS, 1000, ok},
		{"audio", "audio/mp4", headM4A, 1000, ok},
		{"audio", "audio/amr", headAMR, 1000, ok},
		{"audio", "audio/mpeg", headID3, 1000, ok},
		{"audio", "audio/mpeg", headMP3, 1000, ok},
		{"audio", "audio/ogg; codecs=opus", headOgg, 1000, ok},
		{"audio", "audio/ogg;codecs=OPUS", headOgg, 1000, ok},
		{"audio", "audio/aac", headMP3, 1000, ok}, // same family
		{"audio", "audio/ogg", headOgg, 1000, ok}, // Opus inside: the bytes say what the type left out
		{"audio", "audio/ogg", headVorb, 1000, "Media type 'audio/ogg' is not supported for audio: use 'audio/ogg; codecs=opus'"},
		{"audio", "audio/wav", []byte("RIFF\x00\x00\x00\x00WAVEfmt "), 1000,
			"Media type 'audio/wav' is not supported for audio: use 'audio/aac', 'audio/mp4', 'audio/amr', 'audio/mpeg', 'audio/ogg; codecs=opus'"},
		{"audio", "audio/ogg; codecs=opus", headVorb, 1000, "The media content does not match its type 'audio/ogg; codecs=opus'"},
		{"audio", "audio/mpeg", headPNG, 1000, "The media content does not match its type 'audio/mpeg'"},
		{"audio", "audio/mpeg", headID3, 16*mib + 1, "Audio is 16777217 bytes; audio files may be at most 16777216"},
		{"audio", "audio/mpeg", headMachO, 1000, "The media content is an executable program; executables are not accepted as media"},
		// Voice notes: Ogg/Opus only.
		{"voice", "audio/ogg; codecs=opus", headOgg, 1000, ok},
		{"voice", "audio/mpeg", headID3, 1000, "Media type 'audio/mpeg' is not supported for voice: use 'audio/ogg; codecs=opus'"},
		{"voice", "audio/ogg", headOgg, 1000, ok},
		{"voice", "audio/ogg", headVorb, 1000, "Media type 'audio/ogg' is not supported for voice: use 'audio/ogg; codecs=opus'"},
		// Stickers: WebP only, 100 KiB (animated ones were never sendable on
		// On-Premises, so they get no larger limit).
		{"sticker", "image/webp", headWebP, 100 << 10, ok},
		{"sticker", "image/webp", headWebP, 100<<10 + 1, "Sticker is 102401 bytes; stickers may be at most 102400"},
		{"sticker", "image/webp", headAnim, 100<<10 + 1, "Sticker is 102401 bytes; stickers may be at most 102400"},
		{"sticker", "image/png", headPNG, 1000, "Media type 'image/png' is not supported for sticker: use 'image/webp'"},
		{"sticker", "image/webp", headPNG, 1000, "The media content does not match its type 'image/webp'"},
		// Documents: any type but programs, 100 MiB.
		{"document", "application/pdf", headPDF, 100 * mib, ok},
		{"document", "application/pdf", headPDF, 100*mib + 1, "Document is 104857601 bytes; documents may be at most 104857600"},
		{"document", mimeDOCX, headDOCX, 1000, ok},
		{"document", "application/msword", headOLE2, 1000, ok},
		{"document", "text/plain", headText, 1000, ok},
		{"document", "application/x-custom", []byte{0, 1, 2}, 1000, ok},
		{"document", "application/pdf", headJPEG, 1000, "The media content does not match its type 'application/pdf'"},
		{"document", "application/vnd.ms-excel", headJPEG, 1000, ok}, // other documents are not matched
		{"document", "application/pdf", headELF, 1000, "The media content is an executable program; executables are not accepted as media"},
		{"document", "application/pdf", headPE, 1000, "The media content is an executable program; executables are not accepted as media"},
		{"document", "application/x-msdownload", headText, 1000, "The media content is an executable program; executables are not accepted as media"},
		{"hologram", "image/jpeg", headJPEG, 1000, "Media kind 'hologram' is not supported"},
	} {
		err := CheckKind(tc.kind, tc.mime, tc.head, tc.size)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s %q: refused: %v", tc.kind, tc.mime, err)
		case tc.want != "" && err == nil:
			t.Errorf("%s %q size %d: accepted, want %q", tc.kind, tc.mime, tc.size, tc.want)
		case tc.want != "":
			checkDetail(t, err, 1009, tc.want)
		}
	}
}

func checkDetail(t *testing.T, err *apierr.Error, code int, details string) {
	t.Helper()
	if len(err.Details) != 1 || err.Details[0].Code != code || err.Details[0].Details != details || err.Status != 400 {
		t.Errorf("error %+v (status %d), want %d %q", err.Details, err.Status, code, details)
	}
}

func TestCheckUpload(t *testing.T) {
	if err := CheckUpload("image/jpeg", headJPEG); err != nil {
		t.Fatal(err)
	}
	// Any declared type is fine at upload; the kind rules apply at send.
	if err := CheckUpload("application/x-whatever", headPNG); err != nil {
		t.Fatal(err)
	}
	checkDetail(t, CheckUpload("image/jpeg", headELF), 1009, "The media content is an executable program; executables are not accepted as media")
	checkDetail(t, CheckUpload("application/x-sh", []byte("echo hi\n")), 1009, "The media content is an executable program; executables are not accepted as media")
	checkDetail(t, CheckUpload("jpeg", headJPEG), 1009, "Content-Type 'jpeg' is not a valid media type")
}

// The suggested types in the errors are the ones the message package
// accepts, and every kind has a size limit there.
func TestKindTextsFollowMessageRules(t *testing.T) {
	for _, kind := range Kinds() {
		if message.MaxSize(kind) <= 0 {
			t.Errorf("%s: no size limit in the message package", kind)
		}
		for _, m := range kindTexts[kind].accepted {
			if !message.AllowedMIME(kind, m) {
				t.Errorf("%s: suggests %q, which message.AllowedMIME refuses", kind, m)
			}
		}
	}
}

// Every sample is a valid file of its kind: recognised by Detect and
// accepted by CheckKind. (Decoders were run on them when they were written:
// ffprobe, dwebp and pdfinfo accept all five.)
func TestSamplesPassTheirKind(t *testing.T) {
	want := map[string]string{
		"image": "image/png", "sticker": "image/webp", "audio": "audio/ogg; codecs=opus",
		"voice": "audio/ogg; codecs=opus", "video": "video/mp4", "document": "application/pdf",
	}
	for _, kind := range Kinds() {
		data, mimeType := Sample(kind)
		if mimeType != want[kind] {
			t.Errorf("%s: sample type %q, want %q", kind, mimeType, want[kind])
		}
		if got := Detect(data); got != mimeType {
			t.Errorf("%s: Detect(sample) = %q, want %q", kind, got, mimeType)
		}
		if err := CheckKind(kind, mimeType, data, int64(len(data))); err != nil {
			t.Errorf("%s: sample refused: %v", kind, err)
		}
	}
	if data, m := Sample("hologram"); data != nil || m != "" {
		t.Error("unknown kind has a sample")
	}
}

// oggVorbisHead is the start of an Ogg/Vorbis file: the identification
// header on the first page, then a comment header that happens to hold the
// word "OpusHead" (a tag), which must not make it Opus.
func oggVorbisHead() []byte {
	ident := append([]byte("\x01vorbis"), 0, 0, 0, 0, 1, 0x44, 0xAC, 0, 0)
	comment := []byte("\x03vorbis\x05\x00\x00\x00wabiz\x01\x00\x00\x00\x16\x00\x00\x00COMMENT=not OpusHead\x01")
	return append(oggPage(0x02, 0, 7, 0, [][]byte{ident}), oggPage(0x00, 0, 7, 1, [][]byte{comment})...)
}

func TestDetectTellsOpusFromOtherOgg(t *testing.T) {
	opus, _ := Sample(KindVoice)
	notAtStart := append(oggPage(0x00, 0, 9, 3, [][]byte{[]byte("OpusHead\x01\x01")}), opus[28:]...)
	for _, tc := range []struct {
		name string
		head []byte
		want string
	}{
		{"the Ogg/Opus sample", opus, mimeOggOpus},
		{"Vorbis with OpusHead in a comment", oggVorbisHead(), "audio/ogg"},
		{"OpusHead on a page that does not begin a stream", notAtStart, "audio/ogg"},
		{"a page header cut short", opus[:27], "audio/ogg"},
		{"lacing values past the end", opus[:30], "audio/ogg"},
		{"Ogg FLAC", oggPage(0x02, 0, 1, 0, [][]byte{[]byte("\x7fFLAC\x01\x00")}), "audio/ogg"},
	} {
		if got := Detect(tc.head); got != tc.want {
			t.Errorf("%s: Detect = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDetectFindsAPDFHeaderAfterLeadingBytes(t *testing.T) {
	pdf, _ := Sample(KindDocument)
	for _, tc := range []struct {
		name string
		head []byte
		want string
	}{
		{"byte order mark first", append([]byte("\xef\xbb\xbf"), pdf...), "application/pdf"},
		{"a line before the header", append([]byte("generated by billing v2\r\n"), pdf...), "application/pdf"},
		{"header past the first KiB", append(bytes.Repeat([]byte(" "), 1024), pdf...), "text/plain"},
		{"a program that mentions %PDF-", append([]byte("\x7fELF\x02\x01\x01\x00%PDF-1.7"), 0), mimeELF},
	} {
		if got := Detect(tc.head); got != tc.want {
			t.Errorf("%s: Detect = %q, want %q", tc.name, got, tc.want)
		}
	}
}
