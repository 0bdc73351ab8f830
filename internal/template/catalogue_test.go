package template

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/apierr"
)

const (
	ns      = "a1b2c3d4_e5f6_7a8b_9c0d_1e2f3a4b5c6d"
	otherNS = "f0e1d2c3_b4a5_9687_7869_5a4b3c2d1e0f"
	mediaID = "8f4c7b2e-13aa-4a0e-9d5c-2b3c1f0e9a71"
)

// fixtureDefinitions is the catalogue the Hydrate tests send against, in
// Meta's shape, as a network or the sandbox would hand it over.
var fixtureDefinitions = []string{
	`{"name":"order_shipped","language":"en_US","category":"UTILITY","status":"APPROVED","components":[
		{"type":"HEADER","format":"IMAGE","example":{"header_handle":["4::aW1h"]}},
		{"type":"BODY","text":"Hi {{1}}, your order of {{2}} ships on {{3}}.","example":{"body_text":[["Dana","$12.50","March 3"]]}},
		{"type":"FOOTER","text":"Acme Stores"},
		{"type":"BUTTONS","buttons":[{"type":"URL","text":"Track","url":"https://example.org/t/{{1}}"},{"type":"QUICK_REPLY","text":"Stop updates"}]}]}`,
	`{"name":"order_shipped","language":"en","category":"utility","components":[
		{"type":"BODY","text":"Hello {{1}}, order {{2}} ships {{3}}."}]}`,
	`{"name":"order_shipped","language":"pt_BR","category":"utility","components":[
		{"type":"BODY","text":"Olá {{1}}, seu pedido de {{2}} será enviado em {{3}}."}]}`,
	`{"name":"welcome","language":"en","category":"MARKETING","components":[
		{"type":"BODY","text":"Welcome to {{1}}!"},
		{"type":"HEADER","format":"TEXT","text":"Hello {{1}}"},
		{"type":"FOOTER","text":"Reply STOP to opt out"},
		{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Yes"},{"type":"QUICK_REPLY","text":"No"},
			{"type":"PHONE_NUMBER","text":"Call us","phone_number":"+15550100"},{"type":"URL","text":"Help","url":"https://example.org/help"}]}]}`,
	`{"name":"store_location","language":"en","category":"utility","components":[
		{"type":"HEADER","format":"LOCATION"},{"type":"BODY","text":"Our store is here."}]}`,
	`{"name":"clip","language":"en","category":"marketing","components":[{"type":"HEADER","format":"VIDEO"},{"type":"BODY","text":"Watch this."}]}`,
	`{"name":"invoice","language":"en","category":"utility","components":[{"type":"HEADER","format":"DOCUMENT"},{"type":"BODY","text":"Your invoice."}]}`,
	`{"name":"coupon","language":"en","category":"marketing","components":[
		{"type":"BODY","text":"Use code {{1}} at checkout."},
		{"type":"BUTTONS","buttons":[{"type":"COPY_CODE","example":"SAVE10"},{"type":"URL","text":"Shop","url":"https://shop.example.org/s?c={{1}}"}]}]}`,
	`{"name":"payment_due","language":"en","category":"utility","components":[{"type":"BODY","text":"Your payment of {{1}} is due on {{2}}."}]}`,
	`{"name":"thanks","language":"en","category":"utility","components":[{"type":"BODY","text":"Thanks!"}]}`,
	`{"name":"long_body","language":"en","category":"utility","components":[{"type":"BODY","text":"` + strings.Repeat("x", 1000) + `{{1}}"}]}`,
	`{"name":"paused_tpl","language":"en","category":"marketing","status":"PAUSED","components":[{"type":"BODY","text":"p"}]}`,
	`{"name":"disabled_tpl","language":"en","category":"marketing","status":"disabled","components":[{"type":"BODY","text":"d"}]}`,
	`{"name":"rejected_tpl","language":"en","category":"marketing","status":"REJECTED","components":[{"type":"BODY","text":"r"}]}`,
	`{"name":"pending_tpl","language":"en","category":"marketing","status":"PENDING","components":[{"type":"BODY","text":"q"}]}`,
}

// handBuilt are definitions that did not go through ParseDefinition (a
// catalogue loaded from a network): Hydrate must still refuse to render
// what is wrong in them.
var handBuilt = []Definition{
	{Namespace: ns, Name: "bad_phone", Language: "en", Category: "UTILITY", Status: "APPROVED", Body: "Call us",
		Buttons: []Button{{Type: "PHONE_NUMBER", Text: "Call", PhoneNumber: "5550100"}}},
	{Namespace: ns, Name: "open_host", Language: "en", Category: "utility", Status: "approved", Body: "Go",
		Buttons: []Button{{Type: "url", Text: "Go", URL: "https://example.org{{1}}"}}},
	{Namespace: ns, Name: "plain_http", Language: "en", Category: "utility", Status: "approved", Body: "Go",
		Buttons: []Button{{Type: "url", Text: "Go", URL: "http://example.org/x"}}},
	{Namespace: ns, Name: "odd_status", Language: "en", Category: "utility", Status: "IN_APPEAL", Body: "x"},
}

