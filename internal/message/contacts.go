package message

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/wabiz/wabiz/internal/apierr"
)

// Limits of a contacts message. Meta documents none; WhatsApp's app shares
// a handful of cards at a time, and a card is never long.
const (
	MaxContacts          = 20   // cards per message
	maxCardItems         = 20   // entries in each of a card's lists
	MaxContactFieldChars = 1024 // any text in a card
)

// Values of the `type` of a card's entries (spec §5.1.2). They are
// accepted in any case and written in upper case.
var (
	phoneTypes = []string{"CELL", "MAIN", "IPHONE", "HOME", "WORK"}
	placeTypes = []string{"HOME", "WORK"} // emails, addresses, urls
)

// ContactCard is one validated card: Raw is its canonical JSON (validated
// fields only, in a fixed order).
type ContactCard struct {
	FormattedName string
	Raw           json.RawMessage
}

// cardJSON is the canonical card, keys in the order of the spec's example.
type cardJSON struct {
	Name      nameJSON          `json:"name"`
	Phones    []phoneJSON       `json:"phones,omitempty"`
	Emails    []emailJSON       `json:"emails,omitempty"`
	Org       *orgJSON          `json:"org,omitempty"`
	Addresses []addressJSON     `json:"addresses,omitempty"`
	URLs      []urlJSON         `json:"urls,omitempty"`
	IMs       []json.RawMessage `json:"ims,omitempty"`
	Birthday  string            `json:"birthday,omitempty"`
}

