package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// unitFile is a systemd unit: section → key → values in order (a key may
// repeat, and an empty assignment resets it, as systemd reads it).
type unitFile map[string]map[string][]string

func readUnit(t *testing.T, file string) unitFile {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	u := unitFile{}
	section := ""
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		case section == "":
			t.Fatalf("%s:%d: %q outside a section", file, i+1, line)
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s:%d: %q is not Key=Value", file, i+1, line)
			}
			u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return u
}

// last is the value in force of a key (the last assignment).
func (u unitFile) last(section, key string) (string, bool) {
	vs := u[section][key]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	u := readUnit(t, "systemd/wabiz.service")
	commands := subcommands(t)

	exec, _ := u.last("Service", "ExecStart")
	argv := strings.Fields(exec)
	if len(argv) < 2 || !filepath.IsAbs(argv[0]) || filepath.Base(argv[0]) != "wabiz" {
		t.Fatalf("ExecStart=%s: want an absolute path to wabiz and a subcommand", exec)
	}
	if argv[1] != "serve" || !commands[argv[1]] {
		t.Errorf("ExecStart runs %q, want the serve subcommand", argv[1])
	}

	env := map[string]string{}
	for _, e := range u["Service"]["Environment"] {
		for _, kv := range strings.Fields(e) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("Environment=%s is not NAME=value", e)
			}
			env[k] = v
		}
	}
	checkEnvNames(t, "wabiz.service Environment", env)
	if files := u["Service"]["EnvironmentFile"]; len(files) == 0 {
		t.Error("no EnvironmentFile= for the options")
	}
	example := readEnvFile(t, "systemd/wabiz.env")
	checkEnvNames(t, "systemd/wabiz.env", example)
	merged := map[string]string{}
	for k, v := range example {
		merged[k] = v
	}
	for k, v := range env {
		merged[k] = v
	}
	cfg, err := loadConfig(env, nil)
	if err != nil {
		t.Fatalf("the unit's environment does not load: %v", err)
	}
	if _, err := loadConfig(merged, nil); err != nil {
		t.Errorf("the example environment file does not load: %v", err)
	}

	state, _ := u.last("Service", "StateDirectory")
	if state == "" || cfg.DataDir != "/var/lib/"+state {
		t.Errorf("WABIZ_DATA_DIR=%s, want the StateDirectory /var/lib/%s (the only writable place under ProtectSystem=strict)", cfg.DataDir, state)
	}
	if !underAny(cfg.MediaDir(), []string{"/var/lib/" + state}) {
		t.Errorf("the media directory %s is outside the StateDirectory", cfg.MediaDir())
	}

	if user, _ := u.last("Service", "User"); user == "root" || user == "0" {
		t.Error("User=root")
	}
	dyn, _ := u.last("Service", "DynamicUser")
	if user, _ := u.last("Service", "User"); dyn != "yes" && user == "" {
		t.Error("neither DynamicUser=yes nor a dedicated User=")
	}
	for key, want := range map[string]string{
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
		"PrivateDevices": "yes", "RestrictSUIDSGID": "yes", "ProtectKernelTunables": "yes",
		"ProtectKernelModules": "yes", "ProtectControlGroups": "yes", "LockPersonality": "yes",
		"RestrictNamespaces": "yes", "SystemCallArchitectures": "native",
	} {
		if got, _ := u.last("Service", key); got != want {
			t.Errorf("%s=%q, want %s", key, got, want)
		}
	}
	caps, set := u.last("Service", "CapabilityBoundingSet")
	if port := portOf(t, cfg.Listen); port < 1024 {
		if caps != "CAP_NET_BIND_SERVICE" {
			t.Errorf("port %d needs CapabilityBoundingSet=CAP_NET_BIND_SERVICE (and nothing else), have %q", port, caps)
		}
	} else if !set || caps != "" {
		t.Errorf("port %d needs no capability: want CapabilityBoundingSet= (empty), have %q", port, caps)
	}
	if _, ok := u.last("Install", "WantedBy"); !ok {
		t.Error("no [Install] WantedBy=: systemctl enable would do nothing")
	}
}

// TestSystemdAnalyzeVerify lets systemd itself read the unit, with
// ExecStart pointed at the binary the tests built (verify wants it to
// exist).
func TestSystemdAnalyzeVerify(t *testing.T) {
	t.Parallel()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("skipped: systemd-analyze is not installed")
	}
	bin := wabizBinary(t)
	data, err := os.ReadFile("systemd/wabiz.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := strings.Replace(string(data), "ExecStart=/usr/local/bin/wabiz ", "ExecStart="+bin+" ", 1)
	if unit == string(data) {
		t.Fatal("ExecStart=/usr/local/bin/wabiz not found in the unit")
	}
	path := writeFile(t, t.TempDir(), "wabiz.service", unit)
	code, out, errOut := exitCode(t, exec.Command(analyze, "verify", "--man=no", path))
	var problems []string
	for line := range strings.SplitSeq(out+errOut, "\n") {
		if strings.Contains(line, "wabiz.service") {
			problems = append(problems, line)
		}
	}
	if code != 0 || len(problems) > 0 {
		t.Errorf("systemd-analyze verify: exit %d\n%s", code, strings.Join(problems, "\n"))
	}
}

// readEnvFile reads NAME=value lines, the commented-out examples ("#NAME=")
// included: an example that would be wrong once uncommented fails too.
func readEnvFile(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for line := range strings.SplitSeq(string(data), "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "#")
		k, v, ok := strings.Cut(line, "=")
		if ok && k != "" && !strings.ContainsAny(k, " \t") {
			env[k] = v
		}
	}
	if len(env) == 0 {
		t.Fatalf("%s names no option", file)
	}
	return env
}
