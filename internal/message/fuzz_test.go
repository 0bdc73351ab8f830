package message

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wabiz/wabiz/internal/apierr"
)

var decodeSeeds = []string{
	`{"to":"15550001111","text":{"body":"hi"}}`,
	`{"to":"+1 (555) 000-1111","type":"text","preview_url":true,"ttl":"P1DT2H","context":{"message_id":"ABGG"},"text":{"body":"https://example.org"}}`,
	`{"to":15550001111,"ttl":86400,"text":{"body":"x"}}`,
	`{"to":"15550001111","type":"image","image":{"id":"1","caption":"c"}}`,
	`{"to":"15550001111","type":"hsm","hsm":{"namespace":"n","element_name":"e","language":{"code":"en","policy":"deterministic"},"fallback_lg":"en"}}`,
	`{"to":"15550001111","type":"template","template":{"language":"en"}}`,
	`{"to":"15550001111","type":"contacts","contacts":[{"body":"b"}]}`,
	`{"to":"x","recipient_type":"group","ttl":"","preview_url":"1","image":"0"}`,
	`{"to":null,"type":null,"recipient_type":null,"preview_url":null,"ttl":null,"context":null,"text":null}`,
	`{"to":"0044 20 7946 0958","ttl":"PT0S","text":{"body":" "}}`,
	`{"text":{"body":5,"id":"1","language":{"policy":[]}},"ttl":[1]}`,
	`{}`,
	`{"to":"15550001111","type":"image","image":{"id":"8f4c7b2e-13aa-4a0e-9d5c-2b3c1f0e9a71","caption":"c"}}`,
	`{"to":"15550001111","type":"document","document":{"link":"https://x.example/a.pdf","provider":{"name":"p"},"filename":"a.pdf","caption":"c"}}`,
	`{"to":"15550001111","type":"audio","audio":{"id":"8f4c7b2e-13aa-4a0e-9d5c-2b3c1f0e9a71","link":"http://x"}}`,
	`{"to":"15550001111","type":"video","video":{"link":"https://x.example/v.mp4","provider":{}}}`,
	`{"to":"15550001111","type":"sticker","sticker":{"id":"8F4C7B2E-13AA-4A0E-9D5C-2B3C1F0E9A71"}}`,
	`{"to":"15550001111","type":"location","location":{"latitude":"51.5072","longitude":-0.1276,"name":"n","address":"a"}}`,
	`{"to":"15550001111","type":"location","location":{"latitude":1e-7,"longitude":"-180"}}`,
	`{"to":"15550001111","type":"contacts","contacts":[{"name":{"formatted_name":"D","first_name":"D"},"phones":[{"phone":"1","type":"cell","wa_id":"15550002222"}],` +
		`"emails":[{"email":"a@b","type":"WORK"}],"org":{"company":"c"},"addresses":[{"city":"x","type":"home"}],"urls":[{"url":"u"}],"ims":[{"s":"x"}],"birthday":"2000-02-29"}]}`,
	`{"to":"15550001111","type":"interactive","interactive":{"type":"list","header":{"type":"text","text":"h"},"body":{"text":"b"},"footer":{"text":"f"},` +
		`"action":{"button":"B","sections":[{"title":"s","rows":[{"id":"1","title":"t","description":"d"}]},{"title":"u","rows":[{"id":"2","title":"t"}]}]}}}`,
	`{"to":"15550001111","type":"interactive","interactive":{"type":"button","header":{"type":"document","document":{"link":"https://x.example/d","filename":"d.pdf"}},` +
		`"body":{"text":"b"},"action":{"buttons":[{"type":"reply","reply":{"id":"y","title":"Yes"}},{"type":"reply","reply":{"id":"n","title":"No"}}]}}}`,
	`{"to":"15550001111","type":"interactive","interactive":{"type":"product","action":{"catalog_id":12,"product_retailer_id":"p"}}}`,
	`{"to":"15550001111","type":"interactive","interactive":{"type":"product_list","header":{"type":"text","text":"h"},"body":{"text":"b"},` +
		`"action":{"catalog_id":"1","sections":[{"title":"s","product_items":[{"product_retailer_id":"a"},{"product_retailer_id":"b"}]}]}}}`,
	`{"to":"15550001111","type":"reaction","reaction":{"message_id":"ABGG","emoji":"👨‍👩‍👧"}}`,
	`{"to":"15550001111","type":"reaction","context":{"message_id":"x"},"reaction":{"message_id":"gBGG","emoji":""}}`,
}

