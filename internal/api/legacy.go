package api

import (
	"encoding/json"
	"net/http"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/auth"
)

// Legacy message routes of the v2.2x Webapp (spec §5.3) that an old client
// may still call. They do nothing: the Webapp answered GET and DELETE of one
// message with a bare meta, and the database clean-up DELETE /v1/messages
// asked for is the message garbage collector's job now
// (PUT /v1/services/message/gc), so it only validates its body.
//
// The Groups API (§13) is not served: WhatsApp removed it, and an unknown
// path's 404/1006 is what a late v2.x client saw. Neither is
// /v1/admin/database/migrate: moving the database is `wabiz migrate`'s job.
func (s *Server) legacyRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/v1/messages/{id}", Auth: AuthToken, Role: auth.RoleUser, Handler: s.legacyNoop},
		{Method: "DELETE", Pattern: "/v1/messages/{id}", Auth: AuthToken, Role: auth.RoleUser, Handler: s.legacyNoop},
		{Method: "DELETE", Pattern: "/v1/messages", Auth: AuthToken, Role: auth.RoleUser, Handler: s.legacyDeleteMessages},
	}
}

func (s *Server) legacyNoop(w http.ResponseWriter, r *http.Request) error {
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

// legacyDeleteMessages is DELETE /v1/messages {"age":N} or {"before":T}:
// exactly one of the two, a non-negative integer (seconds / Unix time).
func (s *Server) legacyDeleteMessages(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	age, hasAge := p["age"]
	before, hasBefore := p["before"]
	switch {
	case !hasAge && !hasBefore:
		return apierr.New(1008, "Atleast one of the following parameters must be present: 'age', 'before'")
	case hasAge && hasBefore:
		return apierr.New(1010, "Exactly one of the following parameters must be present: 'age', 'before'")
	}
	name, raw := "age", age
	if hasBefore {
		name, raw = "before", before
	}
	var n uint64
	if json.Unmarshal(raw, &n) != nil {
		return apierr.InvalidValue(name, string(raw))
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}
