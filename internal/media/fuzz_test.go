package media

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/message"
)

// Fuzz targets for what POST /v1/media, the send path and the media
// providers node decide from client input: declared types, sniffed bytes,
// provider bodies.

func addTypeSeeds(f *testing.F, add func(declared string, head []byte)) {
	for _, kind := range Kinds() {
		data, mimeType := Sample(kind)
		add(mimeType, data)
	}
	for _, s := range []struct{ declared, head string }{
		{"Audio/OGG; Codecs=OPUS", "OggS\x00\x02"},
		{"application/x-msdownload", "MZ\x90\x00"},
		{"text/plain", "#!/bin/sh\n"},
		{"image/jpeg", "\x7fELF"},
		{"video/mp4", "\x00\x00\x00\x18ftypmp42"},
		{`audio/ogg; codecs="op us"`, ""},
		{"a/b; codecs=\u00e9", "RIFF\x00\x00\x00\x00WEBPVP8 "},
		{";", ""},
		{"/x", "%PDF-1.7"},
		// The types servers send, over the bytes that decide them.
		{"audio/ogg", string(sampleOggOpus())},
		{"application/ogg", string(sampleOggOpus()[:40])},
		{"binary/octet-stream", "\x00\x00\x00\x14ftyp3gp5\x00\x00\x00\x00"},
		{"image/jpg", "\xff\xd8\xff\xe0\x00\x10JFIF\x00"},
		{"audio/x-m4a", "\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2"},
		{"video/mp4", "not a video\n"},
		{"application/pdf", "\xef\xbb\xbf%PDF-1.4\n"},
		{"image/webp", string(samplePNG())},
		{"audio/ogg; codecs=opus", string(oggPage(0x02, 0, 1, 0, [][]byte{[]byte("\x01vorbis\x00\x00\x00\x00")}))},
		{"audio/opus", "OggS\x00\x02" + strings.Repeat("\x00", 20) + "\x02\x13"},
	} {
		add(s.declared, []byte(s.head))
	}
}

// FuzzNormalizeMIME: a type that normalises is a type/subtype, and
// normalising it again changes nothing (stored types compare equal).
func FuzzNormalizeMIME(f *testing.F) {
	addTypeSeeds(f, func(declared string, _ []byte) { f.Add(declared) })
	f.Fuzz(func(t *testing.T, declared string) {
		norm, err := NormalizeMIME(declared)
		if err != nil {
			return
		}
		base, _, _ := strings.Cut(norm, ";")
		if norm == "" || strings.Count(base, "/") != 1 || strings.HasPrefix(base, "/") || strings.HasSuffix(base, "/") {
			t.Fatalf("NormalizeMIME(%q) = %q: not a type/subtype", declared, norm)
		}
		again, err := NormalizeMIME(norm)
		if err != nil || again != norm {
			t.Fatalf("NormalizeMIME(%q) = %q, then %q, %v", declared, norm, again, err)
		}
	})
}

// FuzzCheckUpload: the upload check never panics, refuses with 1009 and a
// text, and never lets a program through, whatever it is declared as. It
// agrees with the send's check: a file refused because its bytes do not
// match its type is refused for every kind, and an accepted file is never
// refused at a send for that reason.
func FuzzCheckUpload(f *testing.F) {
	addTypeSeeds(f, func(declared string, head []byte) { f.Add(declared, head) })
	f.Fuzz(func(t *testing.T, declared string, head []byte) {
		if len(head) > SniffLen {
			head = head[:SniffLen]
		}
		err := CheckUpload(declared, head)
		mismatch := func(e interface{ Error() string }) bool {
			return strings.Contains(e.Error(), "The media content does not match its type")
		}
		if err != nil {
			if len(err.Details) != 1 || err.Details[0].Code != 1009 || err.Details[0].Details == "" {
				t.Fatalf("CheckUpload(%q): %+v", declared, err.Details)
			}
			if mismatch(err) {
				for _, kind := range Kinds() {
					if CheckKind(kind, declared, head, int64(len(head))) == nil {
						t.Fatalf("CheckUpload(%q, %q) refused what a %s send accepts: %v", declared, head, kind, err)
					}
				}
			}
			return
		}
		for _, kind := range Kinds() {
			if sendErr := CheckKind(kind, declared, head, int64(len(head))); sendErr != nil && mismatch(sendErr) {
				t.Fatalf("CheckUpload(%q, %q) accepted what a %s send refuses: %v", declared, head, kind, sendErr)
			}
		}
		if IsExecutable(Detect(head)) {
			t.Fatalf("CheckUpload(%q, %q) let a program (%s) through", declared, head, Detect(head))
		}
		if _, nerr := NormalizeMIME(declared); nerr != nil {
			t.Fatalf("CheckUpload accepted %q, which does not normalise: %v", declared, nerr)
		}
	})
}

