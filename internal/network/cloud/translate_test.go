package cloud

import (
	"encoding/json"
	"testing"

	"github.com/wabiz/wabiz/internal/network"
)

func TestTranslateEveryType(t *testing.T) {
	wamid := func(id string) string {
		if id == "gBOURS" {
			return "wamid.OURS"
		}
		return id
	}
	cases := []struct {
		name, typ, body, want string
		media                 *network.OutgoingMedia
	}{
		{"text", "text", `{"to":"15550001111","recipient_type":"individual","type":"text","preview_url":true,"context":{"message_id":"gBOURS"},"text":{"body":"hi"}}`,
			`{"biz_opaque_callback_data":"gB1","context":{"message_id":"wamid.OURS"},"messaging_product":"whatsapp","recipient_type":"individual","text":{"body":"hi","preview_url":true},"to":"15550001111","type":"text"}`, nil},
		{"image by id", "image", `{"to":"15550001111","recipient_type":"individual","type":"image","preview_url":false,"image":{"id":"f0e1","caption":"c"}}`,
			`{"biz_opaque_callback_data":"gB1","image":{"caption":"c","id":"CLOUD1"},"messaging_product":"whatsapp","recipient_type":"individual","to":"15550001111","type":"image"}`, &network.OutgoingMedia{ID: "f0e1"}},
		{"document by link", "document", `{"to":"1555","recipient_type":"individual","type":"document","preview_url":false,"document":{"link":"https://x/y.pdf","filename":"y.pdf"}}`,
			`{"biz_opaque_callback_data":"gB1","document":{"filename":"y.pdf","link":"https://x/y.pdf"},"messaging_product":"whatsapp","recipient_type":"individual","to":"1555","type":"document"}`, nil},
		{"location", "location", `{"to":"1555","recipient_type":"individual","type":"location","preview_url":false,"location":{"latitude":1.5,"longitude":2,"name":"n"}}`,
			`{"biz_opaque_callback_data":"gB1","location":{"latitude":1.5,"longitude":2,"name":"n"},"messaging_product":"whatsapp","recipient_type":"individual","to":"1555","type":"location"}`, nil},
		{"contacts", "contacts", `{"to":"1555","recipient_type":"individual","type":"contacts","preview_url":false,"contacts":[{"name":{"formatted_name":"A"},"phones":[{"phone":"+1"}]}]}`,
			`{"biz_opaque_callback_data":"gB1","contacts":[{"name":{"formatted_name":"A"},"phones":[{"phone":"+1"}]}],"messaging_product":"whatsapp","recipient_type":"individual","to":"1555","type":"contacts"}`, nil},
		{"interactive header media", "interactive", `{"to":"1555","recipient_type":"individual","type":"interactive","preview_url":false,"interactive":{"type":"button","header":{"type":"image","image":{"id":"f0e1"}},"body":{"text":"b"},"action":{"buttons":[{"type":"reply","reply":{"id":"1","title":"t"}}]}}}`,
			`{"biz_opaque_callback_data":"gB1","interactive":{"action":{"buttons":[{"reply":{"id":"1","title":"t"},"type":"reply"}]},"body":{"text":"b"},"header":{"image":{"id":"CLOUD1"},"type":"image"},"type":"button"},"messaging_product":"whatsapp","recipient_type":"individual","to":"1555","type":"interactive"}`, &network.OutgoingMedia{ID: "f0e1"}},
		{"reaction", "reaction", `{"to":"1555","recipient_type":"individual","type":"reaction","preview_url":false,"reaction":{"message_id":"gBOURS","emoji":"👍"}}`,
			`{"biz_opaque_callback_data":"gB1","messaging_product":"whatsapp","reaction":{"emoji":"👍","message_id":"wamid.OURS"},"recipient_type":"individual","to":"1555","type":"reaction"}`, nil},
		{"sticker", "sticker", `{"to":"1555","recipient_type":"individual","type":"sticker","preview_url":false,"sticker":{"id":"f0e1"}}`,
			`{"biz_opaque_callback_data":"gB1","messaging_product":"whatsapp","recipient_type":"individual","sticker":{"id":"CLOUD1"},"to":"1555","type":"sticker"}`, &network.OutgoingMedia{ID: "f0e1"}},
		{"template", "template", `{"to":"1555","recipient_type":"individual","type":"template","preview_url":false,"template":{"namespace":"ns","name":"order","language":{"policy":"deterministic","code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"42"}]}]}}`,
			`{"biz_opaque_callback_data":"gB1","messaging_product":"whatsapp","recipient_type":"individual","template":{"components":[{"parameters":[{"text":"42","type":"text"}],"type":"body"}],"language":{"code":"en_US"},"name":"order"},"to":"1555","type":"template"}`, nil},
		{"hsm", "hsm", `{"to":"1555","recipient_type":"individual","type":"hsm","preview_url":false,"hsm":{"namespace":"ns","element_name":"order","language":{"policy":"fallback","code":"pt_BR"},"localizable_params":[{"default":"Ana"},{"default":"$10","currency":{"currency_code":"USD","amount_1000":10000}}]}}`,
			`{"biz_opaque_callback_data":"gB1","messaging_product":"whatsapp","recipient_type":"individual","template":{"components":[{"parameters":[{"text":"Ana","type":"text"},{"text":"$10","type":"text"}],"type":"body"}],"language":{"code":"pt_BR"},"name":"order"},"to":"1555","type":"template"}`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var upload func() (string, error)
			if c.media != nil {
				upload = func() (string, error) { return "CLOUD1", nil }
			}
			got, err := translateBody(network.Outgoing{ID: "gB1", Type: c.typ, Body: json.RawMessage(c.body), Media: c.media}, wamid, upload)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(got)
			var gotN, wantN any
			json.Unmarshal(b, &gotN)
			if err := json.Unmarshal([]byte(c.want), &wantN); err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(gotN)
			w, _ := json.Marshal(wantN)
			if string(g) != string(w) {
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
}

func TestTranslateRefusesBrokenBodies(t *testing.T) {
	for _, body := range []string{`[]`, `{"type":"text"}`, `{"type":"hsm","hsm":{"element_name":"x","localizable_params":[{}]}}`} {
		var typ struct{ Type string }
		json.Unmarshal([]byte(body), &typ)
		_, err := translateBody(network.Outgoing{ID: "gB1", Type: typ.Type, Body: json.RawMessage(body)}, func(s string) string { return s }, nil)
		if ne, ok := err.(*network.Error); !ok || ne.Code != 1009 || ne.Temporary {
			t.Errorf("%s: err %v, want a permanent 1009", body, err)
		}
	}
}

func TestErrorMappingTable(t *testing.T) {
	cases := []struct {
		code, status int
		want         int
		temporary    bool
	}{
		{131047, 400, 470, false}, {131026, 400, 1013, false}, {131051, 400, 501, false},
		{130429, 400, 1015, true}, {131056, 400, 1015, true}, {4, 400, 1015, true},
		{131000, 500, 1014, true}, {2, 503, 1016, true}, {190, 401, 1005, false}, {200, 403, 1005, false},
		{100, 400, 1009, false}, {131008, 400, 1008, false}, {131048, 400, 471, false},
		{132001, 400, 2001, false}, {132000, 400, 2000, false}, {132015, 400, 2061, false}, {132016, 400, 2062, false},
		{133010, 400, 1011, false}, {131042, 400, 402, false}, {131052, 400, 400, false},
		{999999, 400, 1000, false}, {999999, 502, 1014, true}, {999999, 429, 1015, true},
	}
	for _, c := range cases {
		got := mapGraphError(&GraphError{Code: c.code, Message: "m", HTTPStatus: c.status})
		if got.Code != c.want || got.Temporary != c.temporary {
			t.Errorf("graph %d (HTTP %d) -> %d temporary=%v, want %d temporary=%v", c.code, c.status, got.Code, got.Temporary, c.want, c.temporary)
		}
	}
	if e := mapStatusError(130429, "Rate limit hit", "", ""); e.Code != 1015 || e.Temporary {
		t.Errorf("a failed status is final: %+v", e)
	}
	if e := mapCallError(&transportError{err: errTest}); e.(*network.Error).Code != 1014 || !e.(*network.Error).Temporary {
		t.Errorf("transport error -> %v", e)
	}
}

type testErr string

func (e testErr) Error() string { return string(e) }

var errTest = testErr("connection reset")

func TestTranslateUploadsOnlyWhatTheCloudCannotFetch(t *testing.T) {
	cases := []struct {
		name, typ, body, want string
		uploads               int
	}{
		{"template header by our id, any case", "template",
			`{"type":"template","template":{"namespace":"ns","name":"r","language":{"code":"en"},"components":[{"type":"header","parameters":[{"type":"document","document":{"id":"F0E1","filename":"r.pdf"}}]}]}}`,
			`{"components":[{"parameters":[{"document":{"filename":"r.pdf","id":"CLOUD1"},"type":"document"}],"type":"header"}],"language":{"code":"en"},"name":"r"}`, 1},
		{"template header by link", "template",
			`{"type":"template","template":{"namespace":"ns","name":"r","language":{"code":"en"},"components":[{"type":"header","parameters":[{"type":"image","image":{"link":"https://x/y.jpg"}}]}]}}`,
			`{"components":[{"parameters":[{"image":{"link":"https://x/y.jpg"},"type":"image"}],"type":"header"}],"language":{"code":"en"},"name":"r"}`, 0},
		{"link through a media provider", "image",
			`{"type":"image","image":{"link":"https://x/y.jpg","provider":{"name":"cdn"},"caption":"c"}}`,
			`{"caption":"c","id":"CLOUD1"}`, 1},
		{"the same file twice", "interactive",
			`{"type":"interactive","interactive":{"type":"button","header":{"type":"image","image":{"id":"f0e1"}},"body":{"text":"b"},"x":[{"image":{"id":"f0e1"}}]}}`,
			`{"body":{"text":"b"},"header":{"image":{"id":"CLOUD1"},"type":"image"},"type":"button","x":[{"image":{"id":"CLOUD1"}}]}`, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			uploads := 0
			upload := func() (string, error) { uploads++; return "CLOUD1", nil }
			got, err := translateBody(network.Outgoing{ID: "gB1", To: "1555", Type: c.typ, Body: json.RawMessage(c.body), Media: &network.OutgoingMedia{ID: "f0e1"}},
				func(s string) string { return s }, upload)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(got[c.typ])
			var n any
			json.Unmarshal(b, &n)
			g, _ := json.Marshal(n)
			if string(g) != c.want || uploads != c.uploads {
				t.Errorf("got  %s (%d uploads)\nwant %s (%d uploads)", g, uploads, c.want, c.uploads)
			}
		})
	}
}
