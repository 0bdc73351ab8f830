package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

func fetchError(t *testing.T, err error, reason FetchReason) *FetchError {
	t.Helper()
	var fe *FetchError
	if !errors.As(err, &fe) || fe.Reason != reason {
		t.Fatalf("error %v (%T), want a FetchError %s", err, err, reason)
	}
	return fe
}

func TestFetchAndSaveLink(t *testing.T) {
	pdf, _ := Sample(KindDocument)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/files/invoice.pdf":
			w.Header().Set("Content-Type", "application/pdf")
			w.Write(pdf)
		case "/download":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", `attachment; filename="statement.pdf"`)
			w.Write(pdf)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	s, _ := newTestService(t, nil, Options{Fetch: FetchOptions{AllowPrivate: true}})
	ctx := context.Background()

	m, err := s.SaveLink(ctx, srv.URL+"/files/invoice.pdf?sig=secret", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.MimeType != "application/pdf" || m.Filename != "invoice.pdf" || m.Size != int64(len(pdf)) || m.Origin != store.MediaOriginLink {
		t.Fatalf("saved %+v", m)
	}
	// A generic type is replaced by the sniffed one; the name comes from
	// Content-Disposition.
	m, err = s.SaveLink(ctx, srv.URL+"/download", nil)
	if err != nil || m.MimeType != "application/pdf" || m.Filename != "statement.pdf" {
		t.Fatalf("saved %+v, %v", m, err)
	}

	_, err = s.Fetch(ctx, "http://user:pw@"+strings.TrimPrefix(srv.URL, "http://")+"/missing?token=abc", nil)
	fe := fetchError(t, err, FetchHTTPStatus)
	if fe.StatusCode != 404 || strings.Contains(fe.Error(), "pw") || strings.Contains(fe.Error(), "abc") ||
		fe.Error() != "media download from "+srv.URL+"/missing failed: the server answered HTTP 404" {
		t.Fatalf("message %q", fe.Error())
	}
	for _, bad := range []string{"ftp://example.com/a.pdf", "not a url", "https://", "file:///etc/passwd"} {
		_, err := s.Fetch(ctx, bad, nil)
		fetchError(t, err, FetchBadURL)
	}
}

func TestFetchSizeCap(t *testing.T) {
	const limit = 32 << 10
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := strings.Repeat("a", limit+1)
		if r.URL.Path == "/chunked" {
			// No Content-Length: the cap must hold while reading.
			w.(http.Flusher).Flush()
		} else {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		}
		io.WriteString(w, body)
	}))
	defer srv.Close()
	s, _ := newTestService(t, nil, Options{MaxBytes: limit, Fetch: FetchOptions{AllowPrivate: true}})
	ctx := context.Background()
	_, err := s.Fetch(ctx, srv.URL+"/declared", nil)
	fetchError(t, err, FetchTooLarge)
	_, err = s.SaveLink(ctx, srv.URL+"/declared", nil)
	fetchError(t, err, FetchTooLarge)
	_, err = s.SaveLink(ctx, srv.URL+"/chunked", nil)
	fetchError(t, err, FetchTooLarge)
	if files := volumeFiles(t, s); len(files) != 0 {
		t.Fatalf("files left behind: %v", files)
	}
}

func TestFetchTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-body" {
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "abc")
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	s, _ := newTestService(t, nil, Options{Fetch: FetchOptions{AllowPrivate: true, Timeout: 150 * time.Millisecond}})
	start := time.Now()
	_, err := s.Fetch(context.Background(), srv.URL+"/slow-headers", nil)
	fe := fetchError(t, err, FetchTimeout)
	if fe.Error() != "media download from "+srv.URL+"/slow-headers failed: the download timed out" {
		t.Fatalf("message %q", fe.Error())
	}
	// The timeout covers the body too.
	_, err = s.SaveLink(context.Background(), srv.URL+"/slow-body", nil)
	fetchError(t, err, FetchTimeout)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("timeouts took %v", d)
	}
	if files := volumeFiles(t, s); len(files) != 0 {
		t.Fatalf("files left behind: %v", files)
	}
}

func TestFetchRedirects(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		if _, err := fmt.Sscanf(r.URL.Path, "/hop/%d", &n); err == nil && n > 0 {
			http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
			return
		}
		switch r.URL.Path {
		case "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		default:
			io.WriteString(w, "arrived")
		}
	}))
	defer srv.Close()
	s, _ := newTestService(t, nil, Options{Fetch: FetchOptions{AllowPrivate: true}})
	ctx := context.Background()
	f, err := s.Fetch(ctx, srv.URL+"/hop/3", nil)
	if err != nil {
		t.Fatalf("three redirects: %v", err)
	}
	f.Body.Close()
	_, err = s.Fetch(ctx, srv.URL+"/hop/4", nil)
	fetchError(t, err, FetchTooManyRedirects)
	// Every hop goes through the guard.
	_, err = s.Fetch(ctx, srv.URL+"/to-metadata", nil)
	fetchError(t, err, FetchForbiddenAddress)
	_, err = s.Fetch(ctx, srv.URL+"/to-file", nil)
	fetchError(t, err, FetchBadURL)
}

