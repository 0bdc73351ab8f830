package template

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/message"
)

// hydrateSeeds are sends against the fixture catalogue, right and wrong.
func hydrateSeeds() []string {
	return []string{
		ship(shipHeader, shipBody, shipURL, shipReply),
		ship(shipURL, shipBody),
		ship(`{"type":"header","parameters":[{"type":"video","video":{"id":"x","caption":"c"}}]}`, shipBody, shipURL, shipURL),
		send("welcome", "en", `{"type":"header","parameters":[{"type":"text","text":"Dana"}]},`+body(text("{{1}}"))+
			`,{"type":"button","sub_type":"quick_reply","index":0,"parameters":[{"type":"payload","payload":"y"}]}`),
		send("store_location", "en", `{"type":"header","parameters":[{"type":"location","location":{"latitude":"1.5","longitude":2}}]}`),
		send("invoice", "en", `{"type":"header","parameters":[{"type":"document","document":{"link":"https://x.example/a.pdf","provider":{"name":"p"},"filename":"a.pdf"}}]}`),
		send("coupon", "en", body(text("X"))+`,{"type":"button","sub_type":"copy_code","index":"0","parameters":[{"type":"coupon_code","coupon_code":"SAVE10"}]},`+
			`{"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"x y"}]}`),
		payment(`{"type":"date_time","date_time":{"fallback_value":"x","timestamp":1,"year":2024,"calendar":"SOLAR_HIJRI"}}`),
		payment(`{"type":"currency","currency":{"fallback_value":"$1","code":"USD","amount_1000":"-5"}}`),
		send("long_body", "en", body(text(strings.Repeat("y", 30)))),
		send("open_host", "en", `{"type":"button","sub_type":"url","index":0,"parameters":[{"type":"text","text":"@evil.example"}]}`),
		`{"namespace":"` + ns + `","name":"order_shipped","language":{"code":"pt","policy":"fallback"},"components":null}`,
		`{"namespace":"` + ns + `","element_name":"payment_due","language":{"code":"en","policy":"deterministic"},"localizable_params":[` +
			`{"default":"$30.00","currency":{"currency_code":"USD","amount_1000":30000}},{"default":"Tue","date_time":{"unix_epoch":{"timestamp":1}}}]}`,
		`{"namespace":"` + ns + `","element_name":"payment_due","fallback_lg":"en","fallback_lc":"GB","localizable_params":[{"default":"a"},{"default":"b","date_time":{"component":{"year":1}}}]}`,
		`{"namespace":" ","name":null,"language":"en","components":"x"}`,
		`{}`, `[]`, `null`, `"x"`,
	}
}

// FuzzHydrate: no send may panic Hydrate; an error is well formed and
// never a server error; a result respects the template limits and is the
// same every time.
func FuzzHydrate(f *testing.F) {
	for _, s := range hydrateSeeds() {
		f.Add(false, []byte(s))
		f.Add(true, []byte(s))
	}
	c := fixtureCatalogue(f)
	f.Fuzz(func(t *testing.T, hsm bool, obj []byte) {
		msgType := "template"
		if hsm {
			msgType = "hsm"
		}
		r, err := c.Hydrate(msgType, obj)
		if err != nil {
			if r != nil {
				t.Fatal("a result and an error")
			}
			checkWellFormed(t, err)
			if err.Status != 400 && err.Status != 404 {
				t.Fatalf("status %d", err.Status)
			}
			return
		}
		checkRendered(t, r)
		again, err := c.Hydrate(msgType, obj)
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("not deterministic: %+v %v", again, err)
		}
	})
}

func checkWellFormed(t *testing.T, err *apierr.Error) {
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
	if last, _ := apierr.Lookup(err.Code()); err.Status != last.Status {
		t.Fatalf("status %d for %d", err.Status, err.Code())
	}
}

func checkRendered(t *testing.T, r *Rendered) {
	t.Helper()
	d := r.Definition
	if d == nil || d.Status != StatusApproved || r.Language != d.Language {
		t.Fatalf("definition %+v", d)
	}
	if chars(r.Body) > MaxBodyChars || r.Footer != d.Footer {
		t.Fatalf("body %d characters, footer %q", chars(r.Body), r.Footer)
	}
	if (r.Header == nil) != (d.Header == nil) {
		t.Fatalf("header %+v for %+v", r.Header, d.Header)
	}
	if h := r.Header; h != nil {
		m := h.Media
		switch h.Format {
		case FormatText:
			if chars(h.Text) > MaxHeaderTextChars || m != nil || h.Location != nil {
				t.Fatalf("text header %+v", h)
			}
		case FormatLocation:
			if l := h.Location; l == nil || l.Latitude < -90 || l.Latitude > 90 || l.Longitude < -180 || l.Longitude > 180 {
				t.Fatalf("location header %+v", l)
			}
		default:
			if m == nil || m.Kind != h.Format || (m.ID == "") == (m.Link == "") || m.ID != "" && !message.IsMediaID(m.ID) ||
				m.Link != "" && !message.IsMediaLink(m.Link) || m.Caption != "" {
				t.Fatalf("media header %+v", m)
			}
		}
	}
	if len(r.Buttons) != len(d.Buttons) || len(r.Buttons) > MaxButtons {
		t.Fatalf("%d buttons for %d", len(r.Buttons), len(d.Buttons))
	}
	for i, b := range r.Buttons {
		if b.Type != d.Buttons[i].Type || chars(b.Text) > MaxButtonTextChars || chars(b.Payload) > MaxPayloadChars ||
			chars(b.Code) > MaxCouponChars || b.Type == ButtonURL && (chars(b.URL) > MaxURLChars || !validLink(b.URL)) {
			t.Fatalf("button %d %+v", i, b)
		}
	}
}