// FuzzDecode: no request may panic Decode; every error carries a known code
// and a detail text; every success has the model of its type, and its
// canonical body is a request that decodes to the same body.
func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var params map[string]json.RawMessage
		if json.Unmarshal(data, &params) != nil {
			return
		}
		msg, err := Decode(params)
		if err != nil {
			if msg != nil {
				t.Fatal("a message and an error")
			}
			checkFuzzError(t, err)
			return
		}
		if msg == nil {
			t.Fatal("neither a message nor an error")
		}
		if again, ok := NormalizeNumber(msg.WaID); !ok || again != msg.WaID {
			t.Fatalf("WaID %q is not normalised", msg.WaID)
		}
		checkModel(t, msg)
		if msg.TTL < MinTTL || msg.TTL > MaxTTL {
			t.Fatalf("TTL %v", msg.TTL)
		}
		body, bodyErr := msg.Body()
		if bodyErr != nil || !json.Valid(body) {
			t.Fatalf("Body() = %s, %v", body, bodyErr)
		}
		var again map[string]json.RawMessage
		if err := json.Unmarshal(body, &again); err != nil {
			t.Fatal(err)
		}
		msg2, err := Decode(again)
		if err != nil {
			t.Fatalf("the body %s does not decode: %+v", body, err.Details)
		}
		if body2, _ := msg2.Body(); string(body2) != string(body) {
			t.Fatalf("body not stable\n%s\n%s", body, body2)
		}
	})
}

// checkModel: exactly the model of the message's type is set, and valid.
func checkModel(t *testing.T, msg *Outbound) {
	t.Helper()
	set := 0
	for _, isSet := range []bool{msg.Text != nil, msg.Media != nil, msg.Location != nil, msg.Contacts != nil,
		msg.Interactive != nil, msg.Reaction != nil, msg.Template != nil} {
		if isSet {
			set++
		}
	}
	if set != 1 {
		t.Fatalf("%d models set: %+v", set, msg)
	}
	switch {
	case msg.Type == TypeTemplate || msg.Type == TypeHSM:
		if fields := ObjectFields(msg.Template); fields == nil || !IsPHPTruthy(fields["namespace"]) {
			t.Fatalf("template object %s", msg.Template)
		}
	case msg.Type == TypeText:
		if msg.Text == nil || strings.TrimSpace(msg.Text.Body) == "" || utf8.RuneCountInString(msg.Text.Body) > MaxTextBodyChars {
			t.Fatalf("text %+v", msg.Text)
		}
	case IsMediaKind(msg.Type):
		m := msg.Media
		if m == nil || m.Kind != msg.Type || (m.ID == "") == (m.Link == "") || m.ID != "" && !IsMediaID(m.ID) ||
			m.Link != "" && !IsMediaLink(m.Link) || m.ProviderName != "" && m.Link == "" {
			t.Fatalf("media %+v", m)
		}
	case msg.Type == TypeLocation:
		l := msg.Location
		if l == nil || l.Latitude < -90 || l.Latitude > 90 || l.Longitude < -180 || l.Longitude > 180 {
			t.Fatalf("location %+v", l)
		}
	case msg.Type == TypeContacts:
		if len(msg.Contacts) < 1 || len(msg.Contacts) > MaxContacts {
			t.Fatalf("%d contacts", len(msg.Contacts))
		}
		for _, c := range msg.Contacts {
			if strings.TrimSpace(c.FormattedName) == "" || !json.Valid(c.Raw) {
				t.Fatalf("card %+v", c)
			}
		}
	case msg.Type == TypeInteractive:
		in := msg.Interactive
		if in == nil || !slices.Contains(interactiveKinds, in.Kind) || in.HeaderMedia != nil && in.Kind != InteractiveButton {
			t.Fatalf("interactive %+v", in)
		}
	case msg.Type == TypeReaction:
		if r := msg.Reaction; r == nil || r.Emoji != "" && !IsSingleEmoji(r.Emoji) {
			t.Fatalf("reaction %+v", r)
		}
	default:
		t.Fatalf("type %q accepted", msg.Type)
	}
}

var inboundSeeds = []string{
	`{"text":{"body":"hi"}}`,
	`{"type":"text","text":{"body":"hi"},"context":{"id":"gBGGFVUAAREfAglKfBnisF2PMxE","forwarded":false},` +
		`"referral":{"headline":"h","body":"b","source_type":"ad","source_id":"1","source_url":"https://x.example"}}`,
	`{"type":"image","image":{"id":"8f4c7b2e-13aa-4a0e-9d5c-2b3c1f0e9a71","mime_type":"image/png","caption":"c"}}`,
	`{"type":"voice","voice":{}}`,
	`{"type":"audio","audio":{"mime_type":"audio/ogg; codecs=opus","caption":"x"}}`,
	`{"type":"video","video":{"mime_type":"video/3gpp","caption":""}}`,
	`{"type":"document","document":{"mime_type":"application/pdf","filename":"a.pdf"}}`,
	`{"type":"sticker","sticker":{"filename":"s"}}`,
	`{"type":"location","location":{"latitude":"-23.5","longitude":-46.6,"name":"n","address":"a","url":"https://m.example"}}`,
	`{"type":"contacts","contacts":[{"name":{"formatted_name":"D"},"phones":[{"phone":"1","type":"CELL"}],"birthday":"1990-04-12"}]}`,
	`{"type":"button","button":{"payload":"p","text":"t"},"context":{"id":"gBGGFVUAAREfAglKfBnisF2PMxE"}}`,
	`{"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"1","title":"t","description":"d"}},"context":{"id":"gBGGFVUAAREfAglKfBnisF2PMxE"}}`,
	`{"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"1","title":"t"}},"context":{"id":"x"}}`,
	`{"type":"order","order":{"catalog_id":"1","text":"t","product_items":[{"product_retailer_id":"p","quantity":2,"item_price":"1.5","currency":"eur"}]}}`,
	`{"type":"unknown","context":{"frequently_forwarded":true}}`,
	`{"type":"unknown","unknown":1,"text":{},"referral":[]}`,
	`{"type":null,"text":null,"context":null}`,
	`{}`,
}

