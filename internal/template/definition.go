// Package template holds message templates: their definitions in the shape
// of Meta's (ParseDefinition), an immutable catalogue of them (Catalogue),
// and the hydration of a `template` or legacy `hsm` send against it
// (Catalogue.Hydrate) with the 2000-series error codes of the On-Premises
// API. Like package message, whose first pass runs before it, it is pure:
// no I/O, no clock.
package template

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/message"
)

// Categories and statuses of a definition, in their canonical lower case
// (Meta writes them upper-case; both are accepted).
const (
	CategoryMarketing      = "marketing"
	CategoryUtility        = "utility"
	CategoryAuthentication = "authentication"

	StatusApproved = "approved"
	StatusPaused   = "paused"
	StatusDisabled = "disabled"
	StatusRejected = "rejected"
	StatusPending  = "pending"
)

// Header formats (lower case, as message types are).
const (
	FormatText     = "text"
	FormatImage    = "image"
	FormatVideo    = "video"
	FormatDocument = "document"
	FormatLocation = "location"
)

// Button types, lower case; the send's `sub_type` uses the same words.
const (
	ButtonQuickReply  = "quick_reply"
	ButtonURL         = "url"
	ButtonPhoneNumber = "phone_number"
	ButtonCopyCode    = "copy_code"
)

var (
	categories = []string{CategoryMarketing, CategoryUtility, CategoryAuthentication}
	statuses   = []string{StatusApproved, StatusPaused, StatusDisabled, StatusRejected, StatusPending}
	formats    = []string{FormatText, FormatImage, FormatVideo, FormatDocument, FormatLocation}
	buttonKind = []string{ButtonQuickReply, ButtonURL, ButtonPhoneNumber, ButtonCopyCode}
)

// Limits of a definition (Meta's template rules), in characters.
const (
	MaxBodyChars       = 1024
	MaxHeaderTextChars = 60
	MaxFooterChars     = 60
	MaxButtons         = 10
	MaxButtonTextChars = 25
	MaxURLChars        = 2000
	MaxCouponChars     = 15
	maxNamespaceChars  = 128
)

// maxButtonsOf are Meta's limits per button type; quick replies are only
// bounded by MaxButtons.
var maxButtonsOf = map[string]int{ButtonURL: 2, ButtonPhoneNumber: 1, ButtonCopyCode: 1}

// defaultCopyCodeText is what WhatsApp shows on a copy-code button; Meta's
// definitions may leave the text out.
const defaultCopyCodeText = "Copy offer code"

var (
	namePattern      = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	languagePattern  = regexp.MustCompile(`^[a-z]{2,3}(_[A-Z]{2})?$`)
	namespacePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	e164Pattern      = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
)

// Definition is one translation of a template: a name in a namespace, in
// one language.
type Definition struct {
	Namespace, Name, Language string
	Category, Status          string // canonical lower case, see the constants
	Header                    *Header
	Body                      string
	Footer                    string
	Buttons                   []Button
	// Raw is the canonical definition (Meta's shape, upper-case types,
	// components in the order HEADER, BODY, FOOTER, BUTTONS, without the
	// namespace), for listing; ParseDefinition(Raw, Namespace) gives the
	// same Definition back.
	Raw json.RawMessage
}

// Header is a definition's header: Text (with at most the placeholder
// {{1}}) for FormatText; the other formats are filled in at send time.
type Header struct {
	Format string
	Text   string
}

// Button is one button of a definition. URL may end in the placeholder
// {{1}} (its dynamic suffix); Example is a copy-code button's sample code.
type Button struct {
	Type        string
	Text        string
	URL         string
	PhoneNumber string
	Example     string
}

// definitionJSON is the canonical Raw, keys in a fixed order.
type definitionJSON struct {
	Name       string          `json:"name"`
	Language   string          `json:"language"`
	Category   string          `json:"category"`
	Status     string          `json:"status"`
	Components []componentJSON `json:"components"`
}

type componentJSON struct {
	Type    string       `json:"type"`
	Format  string       `json:"format,omitempty"`
	Text    string       `json:"text,omitempty"`
	Buttons []buttonJSON `json:"buttons,omitempty"`
}

type buttonJSON struct {
	Type        string `json:"type"`
	Text        string `json:"text,omitempty"`
	URL         string `json:"url,omitempty"`
	PhoneNumber string `json:"phone_number,omitempty"`
	Example     string `json:"example,omitempty"`
}

