package doctor

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/webhook"
)

// probeBody is what the webhook check posts: an empty object, which holds
// no notification an On-Premises receiver would act on.
const probeBody = "{}"

// checkWebhook posts to the webhook URL of the stored settings through the
// client deliveries use (the same address guard, no redirects, the uploaded
// webhook CA bundle or the system roots), so what fails here fails there.
func (r *run) checkWebhook(ctx context.Context) {
	switch {
	case r.store == nil:
		r.add(CheckWebhook, Skip, "no database to read the webhook URL from (it is in the stored settings)")
		return
	case !r.schema:
		r.add(CheckWebhook, Skip, "the database has no current schema: the webhook URL is in the stored settings")
		return
	case r.settings == nil:
		r.add(CheckWebhook, Fail, "read the application settings: %s", r.scrub(fmt.Sprint(r.settingsErr)))
		return
	}
	raw := r.settings.Webhooks.URL
	if raw == "" {
		r.add(CheckWebhook, Warn, "no webhook URL set (webhooks.url): notifications wait in the queue until one is set")
		return
	}
	shown := redactURL(raw)
	if reason := settings.CheckWebhookURL(raw, r.o.Config.WebhookAllowHTTP); reason != "" {
		r.add(CheckWebhook, Fail, "%s: %s", shown, reason)
		return
	}
	trust := "the system roots"
	if r.webhookRoots != nil {
		trust = "the CA bundle uploaded to /v1/certificates/webhooks/ca"
	}
	if r.webhookCASkipped != nil {
		trust += fmt.Sprintf(" (%v)", r.webhookCASkipped)
	}
	client := webhook.NewProbeClient(r.o.Timeout, r.webhookRoots)
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, raw, bytes.NewReader([]byte(probeBody)))
	if err != nil {
		r.add(CheckWebhook, Fail, "%s: %s", shown, r.scrub(err.Error()))
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "wabiz/"+r.o.Version+" (doctor)")
	resp, err := client.Do(req)
	if err != nil {
		r.add(CheckWebhook, Fail, "%s: %s; trusting %s", shown, r.scrub(describeRequestError(err, r.o.Timeout)), trust)
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	tlsNote := ""
	if resp.TLS != nil {
		tlsNote = fmt.Sprintf(", %s with a certificate trusted by %s", tls.VersionName(resp.TLS.Version), trust)
	}
	if resp.StatusCode/100 != 2 {
		// An empty object is not a notification: a receiver may refuse it
		// and still take real deliveries, which count only a 200.
		r.add(CheckWebhook, Warn, "%s answered HTTP %d to an empty POST%s; deliveries count only HTTP 200 as delivered", shown, resp.StatusCode, tlsNote)
		return
	}
	r.add(CheckWebhook, OK, "%s answered HTTP %d%s", shown, resp.StatusCode, tlsNote)
}

// describeRequestError names why a request got no answer: the TLS
// verification error by its kind, the address guard, a timeout, a refused
// connection. The URL is left out (it may hold credentials).
func describeRequestError(err error, timeout time.Duration) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		record           tls.RecordHeaderError
		dns              *net.DNSError
		netErr           net.Error
	)
	switch {
	case webhook.RefusedByGuard(err):
		return "refused by the webhook address guard (" + err.Error() + ")"
	case errors.As(err, &unknownAuthority):
		return "TLS verification failed: certificate signed by an unknown authority (x509.UnknownAuthorityError); a private CA must be uploaded to /v1/certificates/webhooks/ca"
	case errors.As(err, &hostname):
		return "TLS verification failed: the certificate is not valid for this host (x509.HostnameError: " + hostname.Error() + ")"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "TLS verification failed: the certificate has expired or is not yet valid (x509.CertificateInvalidError: " + invalid.Error() + ")"
	case errors.As(err, &invalid):
		return "TLS verification failed: " + invalid.Error() + " (x509.CertificateInvalidError)"
	case errors.As(err, &record):
		return "TLS handshake failed: the receiver does not speak TLS on this port"
	case errors.As(err, &dns):
		return "DNS lookup failed: " + dns.Error()
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("no answer within %s", timeout)
	}
	return err.Error()
}
