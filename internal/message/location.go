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
	loc.Latitude = Coordinate(errs, fields, "latitude", Join(path, "latitude"), 90)
	loc.Longitude = Coordinate(errs, fields, "longitude", Join(path, "longitude"), 180)
	loc.Name, _ = OptionalText(errs, fields, "name", Join(path, "name"), MaxLocationTextChars)
	loc.Address, _ = OptionalText(errs, fields, "address", Join(path, "address"), MaxLocationTextChars)
	if withURL {
		if u, ok := OptionalText(errs, fields, "url", Join(path, "url"), MaxLinkChars); ok && u != "" {
			if IsMediaLink(u) {
				loc.URL = u
			} else {
				errs.Merge(apierr.InvalidValue(Join(path, "url"), u))
			}
		}
	}
	if errs.Len() > before {
		return nil
	}
	return loc
}

// Coordinate reads the required latitude or longitude at key, named path in
// errors: a JSON number or a string of decimal digits with an optional
// minus sign and fraction ("51.5072"), within [-limit, limit]. Missing (or
// null) is 1008; anything else that is not such a number is 1009. On an
// error it reports to errs and returns 0, so callers tell a fault by errs
// growing, not by the value.
func Coordinate(errs *apierr.List, fields map[string]json.RawMessage, key, path string, limit float64) float64 {
	raw, ok := Given(fields, key)
	if !ok {
		errs.Merge(apierr.MissingParam(path))
		return 0
	}
	f, ok := number(raw)
	if !ok || f < -limit || f > limit {
		errs.Merge(apierr.InvalidValue(path, Display(raw)))
		return 0
	}
	return f
}

// checkLocation is the value check of type location.
func (d *decoder) checkLocation(errs *apierr.List) {
	d.out.Location = checkLocation(errs, TypeLocation, d.params[TypeLocation], false)
}