type nameJSON struct {
	FormattedName string `json:"formatted_name"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
	MiddleName    string `json:"middle_name,omitempty"`
	Suffix        string `json:"suffix,omitempty"`
	Prefix        string `json:"prefix,omitempty"`
}

type phoneJSON struct {
	Phone string `json:"phone"`
	Type  string `json:"type,omitempty"`
	WaID  string `json:"wa_id,omitempty"`
}

type emailJSON struct {
	Email string `json:"email"`
	Type  string `json:"type,omitempty"`
}

type orgJSON struct {
	Company    string `json:"company,omitempty"`
	Department string `json:"department,omitempty"`
	Title      string `json:"title,omitempty"`
}

type addressJSON struct {
	Street      string `json:"street,omitempty"`
	City        string `json:"city,omitempty"`
	State       string `json:"state,omitempty"`
	Zip         string `json:"zip,omitempty"`
	Country     string `json:"country,omitempty"`
	CountryCode string `json:"country_code,omitempty"`
	Type        string `json:"type,omitempty"`
}

type urlJSON struct {
	URL  string `json:"url"`
	Type string `json:"type,omitempty"`
}

// checkContacts validates the list of cards at path (outbound `contacts`
// and the inbound contacts message share it).
func checkContacts(errs *apierr.List, path string, raw json.RawMessage) []ContactCard {
	items, ok := arrayAt(errs, raw, path)
	if !ok {
		return nil
	}
	before := errs.Len()
	if len(items) < 1 || len(items) > MaxContacts {
		errs.Merge(countError(1009, path, 1, MaxContacts, len(items), "items"))
	}
	cards := make([]ContactCard, 0, len(items))
	for i, item := range items {
		if card, ok := checkCard(errs, At(path, i), item); ok {
			cards = append(cards, card)
		}
	}
	if errs.Len() > before {
		return nil
	}
	return cards
}

func checkCard(errs *apierr.List, path string, raw json.RawMessage) (ContactCard, bool) {
	fields := objectAt(errs, raw, path)
	if fields == nil {
		return ContactCard{}, false
	}
	before := errs.Len()
	var card cardJSON
	text := func(f map[string]json.RawMessage, key, p string) string {
		s, _ := OptionalText(errs, f, key, Join(p, key), MaxContactFieldChars)
		return s
	}

	if nameRaw, ok := Given(fields, "name"); !ok {
		errs.Merge(apierr.MissingParam(Join(path, "name")))
	} else if nf := objectAt(errs, nameRaw, Join(path, "name")); nf != nil {
		p := Join(path, "name")
		card.Name.FormattedName, _ = RequiredText(errs, nf, "formatted_name", Join(p, "formatted_name"), MaxContactFieldChars)
		card.Name.FirstName = text(nf, "first_name", p)
		card.Name.LastName = text(nf, "last_name", p)
		card.Name.MiddleName = text(nf, "middle_name", p)
		card.Name.Suffix = text(nf, "suffix", p)
		card.Name.Prefix = text(nf, "prefix", p)
	}

	eachItem(errs, fields, "phones", path, func(p string, f map[string]json.RawMessage, _ json.RawMessage) {
		phone, _ := RequiredText(errs, f, "phone", Join(p, "phone"), MaxContactFieldChars)
		entry := phoneJSON{Phone: phone, Type: entryType(errs, f, p, phoneTypes)}
		if waID := text(f, "wa_id", p); waID != "" {
			if normal, ok := NormalizeNumber(waID); ok && normal == waID {
				entry.WaID = waID
			} else {
				errs.Merge(apierr.InvalidValue(Join(p, "wa_id"), waID))
			}
		}
		card.Phones = append(card.Phones, entry)
	})
	eachItem(errs, fields, "emails", path, func(p string, f map[string]json.RawMessage, _ json.RawMessage) {
		email, ok := RequiredText(errs, f, "email", Join(p, "email"), MaxContactFieldChars)
		if ok && !isEmail(email) {
			errs.Merge(apierr.InvalidValue(Join(p, "email"), email))
		}
		card.Emails = append(card.Emails, emailJSON{Email: email, Type: entryType(errs, f, p, placeTypes)})
	})
	if orgRaw, ok := Given(fields, "org"); ok {
		if of := objectAt(errs, orgRaw, Join(path, "org")); of != nil {
			p := Join(path, "org")
			org := orgJSON{Company: text(of, "company", p), Department: text(of, "department", p), Title: text(of, "title", p)}
			if org != (orgJSON{}) {
				card.Org = &org
			}
		}
	}
	eachItem(errs, fields, "addresses", path, func(p string, f map[string]json.RawMessage, item json.RawMessage) {
		fieldErrs := errs.Len()
		a := addressJSON{
			Street: text(f, "street", p), City: text(f, "city", p), State: text(f, "state", p), Zip: text(f, "zip", p),
			Country: text(f, "country", p), CountryCode: text(f, "country_code", p),
		}
		if a == (addressJSON{}) && errs.Len() == fieldErrs {
			errs.Merge(apierr.InvalidValue(p, Display(item))) // nothing but a type
		}
		a.Type = entryType(errs, f, p, placeTypes)
		card.Addresses = append(card.Addresses, a)
	})
	eachItem(errs, fields, "urls", path, func(p string, f map[string]json.RawMessage, _ json.RawMessage) {
		u, _ := RequiredText(errs, f, "url", Join(p, "url"), MaxLinkChars)
		card.URLs = append(card.URLs, urlJSON{URL: u, Type: entryType(errs, f, p, placeTypes)})
	})
	eachItem(errs, fields, "ims", path, func(p string, f map[string]json.RawMessage, item json.RawMessage) {
		// The spec names `ims` without their fields: every text field is
		// kept (keys sorted), anything else refused.
		fieldErrs := errs.Len()
		im := map[string]string{}
		for _, key := range slices.Sorted(maps.Keys(f)) {
			if s := text(f, key, p); s != "" {
				im[key] = s
			}
		}
		if len(im) == 0 && errs.Len() == fieldErrs {
			errs.Merge(apierr.InvalidValue(p, Display(item)))
		}
		card.IMs = append(card.IMs, marshal(im))
	})
	if b := text(fields, "birthday", path); b != "" {
		if !isDate(b) {
			errs.Merge(apierr.InvalidValue(Join(path, "birthday"), b))
		}
		card.Birthday = b
	}

	if errs.Len() > before {
		return ContactCard{}, false
	}
	return ContactCard{FormattedName: card.Name.FormattedName, Raw: marshal(card)}, true
}

// eachItem runs check on every object of the optional list at key.
func eachItem(errs *apierr.List, fields map[string]json.RawMessage, key, path string,
	check func(path string, fields map[string]json.RawMessage, raw json.RawMessage)) {
	raw, ok := Given(fields, key)
	if !ok {
		return
	}
	p := Join(path, key)
	items, ok := arrayAt(errs, raw, p)
	if !ok {
		return
	}
	if len(items) > maxCardItems {
		errs.Merge(countError(1009, p, 0, maxCardItems, len(items), "items"))
		return
	}
	for i, item := range items {
		if f := objectAt(errs, item, At(p, i)); f != nil {
			check(At(p, i), f, item)
		}
	}
}

// entryType reads an optional `type` among allowed, in any case.
func entryType(errs *apierr.List, fields map[string]json.RawMessage, path string, allowed []string) string {
	s, ok := OptionalText(errs, fields, "type", Join(path, "type"), 0)
	if !ok || s == "" {
		return ""
	}
	if upper := strings.ToUpper(s); slices.Contains(allowed, upper) {
		return upper
	}
	errs.Merge(apierr.InvalidValue(Join(path, "type"), s))
	return ""
}

// isEmail is a sanity check, not RFC 5322: text, an "@", text, no spaces.
func isEmail(s string) bool {
	i := strings.LastIndexByte(s, '@')
	return i > 0 && i < len(s)-1 && !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

// isDate accepts YYYY-MM-DD naming a real day of the Gregorian calendar
// (time.Parse alone would take a sign in the year).
func isDate(s string) bool {
	if len(s) != len(time.DateOnly) || s[4] != '-' || s[7] != '-' ||
		!allDigits(s[:4]) || !allDigits(s[5:7]) || !allDigits(s[8:]) {
		return false
	}
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// checkContacts is the value check of type contacts.
func (d *decoder) checkContacts(errs *apierr.List) {
	d.out.Contacts = checkContacts(errs, TypeContacts, d.params[TypeContacts])
}
