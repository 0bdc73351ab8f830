package message

import (
	"encoding/json"
	"strings"
	"testing"
)

const (
	businessMsg = "gBGGFVUAAREfAglKfBnisF2PMxE"
	userMsg     = "ABGGFVUAAREfAhBKfBnisF2PMxF6LF6dC29B"
	replyTo     = `"context":{"id":"` + businessMsg + `"}`
	okReferral  = `"referral":{"source_url":"https://fb.example/ad/1","source_id":"1234","source_type":"ad"}`
)

func TestDecodeInboundErrors(t *testing.T) {
	s := strings.Repeat
	cases := []struct {
		name   string
		body   string
		status int
		want   []detail
	}{
		// Type and type objects.
		{"type unknown", `{"type":"reaction","reaction":{}}`, 400, []detail{invalid("type", "reaction")}},
		{"type system is not a user's", `{"type":"system","system":{"body":"x"}}`, 400, []detail{invalid("type", "system")}},
		{"type not a string", `{"type":["text"]}`, 400, []detail{invalid("type", `["text"]`)}},
		{"text object missing", `{}`, 400, []detail{mandatoryFor("text", "text")}},
		{"text object null", `{"type":"text","text":null}`, 400, []detail{mandatoryFor("text", "text")}},
		{"other type objects", `{"type":"text","text":{"body":"hi"},"image":{},"order":{},"unknown":{}}`, 400,
			[]detail{notRequired("image", "text"), notRequired("order", "text"), notRequired("unknown", "text")}},
		{"unknown takes no object", `{"type":"unknown","unknown":{}}`, 400, []detail{notRequired("unknown", "unknown")}},
		{"object missing and another present", `{"type":"voice","audio":{}}`, 400, []detail{mandatoryFor("voice", "voice"), notRequired("audio", "voice")}},

		// text.
		{"text not an object", `{"text":"hi"}`, 400, []detail{invalid("text", "hi")}},
		{"body missing", `{"text":{}}`, 400, []detail{missing("text.body")}},
		{"body blank", `{"text":{"body":" \n"}}`, 400, []detail{invalid("text.body", " \n")}},
		{"body a number", `{"text":{"body":1}}`, 400, []detail{invalid("text.body", "1")}},
		{"body too long", `{"text":{"body":"` + s("a", MaxTextBodyChars+1) + `"}}`, 400, []detail{tooLong}},

		// Media.
		{"media not an object", `{"type":"image","image":"x"}`, 400, []detail{invalid("image", "x")}},
		{"media id not a media id", `{"type":"image","image":{"id":"1"}}`, 400, []detail{invalid("image.id", "1")}},
		{"media type not allowed for the kind", `{"type":"image","image":{"mime_type":"image/gif"}}`, 400, []detail{invalid("image.mime_type", "image/gif")}},
		{"voice must be ogg opus", `{"type":"voice","voice":{"mime_type":"audio/ogg"}}`, 400, []detail{invalid("voice.mime_type", "audio/ogg")}},
		{"mime type malformed", `{"type":"document","document":{"mime_type":"pdf"}}`, 400, []detail{invalid("document.mime_type", "pdf")}},
		{"mime type not a string", `{"type":"document","document":{"mime_type":1}}`, 400, []detail{invalid("document.mime_type", "1")}},
		{"caption on audio", `{"type":"audio","audio":{"caption":"c"}}`, 400,
			[]detail{{1010, "Parameter 'audio.caption' is not required for type 'audio'"}}},
		{"caption on sticker", `{"type":"sticker","sticker":{"caption":""}}`, 400,
			[]detail{{1010, "Parameter 'sticker.caption' is not required for type 'sticker'"}}},
		{"filename on image", `{"type":"image","image":{"filename":"a.png"}}`, 400,
			[]detail{{1010, "Parameter 'image.filename' is not required for type 'image'"}}},
		{"caption too long", `{"type":"video","video":{"caption":"` + s("c", MaxCaptionChars+1) + `"}}`, 400, []detail{longer("video.caption", MaxCaptionChars)}},
		{"filename too long", `{"type":"document","document":{"filename":"` + s("f", MaxFilenameChars+1) + `"}}`, 400,
			[]detail{longer("document.filename", MaxFilenameChars)}},

		// location.
		{"location without coordinates", `{"type":"location","location":{"name":"x"}}`, 400,
			[]detail{missing("location.latitude"), missing("location.longitude")}},
		{"location url not a link", `{"type":"location","location":{"latitude":1,"longitude":2,"url":"maps"}}`, 400,
			[]detail{invalid("location.url", "maps")}},

		// contacts.
		{"contacts not a list", `{"type":"contacts","contacts":{}}`, 400, []detail{invalid("contacts", "{}")}},
		{"contacts empty", `{"type":"contacts","contacts":[]}`, 400, []detail{{1009, "Parameter 'contacts' must have 1 to 20 items; it has 0"}}},
		{"contacts card without name", `{"type":"contacts","contacts":[{"phones":[{"phone":"1","type":"CELL"}]}]}`, 400,
			[]detail{missing("contacts[0].name")}},

		// button.
		{"button without context", `{"type":"button","button":{"text":"Yes"}}`, 400, []detail{mandatoryFor("context", "button")}},
		{"button context without id", `{"type":"button","button":{"text":"Yes"},"context":{"forwarded":true}}`, 400,
			[]detail{mandatoryFor("context.id", "button")}},
		{"button text missing", `{"type":"button","button":{"payload":"p"},` + replyTo + `}`, 400, []detail{missing("button.text")}},
		{"button text too long", `{"type":"button","button":{"text":"` + s("t", 26) + `"},` + replyTo + `}`, 400, []detail{longer("button.text", 25)}},
		{"button payload not a string", `{"type":"button","button":{"text":"Yes","payload":1},` + replyTo + `}`, 400, []detail{invalid("button.payload", "1")}},

		// interactive.
		{"interactive without context", `{"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"a","title":"A"}}}`, 400,
			[]detail{mandatoryFor("context", "interactive")}},
		{"interactive type missing", `{"type":"interactive","interactive":{},` + replyTo + `}`, 400, []detail{missing("interactive.type")}},
		{"interactive type nfm_reply", `{"type":"interactive","interactive":{"type":"nfm_reply"},` + replyTo + `}`, 400,
			[]detail{invalid("interactive.type", "nfm_reply")}},
		{"interactive reply object missing", `{"type":"interactive","interactive":{"type":"list_reply"},` + replyTo + `}`, 400,
			[]detail{{1008, "Parameter 'interactive.list_reply' is mandatory for interactive.type 'list_reply'"}}},
		{"interactive both replies", `{"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"a","title":"A"},"button_reply":{"id":"a","title":"A"}},` + replyTo + `}`, 400,
			[]detail{{1010, "Parameter 'interactive.button_reply' is not required for interactive.type 'list_reply'"}}},
		{"list reply limits", `{"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"` + s("i", 201) + `","title":"` + s("t", 25) + `","description":"` + s("d", 73) + `"}},` + replyTo + `}`, 400,
			[]detail{longer("interactive.list_reply.id", 200), longer("interactive.list_reply.title", 24), longer("interactive.list_reply.description", 72)}},
		{"button reply limits", `{"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"` + s("i", 257) + `","title":"` + s("t", 21) + `"}},` + replyTo + `}`, 400,
			[]detail{longer("interactive.button_reply.id", 256), longer("interactive.button_reply.title", 20)}},

		{"button not an object", `{"type":"button","button":"Yes",` + replyTo + `}`, 400, []detail{invalid("button", "Yes")}},
		{"interactive not an object", `{"type":"interactive","interactive":[],` + replyTo + `}`, 400, []detail{invalid("interactive", "[]")}},
		{"interactive reply not an object", `{"type":"interactive","interactive":{"type":"button_reply","button_reply":"a"},` + replyTo + `}`, 400,
			[]detail{invalid("interactive.button_reply", "a")}},

		// order.
		{"order not an object", `{"type":"order","order":"cart"}`, 400, []detail{invalid("order", "cart")}},
		{"order items not a list", `{"type":"order","order":{"catalog_id":"1","product_items":{}}}`, 400, []detail{invalid("order.product_items", "{}")}},
		{"order item not an object", `{"type":"order","order":{"catalog_id":"1","product_items":[1]}}`, 400, []detail{invalid("order.product_items[0]", "1")}},
		{"order empty", `{"type":"order","order":{}}`, 400, []detail{missing("order.catalog_id"), missing("order.product_items")}},
		{"order items empty", `{"type":"order","order":{"catalog_id":"1","product_items":[]}}`, 400,
			[]detail{{1009, "Parameter 'order.product_items' must have 1 to 100 items; it has 0"}}},
		{"order item fields missing", `{"type":"order","order":{"catalog_id":"1","product_items":[{}]}}`, 400,
			[]detail{missing("order.product_items[0].product_retailer_id"), missing("order.product_items[0].quantity"),
				missing("order.product_items[0].item_price"), missing("order.product_items[0].currency")}},
		{"order item values wrong", `{"type":"order","order":{"catalog_id":"1","text":5,"product_items":[{"product_retailer_id":"p","quantity":1.5,"item_price":-1,"currency":"EURO"}]}}`, 400,
			[]detail{invalid("order.text", "5"), invalid("order.product_items[0].quantity", "1.5"), invalid("order.product_items[0].item_price", "-1"),
				invalid("order.product_items[0].currency", "EURO")}},
		{"order quantity zero", `{"type":"order","order":{"catalog_id":"1","product_items":[{"product_retailer_id":"p","quantity":0,"item_price":1,"currency":"EUR"}]}}`, 400,
			[]detail{invalid("order.product_items[0].quantity", "0")}},
		{"order quantity huge", `{"type":"order","order":{"catalog_id":"1","product_items":[{"product_retailer_id":"p","quantity":99999999999999999999,"item_price":1,"currency":"EUR"}]}}`, 400,
			[]detail{invalid("order.product_items[0].quantity", "99999999999999999999")}},
		{"order currency with digits", `{"type":"order","order":{"catalog_id":"1","product_items":[{"product_retailer_id":"p","quantity":1,"item_price":1,"currency":"E1R"}]}}`, 400,
			[]detail{invalid("order.product_items[0].currency", "E1R")}},

		// context.
		{"context not an object", `{"text":{"body":"hi"},"context":"` + businessMsg + `"}`, 400, []detail{invalid("context", businessMsg)}},
		{"context empty", `{"text":{"body":"hi"},"context":{}}`, 400, []detail{missing("context.id")}},
		{"context id not a message id", `{"text":{"body":"hi"},"context":{"id":"wamid.HBgL"}}`, 400, []detail{invalid("context.id", "wamid.HBgL")}},
		{"context flags not bools", `{"text":{"body":"hi"},"context":{"forwarded":"yes","frequently_forwarded":1}}`, 400,
			[]detail{invalid("context.forwarded", "yes"), invalid("context.frequently_forwarded", "1")}},

		// referral.
		{"referral on a location", `{"type":"location","location":{"latitude":1,"longitude":2},` + okReferral + `}`, 400,
			[]detail{notRequired("referral", "location")}},
		{"referral fields missing", `{"text":{"body":"hi"},"referral":{}}`, 400,
			[]detail{missing("referral.source_type"), missing("referral.source_id"), missing("referral.source_url")}},
		{"referral values wrong", `{"text":{"body":"hi"},"referral":{"headline":1,"source_type":"story","source_id":" ","source_url":"fb.example/ad"}}`, 400,
			[]detail{invalid("referral.headline", "1"), invalid("referral.source_type", "story"), invalid("referral.source_id", " "),
				invalid("referral.source_url", "fb.example/ad")}},
		{"referral not an object", `{"text":{"body":"hi"},"referral":[]}`, 400, []detail{invalid("referral", "[]")}},

		{"errors in order: object, context, referral", `{"type":"image","image":{"id":"x"},"context":{"id":"x"},"referral":{"source_type":"ad","source_id":"1"}}`, 400,
			[]detail{invalid("image.id", "x"), invalid("context.id", "x"), missing("referral.source_url")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, err := DecodeInbound(mustParams(t, c.body))
			if err == nil {
				t.Fatalf("no error; content %s", in.Content)
			}
			if in != nil {
				t.Error("a message came back with the error")
			}
			checkError(t, err, c.status, c.want)
		})
	}
}

