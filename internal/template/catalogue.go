package template

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/wabiz/wabiz/internal/apierr"
)

// Language policies of a send (`language.policy`). Fallback is deprecated
// but was never refused.
const (
	PolicyDeterministic = "deterministic"
	PolicyFallback      = "fallback"
)

// Catalogue is an immutable index of template definitions by namespace,
// name and language. Build a new one to change it; a nil *Catalogue is an
// empty catalogue. It is safe for concurrent use.
type Catalogue struct {
	templates  map[string]map[string]map[string]*entry // namespace -> name -> language
	namespaces []string
	count      int
}

// entry is a definition with its texts compiled once.
type entry struct {
	def    Definition
	header compiled // a text header's text
	body   compiled
	urls   []compiled // per button; the zero value for buttons without a URL
}

// NewCatalogue indexes defs. It copies them, writes enumerated values in
// lower case, and keeps the last of several definitions with the same
// namespace, name and language (as a later fetch replaces an earlier one).
// Definitions are expected to come from ParseDefinition; one built another
// way is still safe to send with: Hydrate checks what it renders.
func NewCatalogue(defs []Definition) *Catalogue {
	c := &Catalogue{templates: map[string]map[string]map[string]*entry{}}
	for _, def := range defs {
		e := newEntry(def)
		names := c.templates[def.Namespace]
		if names == nil {
			names = map[string]map[string]*entry{}
			c.templates[def.Namespace] = names
		}
		langs := names[def.Name]
		if langs == nil {
			langs = map[string]*entry{}
			names[def.Name] = langs
		}
		if langs[def.Language] == nil {
			c.count++
		}
		langs[def.Language] = e
	}
	c.namespaces = slices.Sorted(maps.Keys(c.templates))
	return c
}

func newEntry(def Definition) *entry {
	def.Category = strings.ToLower(def.Category)
	def.Status = strings.ToLower(def.Status)
	if def.Header != nil {
		h := *def.Header
		h.Format = strings.ToLower(h.Format)
		def.Header = &h
	}
	def.Buttons = slices.Clone(def.Buttons)
	for i := range def.Buttons {
		def.Buttons[i].Type = strings.ToLower(def.Buttons[i].Type)
	}
	def.Raw = slices.Clone(def.Raw)

	e := &entry{def: def, body: compile(def.Body), urls: make([]compiled, len(def.Buttons))}
	if def.Header != nil && def.Header.Format == FormatText {
		e.header = compile(def.Header.Text)
	}
	for i, b := range def.Buttons {
		if b.Type == ButtonURL {
			e.urls[i] = compile(b.URL)
		}
	}
	return e
}

// Len is the number of definitions (translations) in the catalogue.
func (c *Catalogue) Len() int {
	if c == nil {
		return 0
	}
	return c.count
}

// Namespaces lists the catalogue's namespaces, sorted.
func (c *Catalogue) Namespaces() []string {
	if c == nil {
		return nil
	}
	return slices.Clone(c.namespaces)
}

// request is what a send asks for: a template by namespace and name in a
// language, under a language policy.
type request struct {
	msgType                       string
	namespace, name, code, policy string
}

// find resolves a request to one translation and checks that it may be
// sent. Every failure is a single error: without a definition nothing else
// can be checked.
//
// Policies: deterministic takes the exact code (2003 when the template
// exists in other languages). Fallback, deprecated, tries the exact code,
// then the base language ("en_US" -> "en"), then the other locales of that
// language in code order ("en_GB" before "en_US"); 2002 when none exists.
// A name unknown in every language is 2001 under both.
func (c *Catalogue) find(req request) (*entry, *apierr.Error) {
	var names map[string]map[string]*entry
	if c != nil {
		names = c.templates[req.namespace]
	}
	if names == nil {
		return nil, c.unknownNamespace(req)
	}
	langs := names[req.name]
	if langs == nil {
		return nil, apierr.Newf(2001, "Template '%s' in language '%s' of namespace '%s' does not exist", req.name, req.code, req.namespace)
	}
	e := langs[req.code]
	if e == nil && req.policy == PolicyFallback {
		e = fallback(langs, req.code)
	}
	if e == nil {
		available := strings.Join(slices.Sorted(maps.Keys(langs)), ", ")
		if req.policy == PolicyFallback {
			return nil, apierr.Newf(2002, "Template '%s' of namespace '%s' has no translation for language '%s' or another locale of it; it exists in: %s",
				req.name, req.namespace, req.code, available)
		}
		return nil, apierr.Newf(2003, "Template '%s' of namespace '%s' has no translation for language '%s'; it exists in: %s",
			req.name, req.namespace, req.code, available)
	}
	return e, e.sendable()
}

// unknownNamespace is the 2001 of a namespace the catalogue does not hold.
// It says which namespaces the account's templates are in, so that a
// client sending with a stale or mistyped namespace sees its mistake, and
// says so when there are none (nothing is wrong with the namespace then).
func (c *Catalogue) unknownNamespace(req request) *apierr.Error {
	missing := fmt.Sprintf("Template '%s' in language '%s' of namespace '%s' does not exist", req.name, req.code, req.namespace)
	switch ns := c.Namespaces(); len(ns) {
	case 0:
		return apierr.New(2001, missing+": the account has no templates")
	case 1:
		return apierr.Newf(2001, "%s: the account's templates are in namespace '%s'", missing, ns[0])
	default:
		return apierr.Newf(2001, "%s: the account's templates are in namespaces '%s'", missing, strings.Join(ns, "', '"))
	}
}

func fallback(langs map[string]*entry, code string) *entry {
	base, _, _ := strings.Cut(code, "_")
	if e := langs[base]; e != nil {
		return e
	}
	for _, lang := range slices.Sorted(maps.Keys(langs)) {
		if strings.HasPrefix(lang, base+"_") {
			return langs[lang]
		}
	}
	return nil
}

// sendable maps the status to its error: paused 2061 and disabled 2062
// (since May 2023), rejected 2060; pending, and any status a network may
// report that is not one of these, is "not approved", which is what 2001
// meant before 2060–2062 existed.
func (e *entry) sendable() *apierr.Error {
	d := &e.def
	switch d.Status {
	case StatusApproved:
		return nil
	case StatusPaused:
		return apierr.Newf(2061, "Template '%s' (%s) in namespace '%s' is paused", d.Name, d.Language, d.Namespace)
	case StatusDisabled:
		return apierr.Newf(2062, "Template '%s' (%s) in namespace '%s' is disabled", d.Name, d.Language, d.Namespace)
	case StatusRejected:
		return apierr.Newf(2060, "Template '%s' (%s) in namespace '%s' was rejected", d.Name, d.Language, d.Namespace)
	case StatusPending:
		return apierr.Newf(2001, "Template '%s' (%s) in namespace '%s' is pending review and cannot be sent yet", d.Name, d.Language, d.Namespace)
	}
	return apierr.Newf(2001, "Template '%s' (%s) in namespace '%s' is not approved (status '%s')", d.Name, d.Language, d.Namespace, d.Status)
}