func TestFetchCredentialsStayWithTheLinkHost(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{}
	record := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[name+r.URL.Path] = r.Header.Get("Authorization")
			mu.Unlock()
			io.WriteString(w, "ok")
		}
	}
	other := httptest.NewServer(record("other"))
	defer other.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/landed", http.StatusFound)
		case "/same":
			http.Redirect(w, r, "/landed", http.StatusFound)
		default:
			record("origin")(w, r)
		}
	}))
	defer origin.Close()
	s, _ := newTestService(t, nil, Options{Fetch: FetchOptions{AllowPrivate: true}})
	get := func(path string, auth *ProviderAuth) {
		t.Helper()
		f, err := s.Fetch(context.Background(), origin.URL+path, auth)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, f.Body)
		f.Body.Close()
	}
	get("/away", &ProviderAuth{Bearer: "tok_9f2c61"})
	get("/same", &ProviderAuth{Basic: &BasicAuth{Username: "svc_wa", Password: "S3cret!x"}})
	mu.Lock()
	defer mu.Unlock()
	if seen["other/landed"] != "" {
		t.Errorf("credentials followed the redirect to another host: %q", seen["other/landed"])
	}
	if seen["origin/landed"] != "Basic c3ZjX3dhOlMzY3JldCF4" {
		t.Errorf("same-host redirect lost the credentials: %q", seen["origin/landed"])
	}
}

func TestFetchGuard(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") }))
	defer srv.Close()
	ctx := context.Background()
	strict, _ := newTestService(t, nil, Options{})
	_, err := strict.Fetch(ctx, srv.URL+"/x", nil)
	fe := fetchError(t, err, FetchForbiddenAddress)
	if !strings.Contains(fe.Error(), "127.0.0.1 is a loopback address") {
		t.Fatalf("message %q", fe.Error())
	}
	// A name resolving to loopback is refused too: the guard sees addresses.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	_, err = strict.Fetch(ctx, "http://localhost:"+port+"/x", nil)
	fetchError(t, err, FetchForbiddenAddress)

	allowing, _ := newTestService(t, nil, Options{Fetch: FetchOptions{AllowPrivate: true, ConnectTimeout: time.Second}})
	f, err := allowing.Fetch(ctx, srv.URL+"/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Body.Close()
	// Link-local (cloud metadata) stays refused whatever the setting; the
	// guard stops it before any packet is sent.
	for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://100.100.100.200/"} {
		_, err = allowing.Fetch(ctx, u, nil)
		fetchError(t, err, FetchForbiddenAddress)
	}
	// Nothing listens on a closed port: unreachable, not forbidden.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	_, err = allowing.Fetch(ctx, "http://"+closed+"/", nil)
	fetchError(t, err, FetchUnreachable)
}

func TestRefusedReason(t *testing.T) {
	for _, tc := range []struct {
		addr           string
		strict, relaxd string // reason without / with AllowPrivate
	}{
		{"93.184.215.14", "", ""},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", "", ""},
		{"127.0.0.1", "loopback", ""},
		{"::1", "loopback", ""},
		{"10.1.2.3", "private", ""},
		{"172.16.0.1", "private", ""},
		{"192.168.1.1", "private", ""},
		{"fd12:3456::1", "private", ""},
		{"100.64.0.1", "shared (CGNAT)", ""},
		{"::ffff:10.0.0.1", "private", ""},
		{"64:ff9b::a00:1", "private", ""}, // NAT64 of 10.0.0.1
		{"169.254.169.254", "link-local", "link-local"},
		{"fe80::1", "link-local", "link-local"},
		{"fd00:ec2::254", "cloud metadata", "cloud metadata"},
		{"100.100.100.200", "cloud metadata", "cloud metadata"},
		{"224.0.0.1", "link-local", "link-local"},
		{"239.1.2.3", "multicast", "multicast"},
		{"ff05::1", "multicast", "multicast"},
		{"0.0.0.0", "unspecified", "unspecified"},
		{"0.1.2.3", "unspecified", "unspecified"},
		{"::", "unspecified", "unspecified"},
		{"255.255.255.255", "reserved", "reserved"},
		{"240.0.0.1", "reserved", "reserved"},
	} {
		ip := netip.MustParseAddr(tc.addr)
		if got := refusedReason(ip, false); got != tc.strict {
			t.Errorf("%s strict: %q, want %q", tc.addr, got, tc.strict)
		}
		if got := refusedReason(ip, true); got != tc.relaxd {
			t.Errorf("%s allowing private: %q, want %q", tc.addr, got, tc.relaxd)
		}
	}
}
