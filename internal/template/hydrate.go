package template

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/message"
)

// Rendered is a send hydrated against its definition: what the recipient
// sees. Its size is bounded by the template limits: a body of at most
// MaxBodyChars, a header text of MaxHeaderTextChars, at most MaxButtons
// buttons with URLs of at most MaxURLChars.
type Rendered struct {
	Definition *Definition // the translation used; shared, do not modify
	Language   string      // its language code
	Header     *RenderedHeader
	Body       string
	Footer     string
	Buttons    []RenderedButton // every button of the definition, in its order
}

// RenderedHeader is the header, by Format: Text for text, Media for image,
// video and document, Location for location.
type RenderedHeader struct {
	Format   string
	Text     string
	Media    *message.Media
	Location *message.Location
}

// RenderedButton is one button. Payload is the quick-reply payload the
// send gave ("" when it gave no component for the button), Code the
// copy-code button's code.
type RenderedButton struct {
	Type    string // quick_reply, url, phone_number or copy_code
	Text    string
	URL     string
	Phone   string
	Payload string
	Code    string
}

// supplied is what a send gave, slot by slot.
type supplied struct {
	header, body         []value
	headerSeen, bodySeen bool
	buttons              map[int][]value // by button index; present when the send had a component for it
}

// Hydrate checks a `template` or `hsm` send against the catalogue and
// renders it. msgType is "template" or "hsm", obj the object of that name.
//
// It runs after message.Decode, whose first pass already answered the
// Webapp's 1008/1009/1010 for a missing namespace or element_name and for
// `language` without `code` or with a bad `policy`; Hydrate checks those
// again only so that it is safe to call on its own, with the same texts,
// and adds what the Coreapp checked, in this order:
//
//  1. The request: namespace (2014 when blank), name, language code and
//     policy. Errors are collected and end the checks.
//  2. The lookup (2001, 2002, 2003) and the status (2060, 2061, 2062): one
//     error, as nothing else can be checked without a definition.
//  3. The components in the send's order, each parameter by its type (2000,
//     2004, 2006, 2007, 2008, 2012, 2036 and 1008/1009/1010 for shapes),
//     then the components the template needs and the send left out (2009),
//     in the definition's order. Errors are collected.
//  4. The rendered result (2005, 2010, 2011).
func (c *Catalogue) Hydrate(msgType string, obj json.RawMessage) (*Rendered, *apierr.Error) {
	if msgType != message.TypeTemplate && msgType != message.TypeHSM {
		return nil, apierr.InvalidValue("type", msgType)
	}
	fields := message.ObjectFields(obj)
	if fields == nil {
		return nil, apierr.InvalidValue(msgType, message.Display(obj))
	}
	var errs apierr.List
	req := readRequest(&errs, msgType, fields)
	if errs.Len() > 0 {
		return nil, errs.Err()
	}
	e, err := c.find(req)
	if err != nil {
		return nil, err
	}
	var v supplied
	if msgType == message.TypeTemplate {
		v = e.matchComponents(&errs, fields)
	} else {
		v = e.matchHSM(&errs, fields)
	}
	if errs.Len() > 0 {
		return nil, errs.Err()
	}
	r := e.render(&errs, v)
	if errs.Len() > 0 {
		return nil, errs.Err()
	}
	return r, nil
}

// readRequest reads namespace, name and language.
func readRequest(errs *apierr.List, msgType string, fields map[string]json.RawMessage) request {
	req := request{msgType: msgType, policy: PolicyDeterministic}
	nsPath := message.Join(msgType, "namespace")
	raw := fields["namespace"]
	s, isString := message.JSONString(raw)
	switch {
	case !message.IsPHPTruthy(raw) && msgType == message.TypeHSM:
		errs.Merge(apierr.MandatoryFor("namespace", "type", msgType))
	case !message.IsPHPTruthy(raw) || isString && strings.TrimSpace(s) == "":
		errs.Addf(2014, "Parameter '%s' is missing or empty", nsPath)
	case !isString:
		errs.Merge(apierr.InvalidValue(nsPath, message.Display(raw)))
	default:
		req.namespace = s
	}

	nameKey := "name"
	if msgType == message.TypeHSM {
		nameKey = "element_name"
	}
	namePath := message.Join(msgType, nameKey)
	raw, ok := message.Given(fields, nameKey)
	s, isString = message.JSONString(raw)
	switch {
	case msgType == message.TypeHSM && !message.IsPHPTruthy(raw):
		errs.Merge(apierr.MandatoryFor(nameKey, "type", msgType))
	case !ok:
		errs.Merge(apierr.MissingParam(namePath))
	case !isString || strings.TrimSpace(s) == "":
		errs.Merge(apierr.InvalidValue(namePath, message.Display(raw)))
	default:
		req.name = s
	}

	readLanguage(errs, fields, &req)
	return req
}

