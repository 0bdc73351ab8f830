package template

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseDefinitionGolden(t *testing.T) {
	raw := `{"id":"1234","name":"order_shipped","language":"en_US","category":"Utility","status":"approved","parameter_format":"POSITIONAL",
		"components":[
			{"type":"buttons","buttons":[{"type":"url","text":"Track","url":"https://example.org/t/{{1}}"},{"type":"QUICK_REPLY","text":"Stop"},
				{"type":"QUICK_REPLY","text":"More"},{"type":"PHONE_NUMBER","text":"Call us","phone_number":"+15550100"},{"type":"COPY_CODE","example":["SAVE10"]}]},
			{"type":"FOOTER","text":"Acme <Stores>"},
			{"type":"BODY","text":"Hi {{1}}, your order {{2}} ships {{3}}; thanks {{1}}!","example":{"body_text":[["a","b","c"]]}},
			{"type":"Header","format":"text","text":"Order {{1}}"}]}`
	def, err := ParseDefinition(json.RawMessage(raw), ns)
	if err != nil {
		t.Fatalf("%+v", err.Details)
	}
	want := Definition{Namespace: ns, Name: "order_shipped", Language: "en_US", Category: "utility", Status: "approved",
		Header: &Header{Format: "text", Text: "Order {{1}}"},
		Body:   "Hi {{1}}, your order {{2}} ships {{3}}; thanks {{1}}!", Footer: "Acme <Stores>",
		Buttons: []Button{{Type: "url", Text: "Track", URL: "https://example.org/t/{{1}}"}, {Type: "quick_reply", Text: "Stop"},
			{Type: "quick_reply", Text: "More"}, {Type: "phone_number", Text: "Call us", PhoneNumber: "+15550100"},
			{Type: "copy_code", Example: "SAVE10"}}}
	wantRaw := `{"name":"order_shipped","language":"en_US","category":"UTILITY","status":"APPROVED","components":[` +
		`{"type":"HEADER","format":"TEXT","text":"Order {{1}}"},` +
		`{"type":"BODY","text":"Hi {{1}}, your order {{2}} ships {{3}}; thanks {{1}}!"},` +
		`{"type":"FOOTER","text":"Acme <Stores>"},` +
		`{"type":"BUTTONS","buttons":[{"type":"URL","text":"Track","url":"https://example.org/t/{{1}}"},{"type":"QUICK_REPLY","text":"Stop"},` +
		`{"type":"QUICK_REPLY","text":"More"},{"type":"PHONE_NUMBER","text":"Call us","phone_number":"+15550100"},{"type":"COPY_CODE","example":"SAVE10"}]}]}`
	if string(def.Raw) != wantRaw {
		t.Errorf("Raw\n got %s\nwant %s", def.Raw, wantRaw)
	}
	got := def
	got.Raw = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("definition\n got %+v\nwant %+v", got, want)
	}
	again, err := ParseDefinition(def.Raw, ns)
	if err != nil || !reflect.DeepEqual(again, def) {
		t.Errorf("Raw does not parse to the same definition: %+v %v", again, err)
	}
}

func TestParseDefinitionDefaults(t *testing.T) {
	def, err := ParseDefinition(json.RawMessage(`{"namespace":"ns_1","name":"t","language":"zh_CN","category":"authentication","components":[{"type":"body","text":"{{1}} is your code."}]}`), "")
	if err != nil {
		t.Fatalf("%+v", err.Details)
	}
	if def.Namespace != "ns_1" || def.Status != StatusApproved || def.Header != nil || def.Footer != "" || def.Buttons != nil {
		t.Errorf("%+v", def)
	}
	if want := `{"name":"t","language":"zh_CN","category":"AUTHENTICATION","status":"APPROVED","components":[{"type":"BODY","text":"{{1}} is your code."}]}`; string(def.Raw) != want {
		t.Errorf("Raw %s", def.Raw)
	}
	// The argument wins over the definition's own namespace.
	def, err = ParseDefinition(json.RawMessage(`{"namespace":"ns_1","name":"t","language":"es_MX","category":"utility","components":[{"type":"BODY","text":"x"}]}`), "ns_2")
	if err != nil || def.Namespace != "ns_2" {
		t.Errorf("%+v %v", def, err)
	}
}

