package message

import (
	"strconv"
	"strings"
	"testing"
)

const (
	mediaID  = "8f4c7b2e-13aa-4a0e-9d5c-2b3c1f0e9a71"
	mediaID2 = "3f1c2b9e-2d7a-4c55-9b0e-8a6d1e2f4a10"
)

var (
	atleastIDLink = detail{1008, "Atleast one of the following parameters must be present: 'id', 'link'"}
	exactlyIDLink = detail{1010, "Exactly one of the following parameters must be present: 'id', 'link'"}
)

func longer(name string, n int) detail {
	return detail{1009, "Parameter '" + name + "' is longer than " + strconv.Itoa(n) + " characters"}
}

func TestDecodeMediaErrors(t *testing.T) {
	to := `"to":"15550001111",`
	longCaption := strings.Repeat("é", MaxCaptionChars+1)
	runDecodeCases(t, []decodeCase{
		// The object itself.
		{"image as a string", `{` + to + `"type":"image","image":"x"}`, 400, []detail{invalid("image", "x")}},
		{"image as a list", `{` + to + `"type":"image","image":[1]}`, 400, []detail{invalid("image", "[1]")}},
		{"neither id nor link", `{` + to + `"type":"image","image":{"caption":"c"}}`, 400, []detail{atleastIDLink}},
		{"null id and link are absent", `{` + to + `"type":"video","video":{"id":null,"link":null,"caption":"c"}}`, 400, []detail{atleastIDLink}},
		{"both id and link", `{` + to + `"type":"audio","audio":{"id":"` + mediaID + `","link":"https://x.example/a.mp3"}}`, 400, []detail{exactlyIDLink}},

		// id.
		{"id not a UUID", `{` + to + `"type":"image","image":{"id":"12345"}}`, 400, []detail{invalid("image.id", "12345")}},
		{"id empty", `{` + to + `"type":"image","image":{"id":""}}`, 400, []detail{invalid("image.id", "")}},
		{"id a number", `{` + to + `"type":"image","image":{"id":5}}`, 400, []detail{invalid("image.id", "5")}},
		{"id UUID of version 1", `{` + to + `"type":"image","image":{"id":"8f4c7b2e-13aa-1a0e-9d5c-2b3c1f0e9a71"}}`, 400,
			[]detail{invalid("image.id", "8f4c7b2e-13aa-1a0e-9d5c-2b3c1f0e9a71")}},
		{"id UUID with a wrong variant", `{` + to + `"type":"image","image":{"id":"8f4c7b2e-13aa-4a0e-7d5c-2b3c1f0e9a71"}}`, 400,
			[]detail{invalid("image.id", "8f4c7b2e-13aa-4a0e-7d5c-2b3c1f0e9a71")}},
		{"id without hyphens", `{` + to + `"type":"image","image":{"id":"8f4c7b2e13aa4a0e9d5c2b3c1f0e9a71"}}`, 400,
			[]detail{invalid("image.id", "8f4c7b2e13aa4a0e9d5c2b3c1f0e9a71")}},
		{"id with braces", `{` + to + `"type":"image","image":{"id":"{8f4c7b2e-13aa-4a0e-9d5c-2b3c1f0e9a7}"}}`, 400,
			[]detail{invalid("image.id", "{8f4c7b2e-13aa-4a0e-9d5c-2b3c1f0e9a7}")}},

		// link.
		{"link relative", `{` + to + `"type":"document","document":{"link":"/files/a.pdf"}}`, 400, []detail{invalid("document.link", "/files/a.pdf")}},
		{"link ftp", `{` + to + `"type":"document","document":{"link":"ftp://x.example/a.pdf"}}`, 400, []detail{invalid("document.link", "ftp://x.example/a.pdf")}},
		{"link without host", `{` + to + `"type":"document","document":{"link":"https:///a.pdf"}}`, 400, []detail{invalid("document.link", "https:///a.pdf")}},
		{"link with a space", `{` + to + `"type":"document","document":{"link":"https://x.example/a b.pdf"}}`, 400,
			[]detail{invalid("document.link", "https://x.example/a b.pdf")}},
		{"link opaque", `{` + to + `"type":"document","document":{"link":"https:x.example"}}`, 400, []detail{invalid("document.link", "https:x.example")}},
		{"link not a string", `{` + to + `"type":"document","document":{"link":{"url":"https://x.example"}}}`, 400,
			[]detail{invalid("document.link", `{"url":"https://x.example"}`)}},
		{"link too long", `{` + to + `"type":"video","video":{"link":"https://x.example/` + strings.Repeat("v", MaxLinkChars) + `"}}`, 400,
			[]detail{invalid("video.link", "https://x.example/"+strings.Repeat("v", MaxLinkChars))}},

		// provider.
		{"provider with an id", `{` + to + `"type":"image","image":{"id":"` + mediaID + `","provider":{"name":"cdn"}}}`, 400,
			[]detail{{1010, "Parameter 'image.provider' is only allowed with 'image.link'"}}},
		{"provider not an object", `{` + to + `"type":"image","image":{"link":"https://x.example/a.png","provider":"cdn"}}`, 400,
			[]detail{invalid("image.provider", "cdn")}},
		{"provider without a name", `{` + to + `"type":"image","image":{"link":"https://x.example/a.png","provider":{}}}`, 400,
			[]detail{missing("image.provider.name")}},
		{"provider name empty", `{` + to + `"type":"image","image":{"link":"https://x.example/a.png","provider":{"name":" "}}}`, 400,
			[]detail{invalid("image.provider.name", " ")}},
		{"provider null is absent", `{` + to + `"type":"image","image":{"id":"` + mediaID + `","provider":null}}`, 0, nil},

		// caption and filename.
		{"caption too long", `{` + to + `"type":"image","image":{"id":"` + mediaID + `","caption":"` + longCaption + `"}}`, 400,
			[]detail{longer("image.caption", MaxCaptionChars)}},
		{"caption of exactly 1024 characters", `{` + to + `"type":"video","video":{"id":"` + mediaID + `","caption":"` + longCaption[2:] + `"}}`, 0, nil},
		{"caption not a string", `{` + to + `"type":"document","document":{"id":"` + mediaID + `","caption":["c"]}}`, 400,
			[]detail{invalid("document.caption", `["c"]`)}},
		{"caption on audio refused by the first pass", `{` + to + `"type":"audio","audio":{"link":"x","caption":"c"}}`, 400,
			[]detail{notRequired("caption", "audio")}},
		{"empty caption on a sticker is absent", `{` + to + `"type":"sticker","sticker":{"id":"` + mediaID + `","caption":""}}`, 0, nil},
		{"filename too long", `{` + to + `"type":"document","document":{"id":"` + mediaID + `","filename":"` + strings.Repeat("f", MaxFilenameChars+1) + `"}}`, 400,
			[]detail{longer("document.filename", MaxFilenameChars)}},
		{"filename not a string", `{` + to + `"type":"document","document":{"id":"` + mediaID + `","filename":7}}`, 400,
			[]detail{invalid("document.filename", "7")}},
		{"filename on video refused by the first pass", `{` + to + `"type":"video","video":{"id":"` + mediaID + `","filename":"v.mp4"}}`, 400,
			[]detail{notRequired("filename", "video")}},

		{"several media errors together", `{` + to + `"type":"document","document":{"id":"x","provider":{"name":"p"},"caption":1,"filename":2}}`, 400,
			[]detail{invalid("document.id", "x"), {1010, "Parameter 'document.provider' is only allowed with 'document.link'"},
				invalid("document.caption", "1"), invalid("document.filename", "2")}},
		{"an empty media object is missing (first pass)", `{"to":"1","type":"image","image":{}}`, 400,
			[]detail{mandatoryFor("image", "image")}},
		{"recipient then media", `{"to":"1","type":"image","image":{"link":"no"}}`, 400,
			[]detail{invalid("to", "1"), invalid("image.link", "no")}},
	})
}

