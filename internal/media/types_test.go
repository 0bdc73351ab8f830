package media

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// serverTypes are the Content-Types ordinary servers send for a file whose
// type they do not know or do not say.
var serverTypes = []string{"", "application/octet-stream", "binary/octet-stream", "Application/Octet-Stream; charset=binary", "application/force-download"}

// TestBytesDecideGenericTypes: each server type × each format WhatsApp
// takes resolves to the sniffed type, which the kind then accepts, at
// upload and at send alike; so do the usual names of the format's own
// family that WhatsApp does not take.
func TestBytesDecideGenericTypes(t *testing.T) {
	opus, _ := Sample(KindVoice)
	mp4, _ := Sample(KindVideo)
	png, _ := Sample(KindImage)
	webp, _ := Sample(KindSticker)
	pdf, _ := Sample(KindDocument)
	for _, tc := range []struct {
		name       string
		head       []byte
		kinds      []string // the message types that take the file
		sniffed    string   // the type it is stored and sent with
		familyOnly bool     // the generic server types give another type
		family     []string // names of the family that the bytes refine
	}{
		{"ogg/opus", opus, []string{KindAudio, KindVoice, KindDocument}, mimeOggOpus, false,
			[]string{"audio/ogg", "AUDIO/OGG", "application/ogg", "audio/opus", "audio/ogg; codecs=vorbis", "audio/x-opus+ogg"}},
		{"jpeg", headJPEG, []string{KindImage, KindDocument}, "image/jpeg", false, []string{"image/jpg", "image/pjpeg", "image/gif"}},
		{"png", png, []string{KindImage, KindDocument}, "image/png", false, []string{"image/x-png", "image/bmp"}},
		{"mp4", mp4, []string{KindVideo, KindDocument}, "video/mp4", false, []string{"video/quicktime", "video/x-m4v", "video/mpeg4"}},
		{"3gp", head3GP, []string{KindVideo, KindDocument}, "video/3gpp", false, []string{"video/3gp"}},
		{"webp", webp, []string{KindSticker, KindDocument}, "image/webp", false, []string{"image/x-webp"}},
		{"m4a", headM4A, []string{KindAudio, KindDocument}, "audio/mp4", false, []string{"audio/x-m4a", "audio/m4a", "audio/aacp"}},
		{"mp4 container served as audio", headMP4, []string{KindAudio, KindDocument}, "audio/mp4", true, []string{"audio/x-m4a", "audio/3gpp"}},
		{"mp3", headID3, []string{KindAudio, KindDocument}, "audio/mpeg", false, []string{"audio/mp3", "audio/x-mp3", "audio/mpeg3"}},
		{"aac", headADTS, []string{KindAudio, KindDocument}, "audio/aac", false, []string{"audio/x-aac", "audio/aacp"}},
		{"amr", headAMR, []string{KindAudio, KindDocument}, "audio/amr", false, []string{"audio/x-amr"}},
		{"pdf", pdf, []string{KindDocument}, "application/pdf", false, nil},
		{"docx", headDOCX, []string{KindDocument}, mimeDOCX, false, nil},
		{"text", headText, []string{KindDocument}, "text/plain", false, nil},
		{"bytes nobody knows", []byte{0, 1, 2, 3}, []string{KindDocument}, "application/octet-stream", false, nil},
	} {
		declaredTypes := tc.family
		if !tc.familyOnly {
			declaredTypes = append(append([]string(nil), serverTypes...), tc.family...)
		}
		for _, declared := range declaredTypes {
			if got := chooseMIME(declared, tc.head); got != tc.sniffed {
				t.Errorf("%s served as %q: stored as %q, want %q", tc.name, declared, got, tc.sniffed)
			}
			if declared == "" {
				continue // POST /v1/media requires a type (1008 before any check)
			}
			if err := CheckUpload(declared, tc.head); err != nil {
				t.Errorf("%s uploaded as %q: refused: %v", tc.name, declared, err)
			}
			for _, kind := range tc.kinds {
				resolved, err := checkKind(kind, declared, tc.head, int64(len(tc.head)))
				if err != nil || resolved != tc.sniffed {
					t.Errorf("%s declared %q, sent as %s: %q, %v; want %q accepted", tc.name, declared, kind, resolved, err, tc.sniffed)
				}
			}
		}
	}
}

