package message

import (
	"encoding/json"
	"slices"

	"github.com/wabiz/wabiz/internal/apierr"
)

// Kinds of interactive message (`interactive.type`, spec §5.1.2). The kinds
// later builds added (location_request_message, address_message, flow) are
// UNCONFIRMED for On-Premises and refused as invalid values.
const (
	InteractiveList        = "list"
	InteractiveButton      = "button"
	InteractiveProduct     = "product"
	InteractiveProductList = "product_list"
)

var interactiveKinds = []string{InteractiveList, InteractiveButton, InteractiveProduct, InteractiveProductList}

// Limits of interactive messages (spec §5.1.2), in characters.
const (
	maxHeaderTextChars     = 60
	maxInteractiveBody     = 1024
	maxFooterChars         = 60
	maxListButtonChars     = 20
	maxSections            = 10
	maxSectionTitleChars   = 24
	maxRows                = 10
	maxRowIDChars          = 200
	maxRowTitleChars       = 24
	maxRowDescriptionChars = 72
	maxReplyButtons        = 3
	maxReplyIDChars        = 256
	maxReplyTitleChars     = 20
	maxProductItems        = 30
)

// Interactive is a validated interactive object: the fields the engine
// needs, and the whole object in canonical form (MarshalJSON).
type Interactive struct {
	Kind string // list, button, product or product_list
	// HeaderMedia is the image, video or document of a button message's
	// header; the canonical object is written with it as it is when
	// marshalled, so the engine may resolve it in place.
	HeaderMedia *Media
	// CatalogID and ProductRetailerIDs (in message order) are set for the
	// product kinds.
	CatalogID          string
	ProductRetailerIDs []string

	doc interactiveJSON
}

// interactiveJSON is the canonical object, keys in a fixed order.
type interactiveJSON struct {
	Type   string      `json:"type"`
	Header *headerJSON `json:"header,omitempty"`
	Body   *textJSON   `json:"body,omitempty"`
	Footer *textJSON   `json:"footer,omitempty"`
	Action actionJSON  `json:"action"`
}

type headerJSON struct {
	Type     string `json:"type"`
	Text     string `json:"text,omitempty"`
	Image    *Media `json:"image,omitempty"`
	Video    *Media `json:"video,omitempty"`
	Document *Media `json:"document,omitempty"`
}

type textJSON struct {
	Text string `json:"text"`
}

type actionJSON struct {
	Button            string        `json:"button,omitempty"`
	Buttons           []buttonJSON  `json:"buttons,omitempty"`
	CatalogID         string        `json:"catalog_id,omitempty"`
	ProductRetailerID string        `json:"product_retailer_id,omitempty"`
	Sections          []sectionJSON `json:"sections,omitempty"`
}

type sectionJSON struct {
	Title        string        `json:"title,omitempty"`
	Rows         []rowJSON     `json:"rows,omitempty"`
	ProductItems []productJSON `json:"product_items,omitempty"`
}

type rowJSON struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

type buttonJSON struct {
	Type  string    `json:"type"`
	Reply replyJSON `json:"reply"`
}

type replyJSON struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

type productJSON struct {
	ProductRetailerID string `json:"product_retailer_id"`
}

// MarshalJSON writes the canonical interactive object.
func (in *Interactive) MarshalJSON() ([]byte, error) {
	doc := in.doc
	if doc.Header != nil {
		header := *doc.Header
		header.Image, header.Video, header.Document = nil, nil, nil
		switch header.Type {
		case TypeImage:
			header.Image = in.HeaderMedia
		case TypeVideo:
			header.Video = in.HeaderMedia
		case TypeDocument:
			header.Document = in.HeaderMedia
		}
		doc.Header = &header
	}
	return marshal(doc), nil
}

// checkInteractive is the value check of type interactive: the kind first
// (the other rules depend on it), then header, body, footer and action.
func (d *decoder) checkInteractive(errs *apierr.List) {
	const path = TypeInteractive
	fields := objectAt(errs, d.params[TypeInteractive], path)
	if fields == nil {
		return
	}
	kindRaw, ok := Given(fields, "type")
	if !ok {
		errs.Merge(apierr.MissingParam(Join(path, "type")))
		return
	}
	kind, isString := JSONString(kindRaw)
	if !isString || !slices.Contains(interactiveKinds, kind) {
		errs.Merge(apierr.InvalidValue(Join(path, "type"), Display(kindRaw)))
		return
	}
	before := errs.Len()
	in := &Interactive{Kind: kind, doc: interactiveJSON{Type: kind}}

	header, hasHeader := Given(fields, "header")
	switch {
	case kind == InteractiveProduct && hasHeader:
		errs.Merge(apierr.NotRequired(Join(path, "header"), "interactive.type", kind))
	case kind == InteractiveProductList && !hasHeader:
		errs.Merge(apierr.MandatoryFor(Join(path, "header"), "interactive.type", kind))
	case hasHeader:
		in.doc.Header, in.HeaderMedia = checkHeader(errs, kind, header)
	}

	if body, ok := Given(fields, "body"); ok {
		in.doc.Body = checkTextObject(errs, Join(path, "body"), body, maxInteractiveBody)
	} else if kind != InteractiveProduct {
		errs.Merge(apierr.MandatoryFor(Join(path, "body"), "interactive.type", kind))
	}
	if footer, ok := Given(fields, "footer"); ok {
		in.doc.Footer = checkTextObject(errs, Join(path, "footer"), footer, maxFooterChars)
	}

	if action, ok := Given(fields, "action"); !ok {
		errs.Merge(apierr.MissingParam(Join(path, "action")))
	} else if af := objectAt(errs, action, Join(path, "action")); af != nil {
		switch kind {
		case InteractiveList:
			checkListAction(errs, af, &in.doc.Action)
		case InteractiveButton:
			checkButtonAction(errs, af, &in.doc.Action)
		case InteractiveProduct:
			checkProductAction(errs, af, in)
		case InteractiveProductList:
			checkProductListAction(errs, af, in)
		}
	}

	if errs.Len() == before {
		d.out.Interactive = in
	}
}

