package doctor

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/config"
	"github.com/wabiz/wabiz/internal/store"
)

// A support bundle holds the report, configuration, versions, migrations
// and settings, and none of the secrets the deployment was given: not the
// configured ones, not the webhook URL's credentials.
func TestBundleHoldsNoSecret(t *testing.T) {
	t.Parallel()
	s := newSetup(t, store.SQLite)
	ca := newTestCA(t)
	pair, _, _ := ca.leaf(t, time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour), "127.0.0.1")
	s.uploadWebhookCA(ca.pem)
	hook, _ := url.Parse(receiver(t, pair, http.StatusOK).URL + "/hook?token=query-token-4567&team=ops-receivers")
	hook.User = url.UserPassword("hook-user", "hook-password-1234")
	s.setWebhookURL(hook.String())

	g := onCloud(t, s)
	secrets := map[string]string{
		"WA_API_KEY":               "api-key-0123456789abcdef",
		"WA_WEB_JWT_CRYPTO_KEY":    "jwt-key-fedcba9876543210fedcba9876543210",
		"WA_DB_PASSWORD":           "db-password-that-sqlite-ignores",
		"WABIZ_CLOUD_ACCESS_TOKEN": g.Token,
		"WABIZ_CLOUD_APP_SECRET":   "cloud-app-secret-13579",
		"WABIZ_CLOUD_VERIFY_TOKEN": "cloud-verify-token-24680",
	}
	env := map[string]string{
		"WABIZ_DATA_DIR": s.opts.Config.DataDir, "WABIZ_SQLITE_PATH": s.opts.Store.SQLitePath,
		"WABIZ_NETWORK": "cloud", "WABIZ_CLOUD_GRAPH_URL": g.GraphURL(),
		"WABIZ_CLOUD_PHONE_NUMBER_ID": g.PhoneNumberID, "WABIZ_CLOUD_WABA_ID": g.WABAID,
	}
	for k, v := range secrets {
		env[k] = v
	}
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c, effective, err := config.LoadEffective(fs, nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	s.opts.Config = c
	d := Run(s.ctx, s.opts)
	if len(d.Report.Failed) > 0 {
		t.Fatalf("failed: %v", d.Report.Checks)
	}
	var out bytes.Buffer
	if err := d.WriteBundle(&out, effective); err != nil {
		t.Fatal(err)
	}

	files := untar(t, out.Bytes())
	for _, name := range []string{"report.txt", "report.json", "config.json", "versions.json", "migrations.json", "settings.json"} {
		if _, ok := files[bundleDir+name]; !ok {
			t.Errorf("bundle lacks %s; has %v", name, keys(files))
		}
	}
	all := append(valuesOf(secrets), "hook-password-1234", "query-token-4567", "hook-user")
	for name, data := range files {
		for _, secret := range all {
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s holds the secret %q", name, secret)
			}
		}
	}

	var settings []config.Setting
	mustJSON(t, files[bundleDir+"config.json"], &settings)
	found := 0
	for _, st := range settings {
		if _, secret := secrets[st.Env]; secret {
			found++
			if st.Value != config.RedactedValue || st.Origin != "environment" {
				t.Errorf("config.json %s = %+v", st.Env, st)
			}
		}
		if st.Env == "WABIZ_NETWORK" && st.Value != "cloud" {
			t.Errorf("config.json WABIZ_NETWORK = %+v", st)
		}
	}
	if found != len(secrets) {
		t.Errorf("config.json lists %d of the %d secrets", found, len(secrets))
	}
	var app struct {
		Webhooks struct {
			URL string `json:"url"`
		} `json:"webhooks"`
	}
	mustJSON(t, files[bundleDir+"settings.json"], &app)
	if u := app.Webhooks.URL; !strings.Contains(u, "/hook?") || !strings.Contains(u, "team=") || !strings.Contains(u, "@127.0.0.1") {
		t.Errorf("settings.json webhook URL %q: want the host, path and query names kept", u)
	}
	var migrations []store.AppliedMigration
	mustJSON(t, files[bundleDir+"migrations.json"], &migrations)
	if len(migrations) == 0 || migrations[0].Version != store.LatestVersion() {
		t.Errorf("migrations.json = %+v", migrations)
	}
	var v versions
	mustJSON(t, files[bundleDir+"versions.json"], &v)
	if v.Wabiz != "v9.9.9-test" || v.SchemaCurrent != store.LatestVersion() || v.DBEngine != "SQLITE" || v.DBServer == "" {
		t.Errorf("versions.json = %+v", v)
	}
	if !bytes.Contains(files[bundleDir+"report.txt"], []byte("every check passed")) {
		t.Errorf("report.txt:\n%s", files[bundleDir+"report.txt"])
	}
}

// An error text quoting a secret is scrubbed before it reaches a report.
func TestScrubRemovesSecretsFromErrors(t *testing.T) {
	t.Parallel()
	c := config.Default()
	c.DB.Password = "a-db-password"
	c.APIKey = "abc" // shorter than minScrubbed: left alone
	r := &run{o: Options{Config: c}}
	got := r.scrub("connect: password a-db-password refused (escaped: " + url.QueryEscape("a-db-password") + ") abc")
	if strings.Contains(got, "a-db-password") || !strings.Contains(got, redacted) || !strings.HasSuffix(got, "abc") {
		t.Errorf("scrub = %q", got)
	}
}

func untar(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Mode != 0o600 {
			t.Errorf("%s has mode %o", hdr.Name, hdr.Mode)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[hdr.Name] = b
	}
}

func mustJSON(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%v in %s", err, data)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func valuesOf(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
