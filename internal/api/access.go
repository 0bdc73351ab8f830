package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/auth"
)

// errMissingCredentials is the 401 for a request with no usable credentials.
var errMissingCredentials = errors.New("missing credentials")

// authenticate reads "Authorization: Bearer <token>" or "Apikey <key>". The
// scheme is matched exactly as written, as the Webapp did.
func (s *Server) authenticate(r *http.Request) (auth.Principal, error) {
	scheme, credential, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || credential == "" {
		return auth.Principal{}, errMissingCredentials
	}
	switch scheme {
	case "Bearer":
		return s.auth.Authenticate(r.Context(), credential)
	case "Apikey":
		return s.auth.AuthenticateAPIKey(credential)
	default:
		return auth.Principal{}, errMissingCredentials
	}
}

// writeAuthError answers 401/1005 for rejected credentials, saying which way
// they were wrong; a storage failure is a 500.
func (s *Server) writeAuthError(w http.ResponseWriter, r *http.Request, err error) {
	var details string
	switch {
	case errors.Is(err, errMissingCredentials):
		details = "Missing or invalid authentication credentials"
	case errors.Is(err, auth.ErrBadCredentials):
		details = "Invalid credentials."
	case errors.Is(err, auth.ErrUnknownUser):
		details = "Username could not be found."
	case errors.Is(err, context.Canceled):
		return
	case errors.Is(err, auth.ErrTokenLookup):
		// The token could not be checked: the database is down or slow.
		// The same answer as a send that cannot be stored.
		s.log.Error("request not authenticated: database error", "request_id", requestID(r.Context()), "method", r.Method, "path", r.URL.Path, "err", err)
		s.writeError(w, r, apierr.New(1023, "The token could not be checked: the database is unavailable or did not answer in time; retry later"))
		return
	default:
		s.writeError(w, r, err)
		return
	}
	s.writeError(w, r, apierr.New(1005, details).WithStatus(http.StatusUnauthorized))
}
