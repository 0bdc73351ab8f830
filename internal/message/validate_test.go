package message

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/apierr"
)

type detail struct {
	code int
	text string
}

func mustParams(t *testing.T, body string) map[string]json.RawMessage {
	t.Helper()
	var p map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("test body %s: %v", body, err)
	}
	return p
}

// Texts of the Webapp's helpers, spelled out once.
func missing(name string) detail { return detail{1008, "Missing mandatory parameter '" + name + "'"} }
func invalid(name, v string) detail {
	return detail{1009, "Parameter '" + name + "' has invalid value '" + v + "'"}
}
func mandatoryFor(name, typ string) detail {
	return detail{1008, "Parameter '" + name + "' is mandatory for type '" + typ + "'"}
}
func notRequired(name, typ string) detail {
	return detail{1010, "Parameter '" + name + "' is not required for type '" + typ + "'"}
}

var (
	emptyTTL = detail{1009, "Empty TTL value not allowed"}
	groups   = detail{1002, "Groups are not supported"}
	tooLong  = detail{1001, "Text body is longer than 4096 characters"}
)

func exactlyOne(legacy string) detail {
	return detail{1010, "Exactly one of the following parameters must be present: 'language', '" + legacy + "'"}
}

func TestDecodeErrors(t *testing.T) {
	long := strings.Repeat("a", MaxTextBodyChars+1)
	cases := []decodeCase{
		// --- First pass: the Webapp's shape checks, in its order. ---
		{"to missing", `{"text":{"body":"hi"}}`, 400, []detail{missing("to")}},
		{"type unknown", `{"to":"15550001111","type":"voice","voice":{"id":"1"}}`, 400, []detail{invalid("type", "voice")}},
		{"type empty", `{"to":"15550001111","type":"","text":{"body":"hi"}}`, 400, []detail{invalid("type", "")}},
		{"type not a string", `{"to":"15550001111","type":5,"text":{"body":"hi"}}`, 400, []detail{invalid("type", "5")}},
		{"type null", `{"to":"15550001111","type":null,"text":{"body":"hi"}}`, 400, []detail{invalid("type", "null")}},
		{"type case matters", `{"to":"15550001111","type":"Text","text":{"body":"hi"}}`, 400, []detail{invalid("type", "Text")}},
		{"unknown type skips the type-object checks", `{"to":"15550001111","type":"voice","image":{"id":"1"},"text":{"caption":"x"}}`, 400,
			[]detail{invalid("type", "voice")}},
		{"recipient_type unknown", `{"to":"15550001111","recipient_type":"broadcast","text":{"body":"hi"}}`, 400,
			[]detail{invalid("recipient_type", "broadcast")}},
		{"recipient_type not a string", `{"to":"15550001111","recipient_type":1,"text":{"body":"hi"}}`, 400,
			[]detail{invalid("recipient_type", "1")}},
		{"preview_url as a string", `{"to":"15550001111","preview_url":"true","text":{"body":"hi"}}`, 400,
			[]detail{invalid("preview_url", "true")}},
		{"preview_url as a number", `{"to":"15550001111","preview_url":1,"text":{"body":"hi"}}`, 400,
			[]detail{invalid("preview_url", "1")}},
		{"preview_url null", `{"to":"15550001111","preview_url":null,"text":{"body":"hi"}}`, 400,
			[]detail{invalid("preview_url", "null")}},
		{"render_mentions not a bool", `{"to":"15550001111","render_mentions":"yes","text":{"body":"hi"}}`, 400,
			[]detail{invalid("render_mentions", "yes")}},
		{"ttl empty string", `{"to":"15550001111","ttl":"","text":{"body":"hi"}}`, 400, []detail{emptyTTL}},
		{"ttl zero", `{"to":"15550001111","ttl":0,"text":{"body":"hi"}}`, 400, []detail{emptyTTL}},
		{"ttl zero string", `{"to":"15550001111","ttl":"0","text":{"body":"hi"}}`, 400, []detail{emptyTTL}},
		{"ttl false", `{"to":"15550001111","ttl":false,"text":{"body":"hi"}}`, 400, []detail{emptyTTL}},
		{"empty ttl stops the checks but keeps earlier errors", `{"ttl":"","preview_url":"x","image":{"id":"1"}}`, 400,
			[]detail{missing("to"), invalid("preview_url", "x"), emptyTTL}},

		// The type object.
		{"text object missing", `{"to":"15550001111"}`, 400,
			[]detail{mandatoryFor("text", "text"), mandatoryFor("body", "text")}},
		{"text object empty", `{"to":"15550001111","text":{}}`, 400,
			[]detail{mandatoryFor("text", "text"), mandatoryFor("body", "text")}},
		{"text object null", `{"to":"15550001111","text":null}`, 400,
			[]detail{mandatoryFor("text", "text"), mandatoryFor("body", "text")}},
		{"text object false", `{"to":"15550001111","text":false}`, 400,
			[]detail{mandatoryFor("text", "text"), mandatoryFor("body", "text")}},
		{"text as a string", `{"to":"15550001111","text":"hello"}`, 400, []detail{mandatoryFor("body", "text")}},
		{"text as a list", `{"to":"15550001111","text":["hello"]}`, 400, []detail{mandatoryFor("body", "text")}},
		{"body missing", `{"to":"15550001111","text":{"preview_url":true}}`, 400, []detail{mandatoryFor("body", "text")}},
		{"body empty", `{"to":"15550001111","text":{"body":""}}`, 400, []detail{mandatoryFor("body", "text")}},
		{"body null", `{"to":"15550001111","text":{"body":null}}`, 400, []detail{mandatoryFor("body", "text")}},
		{"body zero", `{"to":"15550001111","text":{"body":0}}`, 400, []detail{mandatoryFor("body", "text")}},
		{"another type object", `{"to":"15550001111","text":{"body":"hi"},"image":{"id":"1"}}`, 400,
			[]detail{notRequired("image", "text")}},
		{"other type objects in the Webapp's order", `{"to":"15550001111","text":{"body":"hi"},"reaction":{"emoji":"x"},"template":{"name":"n"},"video":{"id":"1"},"audio":{"id":"1"},"sticker":"s"}`, 400,
			[]detail{notRequired("audio", "text"), notRequired("video", "text"), notRequired("template", "text"),
				notRequired("sticker", "text"), notRequired("reaction", "text")}},
		{"a non-empty string counts as an object", `{"to":"15550001111","text":{"body":"hi"},"image":"0"}`, 400,
			[]detail{notRequired("image", "text")}},
		{"type object for the default type", `{"to":"15550001111","image":{"id":"1"}}`, 400,
			[]detail{mandatoryFor("text", "text"), notRequired("image", "text"), mandatoryFor("body", "text")}},

		// Fields inside the type object, in the Webapp's order.
		{"text refuses media fields", `{"to":"15550001111","text":{"body":"hi","filename":"f","caption":"c","element_name":"e","namespace":"n","id":"1"}}`, 400,
			[]detail{notRequired("id", "text"), notRequired("namespace", "text"), notRequired("element_name", "text"),
				notRequired("caption", "text"), notRequired("filename", "text")}},
		{"empty refused fields are absent", `{"to":"15550001111","text":{"body":"hi","id":"","caption":null,"filename":false,"namespace":0}}`, 0, nil},
		{"language needs code and policy", `{"to":"15550001111","text":{"body":"hi","language":{}}}`, 400,
			[]detail{missing("code"), missing("policy")}},
		{"language not an object", `{"to":"15550001111","text":{"body":"hi","language":"en"}}`, 400,
			[]detail{missing("code"), missing("policy")}},
		{"language policy unknown", `{"to":"15550001111","text":{"body":"hi","language":{"code":"en","policy":"strict"}}}`, 400,
			[]detail{invalid("policy", "strict")}},
		{"language policy not a string", `{"to":"15550001111","text":{"body":"hi","language":{"code":"en","policy":1}}}`, 400,
			[]detail{invalid("policy", "1")}},
		{"language with legacy fallbacks", `{"to":"15550001111","text":{"body":"hi","fallback_lc":"US","fallback_lg":"en","language":{"code":"en","policy":"fallback"}}}`, 400,
			[]detail{exactlyOne("fallback_lg"), exactlyOne("fallback_lc")}},
		{"legacy fallback with a null language", `{"to":"15550001111","text":{"body":"hi","fallback_lg":"en","language":null}}`, 0, nil},

		// Other types: the generic rules apply.
		{"image object missing", `{"to":"15550001111","type":"image"}`, 400, []detail{mandatoryFor("image", "image")}},
		{"image refuses body and filename", `{"to":"15550001111","type":"image","image":{"id":"1","body":"b","filename":"f.jpg"}}`, 400,
			[]detail{notRequired("body", "image"), notRequired("filename", "image")}},
		{"image with a text object", `{"to":"15550001111","type":"image","image":{"id":"1"},"text":{"body":"hi"}}`, 400,
			[]detail{notRequired("text", "image")}},
		{"image id checked in the second pass", `{"to":"15550001111","type":"image","image":{"id":"1","caption":"c"}}`, 400, []detail{invalid("image.id", "1")}},
		{"document keeps filename and caption", `{"to":"15550001111","type":"document","document":{"link":"https://x/y.pdf","filename":"y.pdf","caption":"c"}}`, 0, nil},
		{"audio refuses caption", `{"to":"15550001111","type":"audio","audio":{"id":"1","caption":"c"}}`, 400, []detail{notRequired("caption", "audio")}},
		{"video refuses namespace", `{"to":"15550001111","type":"video","video":{"id":"1","namespace":"n"}}`, 400, []detail{notRequired("namespace", "video")}},
		{"sticker refuses caption", `{"to":"15550001111","type":"sticker","sticker":{"id":"1","caption":"c"}}`, 400, []detail{notRequired("caption", "sticker")}},
		{"sticker id checked in the second pass", `{"to":"15550001111","type":"sticker","sticker":{"id":"1"}}`, 400, []detail{invalid("sticker.id", "1")}},
		{"location refuses id", `{"to":"15550001111","type":"location","location":{"id":"1","latitude":1,"longitude":2}}`, 400,
			[]detail{notRequired("id", "location")}},
		{"contacts list has no fields to refuse", `{"to":"15550001111","type":"contacts","contacts":[{"name":{"formatted_name":"D"},"body":"b"}]}`, 0, nil},
		{"contacts empty list is missing", `{"to":"15550001111","type":"contacts","contacts":[]}`, 400, []detail{mandatoryFor("contacts", "contacts")}},
		{"contacts as an object refuses body", `{"to":"15550001111","type":"contacts","contacts":{"body":"b"}}`, 400,
			[]detail{notRequired("body", "contacts")}},
		{"hsm needs namespace and element_name", `{"to":"15550001111","type":"hsm","hsm":{"body":"b","caption":"c"}}`, 400,
			[]detail{notRequired("body", "hsm"), mandatoryFor("namespace", "hsm"), mandatoryFor("element_name", "hsm"), notRequired("caption", "hsm")}},
		{"hsm passes to hydration", `{"to":"15550001111","type":"hsm","hsm":{"namespace":"n","element_name":"e","language":{"code":"en","policy":"deterministic"}}}`, 0, nil},
		{"template needs namespace", `{"to":"15550001111","type":"template","template":{"name":"t","element_name":"e","filename":"f","language":{"code":"en"}}}`, 400,
			[]detail{mandatoryFor("namespace", "template"), notRequired("element_name", "template"), notRequired("filename", "template"), missing("policy")}},
		{"template passes to hydration", `{"to":"15550001111","type":"template","ttl":"P1D","template":{"namespace":"n","name":"t","language":{"code":"en","policy":"deterministic"}}}`, 0, nil},
		{"template values are left to hydration", `{"to":"15550001111","type":"template","template":{"namespace":5,"name":[],"components":"x"}}`, 0, nil},
		{"interactive refuses filename", `{"to":"15550001111","type":"interactive","interactive":{"type":"list","filename":"f"}}`, 400,
			[]detail{notRequired("filename", "interactive")}},
		{"interactive keeps its body object", `{"to":"15550001111","type":"interactive","interactive":{"type":"button","body":{"text":"t"}}}`, 400,
			[]detail{missing("interactive.action")}},
		{"reaction checked in the second pass", `{"to":"15550001111","type":"reaction","reaction":{"message_id":"ABGG","emoji":"x"}}`, 400,
			[]detail{invalid("reaction.emoji", "x")}},
		{"hsm still gets the value checks", `{"to":"15550001111","type":"hsm","ttl":"P99D","hsm":{"namespace":"n","element_name":"e"}}`, 400,
			[]detail{invalid("ttl", "P99D")}},

		{"several shape errors together", `{"type":"text","recipient_type":"all","preview_url":"yes","render_mentions":0,"text":{"body":"hi","id":"1"},"image":{"id":"1"}}`, 400,
			[]detail{missing("to"), invalid("recipient_type", "all"), invalid("preview_url", "yes"), invalid("render_mentions", "0"),
				notRequired("image", "text"), notRequired("id", "text")}},

		// --- Second pass: values. ---
		{"to with letters", `{"to":"abc","text":{"body":"hi"}}`, 400, []detail{invalid("to", "abc")}},
		{"to empty", `{"to":"","text":{"body":"hi"}}`, 400, []detail{invalid("to", "")}},
		{"to too short", `{"to":"+1 555","text":{"body":"hi"}}`, 400, []detail{invalid("to", "+1 555")}},
		{"to null", `{"to":null,"text":{"body":"hi"}}`, 400, []detail{invalid("to", "null")}},
		{"to an object", `{"to":{"wa_id":"15550001111"},"text":{"body":"hi"}}`, 400, []detail{invalid("to", `{"wa_id":"15550001111"}`)}},
		{"to a float", `{"to":1.5550001111e10,"text":{"body":"hi"}}`, 400, []detail{invalid("to", "1.5550001111e10")}},
		{"to negative number", `{"to":-15550001111,"text":{"body":"hi"}}`, 400, []detail{invalid("to", "-15550001111")}},
		{"group recipients", `{"to":"447700900123-1540000000","recipient_type":"group","text":{"body":"hi"}}`, 400, []detail{groups}},
		{"ttl with months", `{"to":"15550001111","ttl":"P1M","text":{"body":"hi"}}`, 400, []detail{invalid("ttl", "P1M")}},
		{"ttl zero duration", `{"to":"15550001111","ttl":"PT0S","text":{"body":"hi"}}`, 400, []detail{emptyTTL}},
		{"ttl negative", `{"to":"15550001111","ttl":-5,"text":{"body":"hi"}}`, 400, []detail{invalid("ttl", "-5")}},
		{"ttl over 30 days", `{"to":"15550001111","ttl":"P31D","text":{"body":"hi"}}`, 400, []detail{invalid("ttl", "P31D")}},
		{"context not an object", `{"to":"15550001111","context":"ABGG","text":{"body":"hi"}}`, 400, []detail{invalid("context", "ABGG")}},
		{"context without message_id", `{"to":"15550001111","context":{},"text":{"body":"hi"}}`, 400, []detail{missing("context.message_id")}},
		{"context message_id null", `{"to":"15550001111","context":{"message_id":null},"text":{"body":"hi"}}`, 400, []detail{missing("context.message_id")}},
		{"context message_id a number", `{"to":"15550001111","context":{"message_id":5},"text":{"body":"hi"}}`, 400, []detail{invalid("context.message_id", "5")}},
		{"context message_id blank", `{"to":"15550001111","context":{"message_id":"  "},"text":{"body":"hi"}}`, 400, []detail{invalid("context.message_id", "  ")}},
		{"body a number", `{"to":"15550001111","text":{"body":5}}`, 400, []detail{invalid("body", "5")}},
		{"body true", `{"to":"15550001111","text":{"body":true}}`, 400, []detail{invalid("body", "true")}},
		{"body an object", `{"to":"15550001111","text":{"body":{"a":1}}}`, 400, []detail{invalid("body", `{"a":1}`)}},
		{"body whitespace only", `{"to":"15550001111","text":{"body":" \n\t\u00a0"}}`, 400, []detail{mandatoryFor("body", "text")}},
		{"body too long", `{"to":"15550001111","text":{"body":"` + long + `"}}`, 400, []detail{tooLong}},
		{"several value errors together", `{"to":"x","ttl":"soon","context":[],"text":{"body":"` + long + `"}}`, 400,
			[]detail{invalid("to", "x"), invalid("ttl", "soon"), invalid("context", "[]"), tooLong}},
		{"template still gets the value checks", `{"to":"x","type":"template","template":{"namespace":"n","name":"t"}}`, 400, []detail{invalid("to", "x")}},
		{"group before ttl", `{"to":"1","recipient_type":"group","ttl":"P1Y","type":"template","template":{"namespace":"n"}}`, 400,
			[]detail{groups, invalid("ttl", "P1Y")}},
		{"type object after to, ttl and context", `{"to":"x","ttl":"P1Y","context":{},"type":"location","location":{"latitude":91}}`, 400,
			[]detail{invalid("to", "x"), invalid("ttl", "P1Y"), missing("context.message_id"), invalid("location.latitude", "91"), missing("location.longitude")}},
	}
	runDecodeCases(t, cases)
}

