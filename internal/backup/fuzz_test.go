package backup

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/apierr"
	"github.com/wabiz/wabiz/internal/certs"
	"github.com/wabiz/wabiz/internal/core"
	"github.com/wabiz/wabiz/internal/media"
	"github.com/wabiz/wabiz/internal/profile"
	"github.com/wabiz/wabiz/internal/settings"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
	"github.com/wabiz/wabiz/internal/twostep"
)

// affordable bounds the key derivations the fuzzer may ask for: the blob
// header is the client's to choose, and the server's own bound (1 GiB) is
// far too slow to explore at fuzzing speed.
func affordable(p KDFParams) bool { return p.Time <= 2 && p.MemoryKiB <= 64 }

// FuzzOpen: any blob and password open to the sealed text or fail as
// unreadable (one answer for every cause), never panic.
func FuzzOpen(f *testing.F) {
	tiny := KDFParams{Time: 1, MemoryKiB: 8, Threads: 1}
	for _, plain := range []string{"", "{}", `{"format":1,"documents":{}}`} {
		blob, err := seal([]byte(plain), []byte("pw"), tiny)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(blob, []byte("pw"))
		f.Add(blob, []byte("wrong"))
		f.Add(blob[:headerLen], []byte("pw"))
	}
	f.Add([]byte("WABIZBAK\x01\x01"), []byte(""))
	f.Fuzz(func(t *testing.T, blob, password []byte) {
		h, err := parseHeader(blob)
		if err != nil {
			if !errors.Is(err, errUnreadable) {
				t.Fatalf("header error %v is not errUnreadable", err)
			}
			return
		}
		if !affordable(h.kdf) {
			return
		}
		if _, err := open(blob, password); err != nil && !errors.Is(err, errUnreadable) {
			t.Fatalf("open: %v is not errUnreadable", err)
		}
	})
}

// FuzzRestore seals any plaintext the way a backup is sealed and restores
// it: a forged or edited backup is as easy to make as the format is to read.
//
// Properties: a restore is refused with a 4xx API error or succeeds; and
// after a success every owner of a restored part can still load it (the
// server starts again and its nodes answer), whatever the backup held.
func FuzzRestore(f *testing.F) {
	for _, s := range []string{
		`{"format":1,"documents":{}}`,
		`{"format":1,"created_at":"2026-11-21T10:00:00Z","documents":{` +
			`"settings.application":{"callback_persist":true,"webhooks":{"url":"https://hooks.example.org/x","max_concurrent_requests":12}},` +
			`"registration":{"wa_id":"15550100000","cc":"1","phone_number":"5550100000","vname":"Acme"},` +
			`"profile.about":{"text":"Open 9-5"},"profile.photo":{"jpeg":"/9j/"},` +
			`"profile.business":{"address":"a","email":"a@example.org","vertical":"Restaurant","websites":["https://example.org"]},` +
			`"profile.compliance_info":{"entity_name":"Acme","entity_type":"Other","entity_type_custom":"Trust","is_registered":true,` +
			`"customer_care_details":{"email":"c@example.org"},"grievance_officer_details":{"name":"N","email":"g@example.org","mobile_number":"+91 98765 43210"}},` +
			`"settings.media_providers":[{"name":"p","type":"www","config":{"bearer":"t"}}],` +
			`"account.two_step":{"enabled":false},"certificates.webhooks_ca":{"pem":""}}}`,
		`{"format":1,"documents":{"settings.application":{"webhooks":{"max_concurrent_requests":0}}}}`,
		`{"format":1,"documents":{"profile.about":{"text":5},"registration":[]}}`,
		`{"format":1,"documents":{"settings.media_providers":{"name":"x"}}}`,
		`{"format":1,"documents":{"certificates.webhooks_ca":{"pem":"LS0t"}}}`,
		`{"format":1,"documents":{"unknown":{}}}`,
		`{"format":2}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	ctx := context.Background()
	st := storetest.Open(f, store.SQLite)
	svc := New(Options{Store: st, KDF: KDFParams{Time: 1, MemoryKiB: 8, Threads: 1}})
	mediaDir := filepath.Join(f.TempDir(), "media")
	f.Fuzz(func(t *testing.T, plain []byte) {
		blob, err := seal(plain, []byte("pw"), svc.o.KDF)
		if err != nil {
			t.Fatal(err)
		}
		err = svc.Restore(ctx, "pw", base64.StdEncoding.EncodeToString(blob))
		var apiErr *apierr.Error
		switch {
		case err == nil:
		case errors.As(err, &apiErr) && apiErr.Status >= 400 && apiErr.Status < 500:
			return
		default:
			t.Fatalf("restore of %q: %v (would be a 500)", plain, err)
		}
		checkOwnersLoad(t, ctx, st, mediaDir)
	})
}

// checkOwnersLoad reads every restorable part the way its owner does at
// start-up and when serving it.
func checkOwnersLoad(t *testing.T, ctx context.Context, st *store.Store, mediaDir string) {
	t.Helper()
	if _, err := settings.NewService(ctx, st, settings.PatchRules{AllowHTTPWebhook: true}, time.Now); err != nil {
		t.Fatalf("settings after the restore: %v", err)
	}
	if doc, err := st.GetDocument(ctx, core.RegistrationDocument); err == nil {
		if err := core.CheckRegistrationDocument(doc.Body); err != nil {
			t.Fatalf("registration after the restore: %v", err)
		}
	}
	p := profile.New(profile.Options{Store: st})
	if _, err := p.About(ctx); err != nil {
		t.Fatalf("about after the restore: %v", err)
	}
	if _, err := p.Photo(ctx); err != nil && !errors.Is(err, profile.ErrNoPhoto) {
		t.Fatalf("photo after the restore: %v", err)
	}
	if _, err := p.BusinessProfile(ctx); err != nil {
		t.Fatalf("business profile after the restore: %v", err)
	}
	if _, err := p.ComplianceInfo(ctx); err != nil {
		t.Fatalf("compliance information after the restore: %v", err)
	}
	if _, err := p.Snapshot(ctx); err != nil {
		t.Fatalf("profile snapshot after the restore: %v", err)
	}
	// A registration with the PIN: an answer, never an internal error.
	var apiErr *apierr.Error
	if err := twostep.Check(ctx, st, "123456"); err != nil && !errors.As(err, &apiErr) {
		t.Fatalf("two-step check after the restore: %v", err)
	}
	m, err := media.New(media.Options{Dir: mediaDir, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Providers(ctx); err != nil {
		t.Fatalf("media providers after the restore: %v", err)
	}
	mgr := certs.NewManager(certs.ManagerOptions{Docs: st, Listener: certs.NewStore(tls.Certificate{})})
	if _, _, skipped, err := mgr.Load(ctx); err != nil || len(skipped) > 0 {
		t.Fatalf("certificates after the restore: %v %v", err, skipped)
	}
}