// readLanguage reads `language` {code, policy}; policy defaults to
// deterministic. An hsm may instead use the legacy `fallback_lg` (and
// `fallback_lc`), which are read as the fallback policy.
func readLanguage(errs *apierr.List, fields map[string]json.RawMessage, req *request) {
	path := message.Join(req.msgType, "language")
	raw, ok := message.Given(fields, "language")
	if !ok {
		if lg, legacy := message.Given(fields, "fallback_lg"); legacy && req.msgType == message.TypeHSM {
			readLegacyLanguage(errs, fields, lg, req)
		} else {
			errs.Merge(apierr.MissingParam(path))
		}
		return
	}
	lf := message.ObjectFields(raw)
	if lf == nil {
		errs.Merge(apierr.InvalidValue(path, message.Display(raw)))
		return
	}
	if code, ok := message.Given(lf, "code"); !ok {
		errs.Merge(apierr.MissingParam(message.Join(path, "code")))
	} else if s, _ := message.JSONString(code); languagePattern.MatchString(s) {
		req.code = s
	} else {
		errs.Merge(apierr.InvalidValue(message.Join(path, "code"), message.Display(code)))
	}
	if policy, ok := message.Given(lf, "policy"); ok {
		if s, _ := message.JSONString(policy); s == PolicyDeterministic || s == PolicyFallback {
			req.policy = s
		} else {
			errs.Merge(apierr.InvalidValue(message.Join(path, "policy"), message.Display(policy)))
		}
	}
}

func readLegacyLanguage(errs *apierr.List, fields map[string]json.RawMessage, lg json.RawMessage, req *request) {
	req.policy = PolicyFallback
	lang, _ := message.JSONString(lg)
	if !languagePattern.MatchString(lang) || strings.Contains(lang, "_") {
		errs.Merge(apierr.InvalidValue("hsm.fallback_lg", message.Display(lg)))
		return
	}
	req.code = lang
	if lc, ok := message.Given(fields, "fallback_lc"); ok {
		locale, _ := message.JSONString(lc)
		if !languagePattern.MatchString(lang + "_" + locale) {
			errs.Merge(apierr.InvalidValue("hsm.fallback_lc", message.Display(lc)))
			return
		}
		req.code = lang + "_" + locale
	}
}

// componentKinds are the values of a component's `type` in a send.
var componentKinds = []string{"header", "body", "footer", "button"}

// sendableButtons are the values of `sub_type`: a phone-number button
// takes no parameters, so it is never addressed.
var sendableButtons = []string{ButtonQuickReply, ButtonURL, ButtonCopyCode}

// matchComponents reads the send's components against the definition.
func (e *entry) matchComponents(errs *apierr.List, fields map[string]json.RawMessage) supplied {
	v := supplied{buttons: map[int][]value{}}
	const path = "template.components"
	var items []json.RawMessage
	if raw, ok := message.Given(fields, "components"); ok {
		if items, ok = message.List(raw); !ok {
			errs.Merge(apierr.InvalidValue(path, message.Display(raw)))
			return v
		}
	}
	seen := map[string]bool{}
	for i, item := range items {
		cpath := message.At(path, i)
		cf := message.ObjectFields(item)
		if cf == nil {
			errs.Merge(apierr.InvalidValue(cpath, message.Display(item)))
			continue
		}
		kindRaw, ok := message.Given(cf, "type")
		kind, _ := message.JSONString(kindRaw)
		switch {
		case !ok:
			errs.Merge(apierr.MissingParam(message.Join(cpath, "type")))
			continue
		case !slices.Contains(componentKinds, kind):
			errs.Merge(apierr.InvalidValue(message.Join(cpath, "type"), message.Display(kindRaw)))
			continue
		case kind != "button" && seen[kind]:
			errs.Addf(1009, "Parameter '%s' has duplicate value '%s'", message.Join(cpath, "type"), kind)
			continue
		}
		seen[kind] = true
		var params []json.RawMessage
		if raw, ok := message.Given(cf, "parameters"); ok {
			if params, ok = message.List(raw); !ok {
				errs.Merge(apierr.InvalidValue(message.Join(cpath, "parameters"), message.Display(raw)))
				continue
			}
		}
		switch kind {
		case "header":
			v.headerSeen = true
			v.header = matchSlot(errs, e.headerSlot(), e.headerParams(), params, cpath)
		case "body":
			v.bodySeen = true
			v.body = matchSlot(errs, bodySlot, e.body.params, params, cpath)
		case "footer":
			matchSlot(errs, slot{label: "footer"}, 0, params, cpath)
		case "button":
			e.matchButton(errs, cf, params, cpath, &v)
		}
	}
	e.checkLeftOut(errs, &v, false)
	return v
}