func fixtureCatalogue(t testing.TB) *Catalogue {
	t.Helper()
	defs := make([]Definition, 0, len(fixtureDefinitions)+len(handBuilt)+1)
	for _, raw := range fixtureDefinitions {
		def, err := ParseDefinition(json.RawMessage(raw), ns)
		if err != nil {
			t.Fatalf("fixture %.60s: %+v", raw, err.Details)
		}
		defs = append(defs, def)
	}
	other, err := ParseDefinition(json.RawMessage(`{"name":"thanks","language":"de","category":"utility","components":[{"type":"BODY","text":"Danke!"}]}`), otherNS)
	if err != nil {
		t.Fatal(err.Details)
	}
	defs = append(defs, other)
	defs = append(defs, handBuilt...)
	return NewCatalogue(defs)
}

func TestCatalogueIndex(t *testing.T) {
	c := fixtureCatalogue(t)
	if want := len(fixtureDefinitions) + 1 + len(handBuilt); c.Len() != want {
		t.Errorf("Len() = %d, want %d", c.Len(), want)
	}
	if got := c.Namespaces(); !slices.Equal(got, []string{ns, otherNS}) {
		t.Errorf("Namespaces() = %v", got)
	}
	c.Namespaces()[0] = "changed"
	if c.Namespaces()[0] != ns {
		t.Error("Namespaces exposes the internal slice")
	}

	var empty *Catalogue
	if empty.Len() != 0 || empty.Namespaces() != nil {
		t.Error("a nil catalogue is not empty")
	}
	_, err := empty.Hydrate("template", json.RawMessage(`{"namespace":"n","name":"x","language":{"code":"en"}}`))
	if err == nil || err.Code() != 2001 || err.Details[0].Details != "Template 'x' in language 'en' of namespace 'n' does not exist: the account has no templates" {
		t.Errorf("nil catalogue: %v", err)
	}
}

// TestUnknownNamespaceNamesTheAccounts: a send in a namespace the catalogue
// does not hold is told which one the account's templates are in.
func TestUnknownNamespaceNamesTheAccounts(t *testing.T) {
	c := NewCatalogue([]Definition{{Namespace: ns, Name: "t", Language: "en", Status: "approved", Body: "hi"}})
	_, err := c.Hydrate("hsm", json.RawMessage(`{"namespace":"old_ns","element_name":"t","language":{"policy":"deterministic","code":"en_US"}}`))
	want := "Template 't' in language 'en_US' of namespace 'old_ns' does not exist: the account's templates are in namespace '" + ns + "'"
	if err == nil || err.Code() != 2001 || err.Status != 404 || err.Details[0].Details != want {
		t.Fatalf("got %v\nwant 2001 %s", err, want)
	}
}

func TestCatalogueLastDefinitionWins(t *testing.T) {
	first := Definition{Namespace: "n", Name: "t", Language: "en", Status: "approved", Body: "first"}
	second := first
	second.Body = "second"
	c := NewCatalogue([]Definition{first, second})
	if c.Len() != 1 {
		t.Fatalf("Len() = %d", c.Len())
	}
	r, err := c.Hydrate("template", json.RawMessage(`{"namespace":"n","name":"t","language":{"code":"en"}}`))
	if err != nil || r.Body != "second" {
		t.Fatalf("%+v %v", r, err)
	}
}

func TestCatalogueIsImmutable(t *testing.T) {
	defs := []Definition{{Namespace: "n", Name: "t", Language: "en", Status: "approved", Body: "hi",
		Buttons: []Button{{Type: "quick_reply", Text: "Yes"}}}}
	c := NewCatalogue(defs)
	defs[0].Buttons[0].Text = "changed"
	defs[0].Body = "changed"
	r, err := c.Hydrate("template", json.RawMessage(`{"namespace":"n","name":"t","language":{"code":"en"}}`))
	if err != nil || r.Body != "hi" || r.Buttons[0].Text != "Yes" {
		t.Fatalf("%+v %v", r, err)
	}
}

// TestLanguagePolicies: deterministic takes the exact code; fallback tries
// the code, its base language, then other locales of the language.
func TestLanguagePolicies(t *testing.T) {
	c := fixtureCatalogue(t)
	send := func(code, policy string) (string, *apierr.Error) {
		obj := `{"namespace":"` + ns + `","name":"order_shipped","language":{"code":"` + code + `","policy":"` + policy + `"},` +
			`"components":[{"type":"body","parameters":[{"type":"text","text":"a"},{"type":"text","text":"b"},{"type":"text","text":"c"}]}]}`
		r, err := c.Hydrate("template", json.RawMessage(obj))
		if err != nil {
			return "", err
		}
		return r.Language, nil
	}
	cases := []struct {
		code, policy, want string
		wantCode           int
	}{
		{"en", "deterministic", "en", 0},
		{"pt_BR", "deterministic", "pt_BR", 0},
		{"en_GB", "deterministic", "", 2003},
		{"pt", "deterministic", "", 2003},
		{"en", "fallback", "en", 0},
		{"en_GB", "fallback", "en", 0},
		{"pt", "fallback", "pt_BR", 0},
		{"pt_PT", "fallback", "pt_BR", 0},
		{"fr", "fallback", "", 2002},
		{"fr_FR", "deterministic", "", 2003},
	}
	for _, tc := range cases {
		got, err := send(tc.code, tc.policy)
		if tc.wantCode != 0 {
			if err == nil || err.Code() != tc.wantCode || err.Status != 404 {
				t.Errorf("%s/%s: %v, want %d", tc.code, tc.policy, err, tc.wantCode)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s/%s: %q %v, want %q", tc.code, tc.policy, got, err, tc.want)
		}
	}
}
