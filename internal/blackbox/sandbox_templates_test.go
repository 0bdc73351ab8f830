package blackbox

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wabiz/wabiz/internal/store"
)

// TestSandboxTemplatesSeedAndCLI: WABIZ_SANDBOX_TEMPLATES fills the
// catalogue at start (the sample in docs/), the CLI manages it, and a
// restart with an edited file updates what the file names.
func TestSandboxTemplatesSeedAndCLI(t *testing.T) {
	t.Parallel()
	sample, err := os.ReadFile(filepath.Join(moduleDir, "docs", "examples", "sandbox-templates.json"))
	if err != nil {
		t.Fatal(err)
	}
	seed := filepath.Join(t.TempDir(), "templates.json")
	if err := os.WriteFile(seed, sample, 0o600); err != nil {
		t.Fatal(err)
	}
	in := newInstance(t, store.SQLite)
	c := in.start("WABIZ_SANDBOX_TEMPLATES=" + seed)
	token := login(t, c, "admin", "secret", adminPass)
	env := in.env("WABIZ_URL=https://"+in.addr, "WABIZ_TOKEN="+token)
	cli := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCommand(t, env, "", append([]string{"sandbox", "templates"}, args...)...)
		if code != 0 {
			t.Fatalf("wabiz sandbox templates %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	row := func(out, name, lang, category, status string) bool {
		return regexp.MustCompile(`(?m)^` + name + `\s+` + lang + `\s+` + category + `\s+` + status + `\s*$`).MatchString(out)
	}

	out := cli()
	ns := regexp.MustCompile(`(?m)^namespace: ([0-9a-f]{8}(_[0-9a-f]{4}){3}_[0-9a-f]{12})$`).FindStringSubmatch(out)
	if ns == nil || !row(out, "order_update", "en_US", "UTILITY", "APPROVED") || !row(out, "appointment_reminder", "en_US", "UTILITY", "APPROVED") ||
		!row(out, "login_code", "en_US", "AUTHENTICATION", "APPROVED") {
		t.Fatalf("templates after seeding:\n%s", out)
	}

	extra := filepath.Join(t.TempDir(), "extra.json")
	os.WriteFile(extra, []byte(`[{"name":"welcome","language":"en","category":"MARKETING","components":[{"type":"BODY","text":"Welcome!"}]}]`), 0o600)
	if out := cli("add", extra); out != "added welcome (en), MARKETING, APPROVED\n" {
		t.Errorf("add printed %q", out)
	}
	if out := cli("status", "welcome", "en", "paused"); !strings.HasPrefix(out, "welcome (en) is now PAUSED") {
		t.Errorf("status printed %q", out)
	}
	if out := cli(); !row(out, "welcome", "en", "MARKETING", "PAUSED") {
		t.Errorf("after the status change:\n%s", out)
	}
	if out := cli("delete", "welcome", "en"); out != "welcome (en) deleted\n" {
		t.Errorf("delete printed %q", out)
	}
	code, _, errOut := runCommand(t, env, "", "sandbox", "templates", "delete", "welcome", "en")
	if code == 0 || !strings.Contains(errOut, "HTTP 404: 1006 Resource not found") || !strings.Contains(errOut, "Template welcome (en) not found") {
		t.Errorf("second delete: exit %d\n%s", code, errOut)
	}
	code, _, errOut = runCommand(t, env, "", "sandbox", "templates", "add", extra, extra)
	if code == 0 || !strings.Contains(errOut, "usage: wabiz sandbox templates add FILE") {
		t.Errorf("add with two files: exit %d\n%s", code, errOut)
	}

	// Restart with the file edited: the template it names changes, the
	// namespace does not.
	in.stop()
	edited := strings.Replace(string(sample), `"name": "login_code",
      "language": "en_US",
      "category": "AUTHENTICATION",
      "status": "APPROVED"`, `"name": "login_code",
      "language": "en_US",
      "category": "AUTHENTICATION",
      "status": "DISABLED"`, 1)
	if edited == string(sample) {
		t.Fatal("the sample's login_code is not written as this test expects")
	}
	os.WriteFile(seed, []byte(edited), 0o600)
	in.start("WABIZ_SANDBOX_TEMPLATES=" + seed)
	env = in.env("WABIZ_URL=https://"+in.addr, "WABIZ_TOKEN="+token)
	out = cli()
	if !row(out, "login_code", "en_US", "AUTHENTICATION", "DISABLED") || !strings.Contains(out, "namespace: "+ns[1]+"\n") {
		t.Errorf("after a restart with the edited file:\n%s", out)
	}
	in.stop()

	// A bad file stops the start, naming the option, the file and the template.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`[{"name":"promo","language":"en","category":"SOMETIMES","components":[{"type":"BODY","text":"x"}]}]`), 0o600)
	code, stdout, stderr := runCommand(t, in.env("WABIZ_LISTEN="+freeAddr(t), "WABIZ_SANDBOX_TEMPLATES="+bad), "", "serve")
	if code == 0 || !strings.Contains(stderr, "sandbox templates file "+bad+" (WABIZ_SANDBOX_TEMPLATES): template 1 (promo, en): Parameter 'category' has invalid value 'SOMETIMES'") {
		t.Errorf("serve with a bad template file: exit %d\n%s%s", code, stdout, stderr)
	}
}
