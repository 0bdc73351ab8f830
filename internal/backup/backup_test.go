package backup

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

var cheap = KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

// failingStore fails the write of one document.
type failingStore struct {
	Store
	failOn string
}

func (f failingStore) PutDocument(ctx context.Context, name string, body []byte, v int64, now time.Time) (int64, error) {
	if name == f.failOn {
		return 0, errors.New("disk full")
	}
	return f.Store.PutDocument(ctx, name, body, v, now)
}

func put(t *testing.T, st Store, name, body string) {
	t.Helper()
	v := int64(0)
	if d, err := st.GetDocument(context.Background(), name); err == nil {
		v = d.Version
	}
	if _, err := st.PutDocument(context.Background(), name, []byte(body), v, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func body(t *testing.T, st Store, name string) string {
	t.Helper()
	d, err := st.GetDocument(context.Background(), name)
	if errors.Is(err, store.ErrNotFound) {
		return "<absent>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(d.Body)
}

func TestRestoreIsAllOrNothing(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, cfg store.Config) {
		ctx := context.Background()
		st := storetest.OpenConfig(t, cfg)
		docs := []string{"a", "b", "c"}
		put(t, st, "a", `{"v":"a1"}`)
		put(t, st, "b", `{"v":"b1"}`)
		put(t, st, "c", `{"v":"c1"}`)
		data, err := New(Options{Store: st, Documents: docs, KDF: cheap}).Backup(ctx, "pw")
		if err != nil {
			t.Fatal(err)
		}
		put(t, st, "a", `{"v":"a2"}`)
		put(t, st, "b", `{"v":"b2"}`)
		put(t, st, "c", `{"v":"c2"}`)

		// "c" fails after "a" and "b" were written: both are put back.
		err = New(Options{Store: failingStore{st, "c"}, Documents: docs}).Restore(ctx, "pw", data)
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("err = %v", err)
		}
		for _, n := range docs {
			if got := body(t, st, n); got != `{"v":"`+n+`2"}` {
				t.Fatalf("%s = %s after a failed restore", n, got)
			}
		}
		if err := New(Options{Store: st, Documents: docs}).Restore(ctx, "pw", data); err != nil {
			t.Fatal(err)
		}
		for _, n := range docs {
			if got := body(t, st, n); got != `{"v":"`+n+`1"}` {
				t.Fatalf("%s = %s after restore", n, got)
			}
		}
	})
}

