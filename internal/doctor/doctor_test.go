package doctor

import (
	"bytes"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/certs"
	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// healthy makes s a setup every check passes: a webhook receiver whose
// private CA is uploaded as the webhook trust.
func healthy(t *testing.T, s *setup) {
	ca := newTestCA(t)
	pair, _, _ := ca.leaf(t, time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour), "127.0.0.1")
	s.uploadWebhookCA(ca.pem)
	s.setWebhookURL(receiver(t, pair, http.StatusOK).URL + "/hook")
}

func TestHealthySetup(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, engine)
			healthy(t, s)
			rep := s.run()
			for _, c := range rep.Checks {
				want := OK
				if c.Name == CheckCloudToken {
					want = Skip
				}
				if c.Status != want {
					t.Errorf("%s = %s (%s), want %s", c.Name, c.Status, c.Detail, want)
				}
			}
			if rep.Status != OK || len(rep.Failed) != 0 {
				t.Errorf("report status %s, failed %v", rep.Status, rep.Failed)
			}
			expect(t, rep, CheckWebhook, OK, "answered HTTP 200", "the CA bundle uploaded")
			expect(t, rep, CheckMigrations, OK, fmt.Sprintf("version %d", store.LatestVersion()))
			expect(t, rep, CheckCertificate, OK, "self-signed certificate", "valid until")
		})
	}
}

