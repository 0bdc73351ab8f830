package template

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/message"
)

// TestHydrateGolden: what a correct send renders to.
func TestHydrateGolden(t *testing.T) {
	header := func(param string) string { return `{"type":"header","parameters":[` + param + `]}` }
	cases := []struct {
		name, msgType, obj string
		want               Rendered
	}{
		{"image header, text/currency/date_time body, footer, url and quick reply (the spec's sample)", "template",
			ship(shipHeader, shipBody, shipURL, shipReply),
			Rendered{Language: "en_US",
				Header: &RenderedHeader{Format: "image", Media: &message.Media{Kind: "image", Link: "https://img.example.org/box.png"}},
				Body:   "Hi Dana, your order of $12.50 ships on March 3, 2024.", Footer: "Acme Stores",
				Buttons: []RenderedButton{{Type: "url", Text: "Track", URL: "https://example.org/t/8841"},
					{Type: "quick_reply", Text: "Stop updates", Payload: "STOP_UPDATES"}}}},
		{"date_time by timestamp, components in any order, quick reply left out", "template",
			ship(shipURL, body(text("Dana"), text("2 items"), `{"type":"date_time","date_time":{"fallback_value":"March 3, 2024","timestamp":"1709458200"}}`),
				header(`{"type":"image","image":{"id":"8F4C7B2E-13AA-4A0E-9D5C-2B3C1F0E9A71"}}`)),
			Rendered{Language: "en_US",
				Header: &RenderedHeader{Format: "image", Media: &message.Media{Kind: "image", ID: mediaID}},
				Body:   "Hi Dana, your order of 2 items ships on March 3, 2024.", Footer: "Acme Stores",
				Buttons: []RenderedButton{{Type: "url", Text: "Track", URL: "https://example.org/t/8841"},
					{Type: "quick_reply", Text: "Stop updates"}}}},
		{"text header, quick replies, phone and static url", "template",
			send("welcome", "en", body(text("Acme *Stores*"))+","+header(text("Dana"))+
				`,{"type":"button","sub_type":"quick_reply","index":0,"parameters":[{"type":"payload","payload":"yes-42"}]}`),
			Rendered{Language: "en",
				Header: &RenderedHeader{Format: "text", Text: "Hello Dana"},
				Body:   "Welcome to Acme *Stores*!", Footer: "Reply STOP to opt out",
				Buttons: []RenderedButton{{Type: "quick_reply", Text: "Yes", Payload: "yes-42"}, {Type: "quick_reply", Text: "No"},
					{Type: "phone_number", Text: "Call us", Phone: "+15550100"}, {Type: "url", Text: "Help", URL: "https://example.org/help"}}}},
		{"location header", "template",
			send("store_location", "en", header(`{"type":"location","location":{"latitude":"51.5072","longitude":-0.1276,"name":"Head office","address":"1 Example St, London"}}`)),
			Rendered{Language: "en",
				Header: &RenderedHeader{Format: "location", Location: &message.Location{Latitude: 51.5072, Longitude: -0.1276, Name: "Head office", Address: "1 Example St, London"}},
				Body:   "Our store is here.", Buttons: []RenderedButton{}}},
		{"video header", "template",
			send("clip", "en", header(`{"type":"video","video":{"link":"https://cdn.example.org/v.mp4","provider":{"name":"cdn"}}}`)),
			Rendered{Language: "en",
				Header: &RenderedHeader{Format: "video", Media: &message.Media{Kind: "video", Link: "https://cdn.example.org/v.mp4", ProviderName: "cdn"}},
				Body:   "Watch this.", Buttons: []RenderedButton{}}},
		{"document header with a filename", "template",
			send("invoice", "en", header(`{"type":"document","document":{"id":"`+mediaID+`","filename":"invoice-2207.pdf"}}`)),
			Rendered{Language: "en",
				Header: &RenderedHeader{Format: "document", Media: &message.Media{Kind: "document", ID: mediaID, Filename: "invoice-2207.pdf"}},
				Body:   "Your invoice.", Buttons: []RenderedButton{}}},
		{"copy code and a url suffix in a query", "template",
			send("coupon", "en", body(text("SAVE10"))+`,{"type":"button","sub_type":"copy_code","index":"0","parameters":[{"type":"coupon_code","coupon_code":"SAVE10"}]},`+
				`{"type":"button","sub_type":"url","index":"1","parameters":[`+text("SAVE10&utm=wa")+`]}`),
			Rendered{Language: "en", Body: "Use code SAVE10 at checkout.",
				Buttons: []RenderedButton{{Type: "copy_code", Text: "Copy offer code", Code: "SAVE10"},
					{Type: "url", Text: "Shop", URL: "https://shop.example.org/s?c=SAVE10&utm=wa"}}}},
		{"no template injection", "template",
			payment(text("{{2}} and {{1}}")),
			Rendered{Language: "en", Body: "Your payment of {{2}} and {{1}} is due on May 7.", Buttons: []RenderedButton{}}},
		{"a static template without components", "template", `{"namespace":"` + ns + `","name":"thanks","language":{"code":"en"}}`,
			Rendered{Language: "en", Body: "Thanks!", Buttons: []RenderedButton{}}},
		{"four spaces, emoji with joiners and formatting marks inside text are fine", "template",
			payment(text("*$30.00*    👨‍👩‍👧")),
			Rendered{Language: "en", Body: "Your payment of *$30.00*    👨‍👩‍👧 is due on May 7.", Buttons: []RenderedButton{}}},

		{"hsm with localizable_params", "hsm",
			`{"namespace":"` + ns + `","element_name":"payment_due","language":{"policy":"deterministic","code":"en"},"localizable_params":[` +
				`{"default":"$30.00","currency":{"currency_code":"USD","amount_1000":30000}},` +
				`{"default":"Tuesday","date_time":{"component":{"day_of_week":2,"year":2024,"month":5,"day_of_month":7,"hour":10,"minute":0}}}]}`,
			Rendered{Language: "en", Body: "Your payment of $30.00 is due on Tuesday.", Buttons: []RenderedButton{}}},
		{"hsm with a unix_epoch and the legacy language fields", "hsm",
			`{"namespace":"` + ns + `","element_name":"payment_due","fallback_lg":"en","fallback_lc":"US","localizable_params":[` +
				`{"default":"$30.00"},{"default":"Tuesday","date_time":{"unix_epoch":{"timestamp":1715076000}}}]}`,
			Rendered{Language: "en", Body: "Your payment of $30.00 is due on Tuesday.", Buttons: []RenderedButton{}}},
		{"hsm under the fallback policy", "hsm",
			`{"namespace":"` + ns + `","element_name":"order_shipped","language":{"policy":"fallback","code":"pt_PT"},"localizable_params":[{"default":"Ana"},{"default":"R$ 50"},{"default":"3/3"}]}`,
			Rendered{Language: "pt_BR", Body: "Olá Ana, seu pedido de R$ 50 será enviado em 3/3.", Buttons: []RenderedButton{}}},
	}
	c := fixtureCatalogue(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := c.Hydrate(tc.msgType, json.RawMessage(tc.obj))
			if err != nil {
				t.Fatalf("%d %+v", err.Status, err.Details)
			}
			if r.Definition == nil || r.Definition.Language != r.Language || r.Definition.Namespace != ns {
				t.Errorf("definition %+v", r.Definition)
			}
			got := *r
			got.Definition = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("rendered\n got %s\nwant %s", show(got), show(tc.want))
			}
		})
	}
}