// ParseDefinition validates a template definition in Meta's shape
// ({"name","language","category","status","components":[...]}) and returns
// it with its canonical Raw. namespace is the namespace the template
// belongs to; when it is "" the definition's own "namespace" key is used.
// Enumerated values (category, status, component, format and button
// types) are accepted in any case; a missing status means approved. Errors
// follow message's conventions (1008, 1009, 1010) and are all reported.
func ParseDefinition(raw json.RawMessage, namespace string) (Definition, *apierr.Error) {
	fields := message.ObjectFields(raw)
	if fields == nil {
		return Definition{}, apierr.InvalidValue("definition", message.Display(raw))
	}
	var errs apierr.List
	def := Definition{Namespace: namespace}
	if namespace == "" {
		def.Namespace, _ = message.RequiredText(&errs, fields, "namespace", "namespace", maxNamespaceChars)
	}
	if def.Namespace != "" && (chars(def.Namespace) > maxNamespaceChars || !namespacePattern.MatchString(def.Namespace)) {
		errs.Merge(apierr.InvalidValue("namespace", def.Namespace))
	}
	if name, ok := message.RequiredText(&errs, fields, "name", "name", 0); ok {
		if namePattern.MatchString(name) {
			def.Name = name
		} else {
			errs.Merge(apierr.InvalidValue("name", name))
		}
	}
	if lang, ok := message.RequiredText(&errs, fields, "language", "language", 0); ok {
		if languagePattern.MatchString(lang) {
			def.Language = lang
		} else {
			errs.Merge(apierr.InvalidValue("language", lang))
		}
	}
	def.Category, _ = enumValue(&errs, fields, "category", "category", categories, true)
	def.Status, _ = enumValue(&errs, fields, "status", "status", statuses, false)
	if def.Status == "" {
		def.Status = StatusApproved
	}
	parseComponents(&errs, fields, &def)
	if err := errs.Err(); err != nil {
		return Definition{}, err
	}
	def.Raw = canonical(&def)
	return def, nil
}

// enumValue reads a case-insensitive enumerated text and returns it in
// lower case.
func enumValue(errs *apierr.List, fields map[string]json.RawMessage, key, path string, allowed []string, required bool) (string, bool) {
	raw, ok := message.Given(fields, key)
	if !ok {
		if required {
			errs.Merge(apierr.MissingParam(path))
		}
		return "", !required
	}
	s, isString := message.JSONString(raw)
	if lower := strings.ToLower(s); isString && slices.Contains(allowed, lower) {
		return lower, true
	}
	errs.Merge(apierr.InvalidValue(path, message.Display(raw)))
	return "", false
}

func parseComponents(errs *apierr.List, fields map[string]json.RawMessage, def *Definition) {
	raw, ok := message.Given(fields, "components")
	if !ok {
		errs.Merge(apierr.MissingParam("components"))
		return
	}
	items, isList := message.List(raw)
	if !isList {
		errs.Merge(apierr.InvalidValue("components", message.Display(raw)))
		return
	}
	count := map[string]int{}
	for i, item := range items {
		path := message.At("components", i)
		cf := message.ObjectFields(item)
		if cf == nil {
			errs.Merge(apierr.InvalidValue(path, message.Display(item)))
			continue
		}
		kind, ok := enumValue(errs, cf, "type", message.Join(path, "type"), []string{"header", "body", "footer", "buttons"}, true)
		if !ok {
			continue
		}
		if count[kind]++; count[kind] > 1 {
			errs.Addf(1009, "Parameter 'components' must have at most one %s component; it has more", strings.ToUpper(kind))
			continue
		}
		switch kind {
		case "header":
			def.Header = parseHeader(errs, cf, path)
		case "body":
			if text, ok := message.RequiredText(errs, cf, "text", message.Join(path, "text"), MaxBodyChars); ok {
				if checkPlaceholders(errs, message.Join(path, "text"), text, maxPlaceholder) {
					def.Body = text
				}
			}
		case "footer":
			if text, ok := message.RequiredText(errs, cf, "text", message.Join(path, "text"), MaxFooterChars); ok &&
				checkPlaceholders(errs, message.Join(path, "text"), text, 0) {
				def.Footer = text
			}
		case "buttons":
			def.Buttons = parseButtons(errs, cf, path)
		}
	}
	if count["body"] == 0 {
		errs.Add(1008, "Parameter 'components' must have exactly one BODY component; it has none")
	}
}

