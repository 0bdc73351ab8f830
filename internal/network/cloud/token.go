package cloud

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// RequiredScopes are the permissions the bridge's calls need:
// whatsapp_business_messaging to send and register, and
// whatsapp_business_management to read the WABA's templates.
var RequiredScopes = []string{"whatsapp_business_messaging", "whatsapp_business_management"}

// TokenInfo is what the Graph API's debug_token says of the access token.
type TokenInfo struct {
	Valid  bool
	Type   string // SYSTEM_USER, USER, ...
	AppID  string
	Scopes []string
	// ExpiresAt is zero for a token that does not expire (system-user
	// tokens made with "never").
	ExpiresAt time.Time
}

// InspectToken asks GET /debug_token?input_token=<token>, authorised with
// the token itself (the Graph lets a token describe itself to the app it
// belongs to). A Graph refusal comes back as *GraphError, unmapped: the
// caller (wabiz doctor) names the Graph's own code.
func (n *Network) InspectToken(ctx context.Context) (TokenInfo, error) {
	var answer struct {
		Data struct {
			AppID     string   `json:"app_id"`
			Type      string   `json:"type"`
			IsValid   bool     `json:"is_valid"`
			ExpiresAt int64    `json:"expires_at"`
			Scopes    []string `json:"scopes"`
		} `json:"data"`
	}
	err := n.call(ctx, http.MethodGet, "debug_token?input_token="+url.QueryEscape(n.opt.AccessToken), nil, &answer)
	if err != nil {
		return TokenInfo{}, err
	}
	d := answer.Data
	info := TokenInfo{Valid: d.IsValid, Type: d.Type, AppID: d.AppID, Scopes: d.Scopes}
	if d.ExpiresAt > 0 {
		info.ExpiresAt = time.Unix(d.ExpiresAt, 0).UTC()
	}
	return info, nil
}
