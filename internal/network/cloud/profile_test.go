package cloud_test

import (
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/network"
	"github.com/wabiz/wabiz/internal/profile"
)

func TestPublishProfile(t *testing.T) {
	f := setup(t)
	err := f.net.PublishProfile(f.ctx, network.BusinessProfile{About: "Open 9–5 🙂", Address: "1 Main St", Description: "Shoes",
		Email: "shop@example.com", Vertical: "Beauty, Spa and Salon", Websites: []string{"https://example.com/", "https://example.org/"}, HasPhoto: true})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"about":"Open 9–5 🙂","address":"1 Main St","description":"Shoes","email":"shop@example.com","vertical":"BEAUTY","websites":["https://example.com/","https://example.org/"]}`
	if got := canonical(t, f.graph.Profile()); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if r := f.graph.Requests(); r[len(r)-1] != "POST /v21.0/"+f.graph.PhoneNumberID+"/whatsapp_business_profile" {
		t.Fatalf("requests %v", r)
	}
	// Empty fields are left out (the Cloud refuses an empty about), so the
	// Cloud keeps its values; the rest is updated.
	if err := f.net.PublishProfile(f.ctx, network.BusinessProfile{Address: "2 Main St", Vertical: "Other", Websites: []string{}}); err != nil {
		t.Fatal(err)
	}
	want = `{"about":"Open 9–5 🙂","address":"2 Main St","description":"Shoes","email":"shop@example.com","vertical":"OTHER","websites":["https://example.com/","https://example.org/"]}`
	if got := canonical(t, f.graph.Profile()); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// A refusal is the network's error.
	err = f.net.PublishProfile(f.ctx, network.BusinessProfile{About: strings.Repeat("a", 140)})
	wantNetErr(t, err, 1009, false)
}

func TestEveryVerticalIsOneTheCloudKnows(t *testing.T) {
	f := setup(t)
	for _, v := range profile.Verticals {
		if err := f.net.PublishProfile(f.ctx, network.BusinessProfile{Vertical: v}); err != nil {
			t.Errorf("%s: %v", v, err)
		}
		if _, ok := f.graph.Profile()["vertical"]; !ok {
			t.Errorf("%s was not sent", v)
		}
	}
}

func TestSetPIN(t *testing.T) {
	f := setup(t)
	for _, bad := range []string{"", "12345", "1234567", "12345a"} {
		wantNetErr(t, f.net.SetPIN(f.ctx, bad), 1009, false)
	}
	if n := len(f.graph.Requests()); n != 0 {
		t.Fatalf("a bad PIN reached the Cloud: %v", f.graph.Requests())
	}
	if err := f.net.SetPIN(f.ctx, "654321"); err != nil {
		t.Fatal(err)
	}
	if f.graph.PIN() != "654321" || f.graph.Requests()[0] != "POST /v21.0/"+f.graph.PhoneNumberID {
		t.Fatalf("pin %q, requests %v", f.graph.PIN(), f.graph.Requests())
	}
}
