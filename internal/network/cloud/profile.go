package cloud

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wabiz/wabiz/internal/network"
)

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

// PublishProfile (the profile service's Publisher): POST
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
//   - the photo goes as profile_picture_handle, a handle of the Meta app's
//     Resumable Upload API (see uploadPhoto), and only when it changed
//     since this process last published it (after a restart, the next
//     profile change uploads it once more). Without Options.AppID it is
//     not published, with a warning. Removing the photo in wabiz leaves it
//     on WhatsApp: the Cloud API has no call to remove it.
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
	photo, err := n.photoHandle(ctx, p)
	if err != nil {
		return err
	}
	if photo.handle != "" {
		body["profile_picture_handle"] = photo.handle
	}
	if err := n.call(ctx, http.MethodPost, n.opt.PhoneNumberID+"/whatsapp_business_profile", body, nil); err != nil {
		return mapCallError(err)
	}
	if photo.sum != "" {
		n.mu.Lock()
		n.photo = photo.sum
		n.mu.Unlock()
	}
	return nil
}

// photoUpdate is what a profile update does with the photo: the handle to
// send ("" for none) and the SHA-256 to remember once the update went
// through ("" to remember nothing new).
type photoUpdate struct {
	handle, sum string
}

// photoHandle uploads the profile photo when it changed since it was last
// published.
func (n *Network) photoHandle(ctx context.Context, p network.BusinessProfile) (photoUpdate, error) {
	n.mu.Lock()
	last := n.photo
	n.mu.Unlock()
	if !p.HasPhoto || len(p.Photo) == 0 {
		if last != "" {
			n.log.Warn("the profile photo was removed in wabiz but stays on WhatsApp: the Cloud API cannot remove it; remove it in WhatsApp Manager")
			n.mu.Lock()
			n.photo = ""
			n.mu.Unlock()
		}
		return photoUpdate{}, nil
	}
	raw := sha256.Sum256(p.Photo)
	sum := hex.EncodeToString(raw[:])
	if sum == last {
		return photoUpdate{}, nil
	}
	if n.opt.AppID == "" {
		n.log.Warn("the profile photo is kept by wabiz but not published to WhatsApp: the Cloud API takes a photo only through the Meta app's Resumable Upload API; set WABIZ_CLOUD_APP_ID to the app's id to publish it")
		return photoUpdate{sum: sum}, nil
	}
	handle, err := n.uploadPhoto(ctx, p.Photo)
	if err != nil {
		return photoUpdate{}, err
	}
	return photoUpdate{handle: handle, sum: sum}, nil
}

// uploadPhoto puts a JPEG through the Meta app's Resumable Upload API and
// returns the file handle: POST /{app-id}/uploads?file_length&file_type
// opens a session ({"id":"upload:..."}); POST /{session id} with the bytes,
// "Authorization: OAuth <token>" and "file_offset: 0" answers {"h":handle}.
// The session id is used as it comes: it may carry a query (a signature).
func (n *Network) uploadPhoto(ctx context.Context, jpeg []byte) (string, error) {
	q := url.Values{"file_length": {strconv.Itoa(len(jpeg))}, "file_type": {"image/jpeg"}, "file_name": {"profile.jpg"}}
	var session struct {
		ID string `json:"id"`
	}
	if err := n.call(ctx, http.MethodPost, n.opt.AppID+"/uploads?"+q.Encode(), nil, &session); err != nil {
		return "", mapCallError(err)
	}
	if !strings.HasPrefix(session.ID, "upload:") {
		return "", &network.Error{Code: 1014, Temporary: true, Details: fmt.Sprintf("the Cloud API opened an upload session with an unexpected id %q", session.ID)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.opt.GraphURL+"/"+session.ID, bytes.NewReader(jpeg))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "OAuth "+n.opt.AccessToken)
	req.Header.Set("file_offset", "0")
	var done struct {
		H string `json:"h"`
	}
	if err := n.do(req, &done); err != nil {
		return "", mapCallError(err)
	}
	if done.H == "" {
		return "", &network.Error{Code: 1014, Temporary: true, Details: "the Cloud API answered a photo upload without a file handle"}
	}
	return done.H, nil
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
