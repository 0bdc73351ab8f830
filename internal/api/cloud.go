package api

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/network/cloud"
)

// CloudWebhook is the receiving end of Meta's webhooks when wabiz delivers
// through the Cloud API.
type CloudWebhook interface {
	VerifyChallenge(mode, token, challenge string) (string, bool)
	HandleWebhook(ctx context.Context, body []byte, signature string) error
}

// cloudRoutes are /cloud/webhook. It has no wabiz authentication: the
// subscription challenge proves the verify token, and every delivery is
// signed with the app secret (X-Hub-Signature-256), checked before anything
// is stored.
func (s *Server) cloudRoutes() []Route {
	if s.cloud == nil {
		return nil
	}
	return []Route{
		{Method: "GET", Pattern: "/cloud/webhook", Auth: AuthNone, Handler: s.cloudChallenge},
		{Method: "POST", Pattern: "/cloud/webhook", Auth: AuthNone, MaxBody: maxCloudWebhookBytes, Handler: s.cloudDelivery},
	}
}

// cloudChallenge answers Meta's subscription check with the challenge,
// as plain text, when the verify token matches.
func (s *Server) cloudChallenge(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	challenge, ok := s.cloud.VerifyChallenge(q.Get("hub.mode"), q.Get("hub.verify_token"), q.Get("hub.challenge"))
	if !ok {
		return apierr.New(1005, "Webhook verification failed: wrong hub.mode or hub.verify_token")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, challenge)
	return nil
}

// cloudDelivery stores a signed delivery before answering 200, so Meta
// retries anything not stored (a bad signature stores nothing: 401).
func (s *Server) cloudDelivery(w http.ResponseWriter, r *http.Request) error {
	// The body is bounded by maxCloudWebhookBytes (the route's MaxBody).
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if !errors.As(err, &tooBig) {
			return apierr.New(1025, "Unable to read the request body")
		}
		s.log.Warn("rejected an oversized Cloud webhook delivery", "limit_bytes", tooBig.Limit, "remote", clientIP(r))
		return apierr.Newf(1025, "Request body is larger than %d bytes", tooBig.Limit).WithStatus(http.StatusRequestEntityTooLarge)
	}
	err = s.cloud.HandleWebhook(r.Context(), body, r.Header.Get("X-Hub-Signature-256"))
	var sig *cloud.SignatureError
	var bad *cloud.PayloadError
	switch {
	case errors.As(err, &sig):
		s.log.Warn("rejected a Cloud webhook delivery", "reason", sig.Reason, "remote", clientIP(r))
		return apierr.New(1005, "Invalid webhook signature").WithStatus(http.StatusUnauthorized)
	case errors.As(err, &bad):
		s.log.Warn("rejected a malformed Cloud webhook delivery", "err", bad.Err)
		return apierr.New(1025, "Unable to decode the webhook delivery")
	case err != nil:
		return err
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}
