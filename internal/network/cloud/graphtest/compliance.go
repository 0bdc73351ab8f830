package graphtest

import (
	"net/http"
	"net/mail"
	"strings"
)

// complianceEntityTypes is the Cloud's entity_type enum.
var complianceEntityTypes = map[string]bool{"LIMITED_LIABILITY_PARTNERSHIP": true, "SOLE_PROPRIETORSHIP": true,
	"PARTNERSHIP": true, "PUBLIC_COMPANY": true, "PRIVATE_COMPANY": true, "OTHER": true}

// complianceContacts lists the keys each contact object takes and which
// of them it needs.
var complianceContacts = map[string]map[string]bool{
	"grievance_officer_details": {"name": true, "email": true, "landline_number": false, "mobile_number": false},
	"customer_care_details":     {"email": true, "landline_number": false, "mobile_number": false},
}

// Compliance is the business compliance information as the last accepted
// POST /{phone-number-id}/business_compliance_info set it (nil before
// any), without messaging_product.
func (s *Server) Compliance() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.compliance == nil {
		return nil
	}
	out := map[string]any{}
	for k, v := range s.compliance {
		out[k] = v
	}
	return out
}

// updateCompliance is POST /{phone-number-id}/business_compliance_info:
// the body replaces the number's information. It refuses what Meta's
// reference says the update needs or takes: messaging_product, the four
// required parameters, the entity_type enum, entity_type_custom with
// OTHER, is_registered (a boolean) with OTHER and PARTNERSHIP, no other
// parameter; in the contacts, string values, the officer's name and
// e-mail and the customer care e-mail, well-formed e-mails, and phone
// numbers of digits with an optional leading "+" (the reference asks for
// international numbers; how strictly the Cloud checks them is
// unconfirmed).
func (s *Server) updateCompliance(w http.ResponseWriter, body map[string]any) {
	refuse := func(msg string) { graphError(w, 400, 100, 0, "(#100) "+msg) }
	if body["messaging_product"] != "whatsapp" {
		refuse("The parameter messaging_product is required.")
		return
	}
	for _, k := range []string{"entity_name", "entity_type", "grievance_officer_details", "customer_care_details"} {
		if body[k] == nil {
			refuse("The parameter " + k + " is required.")
			return
		}
	}
	for k, v := range body {
		str, isString := v.(string)
		switch k {
		case "messaging_product":
		case "entity_name", "entity_type_custom":
			if !isString || strings.TrimSpace(str) == "" {
				refuse("Param " + k + " must be a non-empty string")
				return
			}
		case "entity_type":
			if !complianceEntityTypes[str] {
				refuse("Param entity_type must be one of {LIMITED_LIABILITY_PARTNERSHIP, SOLE_PROPRIETORSHIP, PARTNERSHIP, PUBLIC_COMPANY, PRIVATE_COMPANY, OTHER}")
				return
			}
		case "is_registered":
			if _, ok := v.(bool); !ok {
				refuse("Param is_registered must be a boolean")
				return
			}
		case "grievance_officer_details", "customer_care_details":
			if msg := checkComplianceContact(k, v); msg != "" {
				refuse(msg)
				return
			}
		default:
			refuse("Unknown parameter " + k)
			return
		}
	}
	switch body["entity_type"] {
	case "OTHER":
		if body["entity_type_custom"] == nil {
			refuse("The parameter entity_type_custom is required when entity_type is OTHER.")
			return
		}
		fallthrough
	case "PARTNERSHIP":
		if body["is_registered"] == nil {
			refuse("The parameter is_registered is required when entity_type is OTHER or PARTNERSHIP.")
			return
		}
	}
	s.mu.Lock()
	s.compliance = map[string]any{}
	for k, v := range body {
		if k != "messaging_product" {
			s.compliance[k] = v
		}
	}
	s.mu.Unlock()
	writeJSON(w, map[string]any{"success": true})
}

// checkComplianceContact returns why a contact object is refused ("" when
// it is not).
func checkComplianceContact(name string, v any) string {
	obj, ok := v.(map[string]any)
	if !ok {
		return "Param " + name + " must be an object"
	}
	keys := complianceContacts[name]
	for k, needed := range keys {
		if _, ok := obj[k]; needed && !ok {
			return "The parameter " + name + "[" + k + "] is required."
		}
	}
	for k, x := range obj {
		str, isString := x.(string)
		if _, known := keys[k]; !known || !isString {
			return "Param " + name + "[" + k + "] is not valid"
		}
		switch k {
		case "email":
			if a, err := mail.ParseAddress(str); err != nil || a.Address != str {
				return "Param " + name + "[email] must be a valid email address"
			}
		case "landline_number", "mobile_number":
			digits := strings.TrimPrefix(str, "+")
			if digits == "" || strings.Trim(digits, "0123456789") != "" {
				return "Param " + name + "[" + k + "] must be a phone number"
			}
		}
	}
	return ""
}