// checkPlaceholders applies the placeholder rules to a definition text:
// no malformed braces, numbers from {{1}} without gaps, and at most limit
// placeholders (0: none allowed).
func checkPlaceholders(errs *apierr.List, path, text string, limit int) bool {
	c := compile(text)
	switch {
	case c.malformed != "":
		errs.Addf(1009, "Parameter '%s' has a malformed placeholder '%s'; placeholders are written {{1}}, {{2}}, ...", path, c.malformed)
	case limit == 0 && c.params > 0:
		errs.Addf(1009, "Parameter '%s' must not have placeholders", path)
	case !c.gapFree():
		errs.Addf(1009, "Parameter '%s' must number its placeholders from {{1}} without gaps; it has %s", path, c.numberList())
	case c.params > limit:
		errs.Addf(1009, "Parameter '%s' may have at most %s; it has %d", path, plural(limit, "placeholder"), c.params)
	default:
		return true
	}
	return false
}

func parseHeader(errs *apierr.List, fields map[string]json.RawMessage, path string) *Header {
	format, ok := enumValue(errs, fields, "format", message.Join(path, "format"), formats, true)
	if !ok {
		return nil
	}
	h := &Header{Format: format}
	if format != FormatText {
		if message.IsPHPTruthy(fields["text"]) {
			errs.Merge(apierr.NotRequired(message.Join(path, "text"), "format", strings.ToUpper(format)))
			return nil
		}
		return h
	}
	text, ok := message.RequiredText(errs, fields, "text", message.Join(path, "text"), MaxHeaderTextChars)
	if !ok || !checkPlaceholders(errs, message.Join(path, "text"), text, 1) {
		return nil
	}
	h.Text = text
	return h
}

func parseButtons(errs *apierr.List, fields map[string]json.RawMessage, path string) []Button {
	listPath := message.Join(path, "buttons")
	raw, ok := message.Given(fields, "buttons")
	if !ok {
		errs.Merge(apierr.MissingParam(listPath))
		return nil
	}
	items, isList := message.List(raw)
	if !isList {
		errs.Merge(apierr.InvalidValue(listPath, message.Display(raw)))
		return nil
	}
	if len(items) < 1 || len(items) > MaxButtons {
		errs.Addf(1009, "Parameter '%s' must have 1 to %d buttons; it has %d", listPath, MaxButtons, len(items))
		return nil
	}
	before := errs.Len()
	buttons := make([]Button, 0, len(items))
	for i, item := range items {
		if b, ok := parseButton(errs, item, message.At(listPath, i)); ok {
			buttons = append(buttons, b)
		}
	}
	if errs.Len() > before {
		return nil
	}
	count := map[string]int{}
	for _, b := range buttons {
		count[b.Type]++
	}
	for _, kind := range buttonKind {
		if limit, ok := maxButtonsOf[kind]; ok && count[kind] > limit {
			errs.Addf(1009, "Parameter '%s' must have at most %s; it has %d",
				listPath, plural(limit, strings.ToUpper(kind)+" button"), count[kind])
		}
	}
	if !quickRepliesGrouped(buttons) {
		errs.Addf(1009, "Parameter '%s' must keep its QUICK_REPLY buttons together, before or after the others", listPath)
	}
	if errs.Len() > before {
		return nil
	}
	return buttons
}

// quickRepliesGrouped is Meta's rule that quick replies form one run.
func quickRepliesGrouped(buttons []Button) bool {
	runs := 0
	for i, b := range buttons {
		if b.Type == ButtonQuickReply && (i == 0 || buttons[i-1].Type != ButtonQuickReply) {
			runs++
		}
	}
	return runs <= 1
}

