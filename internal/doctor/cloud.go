package doctor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/network/cloud"
)

// tokenWarn is how long before its expiry a token is reported. System-user
// tokens made with "never" have none; others last 60 days.
const tokenWarn = 7 * 24 * time.Hour

// checkCloudToken asks the Graph API about the access token (debug_token:
// valid, expiry, permissions) and then reads the phone number with it, as
// the bridge does when it connects.
func (r *run) checkCloudToken(ctx context.Context) {
	c := r.o.Config
	if c.Network != "cloud" {
		r.add(CheckCloudToken, Skip, "WABIZ_NETWORK=%s: no Cloud API token to check", c.Network)
		return
	}
	if c.Cloud.AccessToken == "" {
		r.add(CheckCloudToken, Fail, "WABIZ_CLOUD_ACCESS_TOKEN is not set")
		return
	}
	bridge := cloud.New(cloud.Options{
		GraphURL: c.Cloud.GraphURL, PhoneNumberID: c.Cloud.PhoneNumberID, WABAID: c.Cloud.WABAID,
		AccessToken: c.Cloud.AccessToken, HTTPClient: r.o.GraphClient, Now: r.o.Now,
		Log: slog.New(slog.DiscardHandler),
	})
	cctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	info, err := bridge.InspectToken(cctx)
	if err != nil {
		r.add(CheckCloudToken, Fail, "%s", r.scrub(describeGraphError("GET /debug_token", err, r.o.Timeout)))
		return
	}
	if !info.Valid {
		r.add(CheckCloudToken, Fail, "the Graph API says the access token is not valid (expired or revoked): replace WABIZ_CLOUD_ACCESS_TOKEN")
		return
	}
	var missing []string
	for _, scope := range cloud.RequiredScopes {
		if !slices.Contains(info.Scopes, scope) {
			missing = append(missing, scope)
		}
	}
	if len(missing) > 0 {
		r.add(CheckCloudToken, Fail, "the access token lacks the permission %s (it has %s): grant it to the system user and make a new token",
			strings.Join(missing, ", "), scopeList(info.Scopes))
		return
	}
	if err := bridge.ProbeConnection(cctx); err != nil {
		r.add(CheckCloudToken, Fail, "the token is valid but cannot read phone number %s (WABIZ_CLOUD_PHONE_NUMBER_ID): %s",
			c.Cloud.PhoneNumberID, r.scrub(describeGraphError("GET /"+c.Cloud.PhoneNumberID, err, r.o.Timeout)))
		return
	}
	detail := fmt.Sprintf("%s token of app %s with %s; phone number %s readable", strings.ToLower(info.Type), info.AppID, scopeList(info.Scopes), c.Cloud.PhoneNumberID)
	switch left := info.ExpiresAt.Sub(r.o.Now()); {
	case info.ExpiresAt.IsZero():
		r.add(CheckCloudToken, OK, "%s; never expires", detail)
	case left <= 0:
		r.add(CheckCloudToken, Fail, "%s; expired on %s: replace WABIZ_CLOUD_ACCESS_TOKEN", detail, info.ExpiresAt.Format(time.RFC3339))
	case left < tokenWarn:
		r.add(CheckCloudToken, Warn, "%s; expires in %.0f hours (%s): replace WABIZ_CLOUD_ACCESS_TOKEN, or make a system-user token that never expires",
			detail, left.Hours(), info.ExpiresAt.Format(time.RFC3339))
	default:
		r.add(CheckCloudToken, OK, "%s; expires %s", detail, info.ExpiresAt.Format(time.RFC3339))
	}
}

func scopeList(scopes []string) string {
	if len(scopes) == 0 {
		return "no permissions"
	}
	return strings.Join(scopes, ", ")
}

// describeGraphError names a Graph refusal by its code (190: the token)
// and anything else by what happened to the request.
func describeGraphError(call string, err error, timeout time.Duration) string {
	var ge *cloud.GraphError
	var ne *network.Error
	switch {
	case errors.As(err, &ge) && ge.Code == 190:
		return fmt.Sprintf("%s: the Graph API refused the access token (code 190, HTTP %d: %s): replace WABIZ_CLOUD_ACCESS_TOKEN", call, ge.HTTPStatus, ge.Message)
	case errors.As(err, &ge):
		return fmt.Sprintf("%s: Graph API error %d (HTTP %d): %s", call, ge.Code, ge.HTTPStatus, ge.Message)
	case errors.As(err, &ne):
		return fmt.Sprintf("%s: %s (On-Premises code %d)", call, ne.Details, ne.Code)
	}
	return fmt.Sprintf("%s: Graph API unreachable: %s", call, describeRequestError(err, timeout))
}
