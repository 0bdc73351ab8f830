package message

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBodyGolden: the canonical body of each type, from a request written
// the way clients do (keys in any order, unknown keys, optional spellings).
func TestBodyGolden(t *testing.T) {
	const head = `{"to":"15550001111","recipient_type":"individual",`
	cases := []struct {
		name, request, body string
	}{
		{"text",
			`{"to":"+1 555 000 1111","text":{"body":"hi","x":1}}`,
			head + `"type":"text","preview_url":false,"text":{"body":"hi"}}`},
		{"image by id, reply",
			`{"to":"15550001111","type":"image","context":{"message_id":"ABGG"},"image":{"caption":"Boarding pass","id":"8F4C7B2E-13AA-4A0E-9D5C-2B3C1F0E9A71","x":1}}`,
			head + `"type":"image","preview_url":false,"context":{"message_id":"ABGG"},"image":{"id":"` + mediaID + `","caption":"Boarding pass"}}`},
		{"document by link",
			`{"to":"15550001111","type":"document","document":{"caption":"July invoice","filename":"invoice-2207.pdf","provider":{"name":"billing-cdn","x":1},"link":"https://files.example.org/invoice-2207.pdf"}}`,
			head + `"type":"document","preview_url":false,"document":{"link":"https://files.example.org/invoice-2207.pdf","provider":{"name":"billing-cdn"},"caption":"July invoice","filename":"invoice-2207.pdf"}}`},
		{"audio",
			`{"to":"15550001111","type":"audio","audio":{"link":"https://x.example/a.ogg","caption":""}}`,
			head + `"type":"audio","preview_url":false,"audio":{"link":"https://x.example/a.ogg"}}`},
		{"video",
			`{"to":"15550001111","type":"video","video":{"id":"` + mediaID + `","filename":null}}`,
			head + `"type":"video","preview_url":false,"video":{"id":"` + mediaID + `"}}`},
		{"sticker",
			`{"to":"15550001111","type":"sticker","sticker":{"id":"` + mediaID + `"}}`,
			head + `"type":"sticker","preview_url":false,"sticker":{"id":"` + mediaID + `"}}`},
		{"location",
			`{"to":"15550001111","type":"location","location":{"address":"1 Example St, London","name":"Head office","longitude":"-0.1276","latitude":51.5072,"url":"u"}}`,
			head + `"type":"location","preview_url":false,"location":{"latitude":51.5072,"longitude":-0.1276,"name":"Head office","address":"1 Example St, London"}}`},
		{"location without name",
			`{"to":"15550001111","type":"location","location":{"latitude":"0","longitude":1E2}}`,
			head + `"type":"location","preview_url":false,"location":{"latitude":0,"longitude":100}}`},
		{"contacts",
			`{"to":"15550001111","type":"contacts","contacts":[` + fullCard + `]}`,
			head + `"type":"contacts","preview_url":false,"contacts":[` + fullCardCanonical + `]}`},
		{"interactive list",
			`{"to":"15550001111","type":"interactive","interactive":{"action":{"sections":[{"rows":[{"description":"Mon-Sat 9-18","title":"Leeds","id":"br_leeds"},{"id":"br_york","title":"York","description":""}],"title":"North"}],"button":"Choose branch"},` +
				`"footer":{"text":"Acme Stores"},"body":{"text":"Pick the branch you want details for."},"header":{"text":"Opening hours","type":"text"},"type":"list"}}`,
			head + `"type":"interactive","preview_url":false,"interactive":{"type":"list","header":{"type":"text","text":"Opening hours"},` +
				`"body":{"text":"Pick the branch you want details for."},"footer":{"text":"Acme Stores"},"action":{"button":"Choose branch","sections":[{"title":"North","rows":[` +
				`{"id":"br_leeds","title":"Leeds","description":"Mon-Sat 9-18"},{"id":"br_york","title":"York"}]}]}}}`},
		{"interactive button with an image header",
			`{"to":"15550001111","type":"interactive","interactive":{"type":"button","header":{"type":"image","image":{"id":"` + mediaID + `"},"text":"ignored"},` +
				`"body":{"text":"Confirm your appointment on Friday 10:00?"},"action":{"buttons":[{"type":"reply","reply":{"id":"appt_yes","title":"Yes"}},{"type":"reply","reply":{"id":"appt_no","title":"Reschedule"}}]}}}`,
			head + `"type":"interactive","preview_url":false,"interactive":{"type":"button","header":{"type":"image","image":{"id":"` + mediaID + `"}},` +
				`"body":{"text":"Confirm your appointment on Friday 10:00?"},"action":{"buttons":[{"type":"reply","reply":{"id":"appt_yes","title":"Yes"}},{"type":"reply","reply":{"id":"appt_no","title":"Reschedule"}}]}}}`},
		{"interactive button with a video header",
			`{"to":"15550001111","type":"interactive","interactive":{"type":"button","header":{"type":"video","video":{"link":"https://x.example/v.mp4"}},` +
				`"body":{"text":"B"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"A"}}]}}}`,
			head + `"type":"interactive","preview_url":false,"interactive":{"type":"button","header":{"type":"video","video":{"link":"https://x.example/v.mp4"}},` +
				`"body":{"text":"B"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"A"}}]}}}`},
		{"interactive button with a document header",
			`{"to":"15550001111","type":"interactive","interactive":{"type":"button","header":{"type":"document","document":{"id":"` + mediaID + `","filename":"menu.pdf"}},` +
				`"body":{"text":"B"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"A"}}]}}}`,
			head + `"type":"interactive","preview_url":false,"interactive":{"type":"button","header":{"type":"document","document":{"id":"` + mediaID + `","filename":"menu.pdf"}},` +
				`"body":{"text":"B"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"A"}}]}}}`},
		{"interactive product",
			`{"to":"15550001111","type":"interactive","interactive":{"type":"product","footer":{"text":"F"},"action":{"product_retailer_id":"SKU-881","catalog_id":1234567890123456}}}`,
			head + `"type":"interactive","preview_url":false,"interactive":{"type":"product","footer":{"text":"F"},"action":{"catalog_id":"1234567890123456","product_retailer_id":"SKU-881"}}}`},
		{"interactive product_list",
			`{"to":"15550001111","type":"interactive","interactive":{"type":"product_list","header":{"type":"text","text":"Summer picks"},"body":{"text":"Items you asked about"},` +
				`"action":{"catalog_id":"1234567890123456","sections":[{"title":"Shoes","product_items":[{"product_retailer_id":"SKU-881"},{"product_retailer_id":"SKU-882"}]}]}}}`,
			head + `"type":"interactive","preview_url":false,"interactive":{"type":"product_list","header":{"type":"text","text":"Summer picks"},"body":{"text":"Items you asked about"},` +
				`"action":{"catalog_id":"1234567890123456","sections":[{"title":"Shoes","product_items":[{"product_retailer_id":"SKU-881"},{"product_retailer_id":"SKU-882"}]}]}}}`},
		{"reaction",
			`{"to":"15550001111","type":"reaction","reaction":{"emoji":"👍","message_id":"ABGGFVUAAREfAhBKfBnisF2PMxF6LF6dC29B"}}`,
			head + `"type":"reaction","preview_url":false,"reaction":{"message_id":"ABGGFVUAAREfAhBKfBnisF2PMxF6LF6dC29B","emoji":"👍"}}`},
		{"reaction removed",
			`{"to":"15550001111","type":"reaction","reaction":{"emoji":"","message_id":"gBGGFVUAAREfAglKfBnisF2PMxE"}}`,
			head + `"type":"reaction","preview_url":false,"reaction":{"message_id":"gBGGFVUAAREfAglKfBnisF2PMxE","emoji":""}}`},
	}
	for _, c := range cases {
		msg, err := Decode(mustParams(t, c.request))
		if err != nil {
			t.Errorf("%s: %d %+v", c.name, err.Status, err.Details)
			continue
		}
		body, bodyErr := msg.Body()
		if bodyErr != nil {
			t.Errorf("%s: %v", c.name, bodyErr)
			continue
		}
		if string(body) != c.body {
			t.Errorf("%s: Body()\n got %s\nwant %s", c.name, body, c.body)
			continue
		}
		// The canonical body is itself a valid request with the same body.
		again, err := Decode(mustParams(t, string(body)))
		if err != nil {
			t.Errorf("%s: the body does not decode: %+v", c.name, err.Details)
			continue
		}
		if second, _ := again.Body(); string(second) != string(body) {
			t.Errorf("%s: not stable\n%s\n%s", c.name, body, second)
		}
		if !json.Valid(body) {
			t.Errorf("%s: invalid JSON", c.name)
		}
	}
}

// TestJSONStringAgreesWithTheDecoder: the fast path for strings without
// escapes gives what encoding/json gives, and leaves everything else to it.
func TestJSONStringAgreesWithTheDecoder(t *testing.T) {
	for _, raw := range []string{
		`""`, `"hi"`, `"héllo wörld ✓"`, `"a\"b"`, `"a\\b"`, `"\u00e9"`, `"tab\there"`,
		"\"raw\ttab\"", "\"bad \xff utf8\"", `"<b>&</b>"`, ` "spaced" `, `"`, `"unterminated`, `5`, `null`,
	} {
		got, ok := JSONString(json.RawMessage(raw))
		var want string
		wantOK := strings.HasPrefix(strings.TrimSpace(raw), `"`) && json.Unmarshal([]byte(strings.TrimSpace(raw)), &want) == nil
		if got != want || ok != wantOK {
			t.Errorf("JSONString(%q) = %q, %v; the decoder says %q, %v", raw, got, ok, want, wantOK)
		}
	}
}
