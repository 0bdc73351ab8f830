package cloud

import (
	"context"
	"net/http"

	"github.com/wabiz/wabiz/internal/network"
)

var _ network.ProfilePublisher = (*Network)(nil)

// cloudVerticals maps the On-Premises vertical names (profile.Verticals)
// to the Cloud API's vertical enum.
var cloudVerticals = map[string]string{
	"Automotive":                 "AUTO",
	"Beauty, Spa and Salon":      "BEAUTY",
	"Clothing and Apparel":       "APPAREL",
	"Education":                  "EDU",
	"Entertainment":              "ENTERTAIN",
	"Event Planning and Service": "EVENT_PLAN",
	"Finance and Banking":        "FINANCE",
	"Food and Grocery":           "GROCERY",
	"Public Service":             "GOVT",
	"Hotel and Lodging":          "HOTEL",
	"Medical and Health":         "HEALTH",
	"Non-profit":                 "NONPROFIT",
	"Professional Services":      "PROF_SERVICES",
	"Shopping and Retail":        "RETAIL",
	"Travel and Transportation":  "TRAVEL",
	"Restaurant":                 "RESTAURANT",
	"Other":                      "OTHER",
}

// PublishProfile implements network.ProfilePublisher: POST
// /{phone-number-id}/whatsapp_business_profile with the about text and
// the business profile.
//
// What does not map:
//   - an empty field is left out rather than sent empty (the Cloud refuses
//     an empty about, and an empty value is not documented to clear the
//     others), so clearing a field in wabiz leaves the Cloud's value as it
//     was: clear it in WhatsApp Manager;
//   - a vertical the Cloud does not know is left out (profile.Verticals
//     are all mapped);
//   - the photo: the Cloud takes it as profile_picture_handle, a handle of
//     the Resumable Upload API (POST /{app-id}/uploads, which needs the
//     Meta app id), and BusinessProfile carries only HasPhoto, not the
//     bytes. The photo is not published; set it in WhatsApp Manager.
func (n *Network) PublishProfile(ctx context.Context, p network.BusinessProfile) error {
	body := map[string]any{"messaging_product": "whatsapp"}
	for k, v := range map[string]string{"about": p.About, "address": p.Address, "description": p.Description, "email": p.Email} {
		if v != "" {
			body[k] = v
		}
	}
	if v, ok := cloudVerticals[p.Vertical]; ok {
		body["vertical"] = v
	} else if p.Vertical != "" {
		n.log.Warn("the Cloud API has no vertical for this value; left out of the profile", "vertical", p.Vertical)
	}
	var sites []string
	for _, s := range p.Websites {
		if s != "" {
			sites = append(sites, s)
		}
	}
	if len(sites) > 0 {
		body["websites"] = sites
	}
	if p.HasPhoto {
		n.log.Info("the profile photo is not published to the Cloud API; set it in WhatsApp Manager")
	}
	return mapCallError(n.call(ctx, http.MethodPost, n.opt.PhoneNumberID+"/whatsapp_business_profile", body, nil))
}

// SetPIN changes the number's two-step verification PIN: POST
// /{phone-number-id} {"pin": pin}. The new PIN is also the one Register
// sends from then on. The Cloud requires six digits; anything else is
// refused here (1009) without a call.
func (n *Network) SetPIN(ctx context.Context, pin string) error {
	if len(pin) != 6 || onlyDigits(pin) != pin {
		return &network.Error{Code: 1009, Details: "the two-step verification PIN must be 6 digits"}
	}
	if err := n.call(ctx, http.MethodPost, n.opt.PhoneNumberID, map[string]string{"pin": pin}, nil); err != nil {
		return mapCallError(err)
	}
	n.mu.Lock()
	n.pin = pin
	n.mu.Unlock()
	return nil
}
