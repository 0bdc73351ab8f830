package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/core"
)

// maxContactsPerRequest bounds one POST /v1/contacts (the spec gives no
// number; see docs/decisions.md).
const maxContactsPerRequest = 1000

type contactsResponse struct {
	Contacts []core.ContactResult `json:"contacts"`
}

// checkContacts is POST /v1/contacts.
func (s *Server) checkContacts(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	var errs apierr.List
	var inputs []string
	raw, ok := p["contacts"]
	switch {
	case !ok || string(raw) == "null":
		errs.Merge(apierr.MissingParam("contacts"))
	case !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")):
		errs.Add(1009, "Contacts field has to be an array")
	default:
		var items []json.RawMessage
		json.Unmarshal(raw, &items)
		switch {
		case len(items) == 0:
			errs.Add(1009, "Contacts field must have atleast one entry")
		case len(items) > maxContactsPerRequest:
			errs.Addf(1009, "Contacts field must have at most %d entries", maxContactsPerRequest)
		}
		for _, item := range items {
			var v string
			if json.Unmarshal(item, &v) != nil {
				errs.Merge(apierr.InvalidValue("contacts", string(item)))
				continue
			}
			inputs = append(inputs, v)
		}
	}
	blocking, present, e := p.optionalString("blocking")
	errs.Merge(e)
	if !present {
		blocking = "no_wait"
	}
	if e == nil && blocking != "wait" && blocking != "no_wait" {
		errs.Merge(apierr.InvalidValue("blocking", blocking))
	}
	force := false
	if raw, ok := p["force_check"]; ok {
		switch string(bytes.TrimSpace(raw)) {
		case "true":
			force = true
		case "false":
		default:
			errs.Merge(apierr.InvalidValue("force_check", displayJSON(raw)))
		}
	}
	if e := errs.Err(); e != nil {
		return e
	}
	results, err := s.messaging.CheckContacts(r.Context(), inputs, blocking == "wait", force)
	if err != nil {
		return err
	}
	s.writeOK(w, http.StatusOK, contactsResponse{Contacts: results})
	return nil
}

// displayJSON shows a rejected value: strings without quotes, the rest as
// written.
func displayJSON(raw json.RawMessage) string {
	var s string
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte(`"`)) && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}
