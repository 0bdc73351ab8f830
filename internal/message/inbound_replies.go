package message

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/wabiz/wabiz/internal/apierr"
)

// The inbound objects that answer the business: quick-reply taps,
// interactive replies and orders from a catalog.

// maxButtonTextChars is the longest quick-reply button label of a template
// (Meta's template limit).
const maxButtonTextChars = 25

// checkButtonTap reads {"text": "<button label>", "payload": "<payload>"}.
// Without a payload the label is the payload, as WhatsApp reports a
// button whose template defines none.
func checkButtonTap(errs *apierr.List, raw json.RawMessage) []byte {
	fields := objectAt(errs, raw, TypeButton)
	if fields == nil {
		return nil
	}
	payload, _ := OptionalText(errs, fields, "payload", "button.payload", 0)
	text := label(errs, fields, "text", "button.text", maxButtonTextChars)
	if payload == "" {
		payload = text
	}
	return marshal(struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	}{payload, text})
}

// checkInteractiveReply reads the user's answer to a list or reply-button
// message: {"type": "list_reply", "list_reply": {"id", "title",
// "description"}} or {"type": "button_reply", "button_reply": {"id",
// "title"}}, with the limits of the rows and buttons they echo.
func checkInteractiveReply(errs *apierr.List, raw json.RawMessage) []byte {
	const path = TypeInteractive
	fields := objectAt(errs, raw, path)
	if fields == nil {
		return nil
	}
	kindRaw, ok := Given(fields, "type")
	if !ok {
		errs.Merge(apierr.MissingParam(Join(path, "type")))
		return nil
	}
	kind, _ := JSONString(kindRaw)
	if kind != "list_reply" && kind != "button_reply" {
		errs.Merge(apierr.InvalidValue(Join(path, "type"), Display(kindRaw)))
		return nil
	}
	other := map[string]string{"list_reply": "button_reply", "button_reply": "list_reply"}[kind]
	if _, ok := Given(fields, other); ok {
		errs.Merge(apierr.NotRequired(Join(path, other), "interactive.type", kind))
	}
	replyRaw, ok := Given(fields, kind)
	if !ok {
		errs.Merge(apierr.MandatoryFor(Join(path, kind), "interactive.type", kind))
		return nil
	}
	p := Join(path, kind)
	rf := objectAt(errs, replyRaw, p)
	if rf == nil {
		return nil
	}
	var reply rowJSON
	if kind == "list_reply" {
		reply.ID, _ = RequiredText(errs, rf, "id", Join(p, "id"), maxRowIDChars)
		reply.Title = label(errs, rf, "title", Join(p, "title"), maxRowTitleChars)
		reply.Description, _ = OptionalText(errs, rf, "description", Join(p, "description"), maxRowDescriptionChars)
	} else {
		reply.ID, _ = RequiredText(errs, rf, "id", Join(p, "id"), maxReplyIDChars)
		reply.Title = label(errs, rf, "title", Join(p, "title"), maxReplyTitleChars)
	}
	var buf bytes.Buffer
	buf.WriteString(`{"type":`)
	buf.Write(quote(kind))
	buf.WriteString(",")
	buf.Write(quote(kind))
	buf.WriteString(":")
	buf.Write(marshal(reply))
	buf.WriteString("}")
	return buf.Bytes()
}

// Limits of an order. Meta documents none; a cart holds at most 99 lines
// in WhatsApp's app, and quantities are small whole numbers.
const (
	maxOrderItems    = 100
	maxOrderQuantity = 1_000_000
)

type orderItemJSON struct {
	ProductRetailerID string  `json:"product_retailer_id"`
	Quantity          int64   `json:"quantity"`
	ItemPrice         float64 `json:"item_price"`
	Currency          string  `json:"currency"`
}

// checkOrder reads {"catalog_id", "text"?, "product_items": [{
// "product_retailer_id", "quantity", "item_price", "currency"}]}:
// quantity a whole number from 1, item_price a number from 0 (or a numeric
// string), currency three letters (ISO 4217, written in upper case).
func checkOrder(errs *apierr.List, raw json.RawMessage) []byte {
	const path = TypeOrder
	fields := objectAt(errs, raw, path)
	if fields == nil {
		return nil
	}
	var out struct {
		CatalogID    string          `json:"catalog_id"`
		Text         string          `json:"text,omitempty"`
		ProductItems []orderItemJSON `json:"product_items"`
	}
	out.CatalogID, _ = identifier(errs, fields, "catalog_id", Join(path, "catalog_id"))
	out.Text, _ = OptionalText(errs, fields, "text", Join(path, "text"), MaxCaptionChars)

	itemsPath := Join(path, "product_items")
	itemsRaw, ok := Given(fields, "product_items")
	if !ok {
		errs.Merge(apierr.MissingParam(itemsPath))
		return nil
	}
	items, ok := arrayAt(errs, itemsRaw, itemsPath)
	if !ok {
		return nil
	}
	if len(items) < 1 || len(items) > maxOrderItems {
		errs.Merge(countError(1009, itemsPath, 1, maxOrderItems, len(items), "items"))
	}
	for i, item := range items {
		p := At(itemsPath, i)
		f := objectAt(errs, item, p)
		if f == nil {
			continue
		}
		var line orderItemJSON
		line.ProductRetailerID, _ = identifier(errs, f, "product_retailer_id", Join(p, "product_retailer_id"))
		line.Quantity = quantity(errs, f, Join(p, "quantity"))
		if priceRaw, ok := Given(f, "item_price"); !ok {
			errs.Merge(apierr.MissingParam(Join(p, "item_price")))
		} else if price, ok := number(priceRaw); ok && price >= 0 {
			line.ItemPrice = price
		} else {
			errs.Merge(apierr.InvalidValue(Join(p, "item_price"), Display(priceRaw)))
		}
		if currency, ok := RequiredText(errs, f, "currency", Join(p, "currency"), 0); ok {
			if isCurrency(currency) {
				line.Currency = strings.ToUpper(currency)
			} else {
				errs.Merge(apierr.InvalidValue(Join(p, "currency"), currency))
			}
		}
		out.ProductItems = append(out.ProductItems, line)
	}
	return marshal(out)
}

// quantity reads a whole number in [1, maxOrderQuantity], as a JSON number
// without fraction or exponent, or a string of digits.
func quantity(errs *apierr.List, fields map[string]json.RawMessage, path string) int64 {
	raw, ok := Given(fields, "quantity")
	if !ok {
		errs.Merge(apierr.MissingParam(path))
		return 0
	}
	v := string(bytes.TrimSpace(raw))
	if s, isString := JSONString(raw); isString {
		v = s
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if !allDigits(v) || err != nil || n < 1 || n > maxOrderQuantity {
		errs.Merge(apierr.InvalidValue(path, Display(raw)))
		return 0
	}
	return n
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
