package media

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

func TestParseProvider(t *testing.T) {
	p, err := ParseProvider([]byte(` [ { "name": "billing-cdn", "type": "www", "config": { "bearer": "tok_9f2c61" }, "extra": 1 } ] `))
	if err != nil || p.Name != "billing-cdn" || p.Type != "www" || p.Config.Bearer != "tok_9f2c61" || p.Config.Basic != nil {
		t.Fatalf("%+v %v", p, err)
	}
	p, err = ParseProvider([]byte(`[{"name":"intranet_2","type":"www","config":{"basic":{"username":"svc_wa","password":"S3cret!x"}}}]`))
	if err != nil || p.Config.Basic == nil || *p.Config.Basic != (BasicAuth{"svc_wa", "S3cret!x"}) {
		t.Fatalf("%+v %v", p, err)
	}

	type d = apierr.Detail
	one := d{Code: 1009, Title: "Parameter value is not valid", Details: "Can only add 1 config at a time"}
	missing := func(n string) d {
		return d{Code: 1008, Title: "Required parameter is missing", Details: "Missing mandatory parameter '" + n + "'"}
	}
	invalid := func(n, v string) d {
		return d{Code: 1009, Title: "Parameter value is not valid", Details: "Parameter '" + n + "' has invalid value '" + v + "'"}
	}
	atLeast := d{Code: 1008, Title: "Required parameter is missing", Details: "Atleast one of the following parameters must be present: 'basic', 'bearer'"}
	exactly := d{Code: 1010, Title: "Parameter is not required", Details: "Exactly one of the following parameters must be present: 'basic', 'bearer'"}
	long := strings.Repeat("n", 201)
	for _, tc := range []struct {
		body string
		want []d
	}{
		{``, []d{one}},
		{`{"name":"x","type":"www","config":{"bearer":"t"}}`, []d{one}},
		{`[]`, []d{one}},
		{`[{"name":"a","type":"www","config":{"bearer":"t"}},{"name":"b","type":"www","config":{"bearer":"t"}}]`, []d{one}},
		{`[{}]`, []d{missing("name"), missing("type"), missing("config")}},
		{`[42]`, []d{missing("name"), missing("type"), missing("config")}},
		{`[{"name":"","type":null,"config":null}]`, []d{missing("name"), missing("type"), missing("config")}},
		{`[{"name":"bad name!","type":"www","config":{"bearer":"t"}}]`, []d{invalid("name", "bad name!")}},
		{`[{"name":"` + long + `","type":"www","config":{"bearer":"t"}}]`, []d{invalid("name", long)}},
		{`[{"name":7,"type":"www","config":{"bearer":"t"}}]`, []d{invalid("name", "7")}},
		{`[{"name":"a","type":"ftp","config":{"bearer":"t"}}]`, []d{invalid("type", "ftp")}},
		{`[{"name":"a","type":"everstore","config":{"bearer":"t"}}]`, []d{invalid("type", "everstore")}},
		{`[{"name":"a","type":"www","config":"tok"}]`, []d{invalid("config", `tok`)}},
		{`[{"name":"a","type":"www","config":{}}]`, []d{atLeast}},
		{`[{"name":"a","type":"www","config":{"bearer":"t","basic":{"username":"u","password":"p"}}}]`, []d{exactly}},
		{`[{"name":"a","type":"www","config":{"bearer":""}}]`, []d{invalid("bearer", "")}},
		{`[{"name":"a","type":"www","config":{"bearer":5}}]`, []d{invalid("bearer", "5")}},
		{`[{"name":"a","type":"www","config":{"basic":"u:p"}}]`, []d{invalid("basic", "u:p")}},
		{`[{"name":"a","type":"www","config":{"basic":{}}}]`, []d{missing("username"), missing("password")}},
		{`[{"name":"a","type":"www","config":{"basic":{"username":"u","password":true}}}]`, []d{invalid("password", "true")}},
		{`[{"type":"x","config":{}}]`, []d{missing("name"), invalid("type", "x"), atLeast}},
		{`[{"name":"a","type":"www","config":{"bearer":"t\r\nX-Injected: 1"}}]`, []d{invalid("bearer", "t\r\nX-Injected: 1")}},
		{`[{"name":"a","type":"www","config":{"basic":{"username":"u:v","password":"p"}}}]`, []d{invalid("username", "u:v")}},
	} {
		_, err := ParseProvider([]byte(tc.body))
		if err == nil {
			t.Errorf("%s: accepted", tc.body)
			continue
		}
		got, _ := json.Marshal(err.Details)
		want, _ := json.Marshal(tc.want)
		if string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", tc.body, got, want)
		}
	}
}

func TestProvidersStore(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestService(t, nil, Options{})
	if list, err := s.Providers(ctx); err != nil || list == nil || len(list) != 0 {
		t.Fatalf("empty list %#v %v", list, err)
	}
	a := Provider{Name: "billing-cdn", Type: "www", Config: ProviderAuth{Bearer: "tok_9f2c61"}}
	b := Provider{Name: "intranet", Type: "www", Config: ProviderAuth{Basic: &BasicAuth{"svc_wa", "S3cret!x"}}}
	for _, p := range []Provider{a, b} {
		if err := s.SetProvider(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	// Same name overwrites in place.
	a.Config = ProviderAuth{Bearer: "tok_rotated"}
	if err := s.SetProvider(ctx, a); err != nil {
		t.Fatal(err)
	}
	list, _ := s.Providers(ctx)
	got, _ := json.Marshal(list)
	want := `[{"name":"billing-cdn","type":"www","config":{"bearer":"tok_rotated"}},{"name":"intranet","type":"www","config":{"basic":{"username":"svc_wa","password":"S3cret!x"}}}]`
	if string(got) != want {
		t.Fatalf("list %s", got)
	}
	if p, err := s.Provider(ctx, "intranet"); err != nil || p.Config.Basic.Username != "svc_wa" {
		t.Fatalf("Provider = %+v %v", p, err)
	}
	if _, err := s.Provider(ctx, "nope"); !errors.Is(err, ErrProviderNotFound) {
		t.Fatalf("unknown provider: %v", err)
	}
	if err := s.DeleteProvider(ctx, "billing-cdn"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteProvider(ctx, "billing-cdn"); !errors.Is(err, ErrProviderNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if list, _ := s.Providers(ctx); len(list) != 1 || list[0].Name != "intranet" {
		t.Fatalf("after delete %+v", list)
	}
}

// conflictOnce makes the first document write lose to a concurrent writer.
type conflictOnce struct {
	Store
	done bool
}

func (c *conflictOnce) PutDocument(ctx context.Context, name string, body []byte, v int64, now time.Time) (int64, error) {
	if !c.done {
		c.done = true
		// Another node adds its provider first.
		if _, err := c.Store.PutDocument(ctx, name, []byte(`[{"name":"other","type":"www","config":{"bearer":"x"}}]`), v, now); err != nil {
			return 0, err
		}
		return 0, store.ErrConflict
	}
	return c.Store.PutDocument(ctx, name, body, v, now)
}

func TestSetProviderRetriesOnConflict(t *testing.T) {
	st := &conflictOnce{Store: storetest.Open(t, store.SQLite)}
	s, _ := newTestService(t, st, Options{})
	if err := s.SetProvider(context.Background(), Provider{Name: "mine", Type: "www", Config: ProviderAuth{Bearer: "t"}}); err != nil {
		t.Fatal(err)
	}
	list, _ := s.Providers(context.Background())
	if len(list) != 2 || list[0].Name != "other" || list[1].Name != "mine" {
		t.Fatalf("lost an update: %+v", list)
	}
}