func TestDecodeMediaModel(t *testing.T) {
	cases := []struct {
		body string
		want Media
	}{
		{`{"to":"15550001111","type":"image","image":{"id":"8F4C7B2E-13AA-4A0E-9D5C-2B3C1F0E9A71","caption":"Boarding pass","extra":1}}`,
			Media{Kind: "image", ID: mediaID, Caption: "Boarding pass"}},
		{`{"to":"15550001111","type":"document","document":{"link":"https://files.example.org/invoice-2207.pdf","provider":{"name":"billing-cdn"},"filename":"invoice-2207.pdf","caption":"July invoice"}}`,
			Media{Kind: "document", Link: "https://files.example.org/invoice-2207.pdf", ProviderName: "billing-cdn", Filename: "invoice-2207.pdf", Caption: "July invoice"}},
		{`{"to":"15550001111","type":"audio","audio":{"link":"HTTP://x.example:8080/a.ogg?sig=1#t"}}`,
			Media{Kind: "audio", Link: "HTTP://x.example:8080/a.ogg?sig=1#t"}},
		{`{"to":"15550001111","type":"sticker","sticker":{"id":"` + mediaID2 + `"}}`, Media{Kind: "sticker", ID: mediaID2}},
		{`{"to":"15550001111","type":"video","video":{"link":"https://[2001:db8::1]/v.mp4","caption":""}}`,
			Media{Kind: "video", Link: "https://[2001:db8::1]/v.mp4"}},
	}
	for _, c := range cases {
		msg, err := Decode(mustParams(t, c.body))
		if err != nil {
			t.Errorf("%s: %+v", c.body, err.Details)
			continue
		}
		if msg.Media == nil || *msg.Media != c.want {
			t.Errorf("%s: media %+v, want %+v", c.body, msg.Media, c.want)
		}
		if ref, ok := msg.MediaRef(); !ok || ref != msg.Media {
			t.Errorf("%s: MediaRef() = %v, %v", c.body, ref, ok)
		}
	}
	msg, _ := Decode(mustParams(t, `{"to":"15550001111","text":{"body":"hi"}}`))
	if ref, ok := msg.MediaRef(); ok || ref != nil {
		t.Errorf("a text message has media %+v", ref)
	}
}