// checkHeader: a text header for every kind that takes one, a media header
// (image, video, document) for the button kind only.
func checkHeader(errs *apierr.List, kind string, raw json.RawMessage) (*headerJSON, *Media) {
	const path = "interactive.header"
	fields := objectAt(errs, raw, path)
	if fields == nil {
		return nil, nil
	}
	typeRaw, ok := Given(fields, "type")
	if !ok {
		errs.Merge(apierr.MissingParam(Join(path, "type")))
		return nil, nil
	}
	headerType, _ := JSONString(typeRaw)
	isMedia := headerType == TypeImage || headerType == TypeVideo || headerType == TypeDocument
	if headerType != TypeText && !(isMedia && kind == InteractiveButton) {
		errs.Merge(apierr.InvalidValue(Join(path, "type"), Display(typeRaw)))
		return nil, nil
	}
	header := &headerJSON{Type: headerType}
	if headerType == TypeText {
		text, ok := RequiredText(errs, fields, "text", Join(path, "text"), maxHeaderTextChars)
		if ok && singleLine(errs, Join(path, "text"), text) {
			header.Text = text
		}
		return header, nil
	}
	mediaRaw, ok := Given(fields, headerType)
	if !ok {
		errs.Merge(apierr.MandatoryFor(Join(path, headerType), "interactive.header.type", headerType))
		return nil, nil
	}
	return header, checkMedia(errs, headerType, Join(path, headerType), mediaRaw, true)
}

// checkTextObject reads {"text": "..."} (body, footer: several lines are
// fine there).
func checkTextObject(errs *apierr.List, path string, raw json.RawMessage, limit int) *textJSON {
	fields := objectAt(errs, raw, path)
	if fields == nil {
		return nil
	}
	text, ok := RequiredText(errs, fields, "text", Join(path, "text"), limit)
	if !ok {
		return nil
	}
	return &textJSON{Text: text}
}

// label reads a required one-line text (button labels, titles).
func label(errs *apierr.List, fields map[string]json.RawMessage, key, path string, limit int) string {
	s, ok := RequiredText(errs, fields, key, path, limit)
	if ok && singleLine(errs, path, s) {
		return s
	}
	return ""
}

// sections reads the 1–10 sections of a list or product_list (2015 outside
// that range), calling each for every section object with its title rule
// applied: a title is required when there is more than one section.
func sections(errs *apierr.List, fields map[string]json.RawMessage, each func(string, map[string]json.RawMessage, *sectionJSON)) []sectionJSON {
	const path = "interactive.action.sections"
	raw, ok := Given(fields, "sections")
	if !ok {
		errs.Merge(apierr.MissingParam(path))
		return nil
	}
	items, ok := arrayAt(errs, raw, path)
	if !ok {
		return nil
	}
	if len(items) < 1 || len(items) > maxSections {
		errs.Merge(countError(2015, path, 1, maxSections, len(items), "items"))
	}
	out := make([]sectionJSON, 0, len(items))
	for i, item := range items {
		p := At(path, i)
		sf := objectAt(errs, item, p)
		if sf == nil {
			continue
		}
		var section sectionJSON
		titlePath := Join(p, "title")
		if _, hasTitle := Given(sf, "title"); !hasTitle && len(items) > 1 {
			errs.Addf(1008, "Parameter '%s' is mandatory when there is more than one section", titlePath)
		} else if hasTitle {
			section.Title = label(errs, sf, "title", titlePath, maxSectionTitleChars)
		}
		each(p, sf, &section)
		out = append(out, section)
	}
	return out
}

