package webhook

import (
	"crypto/x509"
	"net/http"
)

// SetRootCAs changes the certificate authorities that webhook deliveries
// trust, without a restart: nil means the system roots again. Meta asked for a
// restart of every Coreapp after a CA upload; swapping the client makes the
// upload effective at once on this node.
//
// A new client (not a changed transport) is built so that connections made
// under the old trust are never reused: POSTs under way finish on the old
// client, whose idle connections are then closed. The guarded dialer and the
// timeouts stay as New made them.
//
// It has no effect when Options.Client replaced the default client: the
// caller owns that client's TLS settings.
func (d *Dispatcher) SetRootCAs(pool *x509.CertPool) {
	if d.o.Client != nil {
		return
	}
	next := newHTTPClient(d.o.ConnectTimeout, d.o.RequestTimeout, pool)
	if old := d.swapped.Swap(next); old != nil {
		old.CloseIdleConnections()
	} else {
		d.client.CloseIdleConnections()
	}
}

// httpClient is the client for the next POST: the one SetRootCAs installed
// last, else the one New built.
func (d *Dispatcher) httpClient() *http.Client {
	if c := d.swapped.Load(); c != nil {
		return c
	}
	return d.client
}
