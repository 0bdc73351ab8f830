package sandbox

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeTemplateFile: the template file (WABIZ_SANDBOX_TEMPLATES) and
// the body of POST /sandbox/v1/templates decode into definitions or fail
// with a reason; each definition is then template.ParseDefinition's, which
// has its own fuzz target.
func FuzzDecodeTemplateFile(f *testing.F) {
	for _, s := range []string{
		`[{"name":"a","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"Hi"}]}]`,
		`{"templates":[{"name":"a"},{"name":"b"}]}`,
		`{"name":"single"}`,
		"\xef\xbb\xbf[]", `{"templates":null}`, `{"templates":{}}`, `"x"`, ``, `[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defs, err := DecodeTemplateFile(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a reason")
			}
			return
		}
		for _, d := range defs {
			if !json.Valid(d) {
				t.Fatalf("definition %q is not JSON", d)
			}
		}
	})
}

// FuzzRender: the console shows any stored message body as text without
// failing, whatever the body holds.
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		`{"type":"text","text":{"body":"hi"}}`,
		`{"type":"image","image":{"caption":"c","filename":"f"},"media":{"mime_type":"image/png","size":12}}`,
		`{"type":"location","location":{"latitude":1,"longitude":"x","name":"n","address":"a"}}`,
		`{"type":"contacts","contacts":[{"name":{"formatted_name":"D"},"phones":[{"phone":"1"}]},{"phones":[null]}]}`,
		`{"type":"interactive","interactive":{"type":"list","header":{"text":"h"},"body":{"text":"b"},"action":{"button":"B","sections":[{"rows":[{"title":"t"}]}]}}}`,
		`{"type":"interactive","interactive":{"type":"button","action":{"buttons":[{"reply":{"title":"Yes"}},7]}}}`,
		`{"type":"reaction","reaction":{"emoji":"","message_id":"gB"}}`,
		`{"type":"template","shown":{"header":"h","body":"b","footer":"f","buttons":["x"]}}`,
		`{"type":"hsm","shown":7}`, `{"type":5}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		Render(json.RawMessage(body))
	})
}