func TestDecodeInboundAccepted(t *testing.T) {
	cases := []struct {
		name, body, content string
		media               *InboundMedia
		contextID           string
	}{
		{"text by default", `{"text":{"body":"Oi, tudo bem?","x":1},"from":"ignored","id":"ignored"}`,
			`{"text":{"body":"Oi, tudo bem?"}}`, nil, ""},
		{"text reply with a referral", `{"type":"text","text":{"body":"Is it in stock?"},` + replyTo + `,"referral":{"body":"B","headline":"H","source_type":"post","source_id":1234,"source_url":"https://fb.example/p/1","image":{"id":"x"}}}`,
			`{"context":{"id":"` + businessMsg + `"},"text":{"body":"Is it in stock?"},"referral":{"headline":"H","body":"B","source_type":"post","source_id":"1234","source_url":"https://fb.example/p/1"}}`,
			nil, businessMsg},
		{"image with nothing", `{"type":"image","image":{}}`,
			`{"image":{"mime_type":"image/jpeg"}}`, &InboundMedia{MimeType: "image/jpeg"}, ""},
		{"image uploaded", `{"type":"image","image":{"id":"` + strings.ToUpper(mediaID) + `","mime_type":"Image/PNG","caption":"nota fiscal"},` + okReferral + `}`,
			`{"image":{"id":"` + mediaID + `","mime_type":"image/png","caption":"nota fiscal"},"referral":{"source_type":"ad","source_id":"1234","source_url":"https://fb.example/ad/1"}}`,
			&InboundMedia{MediaID: mediaID, MimeType: "image/png", Caption: "nota fiscal"}, ""},
		{"voice", `{"type":"voice","voice":{"mime_type":"audio/ogg;codecs=opus"}}`,
			`{"voice":{"mime_type":"audio/ogg; codecs=opus"}}`, &InboundMedia{MimeType: "audio/ogg; codecs=opus"}, ""},
		{"audio default", `{"type":"audio","audio":{"caption":null}}`, `{"audio":{"mime_type":"audio/mpeg"}}`, &InboundMedia{MimeType: "audio/mpeg"}, ""},
		{"document", `{"type":"document","document":{"filename":"a.pdf","caption":"c"}}`,
			`{"document":{"mime_type":"application/pdf","caption":"c","filename":"a.pdf"}}`,
			&InboundMedia{MimeType: "application/pdf", Caption: "c", Filename: "a.pdf"}, ""},
		{"sticker", `{"type":"sticker","sticker":{}}`, `{"sticker":{"mime_type":"image/webp"}}`, &InboundMedia{MimeType: "image/webp"}, ""},
		{"video", `{"type":"video","video":{"mime_type":"video/3gpp"}}`, `{"video":{"mime_type":"video/3gpp"}}`, &InboundMedia{MimeType: "video/3gpp"}, ""},
		{"location with url", `{"type":"location","location":{"latitude":"-23.5505","longitude":-46.6333,"name":"Sé","url":"https://maps.example/x"}}`,
			`{"location":{"latitude":-23.5505,"longitude":-46.6333,"name":"Sé","url":"https://maps.example/x"}}`, nil, ""},
		{"contacts", `{"type":"contacts","contacts":[` + fullCard + `]}`, `{"contacts":[` + fullCardCanonical + `]}`, nil, ""},
		{"button without payload", `{"type":"button","button":{"text":"Yes"},` + replyTo + `}`,
			`{"context":{"id":"` + businessMsg + `"},"button":{"payload":"Yes","text":"Yes"}}`, nil, businessMsg},
		{"button with payload", `{"type":"button","button":{"text":"Stop","payload":"STOP_UPDATES"},` + replyTo + `}`,
			`{"context":{"id":"` + businessMsg + `"},"button":{"payload":"STOP_UPDATES","text":"Stop"}}`, nil, businessMsg},
		{"list reply", `{"type":"interactive","interactive":{"list_reply":{"title":"Leeds","id":"br_leeds","description":"Mon-Sat 9-18"},"type":"list_reply"},` + replyTo + `}`,
			`{"context":{"id":"` + businessMsg + `"},"interactive":{"type":"list_reply","list_reply":{"id":"br_leeds","title":"Leeds","description":"Mon-Sat 9-18"}}}`,
			nil, businessMsg},
		{"button reply", `{"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"appt_yes","title":"Yes"},"list_reply":null},` + replyTo + `}`,
			`{"context":{"id":"` + businessMsg + `"},"interactive":{"type":"button_reply","button_reply":{"id":"appt_yes","title":"Yes"}}}`, nil, businessMsg},
		{"order", `{"type":"order","order":{"catalog_id":1234567890123456,"text":"For Friday","product_items":[{"currency":"eur","item_price":"12.50","quantity":"2","product_retailer_id":"SKU-881"},{"product_retailer_id":"SKU-882","quantity":1,"item_price":0,"currency":"EUR"}]}}`,
			`{"order":{"catalog_id":"1234567890123456","text":"For Friday","product_items":[{"product_retailer_id":"SKU-881","quantity":2,"item_price":12.5,"currency":"EUR"},` +
				`{"product_retailer_id":"SKU-882","quantity":1,"item_price":0,"currency":"EUR"}]}}`, nil, ""},
		{"unknown", `{"type":"unknown"}`, `{}`, nil, ""},
		{"unknown reply", `{"type":"unknown","context":{"id":"` + userMsg + `"}}`, `{"context":{"id":"` + userMsg + `"}}`, nil, userMsg},
		{"forwarded", `{"text":{"body":"fwd"},"context":{"frequently_forwarded":true}}`,
			`{"context":{"forwarded":true,"frequently_forwarded":true},"text":{"body":"fwd"}}`, nil, ""},
		{"null context and referral are absent", `{"text":{"body":"x"},"context":null,"referral":null,"type":null}`, `{"text":{"body":"x"}}`, nil, ""},
	}
	for _, c := range cases {
		in, err := DecodeInbound(mustParams(t, c.body))
		if err != nil {
			t.Errorf("%s: %+v", c.name, err.Details)
			continue
		}
		if string(in.Content) != c.content {
			t.Errorf("%s: content\n got %s\nwant %s", c.name, in.Content, c.content)
		}
		if (in.Media == nil) != (c.media == nil) || in.Media != nil && *in.Media != *c.media {
			t.Errorf("%s: media %+v, want %+v", c.name, in.Media, c.media)
		}
		if in.ContextID != c.contextID {
			t.Errorf("%s: context id %q", c.name, in.ContextID)
		}
		// The content with its type is a valid request for the same content.
		again, err := DecodeInbound(inboundParams(t, in))
		if err != nil || string(again.Content) != string(in.Content) {
			t.Errorf("%s: not stable: %v %s", c.name, err, again.Content)
		}
	}
	if types := InboundTypes(); len(types) != 13 || types[0] != TypeText {
		t.Errorf("InboundTypes() = %v", types)
	}
}

// inboundParams turns a decoded message back into request parameters.
func inboundParams(t *testing.T, in *Inbound) map[string]json.RawMessage {
	t.Helper()
	p := mustParams(t, string(in.Content))
	p["type"] = quote(in.Type)
	return p
}