// TestTypesWhatsAppTakesAreKept: a declared type a kind takes is not
// replaced by the sniffed one; a PNG declared image/jpeg stays image/jpeg
// (the same family: WhatsApp re-encodes images), a PNG declared image/webp
// stays image/webp and fails as a sticker, and plain Ogg/Vorbis stays
// audio/ogg, which no audio kind takes.
func TestTypesWhatsAppTakesAreKept(t *testing.T) {
	for _, tc := range []struct {
		declared string
		head     []byte
		want     string
	}{
		{"image/jpeg", headPNG, "image/jpeg"},
		{"image/webp", headPNG, "image/webp"},
		{"video/mp4", headM4A, "video/mp4"},
		{"audio/mp4", headMP4, "audio/mp4"},
		{"audio/aac", headID3, "audio/aac"},
		{"audio/ogg; codecs=opus", oggVorbisHead(), mimeOggOpus},
		{"audio/ogg", oggVorbisHead(), "audio/ogg"},
		{"video/quicktime", headMOV, "video/quicktime"},       // a real QuickTime file: WhatsApp does not take it
		{"video/ogg", headOgg, "video/ogg"},                   // another family: not refined
		{"image/png", headPDF, "image/png"},                   // a contradiction: refused, not renamed
		{"application/msword", headPNG, "application/msword"}, // documents are never renamed
	} {
		if got := chooseMIME(tc.declared, tc.head); got != tc.want {
			t.Errorf("%q over %q: stored as %q, want %q", tc.declared, Detect(tc.head), got, tc.want)
		}
	}
}

// TestUploadAndSendRefuseTheSameContradictions: a declared type the bytes
// contradict is refused at POST /v1/media with the text the send would
// give, and the send refuses it too (as a document and as its own kind).
func TestUploadAndSendRefuseTheSameContradictions(t *testing.T) {
	mp4, _ := Sample(KindVideo)
	png, _ := Sample(KindImage)
	opus, _ := Sample(KindVoice)
	junk := []byte{0x00, 0x13, 0x37, 0x42, 0x00, 0x99}
	const exe = "The media content is an executable program; executables are not accepted as media"
	mismatch := func(t string) string { return "The media content does not match its type '" + t + "'" }
	for _, tc := range []struct {
		declared string
		head     []byte
		kind     string // the kind the type names ("" when none takes it)
		want     string
	}{
		{"video/mp4", []byte("this is not a video, just a note\n"), KindVideo, mismatch("video/mp4")},
		{"video/mp4", png, KindVideo, mismatch("video/mp4")},
		{"video/mp4", junk, KindVideo, mismatch("video/mp4")},
		{"video/3gpp", opus, KindVideo, mismatch("video/3gpp")},
		{"image/png", headPDF, KindImage, mismatch("image/png")},
		{"image/png", headELF, KindImage, exe},
		{"image/jpeg", mp4, KindImage, mismatch("image/jpeg")},
		{"image/webp", png, KindSticker, mismatch("image/webp")},
		{"audio/mpeg", headPNG, KindAudio, mismatch("audio/mpeg")},
		{"audio/aac", headText, KindAudio, mismatch("audio/aac")},
		{"audio/ogg; codecs=opus", oggVorbisHead(), KindAudio, mismatch("audio/ogg; codecs=opus")},
		{"application/pdf", headJPEG, KindDocument, mismatch("application/pdf")},
		{"application/pdf", junk, KindDocument, mismatch("application/pdf")},
		{"application/pdf", headShell, KindDocument, exe},
		// Types no kind but document takes: refused when the bytes are
		// recognisably something else.
		{"image/gif", headPDF, "", mismatch("image/gif")},
		{"video/webm", png, "", mismatch("video/webm")},
		{"audio/wav", headJPEG, "", mismatch("audio/wav")},
		{"image/svg+xml", headDOCX, "", mismatch("image/svg+xml")},
	} {
		upload := CheckUpload(tc.declared, tc.head)
		if upload == nil {
			t.Errorf("%q over %q: upload accepted, want %q", tc.declared, Detect(tc.head), tc.want)
			continue
		}
		checkDetail(t, upload, 1009, tc.want)
		for _, kind := range []string{tc.kind, KindDocument} {
			if kind == "" {
				continue
			}
			send := CheckKind(kind, tc.declared, tc.head, int64(len(tc.head)))
			if send == nil || send.Details[0].Details != upload.Details[0].Details {
				t.Errorf("%q over %q sent as %s: %v, the upload said %q", tc.declared, Detect(tc.head), kind, send, tc.want)
			}
		}
	}
}