// Each failure the doctor names, on SQLite; the database failures run on
// every engine in TestDatabaseFailures.
func TestFailures(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	valid := func(t *testing.T, names ...string) tls.Certificate {
		pair, _, _ := ca.leaf(t, time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour), names...)
		return pair
	}
	cases := []struct {
		name    string
		arrange func(t *testing.T, s *setup)
		check   string
		status  Status
		parts   []string
	}{
		{"database unreachable", func(t *testing.T, s *setup) {
			s.opts.Store = store.Config{Engine: store.Postgres, Host: "127.0.0.1", Port: portOf(t, closedPort(t))}
		}, CheckDatabase, Fail, []string{"connection refused"}},
		{"data directory is not writable", func(t *testing.T, s *setup) {
			file := filepath.Join(t.TempDir(), "a-file")
			os.WriteFile(file, []byte("x"), 0o600)
			s.opts.Config.DataDir = filepath.Join(file, "data")
			s.opts.Config.MediaDirOverride = t.TempDir()
		}, CheckDataVolume, Fail, []string{"cannot be used", "not a directory"}},
		{"media directory is a file", func(t *testing.T, s *setup) {
			file := filepath.Join(t.TempDir(), "media")
			os.WriteFile(file, []byte("x"), 0o600)
			s.opts.Config.MediaDirOverride = file
		}, CheckMediaVolume, Fail, []string{"is not a directory"}},
		{"media directory read-only", func(t *testing.T, s *setup) {
			if os.Geteuid() == 0 {
				t.Skip("root writes into read-only directories; the not-a-directory cases cover unwritable volumes")
			}
			os.Chmod(s.opts.Config.MediaDir(), 0o500)
			t.Cleanup(func() { os.Chmod(s.opts.Config.MediaDir(), 0o700) })
		}, CheckMediaVolume, Fail, []string{"is not writable"}},
		{"low space", func(t *testing.T, s *setup) {
			s.opts.Statfs = func(dir string) (Space, error) {
				if dir == s.opts.Config.DataDir {
					return Space{Free: 512 << 20, Total: 100 << 30}, nil
				}
				return Space{Free: 100 << 30, Total: 200 << 30}, nil
			}
		}, CheckDataVolume, Fail, []string{"512.0 MiB free", "below 1.0 GiB"}},
		{"space running out", func(t *testing.T, s *setup) {
			s.opts.Statfs = func(dir string) (Space, error) {
				if dir == s.opts.Config.MediaDir() {
					return Space{Free: 3 << 30, Total: 100 << 30}, nil
				}
				return Space{Free: 100 << 30, Total: 200 << 30}, nil
			}
		}, CheckMediaVolume, Warn, []string{"3.0 GiB free", "below 5.0 GiB"}},
		{"configured certificate expired", func(t *testing.T, s *setup) {
			configureCert(t, s, ca, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
		}, CheckCertificate, Fail, []string{"expired on", "WABIZ_TLS_CERT_FILE"}},
		{"configured certificate near expiry", func(t *testing.T, s *setup) {
			configureCert(t, s, ca, time.Now().Add(-time.Hour), time.Now().Add(10*24*time.Hour+time.Hour))
		}, CheckCertificate, Warn, []string{"expires in 10 days"}},
		{"configured key does not match", func(t *testing.T, s *setup) {
			configureCert(t, s, ca, time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour))
			_, _, otherKey := ca.leaf(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), "localhost")
			os.WriteFile(s.opts.Config.TLSKeyFile, otherKey, 0o600)
		}, CheckCertificate, Fail, []string{"WABIZ_TLS_KEY_FILE"}},
		{"uploaded certificate served", func(t *testing.T, s *setup) {
			uploadExternal(t, s, ca, time.Now(), time.Now().Add(-time.Hour), time.Now().Add(60*24*time.Hour))
		}, CheckCertificate, OK, []string{"uploaded through /v1/certificates/external", "valid until"}},
		{"uploaded certificate expired", func(t *testing.T, s *setup) {
			// Uploaded while it was valid; wabiz serve now skips it.
			uploadExternal(t, s, ca, time.Now().Add(-30*time.Minute), time.Now().Add(-50*time.Minute), time.Now().Add(-10*time.Minute))
		}, CheckCertificate, Fail, []string{"uploaded TLS certificate not used", "expired"}},
		{"self-signed certificate expired", func(t *testing.T, s *setup) {
			s.opts.Now = func() time.Time { return time.Now().Add(900 * 24 * time.Hour) }
			s.opts.Store = store.Config{Engine: store.Postgres, Host: "127.0.0.1", Port: portOf(t, closedPort(t))} // keep the clock check out of it
		}, CheckCertificate, Fail, []string{"self-signed", "expired on", "restart wabiz serve"}},
		{"webhook unreachable", func(t *testing.T, s *setup) {
			s.setWebhookURL("https://" + closedPort(t) + "/hook")
		}, CheckWebhook, Fail, []string{"connection refused"}},
		{"webhook certificate of an unknown CA", func(t *testing.T, s *setup) {
			pair := valid(t, "127.0.0.1")
			s.setWebhookURL(receiver(t, pair, http.StatusOK).URL)
		}, CheckWebhook, Fail, []string{"x509.UnknownAuthorityError", "trusting the CA bundle uploaded"}},
		{"webhook certificate for another host", func(t *testing.T, s *setup) {
			pair := valid(t, "receiver.example")
			s.uploadWebhookCA(ca.pem)
			s.setWebhookURL(receiver(t, pair, http.StatusOK).URL)
		}, CheckWebhook, Fail, []string{"x509.HostnameError"}},
		{"webhook certificate expired", func(t *testing.T, s *setup) {
			pair, _, _ := ca.leaf(t, time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour), "127.0.0.1")
			s.uploadWebhookCA(ca.pem)
			s.setWebhookURL(receiver(t, pair, http.StatusOK).URL)
		}, CheckWebhook, Fail, []string{"has expired", "x509.CertificateInvalidError"}},
		{"webhook over plain HTTP to a TLS port", func(t *testing.T, s *setup) {
			pair := valid(t, "127.0.0.1")
			s.opts.Config.WebhookAllowHTTP = true
			s.setWebhookURL(strings.Replace(receiver(t, pair, http.StatusOK).URL, "https:", "http:", 1))
		}, CheckWebhook, Warn, []string{"answered HTTP 400"}},
		{"webhook answers an error", func(t *testing.T, s *setup) {
			pair := valid(t, "127.0.0.1")
			s.uploadWebhookCA(ca.pem)
			s.setWebhookURL(receiver(t, pair, http.StatusServiceUnavailable).URL)
		}, CheckWebhook, Warn, []string{"answered HTTP 503"}},
		{"webhook address refused by the guard", func(t *testing.T, s *setup) {
			s.setWebhookURL("https://169.254.169.254/latest")
		}, CheckWebhook, Fail, []string{"refused by the webhook address guard", "link-local"}},
		{"webhook over plain HTTP not allowed", func(t *testing.T, s *setup) {
			s.setWebhookURL("http://127.0.0.1:1/hook")
		}, CheckWebhook, Fail, []string{"must use https"}},
		{"webhook URL unset", func(t *testing.T, s *setup) {
			s.setWebhookURL("")
		}, CheckWebhook, Warn, []string{"no webhook URL set"}},
		{"clock ahead of the database", func(t *testing.T, s *setup) {
			s.opts.Now = func() time.Time { return time.Now().Add(-10 * time.Second) }
		}, CheckClockSkew, Fail, []string{"ahead of this host's", "synchronise the clocks"}},
		{"clock slightly behind the database", func(t *testing.T, s *setup) {
			s.opts.Now = func() time.Time { return time.Now().Add(2 * time.Second) }
		}, CheckClockSkew, Warn, []string{"behind this host's"}},
		{"migrations behind", func(t *testing.T, s *setup) {
			execSQLite(t, s, "DELETE FROM schema_migrations WHERE version = ?", store.LatestVersion())
		}, CheckMigrations, Fail, []string{fmt.Sprintf("not applied: %d;", store.LatestVersion()), "wabiz migrate"}},
		{"migrations newer than the binary", func(t *testing.T, s *setup) {
			execSQLite(t, s, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the future', 0)", store.LatestVersion()+1)
		}, CheckMigrations, Fail, []string{"newer than this binary"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, store.SQLite)
			healthy(t, s)
			tc.arrange(t, s)
			rep := s.run()
			expect(t, rep, tc.check, tc.status, tc.parts...)
			if tc.status == Fail && !strings.Contains(strings.Join(rep.Failed, ","), tc.check) {
				t.Errorf("failed = %v, want it to name %s", rep.Failed, tc.check)
			}
			// Every other check of a healthy setup stays as it was, so a
			// failure is named once, by the check that found it.
			for _, c := range rep.Checks {
				if c.Name != tc.check && c.Status == Fail && tc.check != CheckDatabase && !strings.HasPrefix(tc.name, "self-signed") {
					t.Errorf("%s also failed: %s", c.Name, c.Detail)
				}
			}
		})
	}
}