// FuzzDecodeInbound: no input may panic DecodeInbound; errors are well
// formed; a success has a canonical Content that decodes to itself.
func FuzzDecodeInbound(f *testing.F) {
	for _, s := range inboundSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var params map[string]json.RawMessage
		if json.Unmarshal(data, &params) != nil {
			return
		}
		in, err := DecodeInbound(params)
		if err != nil {
			if in != nil {
				t.Fatal("a message and an error")
			}
			checkFuzzError(t, err)
			return
		}
		if in == nil || !slices.Contains(inboundTypes, in.Type) || !json.Valid(in.Content) {
			t.Fatalf("accepted %+v", in)
		}
		content := ObjectFields(in.Content)
		if content == nil {
			t.Fatalf("content %s", in.Content)
		}
		if _, ok := content[in.Type]; ok == (in.Type == TypeUnknown) {
			t.Fatalf("content %s for type %s", in.Content, in.Type)
		}
		isMedia := slices.Contains(inboundMediaKinds, in.Type)
		if isMedia != (in.Media != nil) || isMedia && !AllowedMIME(in.Type, in.Media.MimeType) ||
			isMedia && in.Media.MediaID != "" && !IsMediaID(in.Media.MediaID) {
			t.Fatalf("media %+v for %s", in.Media, in.Type)
		}
		content["type"] = quote(in.Type)
		again, err := DecodeInbound(content)
		if err != nil || string(again.Content) != string(in.Content) || again.ContextID != in.ContextID {
			t.Fatalf("content %s not stable: %v", in.Content, err)
		}
	})
}

func checkFuzzError(t *testing.T, err *apierr.Error) {
	t.Helper()
	if len(err.Details) == 0 {
		t.Fatal("an error without details")
	}
	for _, d := range err.Details {
		entry, known := apierr.Lookup(d.Code)
		if !known || d.Code == 0 || d.Title != entry.Title || d.Details == "" {
			t.Fatalf("bad detail %+v", d)
		}
	}
	if err.Status < 400 || err.Status == 500 {
		t.Fatalf("status %d", err.Status)
	}
}

func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{"15550001111", "+1 (555) 000-1111", "0044 20 7946 0958", "+44 (0)20 7946 0958",
		"＋１ ５５５", "\u200e+1\u00a0555", "1-800-FLOWERS", "", "+", "(0)", "00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		waID, ok := NormalizeNumber(input)
		if !ok {
			if waID != "" {
				t.Fatalf("rejected with a value %q", waID)
			}
			return
		}
		if len(waID) < minNumberDigits || len(waID) > maxNumberDigits || waID[0] == '0' || !allDigits(waID) {
			t.Fatalf("NormalizeNumber(%q) = %q", input, waID)
		}
		if again, ok := NormalizeNumber(waID); !ok || again != waID {
			t.Fatalf("not idempotent: %q -> %q -> %q", input, waID, again)
		}
		if d, err := decodeID(NewOutboundID(waID)); err != nil || d.waID != waID {
			t.Fatalf("id round trip for %q: %+v %v", waID, d, err)
		}
	})
}

func FuzzParseTTL(f *testing.F) {
	for _, s := range []string{`86400`, `"86400"`, `"P1D"`, `"P1DT2H30M"`, `"PT90S"`, `"P2W"`, `""`, `0`, `"PT0S"`,
		`-1`, `1.5`, `"P1Y"`, `"P1W2D"`, `"PT"`, `null`, `[]`, `"P99999999999999999999D"`, `1e400`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := ParseTTL(raw)
		if err != nil {
			if d != 0 || err.Status != 400 || err.Code() != 1009 || len(err.Details) != 1 || err.Details[0].Details == "" {
				t.Fatalf("ParseTTL(%q) = %v, %+v", raw, d, err)
			}
			return
		}
		if d < MinTTL || d > MaxTTL || d%1e9 != 0 {
			t.Fatalf("ParseTTL(%q) = %v", raw, d)
		}
	})
}
