package template

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/apierr"
)

type detail struct {
	code int
	text string
}

func missing(path string) detail { return detail{1008, "Missing mandatory parameter '" + path + "'"} }
func invalid(path, v string) detail {
	return detail{1009, "Parameter '" + path + "' has invalid value '" + v + "'"}
}
func mandatoryFor(name, typ string) detail {
	return detail{1008, "Parameter '" + name + "' is mandatory for type '" + typ + "'"}
}

// send writes a template object for the fixture namespace.
func send(name, lang, components string) string {
	return `{"namespace":"` + ns + `","name":"` + name + `","language":{"policy":"deterministic","code":"` + lang + `"},"components":[` + components + `]}`
}

// Components of a correct order_shipped (en_US) send, to vary one at a time.
const (
	shipHeader = `{"type":"header","parameters":[{"type":"image","image":{"link":"https://img.example.org/box.png"}}]}`
	shipBody   = `{"type":"body","parameters":[{"type":"text","text":"Dana"},` +
		`{"type":"currency","currency":{"fallback_value":"$12.50","code":"USD","amount_1000":12500}},` +
		`{"type":"date_time","date_time":{"fallback_value":"March 3, 2024","day_of_week":7,"year":2024,"month":3,"day_of_month":3,"hour":9,"minute":30,"calendar":"GREGORIAN"}}]}`
	shipURL   = `{"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"8841"}]}`
	shipReply = `{"type":"button","sub_type":"quick_reply","index":1,"parameters":[{"type":"payload","payload":"STOP_UPDATES"}]}`
)

func ship(components ...string) string {
	return send("order_shipped", "en_US", strings.Join(components, ","))
}

// body is a body component with the given parameter objects.
func body(params ...string) string {
	return `{"type":"body","parameters":[` + strings.Join(params, ",") + `]}`
}

func text(s string) string { return `{"type":"text","text":` + quote(s) + `}` }

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// payment sends payment_due (two body parameters) with p as the first.
func payment(p string) string { return send("payment_due", "en", body(p, text("May 7"))) }

// pp is the path of parameter j of component i.
func pp(i, j int) string {
	return "template.components[" + string(rune('0'+i)) + "].parameters[" + string(rune('0'+j)) + "]"
}

type hydrateCase struct {
	name    string
	msgType string // "" means template
	obj     string
	status  int
	want    []detail
}