func TestAllowedMIME(t *testing.T) {
	cases := []struct {
		kind, mime string
		want       bool
	}{
		{"image", "image/jpeg", true},
		{"image", "image/png", true},
		{"image", "IMAGE/PNG", true},
		{"image", "image/webp", false},
		{"image", "image/gif", false},
		{"image", "image", false},
		{"video", "video/mp4", true},
		{"video", "video/3gpp", true},
		{"video", "video/quicktime", false},
		{"audio", "audio/aac", true},
		{"audio", "audio/mp4", true},
		{"audio", "audio/amr", true},
		{"audio", "audio/mpeg", true},
		{"audio", "audio/ogg; codecs=opus", true},
		{"audio", "audio/ogg;codecs=OPUS", true},
		{"audio", "audio/ogg", false},
		{"audio", "audio/ogg; codecs=vorbis", false},
		{"audio", "audio/wav", false},
		{"voice", "audio/ogg; codecs=opus", true},
		{"voice", "audio/mpeg", false},
		{"document", "application/pdf", true},
		{"document", "text/plain; charset=utf-8", true},
		{"document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", true},
		{"document", "image/jpeg", true},
		{"document", "pdf", false},
		{"document", "", false},
		{"document", "application/", false},
		{"document", "text/plain; charset", false},
		{"sticker", "image/webp", true},
		{"sticker", "image/png", false},
		{"location", "image/png", false},
		{"", "image/png", false},
	}
	for _, c := range cases {
		if got := AllowedMIME(c.kind, c.mime); got != c.want {
			t.Errorf("AllowedMIME(%q, %q) = %v", c.kind, c.mime, got)
		}
	}
}

func TestMaxSizeAndDefaults(t *testing.T) {
	want := map[string]int64{
		"image": 5 << 20, "video": 16 << 20, "audio": 16 << 20, "voice": 16 << 20,
		"document": 100 << 20, "sticker": 100 << 10, "text": 0, "location": 0, "": 0,
	}
	for kind, size := range want {
		if got := MaxSize(kind); got != size {
			t.Errorf("MaxSize(%q) = %d, want %d", kind, got, size)
		}
	}
	for _, kind := range append(MediaKinds(), "voice") {
		if def := DefaultMIME(kind); !AllowedMIME(kind, def) {
			t.Errorf("DefaultMIME(%q) = %q is not allowed", kind, def)
		}
		if MaxSize(kind) == 0 {
			t.Errorf("no size for %q", kind)
		}
	}
	if DefaultMIME("text") != "" {
		t.Error("text has a default MIME type")
	}
	kinds := MediaKinds()
	if len(kinds) != 5 || !IsMediaKind("sticker") || IsMediaKind("voice") || IsMediaKind("text") {
		t.Fatalf("MediaKinds() = %v", kinds)
	}
	kinds[0] = "changed"
	if MediaKinds()[0] == "changed" {
		t.Error("MediaKinds exposes the internal slice")
	}
}

func TestIsMediaID(t *testing.T) {
	for id, want := range map[string]bool{
		mediaID: true, mediaID2: true, strings.ToUpper(mediaID): true,
		"00000000-0000-4000-8000-000000000000":  true,
		"00000000-0000-4000-c000-000000000000":  false,
		"00000000-0000-0000-8000-000000000000":  false,
		"8f4c7b2e-13aa-4a0e-9d5c-2b3c1f0e9a7":   false,
		"8f4c7b2e-13aa-4a0e-9d5c-2b3c1f0e9a711": false,
		"8f4c7b2e_13aa-4a0e-9d5c-2b3c1f0e9a71":  false,
		"gf4c7b2e-13aa-4a0e-9d5c-2b3c1f0e9a71":  false,
		"":                                      false,
	} {
		if IsMediaID(id) != want {
			t.Errorf("IsMediaID(%q) = %v", id, !want)
		}
	}
}

func TestIsMediaLink(t *testing.T) {
	for link, want := range map[string]bool{
		"https://x.example/a.png":        true,
		"http://x.example":               true,
		"https://user:pw@x.example/a":    true,
		"https://x.example:8443/a?b=c#d": true,
		"https://x.example/%20a":         true,
		"https://x.example/\u00e9":       true,
		"x.example/a.png":                false,
		"//x.example/a.png":              false,
		"file:///etc/passwd":             false,
		"javascript:alert(1)":            false,
		"https://x.example/a\tb":         false,
		"https://x.example/a\u00a0b":     false,
		"https://x.example:port/":        false,
		"https://":                       false,
		"":                               false,
	} {
		if IsMediaLink(link) != want {
			t.Errorf("IsMediaLink(%q) = %v", link, !want)
		}
	}
}
