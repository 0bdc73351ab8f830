package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(args, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// The command's contract: exit 0 when no check fails (warnings allowed),
// 1 naming the failed checks otherwise; --json prints the report alone on
// stdout; --bundle writes a private tar.gz.
func TestDoctorCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"WABIZ_DATA_DIR": dir}

	// A new data directory: nothing exists yet, nothing is wrong.
	code, out, errOut := runCLI(t, env, "doctor")
	if code != 0 || !strings.Contains(out, "warn  database") || !strings.Contains(out, "no check failed") {
		t.Errorf("fresh directory: exit %d\n%s%s", code, out, errOut)
	}

	// A database file without the schema: migrations fail.
	if err := os.WriteFile(filepath.Join(dir, "wabiz.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "support.tar.gz")
	code, out, errOut = runCLI(t, env, "doctor", "--json", "--bundle", bundle)
	if code != 1 || !strings.Contains(errOut, "wabiz doctor: failed: migrations") {
		t.Errorf("unmigrated database: exit %d, stderr %q", code, errOut)
	}
	var rep struct {
		Status string   `json:"status"`
		Failed []string `json:"failed"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Status != "fail" || len(rep.Failed) != 1 || rep.Failed[0] != "migrations" {
		t.Errorf("--json output (%v): %s", err, out)
	}
	info, err := os.Stat(bundle)
	if err != nil || info.Mode().Perm() != 0o600 || info.Size() == 0 {
		t.Errorf("bundle: %v %v", info, err)
	}

	// After a migration every check but the warnings passes.
	if code, out, errOut = runCLI(t, env, "migrate"); code != 0 {
		t.Fatalf("migrate: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut = runCLI(t, env, "doctor"); code != 0 || !strings.Contains(out, "ok    migrations") {
		t.Errorf("migrated: exit %d\n%s%s", code, out, errOut)
	}

	if code, _, errOut = runCLI(t, env, "doctor", "extra"); code != 1 || !strings.Contains(errOut, "usage: wabiz doctor") {
		t.Errorf("extra argument: exit %d, %q", code, errOut)
	}
}
