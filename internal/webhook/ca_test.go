package webhook

import (
	"context"
	"crypto/x509"
	"net/http"
	"testing"
)

func TestSetRootCAsSwapsTheClient(t *testing.T) {
	d, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := d.httpClient()
	pool := x509.NewCertPool()
	d.SetRootCAs(pool)
	swapped := d.httpClient()
	if swapped == first {
		t.Fatal("SetRootCAs kept the old client")
	}
	tr := swapped.Transport.(*http.Transport)
	if tr.TLSClientConfig.RootCAs != pool || tr.DialContext == nil || swapped.CheckRedirect == nil {
		t.Fatal("the new client lost the pool, the guarded dialer or the redirect rule")
	}
	d.SetRootCAs(nil)
	if c := d.httpClient(); c == swapped || c.Transport.(*http.Transport).TLSClientConfig.RootCAs != nil {
		t.Fatal("nil did not restore the system roots")
	}

	own := &http.Client{}
	d, err = New(context.Background(), Options{Client: own})
	if err != nil {
		t.Fatal(err)
	}
	d.SetRootCAs(pool)
	if d.httpClient() != own {
		t.Fatal("SetRootCAs replaced a caller-supplied client")
	}
}