// FuzzParseDefinition: no input may panic ParseDefinition; errors are
// well formed; a definition parses again from its Raw to itself, and a
// send that fills every placeholder hydrates.
func FuzzParseDefinition(f *testing.F) {
	for _, s := range fixtureDefinitions {
		f.Add([]byte(s), ns)
	}
	for _, s := range []string{
		`{"namespace":"n","name":"t","language":"en","category":"utility","components":[{"type":"BODY","text":"{{1}}"}]}`,
		`{"name":"t","language":"en","category":"utility","components":[{"type":"BODY","text":"{{1}} {{3}} {{x}} }}"},{"type":"FOOTER","text":"{{1"}]}`,
		`{"name":"t","language":"en","category":"x","status":"y","components":[{"type":"HEADER","format":"IMAGE","text":"t"},{"type":"BUTTONS","buttons":[` +
			`{"type":"URL","text":"a","url":"https://a.example{{1}}"},{"type":"COPY_CODE","example":[]},{"type":"PHONE_NUMBER","phone_number":"+0"}]}]}`,
		`{}`, `[]`, `"x"`,
	} {
		f.Add([]byte(s), "")
	}
	f.Fuzz(func(t *testing.T, raw []byte, namespace string) {
		def, err := ParseDefinition(raw, namespace)
		if err != nil {
			checkWellFormed(t, err)
			if err.Status != 400 || def.Raw != nil {
				t.Fatalf("status %d, definition %+v", err.Status, def)
			}
			return
		}
		if !json.Valid(def.Raw) || chars(def.Body) > MaxBodyChars || len(def.Buttons) > MaxButtons ||
			def.Header != nil && chars(def.Header.Text) > MaxHeaderTextChars {
			t.Fatalf("definition %+v", def)
		}
		again, err := ParseDefinition(def.Raw, def.Namespace)
		if err != nil || !reflect.DeepEqual(again, def) {
			t.Fatalf("Raw %s does not parse back: %+v %v", def.Raw, again, err)
		}
		obj := fillingSend(def)
		r, err := NewCatalogue([]Definition{def}).Hydrate("template", obj)
		if want := statusCodes[def.Status]; want != 0 {
			if err == nil || err.Code() != want {
				t.Fatalf("status %s: %v", def.Status, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("send %s: %+v", obj, err.Details)
		}
		checkRendered(t, r)
	})
}

var statusCodes = map[string]int{StatusPaused: 2061, StatusDisabled: 2062, StatusRejected: 2060, StatusPending: 2001}

// fillingSend writes a send that gives def every parameter it needs.
func fillingSend(def Definition) json.RawMessage {
	texts := func(n int) string {
		return strings.TrimSuffix(strings.Repeat(`{"type":"text","text":"x"},`, n), ",")
	}
	var components []string
	if h := def.Header; h != nil {
		switch h.Format {
		case FormatText:
			components = append(components, `{"type":"header","parameters":[`+texts(compile(h.Text).params)+`]}`)
		case FormatLocation:
			components = append(components, `{"type":"header","parameters":[{"type":"location","location":{"latitude":1,"longitude":2}}]}`)
		default:
			components = append(components, `{"type":"header","parameters":[{"type":"`+h.Format+`","`+h.Format+`":{"id":"`+mediaID+`"}}]}`)
		}
	}
	components = append(components, `{"type":"body","parameters":[`+texts(compile(def.Body).params)+`]}`)
	for i, b := range def.Buttons {
		index := strconv.Itoa(i)
		switch {
		case b.Type == ButtonURL && compile(b.URL).params > 0:
			components = append(components, `{"type":"button","sub_type":"url","index":`+index+`,"parameters":[`+texts(1)+`]}`)
		case b.Type == ButtonCopyCode:
			components = append(components, `{"type":"button","sub_type":"copy_code","index":`+index+`,"parameters":[{"type":"coupon_code","coupon_code":"C"}]}`)
		}
	}
	obj := map[string]any{"namespace": def.Namespace, "name": def.Name, "language": map[string]string{"code": def.Language},
		"components": json.RawMessage("[" + strings.Join(components, ",") + "]")}
	return mustJSON(obj)
}
