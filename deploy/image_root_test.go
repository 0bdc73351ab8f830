package deploy

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// hostCABundle is copied into the test's root as the image's
// distroless base provides it.
const hostCABundle = "/etc/ssl/certs/ca-certificates.crt"

// TestImageRunsInEmptyRoot proves what the image relies on, with no Docker
// engine: the binary built with the Dockerfile's flags is static, carries
// the stamped version, and serves in a root holding nothing but itself, the
// CA bundle and the volumes' directories, as the image's non-root user;
// `wabiz health` in the same root, with the same environment, exits 0.
func TestImageRunsInEmptyRoot(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("skipped: chroot and switching to the image's user need root (CI runs as root)")
	}
	bin := wabizBinary(t)
	checkStatic(t, bin)

	rt := runtimeStage(t)
	uid, gid := imageUser(t, rt)
	imageBin := binaryPath(t, rt, dockerBuild(t, nil).output)

	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, bin, inRoot(root, imageBin), 0o755)
	caBundle, err := os.ReadFile(hostCABundle)
	if err != nil {
		t.Skipf("skipped: no CA bundle on this machine to put in the root: %v", err)
	}
	writeFileAt(t, inRoot(root, hostCABundle), caBundle, 0o644)

	env := rt.env(t)
	volumes := execForm(t, rt.one(t, "VOLUME"), rt.one(t, "VOLUME").args)
	for _, v := range volumes {
		// Owned by the user, as the Dockerfile's COPY --chown makes them.
		dir := inRoot(root, v)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}

	addr := freeLoopbackAddr(t)
	const apiKey = "image-test-api-key-42"
	env["WABIZ_LISTEN"] = addr // loopback only, on a free port
	env["WA_API_KEY"] = apiKey
	inImage := func(args ...string) *exec.Cmd {
		cmd := exec.Command(imageBin, args...)
		cmd.Dir = "/"
		cmd.Env = wabizEnv(env)
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Chroot:     root,
			Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}},
		}
		return cmd
	}

	code, out, errOut := exitCode(t, inImage("version"))
	if code != 0 || !strings.HasPrefix(out, "wabiz "+testVersion+" ") {
		t.Fatalf("wabiz version in the root: exit %d, %q %q; want the stamped %s", code, out, errOut, testVersion)
	}

	srv := startServer(t, inImage("serve"))
	srv.waitListening(t, addr)
	if got := processUID(t, srv.cmd.Process.Pid); got != uid {
		t.Errorf("the server runs as uid %d, want the image's %d", got, uid)
	}

	dataDir := env["WABIZ_DATA_DIR"]
	hc := httpsClient(t, inRoot(root, filepath.Join(dataDir, "tls", "ca.pem")))
	status, body := get(t, hc, "https://"+addr+"/v1/health", apiKey)
	var health struct {
		Health struct {
			GatewayStatus string `json:"gateway_status"`
		} `json:"health"`
	}
	if err := json.Unmarshal([]byte(body), &health); status != 200 || err != nil || health.Health.GatewayStatus == "" {
		t.Fatalf("GET /v1/health: %d %s\nlogs:\n%s", status, body, srv.logs.String())
	}

	code, out, errOut = exitCode(t, inImage("health"))
	if code != 0 || out != "healthy: gateway_status "+health.Health.GatewayStatus+"\n" {
		t.Fatalf("wabiz health in the root: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// What the server wrote is the user's, on the volumes.
	for _, f := range []string{filepath.Join(dataDir, "wabiz.db"), filepath.Join(dataDir, "tls", "ca.pem")} {
		fi, err := os.Stat(inRoot(root, f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != uid {
			t.Errorf("%s is owned by uid %d, want %d", f, st.Uid, uid)
		}
	}

	srv.stop(t)
	code, _, errOut = exitCode(t, inImage("health"))
	if code == 0 || !strings.Contains(errOut, "connection refused") {
		t.Errorf("wabiz health with the server stopped: exit %d, stderr %q; want a failure saying so", code, errOut)
	}
}

// checkStatic fails unless bin is an ELF file with no interpreter and no
// shared libraries: it must run on a base without libc.
func checkStatic(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a program interpreter: it is not static", bin)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s links shared libraries %v: it is not static", bin, libs)
	}
}

// imageUser is the runtime stage's USER as numbers (a name could not be
// resolved without the image's /etc/passwd).
func imageUser(t *testing.T, rt stage) (uid, gid int) {
	t.Helper()
	user := rt.one(t, "USER").args
	u, g, ok := strings.Cut(user, ":")
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	if !ok || err1 != nil || err2 != nil || uid == 0 {
		t.Fatalf("USER %q: want a numeric non-root uid:gid", user)
	}
	return uid, gid
}

func processUID(t *testing.T, pid int) int {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			f := strings.Fields(rest)
			uid, err := strconv.Atoi(f[0])
			if err != nil {
				t.Fatal(err)
			}
			return uid
		}
	}
	t.Fatalf("no Uid line in /proc/%d/status", pid)
	return -1
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFileAt(t, to, data, mode)
}

func writeFileAt(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

// writeFile writes text to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	writeFileAt(t, p, []byte(text), 0o600)
	return p
}
