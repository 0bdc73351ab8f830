package api

import (
	"encoding/json"
	"net/http"
	"regexp"

	"github.com/wabiz/wabiz/internal/apierr"
)

// What the API lends the routes declared outside it (the networks' own
// surfaces, e.g. the sandbox's control API and the Cloud webhook): the
// envelope, and the request rules every node follows, so that those routes
// answer exactly as the API's own. Authentication, roles, body limits and
// error rendering stay the API's: a provider only declares them.

// RouteProvider is a part outside the API that serves routes of its own.
// The API routes, authenticates, bounds and renders them as it does its own.
type RouteProvider interface {
	Routes(Envelope) []Route
}

// Envelope renders the API's success envelope (the payload's keys, then
// meta) for handlers declared outside this package. Their errors are
// returned, as every handler's are, and rendered by the API.
type Envelope interface {
	WriteOK(w http.ResponseWriter, status int, payload any)
}

// WriteOK is the success envelope (Envelope): payload's keys, then meta.
func (s *Server) WriteOK(w http.ResponseWriter, status int, payload any) {
	s.writeOK(w, status, payload)
}

// Params are the top-level keys of a JSON request body, each kept raw.
type Params = map[string]json.RawMessage

// ReadParams reads a request body by the Webapp's rules (readParams).
func ReadParams(r *http.Request) (Params, error) { return readParams(r) }

// RequiredMatching is a mandatory string parameter, matching pattern when
// one is given; a problem is merged into errs and "" returned.
func RequiredMatching(p Params, name string, pattern *regexp.Regexp, errs *apierr.List) string {
	return requiredMatching(p, name, pattern, errs)
}

// DisplayJSON is a parameter's value as an error text names it: a string
// without its quotes, anything else as written.
func DisplayJSON(raw json.RawMessage) string { return displayJSON(raw) }

// ClientIP is the peer address of a request, as the logs name it.
func ClientIP(r *http.Request) string { return clientIP(r) }

// WaIDFromPath reads {wa_id} from the path: 400/1009 unless it is a
// WhatsApp id.
func WaIDFromPath(r *http.Request) (string, error) { return waIDFromPath(r) }

// WaIDAndParam reads {wa_id} from the path and one mandatory string
// parameter (matching pattern, when given) from the body.
func WaIDAndParam(r *http.Request, name string, pattern *regexp.Regexp) (waID, value string, err error) {
	return waIDAndParam(r, name, pattern)
}

// The number rules of /v1/account and /v1/contacts, for the routes that
// take a number the same way.
var (
	CCPattern    = ccPattern
	PhonePattern = phonePattern
	// WaIDPattern is a WhatsApp id: the digits of a number in international
	// form.
	WaIDPattern = waIDPattern
)