// A database that is unreachable or holds no schema, on every engine.
func TestDatabaseFailures(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(string(engine)+"/no schema", func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, engine)
			cfg := storetest.Config(t, engine)
			empty, err := store.Open(s.ctx, cfg) // creates the database, migrates nothing
			if err != nil {
				t.Fatal(err)
			}
			empty.Close()
			s.opts.Store = cfg
			rep := s.run()
			expect(t, rep, CheckDatabase, OK)
			expect(t, rep, CheckMigrations, Fail, "no schema yet", "wabiz migrate")
			expect(t, rep, CheckWebhook, Skip)
			expect(t, rep, CheckCertificate, OK)
		})
		t.Run(string(engine)+"/unreachable", func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, engine)
			s.opts.Store.Host, s.opts.Store.Port = "127.0.0.1", portOf(t, closedPort(t))
			if engine == store.SQLite {
				s.opts.Store.SQLitePath = filepath.Join(t.TempDir(), "missing", "dir", "wabiz.db")
			}
			rep := s.run()
			if engine == store.SQLite {
				expect(t, rep, CheckDatabase, Warn, "does not exist yet")
			} else {
				expect(t, rep, CheckDatabase, Fail, "connection refused")
				if got := rep.Failed; len(got) != 1 || got[0] != CheckDatabase {
					t.Errorf("failed = %v, want [database]", got)
				}
			}
			for _, name := range []string{CheckDatabaseVersion, CheckMigrations, CheckClockSkew, CheckWebhook} {
				expect(t, rep, name, Skip)
			}
		})
	}
}

