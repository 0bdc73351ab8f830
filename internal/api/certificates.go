package api

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/auth"
	"github.com/wabiz/wabiz/internal/certs"
)

// CertificateService is what the handlers of certificates: /v1/certificates/external, /v1/certificates/external/ca, /v1/certificates/webhooks/ca need.
// *certs.Manager implements it. Validation failures are *certs.InvalidError
// (answered 1009); certs.ErrPinned refuses an external upload.
type CertificateService interface {
	InstallExternal(ctx context.Context, pem []byte) error
	// ExternalCA is the CA PEM of the served certificate; nil when unknown.
	ExternalCA(ctx context.Context) ([]byte, error)
	// WebhookCA is the stored webhook CA bundle; nil when none.
	WebhookCA(ctx context.Context) ([]byte, error)
	SetWebhookCA(ctx context.Context, pem []byte) error
	DeleteWebhookCA(ctx context.Context) error
}

// certificateRoutes are the routes of /v1/certificates when the service is
// configured: uploads and deletes are admin only, as is reading the webhook
// bundle; the external CA is for any user (the Webapp's access rules).
func (s *Server) certificateRoutes() []Route {
	if s.certs == nil {
		return nil
	}
	return []Route{
		{Method: "POST", Pattern: "/v1/certificates/external", Auth: AuthToken, Role: auth.RoleAdmin, MaxBody: certBodyLimit, Handler: s.installExternalCertificate},
		{Method: "GET", Pattern: "/v1/certificates/external/ca", Auth: AuthToken, Role: auth.RoleUser, Handler: s.getExternalCA},
		{Method: "GET", Pattern: "/v1/certificates/webhooks/ca", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.getWebhookCA},
		{Method: "POST", Pattern: "/v1/certificates/webhooks/ca", Auth: AuthToken, Role: auth.RoleAdmin, MaxBody: certBodyLimit, Handler: s.postWebhookCA},
		{Method: "DELETE", Pattern: "/v1/certificates/webhooks/ca", Auth: AuthToken, Role: auth.RoleAdmin, Handler: s.deleteWebhookCA},
	}
}

// installExternalCertificate is POST /v1/certificates/external: the body is
// the PEM bundle (private key, server certificate, CA certificates). It is
// served at once, no restart; 201 as the v2.2x Webapp answered.
func (s *Server) installExternalCertificate(w http.ResponseWriter, r *http.Request) error {
	body, err := readPEMBody(r)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return apierr.New(1009, "Request had no (empty) content")
	}
	if err := s.certs.InstallExternal(r.Context(), body); err != nil {
		return s.certificateError(r, err)
	}
	s.writeOK(w, http.StatusCreated, nil)
	return nil
}

// getExternalCA is GET /v1/certificates/external/ca.
func (s *Server) getExternalCA(w http.ResponseWriter, r *http.Request) error {
	ca, err := s.certs.ExternalCA(r.Context())
	if err != nil {
		return err
	}
	if len(ca) == 0 {
		return apierr.New(1006, "External CA cert file not found")
	}
	writePEM(w, "ca.pem", ca)
	return nil
}

// getWebhookCA is GET /v1/certificates/webhooks/ca.
func (s *Server) getWebhookCA(w http.ResponseWriter, r *http.Request) error {
	ca, err := s.certs.WebhookCA(r.Context())
	if err != nil {
		return err
	}
	if len(ca) == 0 {
		return apierr.New(1006, "Webhook CA cert file not found")
	}
	writePEM(w, "webhookCaCerts.pem", ca)
	return nil
}

// postWebhookCA is POST /v1/certificates/webhooks/ca: replaces the bundle
// and applies it to deliveries at once (Meta required a Coreapp restart).
func (s *Server) postWebhookCA(w http.ResponseWriter, r *http.Request) error {
	// The Webapp checked for content before the Content-Type.
	if r.ContentLength == 0 {
		return apierr.New(1008, "No cert data found")
	}
	body, err := readPEMBody(r)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return apierr.New(1008, "No cert data found")
	}
	if err := s.certs.SetWebhookCA(r.Context(), body); err != nil {
		return s.certificateError(r, err)
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

// deleteWebhookCA is DELETE /v1/certificates/webhooks/ca: deliveries trust
// the system roots again. Deleting when none is stored succeeds too.
func (s *Server) deleteWebhookCA(w http.ResponseWriter, r *http.Request) error {
	if err := s.certs.DeleteWebhookCA(r.Context()); err != nil {
		return s.certificateError(r, err)
	}
	s.writeOK(w, http.StatusOK, nil)
	return nil
}

// readPEMBody checks the Content-Type (text/plain as Meta documents, or the
// PEM type tools such as curl -T can be told to send) and reads the body.
func readPEMBody(r *http.Request) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "text/plain" && mt != "application/x-pem-file") {
		return nil, apierr.New(1009, "Content-Type must be text/plain")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, apierr.Newf(1009, "Request content exceeds size of %d KB", certBodyLimit>>10)
		}
		return nil, apierr.New(1025, "Unable to read the request body")
	}
	return body, nil
}

// certificateError maps the service's errors to API errors. Storage
// failures are logged and keep the Webapp's 1000 rather than the generic
// 1014: the client learns that nothing was installed.
func (s *Server) certificateError(r *http.Request, err error) error {
	var invalid *certs.InvalidError
	switch {
	case errors.As(err, &invalid):
		return apierr.New(1009, invalid.Msg)
	case errors.Is(err, certs.ErrPinned):
		return apierr.New(1005, "The TLS certificate is set in the configuration (WABIZ_TLS_CERT_FILE); change it there, or unset it to upload one through the API")
	}
	s.log.Error("certificate not stored", "request_id", requestID(r.Context()), "path", r.URL.Path, "err", err)
	return apierr.New(1000, "Updating certificate in database failed")
}

// writePEM answers PEM text as the v2.2x Webapp did: text/plain, as an
// attachment.
func writePEM(w http.ResponseWriter, filename string, data []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}