func TestParseDefinitionErrors(t *testing.T) {
	def := func(components string) string {
		return `{"name":"t","language":"en","category":"utility","components":[` + components + `]}`
	}
	bodyOK := `{"type":"BODY","text":"b"}`
	buttons := func(items ...string) string {
		return def(bodyOK + `,{"type":"BUTTONS","buttons":[` + strings.Join(items, ",") + `]}`)
	}
	qr := `{"type":"QUICK_REPLY","text":"Yes"}`
	url := `{"type":"URL","text":"Go","url":"https://example.org/{{1}}"}`
	phone := `{"type":"PHONE_NUMBER","text":"Call","phone_number":"+15550100"}`
	placeholder := func(path, found string) detail {
		return detail{1009, "Parameter '" + path + "' has a malformed placeholder '" + found + "'; placeholders are written {{1}}, {{2}}, ..."}
	}
	gaps := func(path, found string) detail {
		return detail{1009, "Parameter '" + path + "' must number its placeholders from {{1}} without gaps; it has " + found}
	}
	const b0 = "components[1].buttons[0]"
	cases := []struct {
		name, raw, namespace string
		want                 []detail
	}{
		{"not an object", `["t"]`, ns, []detail{invalid("definition", `["t"]`)}},
		{"everything missing", `{}`, "", []detail{missing("namespace"), missing("name"), missing("language"), missing("category"), missing("components")}},
		{"namespace with a space", def(bodyOK), "my ns", []detail{invalid("namespace", "my ns")}},
		{"namespace too long", def(bodyOK), strings.Repeat("n", 129), []detail{invalid("namespace", strings.Repeat("n", 129))}},
		{"name with capitals", `{"name":"Order-Shipped","language":"en","category":"utility","components":[` + bodyOK + `]}`, ns,
			[]detail{invalid("name", "Order-Shipped")}},
		{"name too long", `{"name":"` + strings.Repeat("n", 513) + `","language":"en","category":"utility","components":[` + bodyOK + `]}`, ns,
			[]detail{invalid("name", strings.Repeat("n", 513))}},
		{"language forms", `{"name":"t","language":"en-US","category":"marketing","components":[` + bodyOK + `]}`, ns, []detail{invalid("language", "en-US")}},
		{"language in capitals", `{"name":"t","language":"EN","category":"marketing","components":[` + bodyOK + `]}`, ns, []detail{invalid("language", "EN")}},
		{"category unknown", `{"name":"t","language":"en","category":"TRANSACTIONAL","components":[` + bodyOK + `]}`, ns, []detail{invalid("category", "TRANSACTIONAL")}},
		{"status unknown", `{"name":"t","language":"en","category":"utility","status":"IN_APPEAL","components":[` + bodyOK + `]}`, ns, []detail{invalid("status", "IN_APPEAL")}},
		{"status not a string", `{"name":"t","language":"en","category":"utility","status":1,"components":[` + bodyOK + `]}`, ns, []detail{invalid("status", "1")}},

		{"components not a list", `{"name":"t","language":"en","category":"utility","components":{}}`, ns, []detail{invalid("components", "{}")}},
		{"no body", def(``), ns, []detail{{1008, "Parameter 'components' must have exactly one BODY component; it has none"}}},
		{"component not an object", def(`"BODY"`), ns,
			[]detail{invalid("components[0]", "BODY"), {1008, "Parameter 'components' must have exactly one BODY component; it has none"}}},
		{"component type missing", def(bodyOK + `,{"text":"x"}`), ns, []detail{missing("components[1].type")}},
		{"component type unknown", def(bodyOK + `,{"type":"CAROUSEL"}`), ns, []detail{invalid("components[1].type", "CAROUSEL")}},
		{"two bodies", def(bodyOK + `,` + bodyOK), ns, []detail{{1009, "Parameter 'components' must have at most one BODY component; it has more"}}},
		{"body text missing", def(`{"type":"BODY"}`), ns, []detail{missing("components[0].text")}},
		{"body too long", def(`{"type":"BODY","text":"` + strings.Repeat("b", 1025) + `"}`), ns,
			[]detail{{1009, "Parameter 'components[0].text' is longer than 1024 characters"}}},
		{"body with a gap", def(`{"type":"BODY","text":"{{1}} and {{3}}"}`), ns, []detail{gaps("components[0].text", "{{1}}, {{3}}")}},
		{"body from {{2}}", def(`{"type":"BODY","text":"{{2}} {{3}}"}`), ns, []detail{gaps("components[0].text", "{{2}}, {{3}}")}},
		{"body with a named placeholder", def(`{"type":"BODY","text":"Hi {{first_name}}"}`), ns, []detail{placeholder("components[0].text", "{{first_name}}")}},
		{"body with {{01}}", def(`{"type":"BODY","text":"Hi {{01}}"}`), ns, []detail{placeholder("components[0].text", "{{01}}")}},
		{"body with {{0}}", def(`{"type":"BODY","text":"Hi {{0}}"}`), ns, []detail{placeholder("components[0].text", "{{0}}")}},
		{"body with a stray }}", def(`{"type":"BODY","text":"Hi }} {{1}}"}`), ns, []detail{placeholder("components[0].text", "}}")}},
		{"body with an unclosed {{", def(`{"type":"BODY","text":"Hi {{1"}`), ns, []detail{placeholder("components[0].text", "{{1")}},
		{"body with spaces in braces", def(`{"type":"BODY","text":"Hi {{ 1 }}"}`), ns, []detail{placeholder("components[0].text", "{{ 1 }}")}},

		{"header format missing", def(`{"type":"HEADER","text":"h"},` + bodyOK), ns, []detail{missing("components[0].format")}},
		{"header format unknown", def(`{"type":"HEADER","format":"GIF"},` + bodyOK), ns, []detail{invalid("components[0].format", "GIF")}},
		{"text header without text", def(`{"type":"HEADER","format":"TEXT"},` + bodyOK), ns, []detail{missing("components[0].text")}},
		{"header text too long", def(`{"type":"HEADER","format":"TEXT","text":"` + strings.Repeat("h", 61) + `"},` + bodyOK), ns,
			[]detail{{1009, "Parameter 'components[0].text' is longer than 60 characters"}}},
		{"header with two placeholders", def(`{"type":"HEADER","format":"TEXT","text":"{{1}} {{2}}"},` + bodyOK), ns,
			[]detail{{1009, "Parameter 'components[0].text' may have at most 1 placeholder; it has 2"}}},
		{"header with {{2}}", def(`{"type":"HEADER","format":"TEXT","text":"{{2}}"},` + bodyOK), ns, []detail{gaps("components[0].text", "{{2}}")}},
		{"image header with text", def(`{"type":"HEADER","format":"IMAGE","text":"x"},` + bodyOK), ns,
			[]detail{{1010, "Parameter 'components[0].text' is not required for format 'IMAGE'"}}},
		{"footer with a placeholder", def(bodyOK + `,{"type":"FOOTER","text":"f {{1}}"}`), ns,
			[]detail{{1009, "Parameter 'components[1].text' must not have placeholders"}}},
		{"footer too long", def(bodyOK + `,{"type":"FOOTER","text":"` + strings.Repeat("f", 61) + `"}`), ns,
			[]detail{{1009, "Parameter 'components[1].text' is longer than 60 characters"}}},

		{"buttons missing", def(bodyOK + `,{"type":"BUTTONS"}`), ns, []detail{missing("components[1].buttons")}},
		{"buttons empty", buttons(), ns, []detail{{1009, "Parameter 'components[1].buttons' must have 1 to 10 buttons; it has 0"}}},
		{"eleven buttons", buttons(strings.Split(strings.Repeat(qr+"\x00", 11), "\x00")[:11]...), ns,
			[]detail{{1009, "Parameter 'components[1].buttons' must have 1 to 10 buttons; it has 11"}}},
		{"button not an object", buttons(`"Yes"`), ns, []detail{invalid(b0, "Yes")}},
		{"button type missing", buttons(`{"text":"Yes"}`), ns, []detail{missing(b0 + ".type")}},
		{"button type unknown", buttons(`{"type":"OTP","text":"Copy"}`), ns, []detail{invalid(b0+".type", "OTP")}},
		{"button text missing", buttons(`{"type":"QUICK_REPLY"}`), ns, []detail{missing(b0 + ".text")}},
		{"button text too long", buttons(`{"type":"QUICK_REPLY","text":"` + strings.Repeat("q", 26) + `"}`), ns,
			[]detail{{1009, "Parameter '" + b0 + ".text' is longer than 25 characters"}}},
		{"button text with a placeholder", buttons(`{"type":"QUICK_REPLY","text":"Yes {{1}}"}`), ns,
			[]detail{{1009, "Parameter '" + b0 + ".text' must not have placeholders"}}},
		{"url missing", buttons(`{"type":"URL","text":"Go"}`), ns, []detail{missing(b0 + ".url")}},
		{"url http", buttons(`{"type":"URL","text":"Go","url":"http://example.org/"}`), ns, []detail{invalid(b0+".url", "http://example.org/")}},
		{"url relative", buttons(`{"type":"URL","text":"Go","url":"/t/{{1}}"}`), ns, []detail{invalid(b0+".url", "/t/{{1}}")}},
		{"url placeholder in the middle", buttons(`{"type":"URL","text":"Go","url":"https://example.org/{{1}}/x"}`), ns,
			[]detail{{1009, "Parameter '" + b0 + ".url' may have one placeholder, {{1}}, and only at its end"}}},
		{"url with {{2}}", buttons(`{"type":"URL","text":"Go","url":"https://example.org/{{2}}"}`), ns,
			[]detail{{1009, "Parameter '" + b0 + ".url' may have one placeholder, {{1}}, and only at its end"}}},
		{"url suffix could change the host", buttons(`{"type":"URL","text":"Go","url":"https://example.org{{1}}"}`), ns,
			[]detail{invalid(b0+".url", "https://example.org{{1}}")}},
		{"phone without +", buttons(`{"type":"PHONE_NUMBER","text":"Call","phone_number":"15550100"}`), ns,
			[]detail{invalid(b0+".phone_number", "15550100")}},
		{"phone too short", buttons(`{"type":"PHONE_NUMBER","text":"Call","phone_number":"+1555010"}`), ns,
			[]detail{invalid(b0+".phone_number", "+1555010")}},
		{"copy code example too long", buttons(`{"type":"COPY_CODE","example":"SIXTEEN_CHARS_XX"}`), ns,
			[]detail{{1009, "Parameter '" + b0 + ".example' is longer than 15 characters"}}},
		{"copy code example not a string", buttons(`{"type":"COPY_CODE","example":[1,2]}`), ns, []detail{invalid(b0+".example", "[1,2]")}},
		{"three url buttons", buttons(url, url, url), ns,
			[]detail{{1009, "Parameter 'components[1].buttons' must have at most 2 URL buttons; it has 3"}}},
		{"two phone buttons", buttons(phone, phone), ns,
			[]detail{{1009, "Parameter 'components[1].buttons' must have at most 1 PHONE_NUMBER button; it has 2"}}},
		{"quick replies split", buttons(qr, url, qr), ns,
			[]detail{{1009, "Parameter 'components[1].buttons' must keep its QUICK_REPLY buttons together, before or after the others"}}},
		{"several errors together", `{"name":"T","language":"en","category":"x","components":[{"type":"BODY","text":"{{2}}"},{"type":"FOOTER"}]}`, ns,
			[]detail{invalid("name", "T"), invalid("category", "x"), gaps("components[0].text", "{{2}}"), missing("components[1].text")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDefinition(json.RawMessage(tc.raw), tc.namespace)
			if err == nil {
				t.Fatalf("no error: %+v", got)
			}
			if got.Name != "" || got.Raw != nil {
				t.Errorf("a definition came back with the error: %+v", got)
			}
			checkError(t, err, 400, tc.want)
		})
	}
}