// TestUploadsThatStillPass: the samples and the files that worked before
// the upload looked at the bytes.
func TestUploadsThatStillPass(t *testing.T) {
	pdf, _ := Sample(KindDocument)
	cases := []struct {
		declared string
		head     []byte
	}{
		{"application/pdf", append([]byte("\xef\xbb\xbf"), pdf...)}, // readers open it
		{"image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		{"video/webm", []byte("\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01")}, // unknown to the sniffer
		{"audio/flac", []byte("fLaC\x00\x00\x00\x22")},
		{"audio/ogg", oggVorbisHead()},
		{"video/ogg", headOgg},
		{"audio/x-mpegurl", []byte("#EXTM3U\nhttps://example.org/a.mp3\n")},
		{"image/heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")},
		{"application/msword", headPNG},
		{"application/x-whatever", headPNG},
		{"text/plain", headPDF},
		{"application/zip", headDOCX},
	}
	for _, kind := range Kinds() {
		data, mimeType := Sample(kind)
		cases = append(cases, struct {
			declared string
			head     []byte
		}{mimeType, data})
	}
	for _, tc := range cases {
		if err := CheckUpload(tc.declared, tc.head); err != nil {
			t.Errorf("%q over %q: refused: %v", tc.declared, Detect(tc.head), err)
		}
	}
}

// TestStoredTypesAreResolved: what Save stores, and what CheckStored hands
// the network for a row stored before types were resolved (plain audio/ogg
// over Opus).
func TestStoredTypesAreResolved(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite)
	s, _ := newTestService(t, st, Options{})
	opus, _ := Sample(KindVoice)
	m, err := s.Save(ctx, bytes.NewReader(opus), "audio/ogg", "note.ogg", store.MediaOriginUpload)
	if err != nil || m.MimeType != mimeOggOpus {
		t.Fatalf("saved %+v, %v", m, err)
	}
	m.MimeType = "audio/ogg"
	if err := st.UpdateMedia(ctx, m); err != nil {
		t.Fatal(err)
	}
	got, apiErr, err := s.CheckStored(ctx, KindAudio, m.ID)
	if err != nil || apiErr != nil || got.MimeType != mimeOggOpus {
		t.Fatalf("an old audio/ogg row sent as audio: %+v, %v, %v", got, apiErr, err)
	}
	png, _ := Sample(KindImage)
	m, err = s.Save(ctx, bytes.NewReader(png), "binary/octet-stream", "", store.MediaOriginUpload)
	if err != nil || m.MimeType != "image/png" {
		t.Fatalf("saved %+v, %v", m, err)
	}
}

// TestSaveLinkReadsTheBytes: an Ogg/Opus voice note behind the types web
// servers send is stored as audio/ogg; codecs=opus.
func TestSaveLinkReadsTheBytes(t *testing.T) {
	opus, _ := Sample(KindVoice)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.URL.Query().Get("type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		} else {
			w.Header()["Content-Type"] = nil // no type at all (Go would sniff one)
		}
		w.Write(opus)
	}))
	defer srv.Close()
	s, _ := newTestService(t, nil, Options{Fetch: FetchOptions{AllowPrivate: true}})
	for _, served := range append(serverTypes, "audio/ogg", "application/ogg") {
		m, err := s.SaveLink(context.Background(), srv.URL+"/note.ogg?type="+url.QueryEscape(served), nil)
		if err != nil || m.MimeType != mimeOggOpus {
			t.Errorf("served as %q: stored %+v, %v", served, m, err)
			continue
		}
		if _, apiErr, err := s.CheckStored(context.Background(), KindAudio, m.ID); apiErr != nil || err != nil {
			t.Errorf("served as %q: refused as audio: %v %v", served, apiErr, err)
		}
	}
}