// matchSlot checks the number of parameters, then reads each.
func matchSlot(errs *apierr.List, s slot, expected int, params []json.RawMessage, cpath string) []value {
	switch {
	case len(params) == 0 && expected > 0 && s.required:
		errs.Addf(2009, "%s: the template needs %s here; the component has none", s.label, plural(expected, "parameter"))
		return nil
	case len(params) != expected:
		errs.Addf(2000, "%s: %s supplied, template expects %d", s.label, plural(len(params), "parameter"), expected)
		return nil
	}
	values := make([]value, len(params))
	for j, p := range params {
		values[j], _ = readParam(errs, p, message.At(message.Join(cpath, "parameters"), j), s)
	}
	return values
}

func (e *entry) headerSlot() slot {
	if e.def.Header == nil {
		return slot{label: "header"}
	}
	return headerSlot(e.def.Header.Format)
}

// headerParams is the number of parameters the header takes: its
// placeholders for a text header, one for the other formats.
func (e *entry) headerParams() int {
	switch {
	case e.def.Header == nil:
		return 0
	case e.def.Header.Format == FormatText:
		return e.header.params
	}
	return 1
}

// buttonParams is the number of parameters a button component takes;
// buttonRequired whether the send must have one for the button (a quick
// reply's payload is optional).
func (e *entry) buttonParams(i int) int {
	switch e.def.Buttons[i].Type {
	case ButtonURL:
		return e.urls[i].params
	case ButtonQuickReply, ButtonCopyCode:
		return 1
	}
	return 0
}

func (e *entry) buttonRequired(i int) bool {
	b := e.def.Buttons[i]
	return b.Type == ButtonCopyCode || b.Type == ButtonURL && e.urls[i].params > 0
}

// matchButton reads a button component: sub_type and index (0–9, a string
// or a number) must name a button of the template of that type (1009).
func (e *entry) matchButton(errs *apierr.List, cf map[string]json.RawMessage, params []json.RawMessage, cpath string, v *supplied) {
	subPath, indexPath := message.Join(cpath, "sub_type"), message.Join(cpath, "index")
	sub := ""
	if raw, ok := message.Given(cf, "sub_type"); !ok {
		errs.Merge(apierr.MissingParam(subPath))
	} else if s, _ := message.JSONString(raw); slices.Contains(sendableButtons, s) {
		sub = s
	} else {
		errs.Merge(apierr.InvalidValue(subPath, message.Display(raw)))
	}
	index := -1
	if raw, ok := message.Given(cf, "index"); !ok {
		errs.Merge(apierr.MissingParam(indexPath))
	} else if d := message.Display(raw); len(d) == 1 && allDigits(d) {
		index = int(d[0] - '0')
	} else {
		errs.Merge(apierr.InvalidValue(indexPath, d))
	}
	if sub == "" || index < 0 {
		return
	}
	buttons := e.def.Buttons
	_, repeated := v.buttons[index]
	switch {
	case index >= len(buttons):
		errs.Addf(1009, "Parameter '%s' has invalid value '%d': the template has %s", indexPath, index, plural(len(buttons), "button"))
	case buttons[index].Type != sub:
		errs.Addf(1009, "Parameter '%s' has invalid value '%s': button %d of the template is a %s button", subPath, sub, index, buttons[index].Type)
	case repeated:
		errs.Addf(1009, "Parameter '%s' has duplicate value '%d'", indexPath, index)
	default:
		v.buttons[index] = matchSlot(errs, buttonSlot(index, sub), e.buttonParams(index), params, cpath)
	}
}

