package profile

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"unicode/utf8"

	"github.com/wabiz/wabiz/internal/apierr"
)

// MaxAboutLength is the longest "About" text WhatsApp accepts, in characters.
const MaxAboutLength = 139

// SetAbout is PATCH /v1/settings/profile/about: {"text": "..."}, 1 to 139
// characters. An empty text counts as missing, as the Webapp's required-
// parameter check did.
func (s *Service) SetAbout(ctx context.Context, body map[string]json.RawMessage) error {
	text, err := stringParam(body, "text")
	switch {
	case err != nil:
		return err
	case text == nil || *text == "":
		return apierr.MissingParam("text")
	}
	if err := checkText("text", *text, true); err != nil {
		return err
	}
	if err := checkAbout(*text); err != nil {
		return err
	}
	return s.change(ctx, AboutDocument, aboutDoc{Text: *text})
}

func checkAbout(text string) *apierr.Error {
	if utf8.RuneCountInString(text) > MaxAboutLength {
		return tooLong("text", MaxAboutLength)
	}
	return nil
}

// Business is the business profile (spec §8.5).
type Business struct {
	Address     string   `json:"address"`
	Description string   `json:"description"`
	Email       string   `json:"email"`
	Vertical    string   `json:"vertical"`
	Websites    []string `json:"websites"`
}

// Verticals are the values "vertical" accepts (besides "").
var Verticals = []string{
	"Automotive", "Beauty, Spa and Salon", "Clothing and Apparel", "Education", "Entertainment",
	"Event Planning and Service", "Finance and Banking", "Food and Grocery", "Public Service",
	"Hotel and Lodging", "Medical and Health", "Non-profit", "Professional Services",
	"Shopping and Retail", "Travel and Transportation", "Restaurant", "Other",
}

// Field limits of the business profile, in characters.
const (
	maxAddressLength     = 256
	maxDescriptionLength = 256
	maxEmailLength       = 128
	maxWebsiteLength     = 256
	maxWebsites          = 2
)

// BusinessProfile returns the stored profile; never-set fields are empty
// and websites is [] rather than null, as clients index it.
func (s *Service) BusinessProfile(ctx context.Context) (Business, error) {
	var b Business
	if err := readDoc(ctx, s.store, BusinessDocument, &b); err != nil {
		return Business{}, err
	}
	if b.Websites == nil {
		b.Websites = []string{}
	}
	return b, nil
}

// UpdateBusinessProfile is POST /v1/settings/business/profile: the fields
// present replace the stored ones, the others stay. Every field is checked
// and all errors are reported together before anything is stored. Unknown
// keys are ignored, as the Webapp forwarded only the fields it knew.
func (s *Service) UpdateBusinessProfile(ctx context.Context, body map[string]json.RawMessage) error {
	var errs apierr.List
	set := map[string]func(*Business){}
	for _, f := range []struct {
		name      string
		max       int
		multiline bool // WhatsApp shows the description on several lines
		put       func(*Business, string)
	}{
		{"address", maxAddressLength, false, func(b *Business, v string) { b.Address = v }},
		{"description", maxDescriptionLength, true, func(b *Business, v string) { b.Description = v }},
		{"email", maxEmailLength, false, func(b *Business, v string) { b.Email = v }},
		{"vertical", 0, false, func(b *Business, v string) { b.Vertical = v }},
	} {
		v, err := stringParam(body, f.name)
		if err != nil {
			errs.Merge(err)
			continue
		}
		if v == nil {
			continue
		}
		if err := checkText(f.name, *v, f.multiline); err != nil {
			errs.Merge(err)
			continue
		}
		if err := checkBusinessField(f.name, *v, f.max); err != nil {
			errs.Merge(err)
			continue
		}
		val, put := *v, f.put
		set[f.name] = func(b *Business) { put(b, val) }
	}
	if raw, ok := body["websites"]; ok && string(raw) != "null" {
		sites, err := parseWebsites(raw)
		if err != nil {
			errs.Merge(err)
		} else {
			set["websites"] = func(b *Business) { b.Websites = sites }
		}
	}
	if err := errs.Err(); err != nil {
		return err
	}
	if len(set) == 0 {
		return nil
	}
	if err := writeDoc(ctx, s.store, BusinessDocument, func(old []byte) ([]byte, error) {
		var b Business
		if len(old) > 0 {
			if err := json.Unmarshal(old, &b); err != nil {
				return nil, fmt.Errorf("profile: stored %s is corrupt: %w", BusinessDocument, err)
			}
		}
		for _, apply := range set {
			apply(&b)
		}
		return json.Marshal(b)
	}, s.now()); err != nil {
		return err
	}
	return s.Publish(ctx)
}

func checkBusinessField(name, v string, max int) *apierr.Error {
	if max > 0 && utf8.RuneCountInString(v) > max {
		return tooLong(name, max)
	}
	switch name {
	case "email":
		// An empty e-mail clears it; otherwise a bare address, no display name.
		if a, err := mail.ParseAddress(v); v != "" && (err != nil || a.Address != v) {
			return apierr.InvalidValue(name, v)
		}
	case "vertical":
		if v != "" && !slices.Contains(Verticals, v) {
			return apierr.InvalidValue(name, v)
		}
	}
	return nil
}

func parseWebsites(raw json.RawMessage) ([]string, *apierr.Error) {
	var sites []string
	if json.Unmarshal(raw, &sites) != nil {
		return nil, apierr.InvalidValue("websites", string(raw))
	}
	for _, site := range sites {
		if err := checkText("websites", site, false); err != nil {
			return nil, err
		}
	}
	if err := checkWebsites(sites); err != nil {
		return nil, err
	}
	if sites == nil {
		sites = []string{}
	}
	return sites, nil
}

func checkWebsites(sites []string) *apierr.Error {
	if len(sites) > maxWebsites {
		return apierr.Newf(1009, "Max number of websites allowed is %d", maxWebsites)
	}
	for _, site := range sites {
		if utf8.RuneCountInString(site) > maxWebsiteLength {
			return tooLong("websites", maxWebsiteLength)
		}
		u, err := url.Parse(site)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return apierr.InvalidValue("websites", site)
		}
	}
	return nil
}

// checkBusiness applies the rules of UpdateBusinessProfile to a whole
// profile.
func checkBusiness(b Business) *apierr.Error {
	for _, f := range []struct {
		name, value string
		max         int
	}{
		{"address", b.Address, maxAddressLength},
		{"description", b.Description, maxDescriptionLength},
		{"email", b.Email, maxEmailLength},
		{"vertical", b.Vertical, 0},
	} {
		if err := checkBusinessField(f.name, f.value, f.max); err != nil {
			return err
		}
	}
	return checkWebsites(b.Websites)
}

// stringParam reads an optional string; nil when absent or null, 1009 when
// not a JSON string.
func stringParam(body map[string]json.RawMessage, name string) (*string, *apierr.Error) {
	raw, ok := body[name]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return nil, apierr.InvalidValue(name, string(raw))
	}
	return &v, nil
}

// tooLong is the 1009 for a text over its limit. The spec leaves the text
// open; this one names the field and the limit.
func tooLong(name string, max int) *apierr.Error {
	return apierr.Newf(1009, "Parameter '%s' is too long: at most %d characters", name, max)
}