func parseButton(errs *apierr.List, raw json.RawMessage, path string) (Button, bool) {
	fields := message.ObjectFields(raw)
	if fields == nil {
		errs.Merge(apierr.InvalidValue(path, message.Display(raw)))
		return Button{}, false
	}
	kind, ok := enumValue(errs, fields, "type", message.Join(path, "type"), buttonKind, true)
	if !ok {
		return Button{}, false
	}
	before := errs.Len()
	b := Button{Type: kind}
	if kind == ButtonCopyCode {
		b.Text, _ = message.OptionalText(errs, fields, "text", message.Join(path, "text"), MaxButtonTextChars)
		b.Example = copyCodeExample(errs, fields, message.Join(path, "example"))
	} else if text, ok := message.RequiredText(errs, fields, "text", message.Join(path, "text"), MaxButtonTextChars); ok {
		b.Text = text
	}
	if b.Text != "" {
		checkPlaceholders(errs, message.Join(path, "text"), b.Text, 0)
	}
	switch kind {
	case ButtonURL:
		if u, ok := message.RequiredText(errs, fields, "url", message.Join(path, "url"), MaxURLChars); ok {
			if checkButtonURL(errs, message.Join(path, "url"), u) {
				b.URL = u
			}
		}
	case ButtonPhoneNumber:
		if p, ok := message.RequiredText(errs, fields, "phone_number", message.Join(path, "phone_number"), 0); ok {
			if e164Pattern.MatchString(p) {
				b.PhoneNumber = p
			} else {
				errs.Merge(apierr.InvalidValue(message.Join(path, "phone_number"), p))
			}
		}
	}
	return b, errs.Len() == before
}

// copyCodeExample reads the sample code, written as a string or (as the
// Graph API returns it) a list of one string.
func copyCodeExample(errs *apierr.List, fields map[string]json.RawMessage, path string) string {
	raw, ok := message.Given(fields, "example")
	if !ok {
		return ""
	}
	if items, isList := message.List(raw); isList && len(items) == 1 {
		raw = items[0]
	}
	s, isString := message.JSONString(raw)
	switch {
	case !isString || strings.TrimSpace(s) == "":
		errs.Merge(apierr.InvalidValue(path, message.Display(raw)))
	case chars(s) > MaxCouponChars:
		errs.Merge(message.LengthError(path, MaxCouponChars))
	default:
		return s
	}
	return ""
}

// checkButtonURL: an https URL with a host, optionally ending in {{1}}. The
// part before the placeholder must already fix the host (it must reach a
// "/", "?" or "#" after it), so no suffix can send the user elsewhere.
func checkButtonURL(errs *apierr.List, path, u string) bool {
	c := compile(u)
	prefix, dynamic := strings.CutSuffix(u, "{{1}}")
	switch {
	case c.malformed != "" || c.params > 1 || c.params == 1 && (!dynamic || len(c.segments) != 2):
		errs.Addf(1009, "Parameter '%s' may have one placeholder, {{1}}, and only at its end", path)
	case !dynamic && !validLink(u) || dynamic && (!validLink(prefix+"x") || urlHost(prefix) == ""):
		errs.Merge(apierr.InvalidValue(path, u))
	default:
		return true
	}
	return false
}

// validLink: what WhatsApp opens from a button, an absolute https URL.
func validLink(s string) bool {
	colon := strings.IndexByte(s, ':')
	return message.IsMediaLink(s) && colon > 0 && strings.EqualFold(s[:colon], "https")
}

// urlHost returns the host of prefix when prefix already ends the host part
// (a path, query or fragment has begun), else "".
func urlHost(prefix string) string {
	_, rest, found := strings.Cut(prefix, "://")
	if !found || !strings.ContainsAny(rest, "/?#") {
		return ""
	}
	u, err := url.Parse(prefix)
	if err != nil {
		return ""
	}
	return u.Host
}

// canonical writes a valid definition's Raw.
func canonical(def *Definition) json.RawMessage {
	doc := definitionJSON{
		Name: def.Name, Language: def.Language,
		Category: strings.ToUpper(def.Category), Status: strings.ToUpper(def.Status),
	}
	if h := def.Header; h != nil {
		doc.Components = append(doc.Components, componentJSON{Type: "HEADER", Format: strings.ToUpper(h.Format), Text: h.Text})
	}
	doc.Components = append(doc.Components, componentJSON{Type: "BODY", Text: def.Body})
	if def.Footer != "" {
		doc.Components = append(doc.Components, componentJSON{Type: "FOOTER", Text: def.Footer})
	}
	if len(def.Buttons) > 0 {
		buttons := make([]buttonJSON, len(def.Buttons))
		for i, b := range def.Buttons {
			buttons[i] = buttonJSON{Type: strings.ToUpper(b.Type), Text: b.Text, URL: b.URL, PhoneNumber: b.PhoneNumber, Example: b.Example}
		}
		doc.Components = append(doc.Components, componentJSON{Type: "BUTTONS", Buttons: buttons})
	}
	return marshal(doc)
}