// checkLeftOut reports what the template needs and the send did not give,
// in the definition's order: a header that takes parameters and required
// buttons (2009), and body parameters (2000: a body is never missing, only
// short of parameters). An hsm message has only body parameters, so for
// it the 2009 texts say to send a template instead.
func (e *entry) checkLeftOut(errs *apierr.List, v *supplied, hsm bool) {
	missing := "; the send has no header component"
	if hsm {
		missing = ", which an hsm message cannot supply; send it as type 'template'"
	}
	if n := e.headerParams(); n > 0 && !v.headerSeen {
		errs.Addf(2009, "header: the template's %s header needs %s%s", e.def.Header.Format, plural(n, "parameter"), missing)
	}
	if !v.bodySeen && e.body.params > 0 {
		errs.Addf(2000, "body: 0 parameters supplied, template expects %d", e.body.params)
	}
	for i, b := range e.def.Buttons {
		if _, ok := v.buttons[i]; ok || !e.buttonRequired(i) {
			continue
		}
		if !hsm {
			missing = "; the send has no button component with index " + strconv.Itoa(i)
		}
		errs.Addf(2009, "button %d (%s): the template's %s button needs 1 parameter%s", i, b.Type, b.Type, missing)
	}
}

// render hydrates the definition with the values read and checks the
// result: texts within their limits (2005), URLs valid (2010), phone
// numbers valid (2011).
func (e *entry) render(errs *apierr.List, v supplied) *Rendered {
	d := &e.def
	r := &Rendered{Definition: d, Language: d.Language, Footer: d.Footer}
	if h := d.Header; h != nil {
		rh := &RenderedHeader{Format: h.Format}
		switch {
		case h.Format == FormatText:
			rh.Text = renderText(errs, "header", e.header, texts(v.header), MaxHeaderTextChars)
		case len(v.header) == 1:
			rh.Media, rh.Location = v.header[0].media, v.header[0].location
		}
		r.Header = rh
	}
	r.Body = renderText(errs, "body", e.body, texts(v.body), MaxBodyChars)

	r.Buttons = make([]RenderedButton, len(d.Buttons))
	for i, b := range d.Buttons {
		rb := RenderedButton{Type: b.Type, Text: b.Text}
		values := v.buttons[i]
		switch b.Type {
		case ButtonURL:
			rb.URL = e.urls[i].render(texts(values))
			if !e.validButtonURL(i, rb.URL) {
				errs.Addf(2010, "button %d (url): the hydrated URL '%s' is not a valid https URL on the template's host", i, rb.URL)
			}
		case ButtonPhoneNumber:
			rb.Phone = b.PhoneNumber
			if !e164Pattern.MatchString(b.PhoneNumber) {
				errs.Addf(2011, "button %d (phone_number): the template's phone number '%s' is not an E.164 number (+ and 8 to 15 digits)",
					i, b.PhoneNumber)
			}
		case ButtonQuickReply:
			if len(values) == 1 {
				rb.Payload = values[0].text
			}
		case ButtonCopyCode:
			if rb.Text == "" {
				rb.Text = defaultCopyCodeText
			}
			if len(values) == 1 {
				rb.Code = values[0].text
			}
		}
		r.Buttons[i] = rb
	}
	return r
}

// renderText hydrates c, measuring first so that an oversized text is
// never built.
func renderText(errs *apierr.List, label string, c compiled, params []string, limit int) string {
	if n := c.size(params); n > limit {
		errs.Addf(2005, "%s: the hydrated text has %d characters, more than %d", label, n, limit)
		return ""
	}
	return c.render(params)
}

// validButtonURL: an https URL of at most MaxURLChars; with a dynamic
// suffix, on the host the definition's fixed part names.
func (e *entry) validButtonURL(i int, hydrated string) bool {
	if chars(hydrated) > MaxURLChars || !validLink(hydrated) {
		return false
	}
	c := e.urls[i]
	if c.params == 0 {
		return true
	}
	var prefix strings.Builder
	for _, seg := range c.segments {
		if seg.param != 0 {
			break
		}
		prefix.WriteString(seg.literal)
	}
	host := urlHost(prefix.String())
	u, err := url.Parse(hydrated)
	return host != "" && err == nil && strings.EqualFold(u.Host, host)
}
