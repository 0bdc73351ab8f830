package blackbox

import (
	"strings"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
)

// TestBadConfigurationFailsStartup: a wrong setting stops the server at once
// with a message naming the variable, instead of running half-configured.
func TestBadConfigurationFailsStartup(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, setting string }{
		{"WA_DB_PORT", "WA_DB_PORT=abc"},
		{"WA_DB_ENGINE", "WA_DB_ENGINE=ORACLE"},
		{"WABIZ_LISTEN", "WABIZ_LISTEN=nowhere"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := append(baseEnv(), "WABIZ_DATA_DIR="+t.TempDir(), "WABIZ_LISTEN="+freeAddr(t), c.setting)
			start := time.Now()
			code, stdout, stderr := runCommand(t, env, "", "serve")
			if code == 0 {
				t.Fatalf("wabiz serve with %s exited 0\n%s%s", c.setting, stdout, stderr)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %s to refuse %s", took, c.setting)
			}
			if !strings.Contains(stderr, c.name) {
				t.Errorf("stderr does not name %s:\n%s", c.name, stderr)
			}
		})
	}
}

// TestMigrateAndUserCommands covers the one-shot commands an operator uses
// around the server: schema migration, password recovery, user creation and
// version.
func TestMigrateAndUserCommands(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine store.Dialect) {
		in := newInstance(t, engine, "WA_VERSION="+apiVersion)

		code, out, errOut := in.run("", "migrate")
		if code != 0 || !strings.Contains(out, "applied schema versions") {
			t.Fatalf("first migrate: exit %d\n%s%s", code, out, errOut)
		}
		code, out, errOut = in.run("", "migrate")
		if code != 0 || !strings.Contains(out, "nothing to do") {
			t.Fatalf("second migrate: exit %d\n%s%s", code, out, errOut)
		}

		// The first start creates admin with the factory password.
		in.start()
		in.stop()

		// Password recovery from the command line clears the forced change.
		code, out, errOut = in.run("Recover#123\n", "user", "passwd", "admin")
		if code != 0 {
			t.Fatalf("user passwd admin: exit %d\n%s%s", code, out, errOut)
		}
		code, out, errOut = in.run("weakpassword\n", "user", "create", opsUser)
		if code == 0 {
			t.Fatalf("user create with a weak password succeeded\n%s", out)
		}
		if !strings.Contains(errOut, passwordPolicy) {
			t.Errorf("user create with a weak password: stderr lacks the complexity message:\n%s", errOut)
		}
		code, out, errOut = in.run("", "user", "create", opsUser)
		if code == 0 || !strings.Contains(errOut, "password") {
			t.Errorf("user create without a password: exit %d\n%s%s", code, out, errOut)
		}
		code, out, errOut = in.run(opsPass+"\n", "user", "create", opsUser)
		if code != 0 {
			t.Fatalf("user create: exit %d\n%s%s", code, out, errOut)
		}
		code, out, errOut = in.run(opsPass+"\n", "user", "create", opsUser)
		if code == 0 || !strings.Contains(errOut, "already exists") {
			t.Errorf("user create twice: exit %d\n%s%s", code, out, errOut)
		}
		code, out, errOut = in.run("", "user", "list")
		if code != 0 || out != "admin\n"+opsUser+"\n" {
			t.Errorf("user list: exit %d, %q\n%s", code, out, errOut)
		}
		code, _, errOut = in.run("", "user", "delete", "admin")
		if code == 0 || !strings.Contains(errOut, "Admin user cannot be deleted") {
			t.Errorf("user delete admin: exit %d\n%s", code, errOut)
		}

		c := in.start()
		r := c.do(t, "POST", "/v1/users/login", basic("admin", "Recover#123"), nil).expect(t, 200)
		if tok, _ := r.get("users", "0", "token").(string); tok == "" {
			t.Errorf("no token for the recovered admin: %s", r.raw)
		}
		c.do(t, "POST", "/v1/users/login", basic("admin", "secret"), nil).expect(t, 401)
		login(t, c, opsUser, opsPass, "")
		in.stop()

		code, out, errOut = in.run("", "version")
		if code != 0 || !strings.Contains(out, apiVersion) {
			t.Errorf("version: exit %d, %q, want it to mention %s\n%s", code, out, apiVersion, errOut)
		}
	})
}
