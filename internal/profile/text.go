package profile

import (
	"unicode"

	"github.com/wabiz/wabiz/internal/apierr"
)

// checkText refuses the control characters (C0, DEL and C1: what
// unicode.IsControl reports) in a text WhatsApp users are shown. They are
// invisible or break the line where the app shows them, and a NUL is cut
// off or refused by the networks and databases the text travels through.
// Multi-line texts (the about text and the business description, which
// WhatsApp shows on several lines) may hold line feeds, carriage returns
// and tabs.
//
// Only requests are held to this: a restore keeps texts a backup made by
// an earlier version holds (see CheckDocument).
func checkText(name, v string, multiline bool) *apierr.Error {
	for _, r := range v {
		if !unicode.IsControl(r) || multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		return apierr.Newf(1009, "Parameter '%s' has invalid value '%s': control character %U is not allowed", name, v, r)
	}
	return nil
}
