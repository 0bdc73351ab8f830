package api

import (
	"net/http"
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

type sandboxIdentityResponse struct {
	Identity struct {
		Hash string `json:"hash"`
	} `json:"identity"`
}

// sandboxChangeIdentity is POST /sandbox/v1/users/{wa_id}/identity: the
// user's identity changes (a new phone), and the business is told.
func (s *Server) sandboxChangeIdentity(w http.ResponseWriter, r *http.Request) error {
	waID, err := waIDFromPath(r)
	if err != nil {
		return err
	}
	hash, err := s.sandbox.ChangeIdentity(r.Context(), waID)
	if err != nil {
		return err
	}
	var resp sandboxIdentityResponse
	resp.Identity.Hash = hash
	s.writeOK(w, http.StatusOK, resp)
	return nil
}
