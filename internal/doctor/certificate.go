package doctor

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/wabiz/wabiz/internal/certs"
)

// certWarn is how long before expiry a certificate is reported: the month
// the self-signed certificate is renewed within (internal/certs), and time
// enough to buy and install another one.
const certWarn = 30 * 24 * time.Hour

// checkCertificate finds the certificate the HTTPS listener will serve, as
// `wabiz serve` chooses it (the configured files, else one uploaded through
// /v1/certificates/external, else the self-signed one in the data
// directory), and reports its expiry. Loading the uploaded material also
// gives the webhook CA bundle the webhook check trusts.
func (r *run) checkCertificate(ctx context.Context) {
	c := r.o.Config
	now := r.o.Now()
	var (
		listener    certs.Store
		external    bool
		uploadedBad error
	)
	if r.store != nil && r.schema {
		m := certs.NewManager(certs.ManagerOptions{
			Docs: r.store, Listener: &listener, Pinned: c.TLSCertFile != "", Now: r.o.Now,
			ApplyWebhookCA: func(pool *x509.CertPool) { r.webhookRoots = pool },
		})
		var skipped []error
		var err error
		external, _, skipped, err = m.Load(ctx)
		if err != nil {
			r.add(CheckCertificate, Fail, "read the uploaded certificates: %s", r.scrub(err.Error()))
			return
		}
		for _, e := range skipped {
			if strings.HasPrefix(e.Error(), "uploaded TLS certificate") {
				uploadedBad = e
			} else {
				r.webhookCASkipped = e
			}
		}
	}

	switch {
	case c.TLSCertFile != "":
		leaf, err := readLeaf(c.TLSCertFile)
		if err != nil {
			r.add(CheckCertificate, Fail, "WABIZ_TLS_CERT_FILE %s: %v", c.TLSCertFile, err)
			return
		}
		status, detail := judgeCertificate(leaf, now, "install a new certificate in WABIZ_TLS_CERT_FILE")
		if status != Fail {
			if _, err := certs.LoadPair(c.TLSCertFile, c.TLSKeyFile, now); err != nil {
				r.add(CheckCertificate, Fail, "WABIZ_TLS_CERT_FILE/WABIZ_TLS_KEY_FILE: %v", err)
				return
			}
		}
		r.add(CheckCertificate, status, "configured certificate %s: %s", c.TLSCertFile, detail)
	case uploadedBad != nil:
		// The server skips it and serves its self-signed certificate, which
		// clients trusting the uploaded one's CA reject.
		r.add(CheckCertificate, Fail, "%v: upload a valid one to /v1/certificates/external", uploadedBad)
	case external:
		status, detail := judgeCertificate(listener.Current().Leaf, now, "upload a new one to /v1/certificates/external")
		r.add(CheckCertificate, status, "certificate uploaded through /v1/certificates/external: %s", detail)
	default:
		path := filepath.Join(c.DataDir, "tls", certs.CertFile)
		leaf, err := readLeaf(path)
		// Not a directory: the data volume check reports the path.
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			r.add(CheckCertificate, OK, "none generated yet: wabiz serve generates a self-signed certificate in %s", filepath.Dir(path))
			return
		}
		if err != nil {
			r.add(CheckCertificate, Fail, "self-signed certificate %s: %v (remove it: wabiz serve generates a new one)", path, err)
			return
		}
		status, detail := judgeCertificate(leaf, now, "restart wabiz serve, which renews the self-signed certificate at start")
		r.add(CheckCertificate, status, "self-signed certificate %s: %s", path, detail)
	}
}

// judgeCertificate reports a leaf's validity window against now.
func judgeCertificate(leaf *x509.Certificate, now time.Time, remedy string) (Status, string) {
	subject := leaf.Subject.CommonName
	if subject == "" {
		subject = leaf.Subject.String()
	}
	until := leaf.NotAfter.UTC().Format(time.RFC3339)
	left := leaf.NotAfter.Sub(now)
	switch {
	case now.Before(leaf.NotBefore):
		return Fail, fmt.Sprintf("%q is not valid before %s (is this host's clock right?)", subject, leaf.NotBefore.UTC().Format(time.RFC3339))
	case left <= 0:
		return Fail, fmt.Sprintf("%q expired on %s: %s", subject, until, remedy)
	case left < certWarn:
		return Warn, fmt.Sprintf("%q expires in %d days (%s): %s", subject, int(left.Hours()/24), until, remedy)
	}
	return OK, fmt.Sprintf("%q valid until %s (%d days)", subject, until, int(left.Hours()/24))
}

// readLeaf parses the first certificate of a PEM file.
func readLeaf(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM certificate in the file")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}