func TestDatabaseVersions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		engine store.Dialect
		raw    string
		want   Status
	}{
		{store.SQLite, "3.8.0", OK},
		{store.Postgres, "PostgreSQL 16.4 (Debian 16.4-1.pgdg120+2) on x86_64-pc-linux-gnu", OK},
		{store.Postgres, "PostgreSQL 11.22 on x86_64", OK},
		{store.Postgres, "PostgreSQL 10.23 on x86_64", Fail},
		{store.Postgres, "PostgreSQL 9.6.24 on x86_64", Fail},
		{store.Postgres, "PostgreSQL 17beta1 on x86_64", OK},
		{store.MySQL, "8.0.35", OK},
		{store.MySQL, "8.4.2-log", OK},
		{store.MySQL, "5.7.44-log", Warn},
		{store.MySQL, "5.6.51", Fail},
		{store.MySQL, "10.11.6-MariaDB-0+deb12u1", OK},
		{store.MySQL, "10.6.18-MariaDB", OK},
		{store.MySQL, "10.3.39-MariaDB", Warn},
		{store.MySQL, "10.1.48-MariaDB", Fail},
		{store.MySQL, "5.5.5-10.11.6-MariaDB", OK}, // the old replication prefix some proxies add
		{store.MySQL, "unknown", Fail},
	}
	for _, tc := range cases {
		if got, detail := judgeVersion(tc.engine, tc.raw); got != tc.want {
			t.Errorf("%s %q = %s (%s), want %s", tc.engine, tc.raw, got, detail, tc.want)
		}
	}
}

func TestReportForms(t *testing.T) {
	t.Parallel()
	s := newSetup(t, store.SQLite)
	healthy(t, s)
	s.opts.Statfs = func(string) (Space, error) { return Space{Free: 1 << 20, Total: 1 << 30}, nil }
	rep := s.run()
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(text.String()), "\n")
	if len(lines) != len(rep.Checks)+2 {
		t.Fatalf("%d lines for %d checks:\n%s", len(lines), len(rep.Checks), text.String())
	}
	if !strings.HasPrefix(lines[5], "fail  data_volume") || lines[len(lines)-1] != "FAILED: data_volume, media_volume" {
		t.Errorf("text report:\n%s", text.String())
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Status Status   `json:"status"`
		Failed []string `json:"failed"`
		Checks []Result `json:"checks"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Status != Fail || len(back.Failed) != 2 || len(back.Checks) != len(rep.Checks) || back.Checks[0].Name != CheckDatabase {
		t.Errorf("JSON report: %s", js.String())
	}
}

func configureCert(t *testing.T, s *setup, ca *testCA, notBefore, notAfter time.Time) {
	t.Helper()
	_, certPEM, keyPEM := ca.leaf(t, notBefore, notAfter, "localhost")
	dir := t.TempDir()
	s.opts.Config.TLSCertFile = filepath.Join(dir, "cert.pem")
	s.opts.Config.TLSKeyFile = filepath.Join(dir, "key.pem")
	os.WriteFile(s.opts.Config.TLSCertFile, certPEM, 0o600)
	os.WriteFile(s.opts.Config.TLSKeyFile, keyPEM, 0o600)
}

// uploadExternal stores a certificate bundle (key, leaf, CA) as
// POST /v1/certificates/external does at the time uploaded.
func uploadExternal(t *testing.T, s *setup, ca *testCA, uploaded, notBefore, notAfter time.Time) {
	t.Helper()
	_, certPEM, keyPEM := ca.leaf(t, notBefore, notAfter, "localhost")
	m := certs.NewManager(certs.ManagerOptions{Docs: s.store, Listener: &certs.Store{}, Now: func() time.Time { return uploaded }})
	bundle := append(append(keyPEM, certPEM...), ca.pem...)
	if err := m.InstallExternal(s.ctx, bundle); err != nil {
		t.Fatal(err)
	}
}

// execSQLite changes the test's SQLite database behind the store's back.
func execSQLite(t *testing.T, s *setup, query string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+s.opts.Store.SQLitePath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatal(err)
	}
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	var port int
	if _, err := fmt.Sscanf(addr[strings.LastIndex(addr, ":")+1:], "%d", &port); err != nil {
		t.Fatal(err)
	}
	return port
}