// FuzzCheckKind: what a send accepts suits its kind (spec §7.4).
func FuzzCheckKind(f *testing.F) {
	addTypeSeeds(f, func(declared string, head []byte) {
		for i := range Kinds() {
			f.Add(uint8(i), declared, head, int64(len(head)))
		}
	})
	f.Add(uint8(200), "image/png", []byte("x"), int64(-1))
	f.Fuzz(func(t *testing.T, pick uint8, declared string, head []byte, size int64) {
		kinds := append(Kinds(), "unknown")
		kind := kinds[int(pick)%len(kinds)]
		if len(head) > SniffLen {
			head = head[:SniffLen]
		}
		err := CheckKind(kind, declared, head, size)
		if err != nil {
			if len(err.Details) != 1 || err.Details[0].Code != 1009 || err.Details[0].Details == "" {
				t.Fatalf("CheckKind(%s, %q): %+v", kind, declared, err.Details)
			}
			return
		}
		norm, nerr := NormalizeMIME(declared)
		switch {
		case kind == "unknown":
			t.Fatal("an unknown kind was accepted")
		case nerr != nil:
			t.Fatalf("accepted %q, which does not normalise", declared)
		case !message.AllowedMIME(kind, resolveMIME(norm, Detect(head))):
			t.Fatalf("accepted %q (read as %q) for %s", norm, resolveMIME(norm, Detect(head)), kind)
		case IsExecutable(Detect(head)) || IsExecutable(norm):
			t.Fatalf("accepted a program as %s", kind)
		case size > message.MaxSize(kind) || size == 0 || len(head) == 0:
			t.Fatalf("accepted %d bytes (head %d) for %s", size, len(head), kind)
		}
	})
}

// FuzzParseProvider: a provider body is refused with documented codes, or
// gives a provider that is usable (a name, type www, exactly one kind of
// credentials that can go into a header) and that reads back the same.
func FuzzParseProvider(f *testing.F) {
	for _, s := range []string{
		`[{"name":"p","type":"www","config":{"basic":{"username":"u","password":"p"}}}]`,
		`[{"name":"q-1","type":"www","config":{"bearer":"t0k"}}]`,
		`[{"name":"","type":"everstore","config":{"basic":{},"bearer":""}}]`,
		`[{"name":1,"type":null,"config":"x"}]`,
		`[{},{}]`, `[]`, `{}`, `[null]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParseProvider(body)
		if err != nil {
			for _, d := range err.Details {
				if d.Code != 1008 && d.Code != 1009 && d.Code != 1010 || d.Details == "" {
					t.Fatalf("ParseProvider(%q): %+v", body, err.Details)
				}
			}
			return
		}
		if !providerNamePattern.MatchString(p.Name) || p.Type != ProviderTypeWWW {
			t.Fatalf("accepted %+v", p)
		}
		if (p.Config.Basic == nil) == (p.Config.Bearer == "") {
			t.Fatalf("accepted %+v: want exactly one of basic and bearer", p.Config)
		}
		if p.Config.Bearer != "" && !validHeaderValue("Bearer "+p.Config.Bearer) {
			t.Fatalf("accepted bearer %q, which cannot be sent in a header", p.Config.Bearer)
		}
		again, _ := json.Marshal([]Provider{p})
		back, err := ParseProvider(again)
		if err != nil || !reflect.DeepEqual(back, p) {
			t.Fatalf("provider %s reads back as %+v, %v", again, back, err)
		}
	})
}

// validHeaderValue is net/http's rule for a field value: no control
// characters but tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
