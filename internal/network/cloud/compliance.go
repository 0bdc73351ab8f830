package cloud

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/wabiz/wabiz/internal/network"
)

// cloudEntityTypes maps the On-Premises entity types (profile.EntityTypes)
// to the Cloud API's entity_type enum.
var cloudEntityTypes = map[string]string{
	"Limited liability partnership": "LIMITED_LIABILITY_PARTNERSHIP",
	"Sole proprietorship":           "SOLE_PROPRIETORSHIP",
	"Partnership":                   "PARTNERSHIP",
	"Public Company":                "PUBLIC_COMPANY",
	"Private Company":               "PRIVATE_COMPANY",
	"Other":                         "OTHER",
}

// PublishComplianceInfo (the profile service's CompliancePublisher): POST
// /{phone-number-id}/business_compliance_info, which replaces the number's
// information.
//
// What does not map:
//   - entity_type_custom goes only with OTHER: the Cloud documents it for
//     OTHER alone, so a Partnership's own words stay in wabiz;
//   - is_registered goes only with OTHER and PARTNERSHIP, the types the
//     Cloud documents it for;
//   - phone numbers go without their separators ("+91 22 1234-5678"
//     becomes "+912212345678"), as the Cloud's examples write them;
//   - empty contact fields are left out.
func (n *Network) PublishComplianceInfo(ctx context.Context, c network.ComplianceInfo) error {
	entityType, ok := cloudEntityTypes[c.EntityType]
	if !ok {
		return &network.Error{Code: 1009, Details: fmt.Sprintf("the Cloud API has no entity type for %q", c.EntityType)}
	}
	body := map[string]any{
		"messaging_product":         "whatsapp",
		"entity_name":               c.EntityName,
		"entity_type":               entityType,
		"grievance_officer_details": complianceContact(c.GrievanceOfficer),
		"customer_care_details":     complianceContact(c.CustomerCare),
	}
	if entityType == "OTHER" {
		body["entity_type_custom"] = c.EntityTypeCustom
	}
	if c.IsRegistered != nil && (entityType == "OTHER" || entityType == "PARTNERSHIP") {
		body["is_registered"] = *c.IsRegistered
	}
	if err := n.call(ctx, http.MethodPost, n.opt.PhoneNumberID+"/business_compliance_info", body, nil); err != nil {
		return mapCallError(err)
	}
	return nil
}

func complianceContact(c network.ComplianceContact) map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{"name": c.Name, "email": c.Email,
		"landline_number": graphPhone(c.LandlineNumber), "mobile_number": graphPhone(c.MobileNumber)} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// graphPhone keeps a phone number's digits and its leading "+".
func graphPhone(v string) string {
	digits := onlyDigits(v)
	if digits != "" && strings.HasPrefix(v, "+") {
		return "+" + digits
	}
	return digits
}