func TestHydrateErrors(t *testing.T) {
	long := strings.Repeat("a", MaxParamChars+1)
	runHydrateCases(t, []hydrateCase{
		// --- The request. ---
		{"not an object", "", `"order_shipped"`, 400, []detail{invalid("template", "order_shipped")}},
		{"unknown message type", "text", `{}`, 400, []detail{invalid("type", "text")}},
		{"2014 namespace missing", "", `{"name":"thanks","language":{"code":"en"}}`, 400,
			[]detail{{2014, "Parameter 'template.namespace' is missing or empty"}}},
		{"2014 namespace blank", "", `{"namespace":"  ","name":"thanks","language":{"code":"en"}}`, 400,
			[]detail{{2014, "Parameter 'template.namespace' is missing or empty"}}},
		{"2014 namespace blank (hsm)", "hsm", `{"namespace":" ","element_name":"thanks","language":{"code":"en"}}`, 400,
			[]detail{{2014, "Parameter 'hsm.namespace' is missing or empty"}}},
		{"hsm namespace missing is the Webapp's 1008", "hsm", `{"element_name":"thanks","language":{"code":"en"}}`, 400,
			[]detail{mandatoryFor("namespace", "hsm")}},
		{"namespace not a string", "", `{"namespace":5,"name":"thanks","language":{"code":"en"}}`, 400,
			[]detail{invalid("template.namespace", "5")}},
		{"name missing", "", `{"namespace":"` + ns + `","language":{"code":"en"}}`, 400, []detail{missing("template.name")}},
		{"name not a string", "", `{"namespace":"` + ns + `","name":["thanks"],"language":{"code":"en"}}`, 400,
			[]detail{invalid("template.name", `["thanks"]`)}},
		{"element_name missing", "hsm", `{"namespace":"` + ns + `","element_name":"","language":{"code":"en"}}`, 400,
			[]detail{mandatoryFor("element_name", "hsm")}},
		{"language missing", "", `{"namespace":"` + ns + `","name":"thanks"}`, 400, []detail{missing("template.language")}},
		{"language a string", "", `{"namespace":"` + ns + `","name":"thanks","language":"en"}`, 400, []detail{invalid("template.language", "en")}},
		{"language code missing", "", `{"namespace":"` + ns + `","name":"thanks","language":{"policy":"deterministic"}}`, 400,
			[]detail{missing("template.language.code")}},
		{"language code not a code", "", `{"namespace":"` + ns + `","name":"thanks","language":{"code":"english"}}`, 400,
			[]detail{invalid("template.language.code", "english")}},
		{"language code with a hyphen", "", `{"namespace":"` + ns + `","name":"thanks","language":{"code":"en-US"}}`, 400,
			[]detail{invalid("template.language.code", "en-US")}},
		{"language policy unknown", "", `{"namespace":"` + ns + `","name":"thanks","language":{"code":"en","policy":"strict"}}`, 400,
			[]detail{invalid("template.language.policy", "strict")}},
		{"request errors together", "", `{"namespace":"","name":7,"language":{"code":1,"policy":null}}`, 400,
			[]detail{{2014, "Parameter 'template.namespace' is missing or empty"}, invalid("template.name", "7"), invalid("template.language.code", "1")}},
		{"hsm legacy language invalid", "hsm", `{"namespace":"` + ns + `","element_name":"thanks","fallback_lg":"EN"}`, 400,
			[]detail{invalid("hsm.fallback_lg", "EN")}},
		{"hsm legacy locale invalid", "hsm", `{"namespace":"` + ns + `","element_name":"thanks","fallback_lg":"en","fallback_lc":"usa"}`, 400,
			[]detail{invalid("hsm.fallback_lc", "usa")}},

		// --- The lookup and the status. ---
		{"2001 unknown namespace", "", `{"namespace":"nope","name":"thanks","language":{"code":"en"}}`, 404,
			[]detail{{2001, "Template 'thanks' in language 'en' of namespace 'nope' does not exist: the account's templates are in namespaces '" + ns + "', '" + otherNS + "'"}}},
		{"2001 unknown name", "", send("nope", "en", ""), 404,
			[]detail{{2001, "Template 'nope' in language 'en' of namespace '" + ns + "' does not exist"}}},
		{"2003 language only in another namespace", "", send("thanks", "de", ""), 404,
			[]detail{{2003, "Template 'thanks' of namespace '" + ns + "' has no translation for language 'de'; it exists in: en"}}},
		{"2001 pending", "", send("pending_tpl", "en", ""), 404,
			[]detail{{2001, "Template 'pending_tpl' (en) in namespace '" + ns + "' is pending review and cannot be sent yet"}}},
		{"2001 other status", "", send("odd_status", "en", ""), 404,
			[]detail{{2001, "Template 'odd_status' (en) in namespace '" + ns + "' is not approved (status 'in_appeal')"}}},
		{"2002 fallback finds nothing", "", `{"namespace":"` + ns + `","name":"order_shipped","language":{"code":"fr_FR","policy":"fallback"}}`, 404,
			[]detail{{2002, "Template 'order_shipped' of namespace '" + ns + "' has no translation for language 'fr_FR' or another locale of it; it exists in: en, en_US, pt_BR"}}},
		{"2003 deterministic", "", send("order_shipped", "en_GB", ""), 404,
			[]detail{{2003, "Template 'order_shipped' of namespace '" + ns + "' has no translation for language 'en_GB'; it exists in: en, en_US, pt_BR"}}},
		{"2060 rejected", "", send("rejected_tpl", "en", ""), 400,
			[]detail{{2060, "Template 'rejected_tpl' (en) in namespace '" + ns + "' was rejected"}}},
		{"2061 paused", "", send("paused_tpl", "en", ""), 400,
			[]detail{{2061, "Template 'paused_tpl' (en) in namespace '" + ns + "' is paused"}}},
		{"2062 disabled", "hsm", `{"namespace":"` + ns + `","element_name":"disabled_tpl","language":{"code":"en","policy":"deterministic"}}`, 400,
			[]detail{{2062, "Template 'disabled_tpl' (en) in namespace '" + ns + "' is disabled"}}},

		// --- Counts (2000) and missing components (2009). ---
		{"2000 body short", "", ship(shipHeader, body(text("Dana")), shipURL), 400,
			[]detail{{2000, "body: 1 parameter supplied, template expects 3"}}},
		{"2000 body left out", "", ship(shipHeader, shipURL), 400,
			[]detail{{2000, "body: 0 parameters supplied, template expects 3"}}},
		{"2000 parameters for a static body", "", send("thanks", "en", body(text("x"))), 400,
			[]detail{{2000, "body: 1 parameter supplied, template expects 0"}}},
		{"2000 two header images", "", ship(`{"type":"header","parameters":[{"type":"image","image":{"id":"`+mediaID+`"}},{"type":"image","image":{"id":"`+mediaID+`"}}]}`, shipBody, shipURL), 400,
			[]detail{{2000, "header: 2 parameters supplied, template expects 1"}}},
		{"2000 header the template does not have", "", send("thanks", "en", `{"type":"header","parameters":[`+text("x")+`]}`), 400,
			[]detail{{2000, "header: 1 parameter supplied, template expects 0"}}},
		{"2000 footer parameters", "", send("thanks", "en", `{"type":"footer","parameters":[`+text("x")+`]}`), 400,
			[]detail{{2000, "footer: 1 parameter supplied, template expects 0"}}},
		{"2000 static url button", "", send("welcome", "en", `{"type":"header","parameters":[`+text("Dana")+`]},`+body(text("Acme"))+
			`,{"type":"button","sub_type":"url","index":3,"parameters":[`+text("x")+`]}`), 400,
			[]detail{{2000, "button 3 (url): 1 parameter supplied, template expects 0"}}},
		{"2000 two payloads", "", ship(shipHeader, shipBody, shipURL,
			`{"type":"button","sub_type":"quick_reply","index":"1","parameters":[{"type":"payload","payload":"a"},{"type":"payload","payload":"b"}]}`), 400,
			[]detail{{2000, "button 1 (quick_reply): 2 parameters supplied, template expects 1"}}},
		{"2009 header left out", "", ship(shipBody, shipURL), 400,
			[]detail{{2009, "header: the template's image header needs 1 parameter; the send has no header component"}}},
		{"2009 header component without parameters", "", ship(`{"type":"header"}`, shipBody, shipURL), 400,
			[]detail{{2009, "header: the template needs 1 parameter here; the component has none"}}},
		{"2009 text header left out", "", send("welcome", "en", body(text("Acme"))), 400,
			[]detail{{2009, "header: the template's text header needs 1 parameter; the send has no header component"}}},
		{"2009 url suffix left out", "", ship(shipHeader, shipBody), 400,
			[]detail{{2009, "button 0 (url): the template's url button needs 1 parameter; the send has no button component with index 0"}}},
		{"2009 quick reply without payload", "", ship(shipHeader, shipBody, shipURL, `{"type":"button","sub_type":"quick_reply","index":"1","parameters":[]}`), 400,
			[]detail{{2009, "button 1 (quick_reply): the template needs 1 parameter here; the component has none"}}},
		{"2009 copy code left out", "", send("coupon", "en", body(text("SAVE10"))+`,{"type":"button","sub_type":"url","index":"1","parameters":[`+text("SAVE10")+`]}`), 400,
			[]detail{{2009, "button 0 (copy_code): the template's copy_code button needs 1 parameter; the send has no button component with index 0"}}},
		{"2009 everything left out, in the definition's order", "", ship(), 400,
			[]detail{{2009, "header: the template's image header needs 1 parameter; the send has no header component"},
				{2000, "body: 0 parameters supplied, template expects 3"},
				{2009, "button 0 (url): the template's url button needs 1 parameter; the send has no button component with index 0"}}},
		{"2009 hsm of a template with an image header", "hsm", `{"namespace":"` + ns + `","element_name":"order_shipped","language":{"code":"en_US","policy":"deterministic"},` +
			`"localizable_params":[{"default":"a"},{"default":"b"},{"default":"c"}]}`, 400,
			[]detail{{2009, "header: the template's image header needs 1 parameter, which an hsm message cannot supply; send it as type 'template'"},
				{2009, "button 0 (url): the template's url button needs 1 parameter, which an hsm message cannot supply; send it as type 'template'"}}},

		// --- Parameters: length (2004), policies (2006, 2007). ---
		{"2004 body parameter", "", payment(text(long)), 400,
			[]detail{{2004, "Parameter '" + pp(0, 0) + ".text' is longer than 1024 characters"}}},
		{"2004 header parameter", "", send("welcome", "en", `{"type":"header","parameters":[`+text(strings.Repeat("h", 61))+`]},`+body(text("Acme"))), 400,
			[]detail{{2004, "Parameter '" + pp(0, 0) + ".text' is longer than 60 characters"}}},
		{"2004 currency fallback_value", "", payment(`{"type":"currency","currency":{"fallback_value":"` + long + `","code":"USD","amount_1000":1}}`), 400,
			[]detail{{2004, "Parameter '" + pp(0, 0) + ".currency.fallback_value' is longer than 1024 characters"}}},
		{"2004 payload", "", ship(shipHeader, shipBody, shipURL, `{"type":"button","sub_type":"quick_reply","index":"1","parameters":[{"type":"payload","payload":"`+strings.Repeat("p", 257)+`"}]}`), 400,
			[]detail{{2004, "Parameter '" + pp(3, 0) + ".payload' is longer than 256 characters"}}},
		{"2004 coupon code", "", send("coupon", "en", body(text("x"))+`,{"type":"button","sub_type":"copy_code","index":0,"parameters":[{"type":"coupon_code","coupon_code":"SIXTEEN_CHARS_XX"}]},`+
			`{"type":"button","sub_type":"url","index":1,"parameters":[`+text("x")+`]}`), 400,
			[]detail{{2004, "Parameter '" + pp(1, 0) + ".coupon_code' is longer than 15 characters"}}},
		{"2006 newline", "", payment(text("two\nlines")), 400,
			[]detail{{2006, "Parameter '" + pp(0, 0) + ".text' must not contain line breaks, tabs or more than 4 consecutive spaces"}}},
		{"2006 tab", "", payment(text("a\tb")), 400,
			[]detail{{2006, "Parameter '" + pp(0, 0) + ".text' must not contain line breaks, tabs or more than 4 consecutive spaces"}}},
		{"2006 five spaces", "", payment(text("a     b")), 400,
			[]detail{{2006, "Parameter '" + pp(0, 0) + ".text' must not contain line breaks, tabs or more than 4 consecutive spaces"}}},
		{"2006 in a date_time fallback_value", "", payment(`{"type":"date_time","date_time":{"fallback_value":"May\r\n7"}}`), 400,
			[]detail{{2006, "Parameter '" + pp(0, 0) + ".date_time.fallback_value' must not contain line breaks, tabs or more than 4 consecutive spaces"}}},
		{"2007 control character", "", payment(text("a\u0000b")), 400,
			[]detail{{2007, "Parameter '" + pp(0, 0) + ".text' must not contain control or text-direction characters"}}},
		{"2007 direction override", "", payment(text("abc\u202edcba")), 400,
			[]detail{{2007, "Parameter '" + pp(0, 0) + ".text' must not contain control or text-direction characters"}}},
		{"2007 only formatting characters", "", payment(text("* _ ~")), 400,
			[]detail{{2007, "Parameter '" + pp(0, 0) + ".text' must not consist only of formatting characters (* _ ~ `)"}}},

		// --- Parameter types (2008, 2012) and header structure (2036). ---
		{"2008 audio header", "", ship(`{"type":"header","parameters":[{"type":"audio","audio":{"id":"`+mediaID+`"}}]}`, shipBody, shipURL), 400,
			[]detail{{2008, "Parameter '" + pp(0, 0) + ".type' is 'audio': templates carry only image, video and document media"}}},
		{"2012 video for an image header", "", ship(`{"type":"header","parameters":[{"type":"video","video":{"id":"`+mediaID+`"}}]}`, shipBody, shipURL), 400,
			[]detail{{2012, "Parameter '" + pp(0, 0) + ".type' is 'video': the image header takes image"}}},
		{"2012 currency for an image header", "", ship(`{"type":"header","parameters":[{"type":"currency","currency":{"fallback_value":"$1","code":"USD","amount_1000":1000}}]}`, shipBody, shipURL), 400,
			[]detail{{2012, "Parameter '" + pp(0, 0) + ".type' is 'currency': the image header takes image"}}},
		{"2012 image in the body", "", payment(`{"type":"image","image":{"id":"` + mediaID + `"}}`), 400,
			[]detail{{2012, "Parameter '" + pp(0, 0) + ".type' is 'image': the body takes text, currency or date_time"}}},
		{"2012 image for a text header", "", send("welcome", "en", `{"type":"header","parameters":[{"type":"image","image":{"id":"`+mediaID+`"}}]},`+body(text("Acme"))), 400,
			[]detail{{2012, "Parameter '" + pp(0, 0) + ".type' is 'image': the text header takes text, currency or date_time"}}},
		{"2012 text for a quick reply", "", ship(shipHeader, shipBody, shipURL, `{"type":"button","sub_type":"quick_reply","index":"1","parameters":[`+text("STOP")+`]}`), 400,
			[]detail{{2012, "Parameter '" + pp(3, 0) + ".type' is 'text': a quick_reply button takes payload"}}},
		{"2012 payload in the body", "", payment(`{"type":"payload","payload":"x"}`), 400,
			[]detail{{2012, "Parameter '" + pp(0, 0) + ".type' is 'payload': the body takes text, currency or date_time"}}},
		{"2036 image parameter without its image", "", ship(`{"type":"header","parameters":[{"type":"image","link":"https://img.example.org/box.png"}]}`, shipBody, shipURL), 400,
			[]detail{{2036, "Parameter '" + pp(0, 0) + ".image' must be the image object of the header"}}},
		{"2036 location not an object", "", send("store_location", "en", `{"type":"header","parameters":[{"type":"location","location":"51.5,-0.1"}]}`), 400,
			[]detail{{2036, "Parameter '" + pp(0, 0) + ".location' must be the location object of the header"}}},

		// --- Rendering (2005, 2010, 2011). ---
		{"2005 body too long once hydrated", "", send("long_body", "en", body(text(strings.Repeat("y", 30)))), 400,
			[]detail{{2005, "body: the hydrated text has 1030 characters, more than 1024"}}},
		{"2005 header too long once hydrated", "", send("welcome", "en", `{"type":"header","parameters":[`+text(strings.Repeat("h", 60))+`]},`+body(text("Acme"))), 400,
			[]detail{{2005, "header: the hydrated text has 66 characters, more than 60"}}},
		{"2010 suffix makes an invalid URL", "", ship(shipHeader, shipBody, `{"type":"button","sub_type":"url","index":"0","parameters":[`+text("88 41")+`]}`), 400,
			[]detail{{2010, "button 0 (url): the hydrated URL 'https://example.org/t/88 41' is not a valid https URL on the template's host"}}},
		{"2010 suffix would choose the host", "", send("open_host", "en", `{"type":"button","sub_type":"url","index":"0","parameters":[`+text(".evil.example/x")+`]}`), 400,
			[]detail{{2010, "button 0 (url): the hydrated URL 'https://example.org.evil.example/x' is not a valid https URL on the template's host"}}},
		{"2010 plain http in a definition", "", send("plain_http", "en", ""), 400,
			[]detail{{2010, "button 0 (url): the hydrated URL 'http://example.org/x' is not a valid https URL on the template's host"}}},
		{"2011 phone number of a definition", "", send("bad_phone", "en", ""), 400,
			[]detail{{2011, "button 0 (phone_number): the template's phone number '5550100' is not an E.164 number (+ and 8 to 15 digits)"}}},
	})
}

func runHydrateCases(t *testing.T, cases []hydrateCase) {
	t.Helper()
	c := fixtureCatalogue(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msgType := tc.msgType
			if msgType == "" {
				msgType = "template"
			}
			r, err := c.Hydrate(msgType, json.RawMessage(tc.obj))
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("unexpected error %d %+v", err.Status, err.Details)
				}
				if r == nil {
					t.Fatal("nil result without an error")
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; want %d %v", tc.status, tc.want)
			}
			if r != nil {
				t.Error("a result came back with the error")
			}
			checkError(t, err, tc.status, tc.want)
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
		if entry, known := apierr.Lookup(d.Code); !known || d.Title != entry.Title {
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
