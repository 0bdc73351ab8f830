package template

import (
	"strings"
	"testing"
)

// TestHydrateShapeErrors: the shapes of components and parameters, with
// message's conventions (1008 missing, 1009 invalid, 1010 not allowed).
func TestHydrateShapeErrors(t *testing.T) {
	header := func(param string) string { return `{"type":"header","parameters":[` + param + `]}` }
	image := func(object string) string {
		return ship(header(`{"type":"image","image":`+object+`}`), shipBody, shipURL)
	}
	location := func(object string) string {
		return send("store_location", "en", header(`{"type":"location","location":`+object+`}`))
	}
	exactlyIDLink := detail{1010, "Exactly one of the following parameters must be present: 'id', 'link'"}
	atleastIDLink := detail{1008, "Atleast one of the following parameters must be present: 'id', 'link'"}
	img := pp(0, 0) + ".image"
	cur := pp(0, 0) + ".currency"
	dt := pp(0, 0) + ".date_time"

	runHydrateCases(t, []hydrateCase{
		// Components.
		{"components not a list", "", `{"namespace":"` + ns + `","name":"thanks","language":{"code":"en"},"components":{"type":"body"}}`, 400,
			[]detail{invalid("template.components", `{"type":"body"}`)}},
		{"null components are none", "", `{"namespace":"` + ns + `","name":"thanks","language":{"code":"en"},"components":null}`, 0, nil},
		{"component not an object", "", send("thanks", "en", `"body"`), 400, []detail{invalid("template.components[0]", "body")}},
		{"component type missing", "", send("thanks", "en", `{"parameters":[]}`), 400, []detail{missing("template.components[0].type")}},
		{"component type in capitals", "", send("thanks", "en", `{"type":"BODY"}`), 400, []detail{invalid("template.components[0].type", "BODY")}},
		{"component type buttons", "", send("thanks", "en", `{"type":"buttons"}`), 400, []detail{invalid("template.components[0].type", "buttons")}},
		{"two bodies", "", send("thanks", "en", `{"type":"body"},{"type":"body"}`), 400,
			[]detail{{1009, "Parameter 'template.components[1].type' has duplicate value 'body'"}}},
		{"parameters not a list", "", send("thanks", "en", `{"type":"body","parameters":{"type":"text"}}`), 400,
			[]detail{invalid("template.components[0].parameters", `{"type":"text"}`)}},
		{"empty body component of a static body", "", send("thanks", "en", `{"type":"body","parameters":[]},{"type":"footer"}`), 0, nil},

		// Parameters.
		{"parameter not an object", "", payment(`"Dana"`), 400, []detail{invalid(pp(0, 0), "Dana")}},
		{"parameter type missing", "", payment(`{"text":"Dana"}`), 400, []detail{missing(pp(0, 0) + ".type")}},
		{"parameter type unknown", "", payment(`{"type":"string","text":"Dana"}`), 400, []detail{invalid(pp(0, 0)+".type", "string")}},
		{"parameter type not a string", "", payment(`{"type":1}`), 400, []detail{invalid(pp(0, 0)+".type", "1")}},
		{"text missing", "", payment(`{"type":"text"}`), 400, []detail{missing(pp(0, 0) + ".text")}},
		{"text blank", "", payment(`{"type":"text","text":"  "}`), 400, []detail{invalid(pp(0, 0)+".text", "  ")}},
		{"text a number", "", payment(`{"type":"text","text":30}`), 400, []detail{invalid(pp(0, 0)+".text", "30")}},

		// Buttons.
		{"sub_type and index missing", "", ship(shipHeader, shipBody, `{"type":"button","parameters":[]}`), 400,
			[]detail{missing("template.components[2].sub_type"), missing("template.components[2].index"),
				{2009, "button 0 (url): the template's url button needs 1 parameter; the send has no button component with index 0"}}},
		{"sub_type phone_number", "", send("welcome", "en", header(text("D"))+","+body(text("A"))+`,{"type":"button","sub_type":"phone_number","index":2}`), 400,
			[]detail{invalid("template.components[2].sub_type", "phone_number")}},
		{"index 10", "", ship(shipHeader, shipBody, `{"type":"button","sub_type":"url","index":"10","parameters":[`+text("1")+`]}`), 400,
			[]detail{invalid("template.components[2].index", "10"),
				{2009, "button 0 (url): the template's url button needs 1 parameter; the send has no button component with index 0"}}},
		{"index negative", "", ship(shipHeader, shipBody, shipURL, `{"type":"button","sub_type":"quick_reply","index":-1}`), 400,
			[]detail{invalid("template.components[3].index", "-1")}},
		{"index a fraction", "", ship(shipHeader, shipBody, shipURL, `{"type":"button","sub_type":"quick_reply","index":1.0}`), 400,
			[]detail{invalid("template.components[3].index", "1.0")}},
		{"index past the buttons", "", ship(shipHeader, shipBody, shipURL, `{"type":"button","sub_type":"quick_reply","index":"5"}`), 400,
			[]detail{{1009, "Parameter 'template.components[3].index' has invalid value '5': the template has 2 buttons"}}},
		{"sub_type not the button's", "", ship(shipHeader, shipBody, `{"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"x"}]}`, shipURL), 400,
			[]detail{{1009, "Parameter 'template.components[2].sub_type' has invalid value 'quick_reply': button 0 of the template is a url button"}}},
		{"the same button twice", "", ship(shipHeader, shipBody, shipURL, shipURL), 400,
			[]detail{{1009, "Parameter 'template.components[3].index' has duplicate value '0'"}}},

		// currency and date_time.
		{"currency object missing", "", payment(`{"type":"currency"}`), 400, []detail{missing(cur)}},
		{"currency not an object", "", payment(`{"type":"currency","currency":"$5"}`), 400, []detail{invalid(cur, "$5")}},
		{"currency fields", "", payment(`{"type":"currency","currency":{"code":"usd","amount_1000":12.5}}`), 400,
			[]detail{missing(cur + ".fallback_value"), invalid(cur+".code", "usd"), invalid(cur+".amount_1000", "12.5")}},
		{"currency amount missing", "", payment(`{"type":"currency","currency":{"fallback_value":"$5","code":"USD"}}`), 400,
			[]detail{missing(cur + ".amount_1000")}},
		{"date_time fields out of range", "", payment(`{"type":"date_time","date_time":{"fallback_value":"x","day_of_week":8,"year":0,"month":"13","day_of_month":32,"hour":24,"minute":60,"calendar":"JULIAN"}}`), 400,
			[]detail{invalid(dt+".day_of_week", "8"), invalid(dt+".year", "0"), invalid(dt+".month", "13"), invalid(dt+".day_of_month", "32"),
				invalid(dt+".hour", "24"), invalid(dt+".minute", "60"), invalid(dt+".calendar", "JULIAN")}},
		{"date_time timestamp negative", "", payment(`{"type":"date_time","date_time":{"fallback_value":"x","timestamp":-1}}`), 400,
			[]detail{invalid(dt+".timestamp", "-1")}},
		{"date_time timestamp and fields", "", payment(`{"type":"date_time","date_time":{"fallback_value":"x","timestamp":1709458200,"year":2024}}`), 400,
			[]detail{{1010, "Only one of the following parameters may be present: '" + dt + ".timestamp', '" + dt + ".year'"}}},
		{"date_time only fallback_value", "", payment(`{"type":"date_time","date_time":{"fallback_value":"today"}}`), 0, nil},

		// Media headers.
		{"media id and link", "", image(`{"id":"` + mediaID + `","link":"https://x.example/a.png"}`), 400, []detail{exactlyIDLink}},
		{"media neither id nor link", "", image(`{"filename":"a.png"}`), 400, []detail{atleastIDLink, {1010, "Parameter '" + img + ".filename' is not required for template header 'image'"}}},
		{"media id not an id", "", image(`{"id":"12345"}`), 400, []detail{invalid(img+".id", "12345")}},
		{"media link not http", "", image(`{"link":"ftp://x.example/a.png"}`), 400, []detail{invalid(img+".link", "ftp://x.example/a.png")}},
		{"media provider with an id", "", image(`{"id":"` + mediaID + `","provider":{"name":"cdn"}}`), 400,
			[]detail{{1010, "Parameter '" + img + ".provider' is only allowed with '" + img + ".link'"}}},
		{"media provider without a name", "", image(`{"link":"https://x.example/a.png","provider":{}}`), 400, []detail{missing(img + ".provider.name")}},
		{"media caption", "", image(`{"id":"` + mediaID + `","caption":"c"}`), 400,
			[]detail{{1010, "Parameter '" + img + ".caption' is not required for template header 'image'"}}},
		{"document filename too long", "", send("invoice", "en", header(`{"type":"document","document":{"id":"`+mediaID+`","filename":"`+strings.Repeat("f", 256)+`"}}`)), 400,
			[]detail{{1009, "Parameter '" + pp(0, 0) + ".document.filename' is longer than 255 characters"}}},

		// Location headers.
		{"location fields", "", location(`{"latitude":91,"name":5}`), 400,
			[]detail{invalid(pp(0, 0)+".location.latitude", "91"), missing(pp(0, 0) + ".location.longitude"), invalid(pp(0, 0)+".location.name", "5")}},
		{"location as strings", "", location(`{"latitude":"51.5072","longitude":"-0.1276"}`), 0, nil},

		// Errors are collected across components, in the send's order.
		{"errors of several components", "", ship(header(`{"type":"video","video":{"id":"x"}}`),
			body(text("a\nb"), `{"type":"currency","currency":{"fallback_value":"$1","code":"US","amount_1000":1}}`, `{"type":"date_time"}`),
			`{"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":""}]}`), 400,
			[]detail{{2012, "Parameter '" + pp(0, 0) + ".type' is 'video': the image header takes image"},
				{2006, "Parameter '" + pp(1, 0) + ".text' must not contain line breaks, tabs or more than 4 consecutive spaces"},
				invalid(pp(1, 1)+".currency.code", "US"),
				missing(pp(1, 2) + ".date_time"),
				invalid(pp(2, 0)+".text", "")}},
	})
}