func TestUnknownPartIsRefused(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	put(t, st, "a", `{}`)
	put(t, st, "webhook.ca", `{}`)
	data, err := New(Options{Store: st, Documents: []string{"a", "webhook.ca"}, KDF: cheap}).Backup(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	err = New(Options{Store: st, Documents: []string{"a"}}).Restore(context.Background(), "pw", data)
	if err == nil || !strings.Contains(err.Error(), "unsupported part 'webhook.ca'") {
		t.Fatalf("err = %v", err)
	}
}

func TestOversizedKDFIsRefusedBeforeDerivation(t *testing.T) {
	blob, err := seal([]byte("x"), []byte("pw"), cheap)
	if err != nil {
		t.Fatal(err)
	}
	blob[14] = 0xff // memory: gigabytes; must be refused, not attempted
	if _, err := open(blob, []byte("pw")); !errors.Is(err, errUnreadable) {
		t.Fatalf("err = %v", err)
	}
}

// goodCompliance is a compliance information part a request could have
// written; its entity name holds a control character, which requests now
// refuse but earlier versions stored.
const goodCompliance = `{"entity_name":"Acme\u0007","entity_type":"Private Company","entity_type_custom":"",` +
	`"customer_care_details":{"email":"care@example.org","mobile_number":"+91 22 1234 5678"},` +
	`"grievance_officer_details":{"name":"Asha Rao","email":"grievance@example.org"}}`

// TestRestoreRefusesUnusableParts: a backup is the client's to make, so
// each part is checked by its owner's rules before anything is written.
// Before, such parts were written as they came: a settings part with a
// wrong type stopped the server at its next start, and a two-step part with
// huge hash parameters made every registration allocate without bound.
func TestRestoreRefusesUnusableParts(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite)
	svc := New(Options{Store: st, KDF: cheap})
	restore := func(documents string) error {
		blob, err := seal([]byte(`{"format":1,"documents":{`+documents+`}}`), []byte("pw"), cheap)
		if err != nil {
			t.Fatal(err)
		}
		return svc.Restore(ctx, "pw", base64.StdEncoding.EncodeToString(blob))
	}
	good := `"settings.application":{"webhooks":{"url":"https://hooks.example.org/x","max_concurrent_requests":12}},` +
		`"registration":{"wa_id":"15550100000"},"profile.about":{"text":"Open 9-5"},` +
		`"profile.business":{"email":"a@example.org","websites":["https://example.org"],"address":"1 Main St\u0000"},` +
		`"profile.compliance_info":` + goodCompliance + `,` +
		`"settings.media_providers":[{"name":"p","type":"www","config":{"bearer":"t"}}],` +
		`"account.two_step":{"enabled":false},"certificates.webhooks_ca":{"pem":""}`
	if err := restore(good); err != nil {
		t.Fatalf("a usable backup was refused: %v", err)
	}
	for _, tc := range []struct{ part, want string }{
		{`"settings.application":{"callback_persist":"yes"}`, "'settings.application': settings: stored document is corrupt"},
		{`"settings.application":{"webhooks":{"max_concurrent_requests":0}}`, "'settings.application': 1009 Parameter value is not valid: Parameter 'webhooks.max_concurrent_requests' has invalid value '0'"},
		{`"settings.application":{"webhooks":{"url":"http://hooks.example.org/x"}}`, "'settings.application': 1009"},
		{`"registration":[]`, "'registration': core: stored registration is corrupt"},
		{`"profile.about":{"text":"` + strings.Repeat("a", 140) + `"}`, "'profile.about': 1009 Parameter value is not valid: Parameter 'text' is too long"},
		{`"profile.photo":{"jpeg":"iVBORw0KGgo="}`, "'profile.photo': profile: profile.photo is not a JPEG"},
		{`"profile.business":{"websites":["a","b","c"]}`, "'profile.business': 1009 Parameter value is not valid: Max number of websites allowed is 2"},
		{`"profile.compliance_info":{"entity_name":"Acme"}`, "'profile.compliance_info': 1008 Required parameter is missing: Missing mandatory parameter 'grievance_officer_details.email'"},
		{`"profile.compliance_info":` + strings.Replace(goodCompliance, `"Private Company"`, `"PRIVATE_COMPANY"`, 1),
			"'profile.compliance_info': 1009 Parameter value is not valid: Parameter 'entity_type' has invalid value 'PRIVATE_COMPANY'"},
		{`"profile.compliance_info":` + strings.Replace(goodCompliance, `"Private Company"`, `"Other"`, 1),
			"'profile.compliance_info': 1008 Required parameter is missing: Parameter 'is_registered' is mandatory for entity_type 'Other'"},
		{`"profile.compliance_info":` + strings.Replace(goodCompliance, `"+91 22 1234 5678"`, `"12"`, 1),
			"'profile.compliance_info': 1009 Parameter value is not valid: Parameter 'customer_care_details.mobile_number' has invalid value '12'"},
		{`"profile.compliance_info":{"is_registered":"yes"}`, "'profile.compliance_info': profile: profile.compliance_info does not decode"},
		{`"account.two_step":{"enabled":true}`, "'account.two_step': profile: stored two-step PIN is incomplete"},
		{`"account.two_step":{"enabled":true,"salt":"AAAAAAAAAAA=","hash":"AAAAAAAAAAAAAAAAAAAAAA==","time":4294967295,"memory_kib":4294967295,"threads":255}`,
			"'account.two_step': profile: stored two-step PIN has unusable hash parameters"},
		{`"settings.media_providers":[{"name":"p","type":"ftp","config":{}}]`, "'settings.media_providers': media: provider \"p\""},
		{`"settings.media_providers":[{"name":"p","type":"www","config":{"bearer":"t"}},{"name":"p","type":"www","config":{"bearer":"u"}}]`, "'settings.media_providers': media: provider \"p\" is listed twice"},
		{`"certificates.webhooks_ca":{"pem":"bm90IHBlbQ=="}`, "'certificates.webhooks_ca': request body is not PEM text"},
	} {
		err := restore(tc.part)
		if err == nil || !strings.Contains(err.Error(), "Parameter 'data' holds an unusable part "+tc.want) {
			t.Errorf("%s: %v, want %q", tc.part, err, tc.want)
		}
	}
	// Nothing of a refused backup was written.
	if got := body(t, st, "profile.about"); got != `{"text":"Open 9-5"}` {
		t.Fatalf("about after refused restores: %s", got)
	}
}
