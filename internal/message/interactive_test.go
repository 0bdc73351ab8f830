package message

import (
	"fmt"
	"strings"
	"testing"
)

// interactive builds a send of an interactive object.
func interactive(object string) string {
	return `{"to":"15550001111","type":"interactive","interactive":` + object + `}`
}

const (
	okBody    = `"body":{"text":"Pick one"}`
	okRows    = `"rows":[{"id":"a","title":"A"}]`
	okList    = `"action":{"button":"Choose","sections":[{` + okRows + `}]}`
	okButtons = `"action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Yes"}}]}`
)

func rows(n int, prefix string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`{"id":"%s%d","title":"T%d"}`, prefix, i, i)
	}
	return `"rows":[` + strings.Join(parts, ",") + `]`
}

func products(n int, prefix string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`{"product_retailer_id":"%s%d"}`, prefix, i)
	}
	return `"product_items":[` + strings.Join(parts, ",") + `]`
}

func sectionsOf(n int, each func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`{"title":"S%d",%s}`, i, each(i))
	}
	return `"sections":[` + strings.Join(parts, ",") + `]`
}

func reply(id, title string) string {
	return `{"type":"reply","reply":{"id":"` + id + `","title":"` + title + `"}}`
}

func TestDecodeInteractiveErrors(t *testing.T) {
	list := func(rest string) string { return interactive(`{"type":"list",` + okBody + `,` + rest + `}`) }
	button := func(rest string) string { return interactive(`{"type":"button",` + okBody + `,` + rest + `}`) }
	productList := func(action string) string {
		return interactive(`{"type":"product_list","header":{"type":"text","text":"H"},` + okBody + `,"action":{"catalog_id":"1",` + action + `}}`)
	}
	header := func(h string) string { return button(`"header":` + h + `,` + okButtons) }
	s := strings.Repeat
	runDecodeCases(t, []decodeCase{
		// The object and its kind.
		{"not an object", interactive(`"list"`), 400, []detail{invalid("interactive", "list")}},
		{"type missing", interactive(`{` + okBody + `}`), 400, []detail{missing("interactive.type")}},
		{"type unknown", interactive(`{"type":"flow",` + okBody + `}`), 400, []detail{invalid("interactive.type", "flow")}},
		{"type not a string", interactive(`{"type":1,` + okBody + `}`), 400, []detail{invalid("interactive.type", "1")}},

		// Header.
		{"header type missing", header(`{"text":"H"}`), 400, []detail{missing("interactive.header.type")}},
		{"header not an object", header(`"H"`), 400, []detail{invalid("interactive.header", "H")}},
		{"header type unknown", header(`{"type":"audio","audio":{"id":"` + mediaID + `"}}`), 400, []detail{invalid("interactive.header.type", "audio")}},
		{"header text missing", header(`{"type":"text"}`), 400, []detail{missing("interactive.header.text")}},
		{"header text too long", header(`{"type":"text","text":"` + s("h", 61) + `"}`), 400, []detail{longer("interactive.header.text", 60)}},
		{"header text with a line break", header(`{"type":"text","text":"a\nb"}`), 400,
			[]detail{{2017, "Parameter 'interactive.header.text' must not contain line breaks or control characters"}}},
		{"media header on a list", list(`"header":{"type":"image","image":{"id":"` + mediaID + `"}},` + okList), 400,
			[]detail{invalid("interactive.header.type", "image")}},
		{"media header object missing", header(`{"type":"video"}`), 400,
			[]detail{{1008, "Parameter 'interactive.header.video' is mandatory for interactive.header.type 'video'"}}},
		{"media header without id or link", header(`{"type":"image","image":{}}`), 400, []detail{atleastIDLink}},
		{"media header bad id", header(`{"type":"image","image":{"id":"x"}}`), 400, []detail{invalid("interactive.header.image.id", "x")}},
		{"media header caption refused", header(`{"type":"image","image":{"id":"` + mediaID + `","caption":"c"}}`), 400,
			[]detail{{1010, "Parameter 'interactive.header.image.caption' is not required for interactive.header.type 'image'"}}},
		{"media header filename refused on video", header(`{"type":"video","video":{"id":"` + mediaID + `","filename":"v"}}`), 400,
			[]detail{{1010, "Parameter 'interactive.header.video.filename' is not required for interactive.header.type 'video'"}}},
		{"media header document filename too long", header(`{"type":"document","document":{"link":"https://x.example/d","filename":"` + s("f", 256) + `"}}`), 400,
			[]detail{longer("interactive.header.document.filename", 255)}},
		{"header on product", interactive(`{"type":"product","header":{"type":"text","text":"H"},"action":{"catalog_id":"1","product_retailer_id":"p"}}`), 400,
			[]detail{{1010, "Parameter 'interactive.header' is not required for interactive.type 'product'"}}},
		{"header required for product_list", interactive(`{"type":"product_list",` + okBody + `,"action":{"catalog_id":"1",` + sectionsOf(1, func(int) string { return products(1, "p") }) + `}}`), 400,
			[]detail{mandatoryForKind("interactive.header", "product_list")}},

		// Body and footer.
		{"body missing on a list", interactive(`{"type":"list",` + okList + `}`), 400, []detail{mandatoryForKind("interactive.body", "list")}},
		{"body missing on buttons", interactive(`{"type":"button",` + okButtons + `}`), 400, []detail{mandatoryForKind("interactive.body", "button")}},
		{"body not an object", interactive(`{"type":"list","body":"hi",` + okList + `}`), 400, []detail{invalid("interactive.body", "hi")}},
		{"body text missing", interactive(`{"type":"list","body":{},` + okList + `}`), 400, []detail{missing("interactive.body.text")}},
		{"body text blank", interactive(`{"type":"list","body":{"text":" "},` + okList + `}`), 400, []detail{invalid("interactive.body.text", " ")}},
		{"body text too long", interactive(`{"type":"list","body":{"text":"` + s("b", 1025) + `"},` + okList + `}`), 400, []detail{longer("interactive.body.text", 1024)}},
		{"footer text too long", list(`"footer":{"text":"` + s("f", 61) + `"},` + okList), 400, []detail{longer("interactive.footer.text", 60)}},
		{"footer without text", list(`"footer":{},` + okList), 400, []detail{missing("interactive.footer.text")}},

		// Action, common.
		{"action missing", list(`"footer":null`), 400, []detail{missing("interactive.action")}},
		{"action not an object", list(`"action":[]`), 400, []detail{invalid("interactive.action", "[]")}},

		// List.
		{"list button missing", list(`"action":{"sections":[{` + okRows + `}]}`), 400, []detail{missing("interactive.action.button")}},
		{"list button too long", list(`"action":{"button":"` + s("b", 21) + `","sections":[{` + okRows + `}]}`), 400, []detail{longer("interactive.action.button", 20)}},
		{"list button with a tab", list(`"action":{"button":"a\tb","sections":[{` + okRows + `}]}`), 400,
			[]detail{{2017, "Parameter 'interactive.action.button' must not contain line breaks or control characters"}}},
		{"sections missing", list(`"action":{"button":"B"}`), 400, []detail{missing("interactive.action.sections")}},
		{"sections not a list", list(`"action":{"button":"B","sections":{}}`), 400, []detail{invalid("interactive.action.sections", "{}")}},
		{"no section", list(`"action":{"button":"B","sections":[]}`), 400, []detail{{2015, "Parameter 'interactive.action.sections' must have 1 to 10 items; it has 0"}}},
		{"eleven sections", list(`"action":{"button":"B",` + sectionsOf(11, func(i int) string { return rows(1, fmt.Sprint("s", i, "r")) }) + `}`), 400,
			[]detail{{2015, "Parameter 'interactive.action.sections' must have 1 to 10 items; it has 11"},
				{2016, "Parameter 'interactive.action.sections' must have 1 to 10 rows in all; it has 11"}}},
		{"section title needed with two sections", list(`"action":{"button":"B","sections":[{` + rows(1, "a") + `},{"title":"T",` + rows(1, "b") + `}]}`), 400,
			[]detail{{1008, "Parameter 'interactive.action.sections[0].title' is mandatory when there is more than one section"}}},
		{"section title too long", list(`"action":{"button":"B","sections":[{"title":"` + s("t", 25) + `",` + okRows + `}]}`), 400,
			[]detail{longer("interactive.action.sections[0].title", 24)}},
		{"section not an object", list(`"action":{"button":"B","sections":["x"]}`), 400, []detail{invalid("interactive.action.sections[0]", "x")}},
		{"rows missing", list(`"action":{"button":"B","sections":[{"title":"T"}]}`), 400, []detail{missing("interactive.action.sections[0].rows")}},
		{"rows empty", list(`"action":{"button":"B","sections":[{"rows":[]}]}`), 400,
			[]detail{{2016, "Parameter 'interactive.action.sections[0].rows' must have at least 1 item"}}},
		{"eleven rows in all", list(`"action":{"button":"B",` + sectionsOf(2, func(i int) string { return rows(5+i, fmt.Sprint(i)) }) + `}`), 400,
			[]detail{{2016, "Parameter 'interactive.action.sections' must have 1 to 10 rows in all; it has 11"}}},
		{"row id missing", list(`"action":{"button":"B","sections":[{"rows":[{"title":"A"}]}]}`), 400, []detail{missing("interactive.action.sections[0].rows[0].id")}},
		{"row id too long", list(`"action":{"button":"B","sections":[{"rows":[{"id":"` + s("i", 201) + `","title":"A"}]}]}`), 400,
			[]detail{longer("interactive.action.sections[0].rows[0].id", 200)}},
		{"row ids unique across sections", list(`"action":{"button":"B","sections":[{"title":"1","rows":[{"id":"a","title":"A"}]},{"title":"2","rows":[{"id":"a","title":"B"}]}]}`), 400,
			[]detail{{1009, "Parameter 'interactive.action.sections[1].rows[0].id' has duplicate value 'a'"}}},
		{"row title too long", list(`"action":{"button":"B","sections":[{"rows":[{"id":"a","title":"` + s("t", 25) + `"}]}]}`), 400,
			[]detail{longer("interactive.action.sections[0].rows[0].title", 24)}},
		{"row title missing", list(`"action":{"button":"B","sections":[{"rows":[{"id":"a"}]}]}`), 400,
			[]detail{missing("interactive.action.sections[0].rows[0].title")}},
		{"row description too long", list(`"action":{"button":"B","sections":[{"rows":[{"id":"a","title":"A","description":"` + s("d", 73) + `"}]}]}`), 400,
			[]detail{longer("interactive.action.sections[0].rows[0].description", 72)}},
		{"row description with a line break", list(`"action":{"button":"B","sections":[{"rows":[{"id":"a","title":"A","description":"x\ny"}]}]}`), 400,
			[]detail{{2017, "Parameter 'interactive.action.sections[0].rows[0].description' must not contain line breaks or control characters"}}},

		{"rows not a list", list(`"action":{"button":"B","sections":[{"rows":{}}]}`), 400, []detail{invalid("interactive.action.sections[0].rows", "{}")}},
		{"row not an object", list(`"action":{"button":"B","sections":[{"rows":[1]}]}`), 400, []detail{invalid("interactive.action.sections[0].rows[0]", "1")}},

		// Reply buttons.
		{"buttons missing", button(`"action":{}`), 400, []detail{missing("interactive.action.buttons")}},
		{"buttons not a list", button(`"action":{"buttons":"yes"}`), 400, []detail{invalid("interactive.action.buttons", "yes")}},
		{"button not an object", button(`"action":{"buttons":["yes"]}`), 400, []detail{invalid("interactive.action.buttons[0]", "yes")}},
		{"reply not an object", button(`"action":{"buttons":[{"type":"reply","reply":"yes"}]}`), 400, []detail{invalid("interactive.action.buttons[0].reply", "yes")}},
		{"no button", button(`"action":{"buttons":[]}`), 400, []detail{{1009, "Parameter 'interactive.action.buttons' must have 1 to 3 items; it has 0"}}},
		{"four buttons", button(`"action":{"buttons":[` + reply("1", "a") + `,` + reply("2", "b") + `,` + reply("3", "c") + `,` + reply("4", "d") + `]}`), 400,
			[]detail{{1009, "Parameter 'interactive.action.buttons' must have 1 to 3 items; it has 4"}}},
		{"button type missing", button(`"action":{"buttons":[{"reply":{"id":"a","title":"A"}}]}`), 400, []detail{missing("interactive.action.buttons[0].type")}},
		{"button type url", button(`"action":{"buttons":[{"type":"url","reply":{"id":"a","title":"A"}}]}`), 400, []detail{invalid("interactive.action.buttons[0].type", "url")}},
		{"reply missing", button(`"action":{"buttons":[{"type":"reply"}]}`), 400, []detail{missing("interactive.action.buttons[0].reply")}},
		{"reply id too long", button(`"action":{"buttons":[` + reply(s("i", 257), "A") + `]}`), 400, []detail{longer("interactive.action.buttons[0].reply.id", 256)}},
		{"reply id with a leading space", button(`"action":{"buttons":[` + reply(" a", "A") + `]}`), 400,
			[]detail{{2017, "Parameter 'interactive.action.buttons[0].reply.id' must not begin or end with a space"}}},
		{"reply id with a trailing no-break space", button(`"action":{"buttons":[` + reply("a\u00a0", "A") + `]}`), 400,
			[]detail{{2017, "Parameter 'interactive.action.buttons[0].reply.id' must not begin or end with a space"}}},
		{"reply ids unique", button(`"action":{"buttons":[` + reply("a", "A") + `,` + reply("a", "B") + `]}`), 400,
			[]detail{{1009, "Parameter 'interactive.action.buttons[1].reply.id' has duplicate value 'a'"}}},
		{"reply titles unique", button(`"action":{"buttons":[` + reply("a", "A") + `,` + reply("b", "A") + `]}`), 400,
			[]detail{{1009, "Parameter 'interactive.action.buttons[1].reply.title' has duplicate value 'A'"}}},
		{"reply title too long", button(`"action":{"buttons":[` + reply("a", s("t", 21)) + `]}`), 400, []detail{longer("interactive.action.buttons[0].reply.title", 20)}},
		{"reply title missing", button(`"action":{"buttons":[{"type":"reply","reply":{"id":"a"}}]}`), 400, []detail{missing("interactive.action.buttons[0].reply.title")}},

		// Product.
		{"product without catalog or product", interactive(`{"type":"product","action":{}}`), 400,
			[]detail{missing("interactive.action.catalog_id"), missing("interactive.action.product_retailer_id")}},
		{"product ids blank", interactive(`{"type":"product","action":{"catalog_id":"","product_retailer_id":false}}`), 400,
			[]detail{invalid("interactive.action.catalog_id", ""), invalid("interactive.action.product_retailer_id", "false")}},
		{"product catalog id a negative number", interactive(`{"type":"product","action":{"catalog_id":-1,"product_retailer_id":"p"}}`), 400,
			[]detail{invalid("interactive.action.catalog_id", "-1")}},

		// Product list.
		{"product_list catalog missing", interactive(`{"type":"product_list","header":{"type":"text","text":"H"},` + okBody + `,"action":{` + sectionsOf(1, func(int) string { return products(1, "p") }) + `}}`), 400,
			[]detail{missing("interactive.action.catalog_id")}},
		{"product_list header must be text", interactive(`{"type":"product_list","header":{"type":"image","image":{"id":"` + mediaID + `"}},` + okBody + `,"action":{"catalog_id":"1",` + sectionsOf(1, func(int) string { return products(1, "p") }) + `}}`), 400,
			[]detail{invalid("interactive.header.type", "image")}},
		{"product_list body required", interactive(`{"type":"product_list","header":{"type":"text","text":"H"},"action":{"catalog_id":"1",` + sectionsOf(1, func(int) string { return products(1, "p") }) + `}}`), 400,
			[]detail{mandatoryForKind("interactive.body", "product_list")}},
		{"product_list no section", productList(`"sections":[]`), 400, []detail{{2015, "Parameter 'interactive.action.sections' must have 1 to 10 items; it has 0"}}},
		{"product_list items missing", productList(`"sections":[{"title":"S"}]`), 400, []detail{missing("interactive.action.sections[0].product_items")}},
		{"product_list items not a list", productList(`"sections":[{"product_items":"p"}]`), 400, []detail{invalid("interactive.action.sections[0].product_items", "p")}},
		{"product_list item not an object", productList(`"sections":[{"product_items":["p"]}]`), 400, []detail{invalid("interactive.action.sections[0].product_items[0]", "p")}},
		{"product_list items empty", productList(`"sections":[{"product_items":[]}]`), 400,
			[]detail{{2023, "Parameter 'interactive.action.sections[0].product_items' must have at least 1 item"}}},
		{"product_list 31 products", productList(sectionsOf(2, func(i int) string { return products(15+i, fmt.Sprint(i)) })), 400,
			[]detail{{2023, "Parameter 'interactive.action.sections' must have 1 to 30 product_items in all; it has 31"}}},
		{"product_list item without id", productList(`"sections":[{"product_items":[{}]}]`), 400,
			[]detail{missing("interactive.action.sections[0].product_items[0].product_retailer_id")}},
		{"product_list section title needed", productList(`"sections":[{` + products(1, "a") + `},{` + products(1, "b") + `}]`), 400,
			[]detail{{1008, "Parameter 'interactive.action.sections[0].title' is mandatory when there is more than one section"},
				{1008, "Parameter 'interactive.action.sections[1].title' is mandatory when there is more than one section"}}},

		{"several errors in document order", interactive(`{"type":"button","header":{"type":"text","text":""},"footer":{"text":5},"action":{"buttons":[` + reply("a", "") + `]}}`), 400,
			[]detail{invalid("interactive.header.text", ""), mandatoryForKind("interactive.body", "button"), invalid("interactive.footer.text", "5"),
				invalid("interactive.action.buttons[0].reply.title", "")}},

		// Accepted edges.
		{"ten rows and ten sections", list(`"action":{"button":"B",` + sectionsOf(10, func(i int) string { return rows(1, fmt.Sprint(i)) }) + `}`), 0, nil},
		{"three buttons", button(`"action":{"buttons":[` + reply("1", "a") + `,` + reply("2", "b") + `,` + reply("3", "c") + `]}`), 0, nil},
		{"thirty products", productList(sectionsOf(2, func(i int) string { return products(15, fmt.Sprint(i)) })), 0, nil},
		{"product without body", interactive(`{"type":"product","action":{"catalog_id":1234567890123456,"product_retailer_id":"SKU-1"}}`), 0, nil},
		{"single section without a title", list(okList), 0, nil},
		{"filename refused by the first pass", interactive(`{"type":"list","filename":"f"}`), 400, []detail{notRequired("filename", "interactive")}},
	})
}

