package message

import (
	"encoding/json"

	"github.com/wabiz/wabiz/internal/apierr"
)

// MaxLocationTextChars bounds a location's name and address. Meta documents
// no limit; this one is far above any real place name or postal address,
// and keeps a bubble from carrying a novel.
const MaxLocationTextChars = 1024

// Location is a validated location object. URL is only ever set on inbound
// locations (a place a user shared from a map).
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	URL       string  `json:"url,omitempty"`
}

// checkLocation validates a location object at path: latitude in [-90, 90]
// and longitude in [-180, 180], as JSON numbers or numeric strings, both
// required; name and address optional texts. withURL admits the inbound
// `url` (an http or https link).
func checkLocation(errs *apierr.List, path string, raw json.RawMessage, withURL bool) *Location {
	fields := objectAt(errs, raw, path)
	if fields == nil {
		return nil
	}
	before := errs.Len()
	loc := &Location{}
	loc.Latitude = coordinate(errs, fields, "latitude", join(path, "latitude"), 90)
	loc.Longitude = coordinate(errs, fields, "longitude", join(path, "longitude"), 180)
	loc.Name, _ = optionalText(errs, fields, "name", join(path, "name"), MaxLocationTextChars)
	loc.Address, _ = optionalText(errs, fields, "address", join(path, "address"), MaxLocationTextChars)
	if withURL {
		if u, ok := optionalText(errs, fields, "url", join(path, "url"), MaxLinkChars); ok && u != "" {
			if IsMediaLink(u) {
				loc.URL = u
			} else {
				errs.Merge(apierr.InvalidValue(join(path, "url"), u))
			}
		}
	}
	if errs.Len() > before {
		return nil
	}
	return loc
}

func coordinate(errs *apierr.List, fields map[string]json.RawMessage, key, path string, limit float64) float64 {
	raw, ok := given(fields, key)
	if !ok {
		errs.Merge(apierr.MissingParam(path))
		return 0
	}
	f, ok := number(raw)
	if !ok || f < -limit || f > limit {
		errs.Merge(apierr.InvalidValue(path, display(raw)))
		return 0
	}
	return f
}

// checkLocation is the value check of type location.
func (d *decoder) checkLocation(errs *apierr.List) {
	d.out.Location = checkLocation(errs, TypeLocation, d.params[TypeLocation], false)
}
