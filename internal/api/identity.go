package api

import (
	"net/http"
	"regexp"

	"github.com/wabiz/wabiz/internal/apierr"
)

type identityResponse struct {
	Contacts identityItem `json:"contacts"`
}

// identityItem is the identity node's object: "contacts" is an object here,
// not an array, and created_timestamp is in milliseconds.
type identityItem struct {
	Hash             string `json:"hash"`
	CreatedTimestamp int64  `json:"created_timestamp"`
	Acknowledged     bool   `json:"acknowledged"`
}

// getIdentity is GET /v1/contacts/{wa_id}/identity: the user's latest
// identity change, or the identity a known user has had all along.
func (s *Server) getIdentity(w http.ResponseWriter, r *http.Request) error {
	waID, err := waIDFromPath(r)
	if err != nil {
		return err
	}
	id, err := s.messaging.Identity(r.Context(), waID)
	if err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, identityResponse{Contacts: identityItem{Hash: id.Hash, CreatedTimestamp: id.CreatedAt.UnixMilli(), Acknowledged: id.Acknowledged}})
	return nil
}

// acknowledgeIdentity is PUT /v1/contacts/{wa_id}/identity {"hash"}: sends
// to that user are allowed again.
func (s *Server) acknowledgeIdentity(w http.ResponseWriter, r *http.Request) error {
	waID, hash, err := waIDAndParam(r, "hash", nil)
	if err != nil {
		return err
	}
	if err := s.messaging.AcknowledgeIdentity(r.Context(), waID, hash); err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

var waIDPattern = regexp.MustCompile(`^[1-9][0-9]{6,14}$`)

// waIDFromPath reads {wa_id} from the path.
func waIDFromPath(r *http.Request) (string, error) {
	id := r.PathValue("wa_id")
	if !waIDPattern.MatchString(id) {
		return "", apierr.InvalidValue("wa_id", id)
	}
	return id, nil
}

// waIDAndParam reads {wa_id} from the path and one mandatory string
// parameter (matching pattern, when given) from the body: the shape of
// several nodes that act on one user.
func waIDAndParam(r *http.Request, name string, pattern *regexp.Regexp) (waID, value string, err error) {
	if waID, err = waIDFromPath(r); err != nil {
		return "", "", err
	}
	p, err := readParams(r)
	if err != nil {
		return "", "", err
	}
	var errs apierr.List
	value = requiredMatching(p, name, pattern, &errs)
	if e := errs.Err(); e != nil {
		return "", "", e
	}
	return waID, value, nil
}