func mandatoryForKind(name, kind string) detail {
	return detail{1008, "Parameter '" + name + "' is mandatory for interactive.type '" + kind + "'"}
}

func TestDecodeInteractiveModel(t *testing.T) {
	msg, err := Decode(mustParams(t, interactive(`{"type":"button","header":{"type":"image","image":{"id":"`+mediaID+`"}},`+okBody+`,`+okButtons+`}`)))
	if err != nil {
		t.Fatal(err.Details)
	}
	in := msg.Interactive
	if in == nil || in.Kind != "button" || in.HeaderMedia == nil || *in.HeaderMedia != (Media{Kind: "image", ID: mediaID}) {
		t.Fatalf("interactive %+v", in)
	}
	if ref, ok := msg.MediaRef(); !ok || ref != in.HeaderMedia {
		t.Errorf("MediaRef() = %v, %v", ref, ok)
	}
	// The engine resolves the header in place; the body follows.
	in.HeaderMedia = &Media{Kind: "image", Link: "https://x.example/h.png"}
	body, _ := msg.Body()
	if !strings.Contains(string(body), `"header":{"type":"image","image":{"link":"https://x.example/h.png"}}`) {
		t.Errorf("Body() = %s", body)
	}

	msg, err = Decode(mustParams(t, interactive(`{"type":"product_list","header":{"type":"text","text":"H"},`+okBody+
		`,"action":{"catalog_id":"42",`+sectionsOf(2, func(i int) string { return products(2, fmt.Sprint("s", i, "-")) })+`}}`)))
	if err != nil {
		t.Fatal(err.Details)
	}
	in = msg.Interactive
	if in.Kind != "product_list" || in.CatalogID != "42" || strings.Join(in.ProductRetailerIDs, ",") != "s0-0,s0-1,s1-0,s1-1" || in.HeaderMedia != nil {
		t.Errorf("interactive %+v", in)
	}
	if _, ok := msg.MediaRef(); ok {
		t.Error("a text header is media")
	}
}