// show prints a Rendered with its pointers followed.
func show(r Rendered) string {
	var b strings.Builder
	b.WriteString("{Language:" + r.Language)
	if r.Header != nil {
		h := *r.Header
		b.WriteString(" Header:{Format:" + h.Format + " Text:" + h.Text)
		if h.Media != nil {
			b.WriteString(" Media:" + strings.TrimSpace(string(mustJSON(*h.Media))) + "/" + h.Media.Kind)
		}
		if h.Location != nil {
			b.WriteString(" Location:" + string(mustJSON(h.Location)))
		}
		b.WriteString("}")
	}
	b.WriteString(" Body:" + r.Body + " Footer:" + r.Footer + " Buttons:" + string(mustJSON(r.Buttons)) + "}")
	return b.String()
}

func mustJSON(v any) []byte {
	out, _ := json.Marshal(v)
	return out
}

// TestHydrateDoesNotShareState: two sends of one template do not affect
// each other, and a Rendered does not alias the send.
func TestHydrateDoesNotShareState(t *testing.T) {
	c := fixtureCatalogue(t)
	a, err := c.Hydrate("template", json.RawMessage(payment(text("A"))))
	if err != nil {
		t.Fatal(err.Details)
	}
	b, err := c.Hydrate("template", json.RawMessage(payment(text("B"))))
	if err != nil {
		t.Fatal(err.Details)
	}
	if a.Body == b.Body || a.Definition != b.Definition {
		t.Errorf("%q %q", a.Body, b.Body)
	}
}