// checkListAction: the list button, then sections of 1–10 rows in all
// (2016 outside that range, or for a section without rows); row ids unique.
func checkListAction(errs *apierr.List, fields map[string]json.RawMessage, action *actionJSON) {
	action.Button = label(errs, fields, "button", "interactive.action.button", maxListButtonChars)
	rows := 0
	ids := duplicates{}
	action.Sections = sections(errs, fields, func(p string, sf map[string]json.RawMessage, section *sectionJSON) {
		rowsPath := Join(p, "rows")
		raw, ok := Given(sf, "rows")
		if !ok {
			errs.Merge(apierr.MissingParam(rowsPath))
			return
		}
		items, ok := arrayAt(errs, raw, rowsPath)
		if !ok {
			return
		}
		if len(items) == 0 {
			errs.Addf(2016, "Parameter '%s' must have at least 1 item", rowsPath)
		}
		rows += len(items)
		for j, item := range items {
			rp := At(rowsPath, j)
			rf := objectAt(errs, item, rp)
			if rf == nil {
				continue
			}
			var row rowJSON
			if id, ok := RequiredText(errs, rf, "id", Join(rp, "id"), maxRowIDChars); ok && !ids.seen(errs, Join(rp, "id"), id) {
				row.ID = id
			}
			row.Title = label(errs, rf, "title", Join(rp, "title"), maxRowTitleChars)
			if desc, ok := OptionalText(errs, rf, "description", Join(rp, "description"), maxRowDescriptionChars); ok &&
				singleLine(errs, Join(rp, "description"), desc) {
				row.Description = desc
			}
			section.Rows = append(section.Rows, row)
		}
	})
	if rows > maxRows {
		errs.Merge(countError(2016, "interactive.action.sections", 1, maxRows, rows, "rows in all"))
	}
}

// checkButtonAction: 1–3 reply buttons with unique ids and titles.
func checkButtonAction(errs *apierr.List, fields map[string]json.RawMessage, action *actionJSON) {
	const path = "interactive.action.buttons"
	raw, ok := Given(fields, "buttons")
	if !ok {
		errs.Merge(apierr.MissingParam(path))
		return
	}
	items, ok := arrayAt(errs, raw, path)
	if !ok {
		return
	}
	if len(items) < 1 || len(items) > maxReplyButtons {
		errs.Merge(countError(1009, path, 1, maxReplyButtons, len(items), "items"))
	}
	ids, titles := duplicates{}, duplicates{}
	for i, item := range items {
		p := At(path, i)
		bf := objectAt(errs, item, p)
		if bf == nil {
			continue
		}
		if t, ok := RequiredText(errs, bf, "type", Join(p, "type"), 0); ok && t != "reply" {
			errs.Merge(apierr.InvalidValue(Join(p, "type"), t))
		}
		replyRaw, ok := Given(bf, "reply")
		if !ok {
			errs.Merge(apierr.MissingParam(Join(p, "reply")))
			continue
		}
		rp := Join(p, "reply")
		rf := objectAt(errs, replyRaw, rp)
		if rf == nil {
			continue
		}
		button := buttonJSON{Type: "reply"}
		if id, ok := RequiredText(errs, rf, "id", Join(rp, "id"), maxReplyIDChars); ok &&
			unpadded(errs, Join(rp, "id"), id) && !ids.seen(errs, Join(rp, "id"), id) {
			button.Reply.ID = id
		}
		if title := label(errs, rf, "title", Join(rp, "title"), maxReplyTitleChars); title != "" &&
			!titles.seen(errs, Join(rp, "title"), title) {
			button.Reply.Title = title
		}
		action.Buttons = append(action.Buttons, button)
	}
}

// checkProductAction: one product of a catalog.
func checkProductAction(errs *apierr.List, fields map[string]json.RawMessage, in *Interactive) {
	in.CatalogID, _ = identifier(errs, fields, "catalog_id", "interactive.action.catalog_id")
	product, ok := identifier(errs, fields, "product_retailer_id", "interactive.action.product_retailer_id")
	if ok {
		in.ProductRetailerIDs = []string{product}
	}
	in.doc.Action.CatalogID, in.doc.Action.ProductRetailerID = in.CatalogID, product
}

// checkProductListAction: a catalog and 1–10 sections of products, at most
// 30 in all (2023 beyond, or for a section without products).
func checkProductListAction(errs *apierr.List, fields map[string]json.RawMessage, in *Interactive) {
	in.CatalogID, _ = identifier(errs, fields, "catalog_id", "interactive.action.catalog_id")
	in.doc.Action.CatalogID = in.CatalogID
	products := 0
	in.doc.Action.Sections = sections(errs, fields, func(p string, sf map[string]json.RawMessage, section *sectionJSON) {
		itemsPath := Join(p, "product_items")
		raw, ok := Given(sf, "product_items")
		if !ok {
			errs.Merge(apierr.MissingParam(itemsPath))
			return
		}
		items, ok := arrayAt(errs, raw, itemsPath)
		if !ok {
			return
		}
		if len(items) == 0 {
			errs.Addf(2023, "Parameter '%s' must have at least 1 item", itemsPath)
		}
		products += len(items)
		for j, item := range items {
			ip := At(itemsPath, j)
			if pf := objectAt(errs, item, ip); pf != nil {
				id, _ := identifier(errs, pf, "product_retailer_id", Join(ip, "product_retailer_id"))
				section.ProductItems = append(section.ProductItems, productJSON{ProductRetailerID: id})
				in.ProductRetailerIDs = append(in.ProductRetailerIDs, id)
			}
		}
	})
	if products > maxProductItems {
		errs.Merge(countError(2023, "interactive.action.sections", 1, maxProductItems, products, "product_items in all"))
	}
}