// decodeCase is one row of a Decode table: status 0 means accepted.
type decodeCase struct {
	name   string
	body   string
	status int
	want   []detail
}

func runDecodeCases(t *testing.T, cases []decodeCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg, err := Decode(mustParams(t, c.body))
			if c.status == 0 {
				if err != nil {
					t.Fatalf("unexpected error %d %+v", err.Status, err.Details)
				}
				if msg == nil {
					t.Fatal("nil message without an error")
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; want %d %v", c.status, c.want)
			}
			if msg != nil {
				t.Errorf("a message came back with the error")
			}
			checkError(t, err, c.status, c.want)
		})
	}
}

func checkError(t *testing.T, err *apierr.Error, status int, want []detail) {
	t.Helper()
	if err.Status != status {
		t.Errorf("status %d, want %d", err.Status, status)
	}
	got := make([]detail, len(err.Details))
	for i, d := range err.Details {
		got[i] = detail{d.Code, d.Details}
		if entry, _ := apierr.Lookup(d.Code); d.Title != entry.Title {
			t.Errorf("detail %d: title %q, want %q", i, d.Title, entry.Title)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("errors\n got %v\nwant %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("error %d\n got %v\nwant %v", i, got[i], want[i])
		}
	}
}

func TestDecodeTextMessage(t *testing.T) {
	body := `{"to":"+1 (555) 000-1111","type":"text","recipient_type":"individual","preview_url":true,"render_mentions":false,
		"ttl":"P1D","context":{"message_id":"ABGGFVUAAREfAhBKfBnisF2PMxF6LF6dC29B"},
		"text":{"body":"Your table <b>&</b> is booked: https://example.org/b/8841 ✓","unknown":1},"extra":{"ignored":true}}`
	params := mustParams(t, body)
	msg, err := Decode(params)
	if err != nil {
		t.Fatalf("Decode: %d %+v", err.Status, err.Details)
	}
	want := Outbound{
		To: "+1 (555) 000-1111", WaID: "15550001111", Type: "text", RecipientType: "individual",
		PreviewURL: true, TTL: 24 * time.Hour, TTLSet: true,
	}
	if msg.To != want.To || msg.WaID != want.WaID || msg.Type != want.Type || msg.RecipientType != want.RecipientType ||
		msg.PreviewURL != want.PreviewURL || msg.RenderMentions || msg.TTL != want.TTL || msg.TTLSet != want.TTLSet {
		t.Errorf("message %+v", msg)
	}
	if msg.Text == nil || msg.Text.Body != "Your table <b>&</b> is booked: https://example.org/b/8841 ✓" {
		t.Errorf("text %+v", msg.Text)
	}
	if msg.Context == nil || msg.Context.MessageID != "ABGGFVUAAREfAhBKfBnisF2PMxF6LF6dC29B" {
		t.Errorf("context %+v", msg.Context)
	}
	if len(msg.Raw) != len(params) || string(msg.Raw["extra"]) != `{"ignored":true}` {
		t.Errorf("raw %v", msg.Raw)
	}
	params["to"] = json.RawMessage(`"changed"`)
	if string(msg.Raw["to"]) != `"+1 (555) 000-1111"` {
		t.Error("Raw shares the caller's map")
	}

	got, bodyErr := msg.Body()
	if bodyErr != nil {
		t.Fatal(bodyErr)
	}
	wantBody := `{"to":"15550001111","recipient_type":"individual","type":"text","preview_url":true,` +
		`"context":{"message_id":"ABGGFVUAAREfAhBKfBnisF2PMxF6LF6dC29B"},` +
		`"text":{"body":"Your table <b>&</b> is booked: https://example.org/b/8841 ✓"}}`
	if string(got) != wantBody {
		t.Errorf("Body()\n got %s\nwant %s", got, wantBody)
	}
}

func TestDecodeDefaults(t *testing.T) {
	msg, err := Decode(mustParams(t, `{"to":"15550001111","text":{"body":"hi"},"ttl":null}`))
	if err != nil {
		t.Fatalf("Decode: %+v", err.Details)
	}
	if msg.Type != TypeText || msg.RecipientType != RecipientIndividual || msg.PreviewURL || msg.RenderMentions ||
		msg.TTL != DefaultTTL || msg.TTLSet || msg.Context != nil {
		t.Errorf("defaults %+v", msg)
	}
	got, _ := msg.Body()
	if want := `{"to":"15550001111","recipient_type":"individual","type":"text","preview_url":false,"text":{"body":"hi"}}`; string(got) != want {
		t.Errorf("Body() = %s, want %s", got, want)
	}
}

func TestDecodeAcceptedVariants(t *testing.T) {
	cases := []struct {
		name, body string
		check      func(*Outbound) bool
	}{
		{"to as a JSON number", `{"to":15550001111,"text":{"body":"hi"}}`,
			func(m *Outbound) bool { return m.To == "15550001111" && m.WaID == "15550001111" }},
		{"to with 00 prefix", `{"to":"0044 20 7946 0958","text":{"body":"hi"}}`,
			func(m *Outbound) bool { return m.WaID == "442079460958" }},
		{"ttl in seconds", `{"to":"15550001111","ttl":"3600","text":{"body":"hi"}}`,
			func(m *Outbound) bool { return m.TTL == time.Hour && m.TTLSet }},
		{"body of exactly 4096 characters, multi-byte", `{"to":"15550001111","text":{"body":"` + strings.Repeat("é", MaxTextBodyChars) + `"}}`,
			func(m *Outbound) bool { return m.Text != nil && len(m.Text.Body) == 2*MaxTextBodyChars }},
		{"body with surrounding spaces kept", `{"to":"15550001111","text":{"body":"  hi  "}}`,
			func(m *Outbound) bool { return m.Text.Body == "  hi  " }},
		{"render_mentions true", `{"to":"15550001111","render_mentions":true,"text":{"body":"hi"}}`,
			func(m *Outbound) bool { return m.RenderMentions }},
		{"empty other type objects", `{"to":"15550001111","text":{"body":"hi"},"image":{},"audio":"","video":null,"hsm":[],"template":0}`,
			func(m *Outbound) bool { return m.Text.Body == "hi" }},
		{"body \"0\" is a body", `{"to":"15550001111","text":{"body":"0"}}`,
			func(m *Outbound) bool { return m.Text.Body == "0" }},
		{"template object kept for hydration", `{"to":"15550001111","type":"template","template":{"namespace":"n","name":"t","components":[]}}`,
			func(m *Outbound) bool {
				return string(m.Template) == `{"namespace":"n","name":"t","components":[]}` && m.Text == nil && m.Media == nil
			}},
		{"hsm object kept for hydration", `{"to":"15550001111","type":"hsm","hsm":{"namespace":"n","element_name":"e","localizable_params":[{"default":"x"}]}}`,
			func(m *Outbound) bool {
				return string(m.Template) == `{"namespace":"n","element_name":"e","localizable_params":[{"default":"x"}]}`
			}},
		{"no template object for other types", `{"to":"15550001111","text":{"body":"hi"},"template":0}`,
			func(m *Outbound) bool { return m.Template == nil }},
	}
	for _, c := range cases {
		msg, err := Decode(mustParams(t, c.body))
		if err != nil {
			t.Errorf("%s: %d %+v", c.name, err.Status, err.Details)
			continue
		}
		if !c.check(msg) {
			t.Errorf("%s: %+v", c.name, msg)
		}
	}
}

func TestDecodeEmptyAndNilParams(t *testing.T) {
	for _, p := range []map[string]json.RawMessage{nil, {}} {
		_, err := Decode(p)
		if err == nil {
			t.Fatal("no error for no parameters")
		}
		checkError(t, err, 400, []detail{missing("to"), mandatoryFor("text", "text"), mandatoryFor("body", "text")})
	}
}

func TestBodyForUnmodelledTypes(t *testing.T) {
	m := &Outbound{WaID: "15550001111", Type: TypeTemplate, RecipientType: RecipientIndividual,
		Raw: map[string]json.RawMessage{"template": json.RawMessage(`{ "namespace" : "n",
			"name": "t" }`)}}
	got, err := m.Body()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"to":"15550001111","recipient_type":"individual","type":"template","preview_url":false,"template":{"namespace":"n","name":"t"}}`; string(got) != want {
		t.Errorf("Body() = %s, want %s", got, want)
	}
	m.Raw = nil
	if _, err := m.Body(); err == nil {
		t.Error("Body() without a type object succeeded")
	}
	// A modelled type never falls back to the client's object.
	m = &Outbound{WaID: "15550001111", Type: TypeImage, Raw: map[string]json.RawMessage{"image": json.RawMessage(`{"id":"1"}`)}}
	if _, err := m.Body(); err == nil {
		t.Error("Body() of an image without its Media succeeded")
	}
}

func TestDecodeMarkRead(t *testing.T) {
	cases := []struct {
		body string
		want *detail
	}{
		{`{"status":"read"}`, nil},
		{`{"status":"read","extra":1}`, nil},
		{`{}`, &detail{1008, "Missing mandatory parameter 'status'"}},
		{`{"status":"delivered"}`, &detail{1009, "Parameter 'status' has invalid value 'delivered'"}},
		{`{"status":"READ"}`, &detail{1009, "Parameter 'status' has invalid value 'READ'"}},
		{`{"status":""}`, &detail{1009, "Parameter 'status' has invalid value ''"}},
		{`{"status":null}`, &detail{1009, "Parameter 'status' has invalid value 'null'"}},
		{`{"status":true}`, &detail{1009, "Parameter 'status' has invalid value 'true'"}},
	}
	for _, c := range cases {
		err := DecodeMarkRead(mustParams(t, c.body))
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %+v", c.body, err.Details)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error", c.body)
			continue
		}
		checkError(t, err, 400, []detail{*c.want})
	}
	if err := DecodeMarkRead(nil); err == nil || err.Code() != 1008 {
		t.Errorf("nil params: %v", err)
	}
}

func TestKnownTypes(t *testing.T) {
	types := KnownTypes()
	if len(types) != 12 || types[0] != TypeAudio || !IsKnownType(TypeReaction) || IsKnownType("voice") {
		t.Fatalf("KnownTypes() = %v", types)
	}
	types[0] = "changed"
	if KnownTypes()[0] != TypeAudio {
		t.Error("KnownTypes exposes the internal slice")
	}
}
