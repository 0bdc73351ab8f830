// Package cloudapi is the Cloud bridge's HTTP surface: /cloud/webhook, where
// Meta delivers the Cloud API's webhooks. The route has no wabiz
// authentication: the subscription challenge proves the verify token, and
// every delivery is signed with the app secret (X-Hub-Signature-256),
// checked before anything is stored.
//
// The package contributes the route to the API as an api.RouteProvider; the
// API does not know the Cloud network, internal/server joins the two.
package cloudapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/wabiz/wabiz/internal/api"
	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/network/cloud"
)

// Webhook is the receiving end of Meta's webhooks (*cloud.Network).
type Webhook interface {
	VerifyChallenge(mode, token, challenge string) (string, bool)
	HandleWebhook(ctx context.Context, body []byte, signature string) error
}

// MaxWebhookBytes bounds a delivery's body: a batch of changes from Meta is
// small; anything near this is not from Meta.
const MaxWebhookBytes = 3 << 20

// Provider contributes /cloud/webhook to the API.
type Provider struct {
	hook Webhook
	log  *slog.Logger
}

// New builds the route over the Cloud network's webhook.
func New(hook Webhook, log *slog.Logger) *Provider {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Provider{hook: hook, log: log}
}

// handlers are the route's handlers, with the API's envelope.
type handlers struct {
	*Provider
	env api.Envelope
}

// Routes implements api.RouteProvider.
func (p *Provider) Routes(env api.Envelope) []api.Route {
	h := handlers{Provider: p, env: env}
	return []api.Route{
		{Method: "GET", Pattern: "/cloud/webhook", Auth: api.AuthNone, Handler: h.challenge},
		{Method: "POST", Pattern: "/cloud/webhook", Auth: api.AuthNone, MaxBody: MaxWebhookBytes, Handler: h.delivery},
	}
}

// challenge answers Meta's subscription check with the challenge,
// as plain text, when the verify token matches.
func (h handlers) challenge(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	challenge, ok := h.hook.VerifyChallenge(q.Get("hub.mode"), q.Get("hub.verify_token"), q.Get("hub.challenge"))
	if !ok {
		return apierr.New(1005, "Webhook verification failed: wrong hub.mode or hub.verify_token")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, challenge)
	return nil
}

// delivery stores a signed delivery before answering 200, so Meta
// retries anything not stored (a bad signature stores nothing: 401).
func (h handlers) delivery(w http.ResponseWriter, r *http.Request) error {
	// The body is bounded by MaxWebhookBytes (the route's MaxBody).
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if !errors.As(err, &tooBig) {
			return apierr.New(1025, "Unable to read the request body")
		}
		h.log.Warn("rejected an oversized Cloud webhook delivery", "limit_bytes", tooBig.Limit, "remote", api.ClientIP(r))
		return apierr.Newf(1025, "Request body is larger than %d bytes", tooBig.Limit).WithStatus(http.StatusRequestEntityTooLarge)
	}
	err = h.hook.HandleWebhook(r.Context(), body, r.Header.Get("X-Hub-Signature-256"))
	var sig *cloud.SignatureError
	var bad *cloud.PayloadError
	switch {
	case errors.As(err, &sig):
		h.log.Warn("rejected a Cloud webhook delivery", "reason", sig.Reason, "remote", api.ClientIP(r))
		return apierr.New(1005, "Invalid webhook signature").WithStatus(http.StatusUnauthorized)
	case errors.As(err, &bad):
		h.log.Warn("rejected a malformed Cloud webhook delivery", "err", bad.Err)
		return apierr.New(1025, "Unable to decode the webhook delivery")
	case err != nil:
		return err
	}
	h.env.WriteOK(w, http.StatusOK, nil)
	return nil
}