func TestParseDefinitionAccepts(t *testing.T) {
	for _, raw := range []string{
		`{"name":"a","language":"fil","category":"marketing","components":[{"type":"BODY","text":"{ single braces } are text"}]}`,
		`{"name":"b","language":"en","category":"marketing","components":[{"type":"BODY","text":"x"},{"type":"BUTTONS","buttons":[` +
			`{"type":"URL","text":"A","url":"https://a.example/"},{"type":"QUICK_REPLY","text":"1"},{"type":"QUICK_REPLY","text":"2"}]}]}`,
		`{"name":"c","language":"en","category":"marketing","components":[{"type":"BODY","text":"x"},{"type":"BUTTONS","buttons":[` +
			`{"type":"URL","text":"A","url":"https://a.example?q={{1}}"},{"type":"URL","text":"B","url":"https://b.example#{{1}}"}]}]}`,
		`{"name":"d","language":"en","category":"marketing","components":[{"type":"HEADER","format":"DOCUMENT","text":""},{"type":"BODY","text":"x"}]}`,
		`{"name":"e","language":"en","category":"marketing","components":[{"type":"HEADER","format":"TEXT","text":"No placeholder"},{"type":"BODY","text":"{{1}}{{1}}{{1}}"}]}`,
	} {
		if _, err := ParseDefinition(json.RawMessage(raw), ns); err != nil {
			t.Errorf("%s: %+v", raw, err.Details)
		}
	}
}
