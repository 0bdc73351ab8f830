package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// Health is the answer of GET /v1/health on a single node.
type Health struct {
	GatewayStatus string `json:"gateway_status"` // unregistered, connecting, connected, ...
}

// Health is GET /v1/health.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var out struct {
		Health Health `json:"health"`
	}
	err := c.Do(ctx, "GET", "/v1/health", nil, &out)
	return out.Health, err
}

// RequestCode is POST /v1/account: it asks for a registration code for
// +cc phone, sent by method ("sms" or "voice"), with the verified-name
// certificate cert. It returns the certificate's display name when a code
// was sent (202), or registered=true when the number is already registered
// on this server (201: nothing left to do).
func (c *Client) RequestCode(ctx context.Context, cc, phone, method, cert string) (vname string, registered bool, err error) {
	body := map[string]string{"cc": cc, "phone_number": phone, "method": method, "cert": cert}
	var out struct {
		Account []struct {
			VName string `json:"vname"`
		} `json:"account"`
	}
	status, err := c.do(ctx, "POST", "/v1/account", body, &out, "")
	if err != nil {
		return "", false, err
	}
	if status == http.StatusCreated {
		return "", true, nil
	}
	if len(out.Account) > 0 {
		vname = out.Account[0].VName
	}
	return vname, false, nil
}

// VerifyCode is POST /v1/account/verify: it completes the registration.
func (c *Client) VerifyCode(ctx context.Context, code string) error {
	return c.Do(ctx, "POST", "/v1/account/verify", map[string]string{"code": code}, nil)
}

type messageIDs struct {
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`
}

func (m messageIDs) first() (string, error) {
	if len(m.Messages) == 0 || m.Messages[0].ID == "" {
		return "", errors.New("client: the answer carries no message id")
	}
	return m.Messages[0].ID, nil
}

// SendText is POST /v1/messages with a text message; it returns the
// message id. What happens to the message next arrives on the webhook.
func (c *Client) SendText(ctx context.Context, to, body string) (string, error) {
	req := map[string]any{
		"to":             to,
		"recipient_type": "individual",
		"type":           "text",
		"text":           map[string]string{"body": body},
	}
	var out messageIDs
	if err := c.Do(ctx, "POST", "/v1/messages", req, &out); err != nil {
		return "", err
	}
	return out.first()
}

// MarkRead is PUT /v1/messages/{id}: the business read an inbound message.
func (c *Client) MarkRead(ctx context.Context, id string) error {
	return c.Do(ctx, "PUT", "/v1/messages/"+url.PathEscape(id), map[string]string{"status": "read"}, nil)
}

// SetSettings is PATCH /v1/settings/application with a partial document,
// e.g. {"webhooks": {"url": "https://..."}, "sent_status": true}.
func (c *Client) SetSettings(ctx context.Context, patch map[string]any) error {
	return c.Do(ctx, "PATCH", "/v1/settings/application", patch, nil)
}
