package webhook

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

func TestDialGuard(t *testing.T) {
	refused := []string{
		"169.254.169.254:80", "169.254.0.1:443", "[fe80::1]:443", "[fe80::1%eth0]:443",
		"[::ffff:169.254.169.254]:80", "224.0.0.1:80", "[ff02::1]:80", "0.0.0.0:80", "0.1.2.3:80",
		"[::]:80", "255.255.255.255:80", "[fd00:ec2::254]:80", "100.100.100.200:80",
	}
	for _, addr := range refused {
		if err := guardDial("tcp", addr, nil); !errors.Is(err, errRefusedAddress) {
			t.Errorf("%s allowed (%v)", addr, err)
		}
	}
	// Receivers on the same host or an internal network are legitimate.
	allowed := []string{
		"127.0.0.1:443", "[::1]:443", "10.1.2.3:443", "172.16.5.4:8443", "192.168.1.10:80",
		"[fd12:3456::1]:443", "100.64.0.1:443", "93.184.216.34:443", "[2001:db8::1]:443",
	}
	for _, addr := range allowed {
		if err := guardDial("tcp", addr, nil); err != nil {
			t.Errorf("%s refused: %v", addr, err)
		}
	}
}

// Through a real delivery with the default client: the guard fails the
// attempt at once, and the reason is kept with the callback.
func TestDialGuardFailsDeliveryFast(t *testing.T) {
	ctx := context.Background()
	for _, url := range []string{"https://169.254.169.254/latest/meta-data/", "https://[fe80::1]/hook", "http://169.254.169.254/"} {
		t.Run(url, func(t *testing.T) {
			s := storetest.Open(t, store.SQLite)
			c := newClock()
			set := newSettings(url)
			d, err := New(ctx, Options{Store: s, Settings: set.Current, Now: c.Now})
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Enqueue(ctx, status("gB1")); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			res, err := d.RunOnce(ctx)
			if err != nil || res != (Result{Posts: 1, Retried: 1}) {
				t.Fatalf("%+v %v", res, err)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Fatalf("refusal took %v", took)
			}
			cbs, err := s.ClaimCallbacks(ctx, "inspect", c.Now().Add(time.Hour), time.Minute, 1)
			if err != nil || len(cbs) != 1 || !strings.Contains(cbs[0].LastError, "refusing to connect") {
				t.Fatalf("last error: %+v %v", cbs, err)
			}
		})
	}
}

func TestDeliveryOverTLSWithCustomRoots(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("User-Agent")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	c := newClock()
	set := newSettings(srv.URL + "/hook")
	set.Set(func(a *settings.Application) { a.CallbackPersist = false })
	ctx := context.Background()
	d, err := New(ctx, Options{Settings: set.Current, Now: c.Now, RootCAs: roots, Version: "v9.9.9"})
	if err != nil {
		t.Fatal(err)
	}
	d.Enqueue(ctx, status("gB1"))
	if res, err := d.RunOnce(ctx); err != nil || res.Delivered != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if ua := <-got; ua != "wabiz/v9.9.9" {
		t.Fatalf("User-Agent %q", ua)
	}
	// Without the receiver's CA the same URL fails (and is retried).
	d2, _ := New(ctx, Options{Settings: set.Current, Now: c.Now})
	d2.Enqueue(ctx, status("gB2"))
	if res, _ := d2.RunOnce(ctx); res.Retried != 1 {
		t.Fatalf("unknown CA accepted: %+v", res)
	}
}
