package cli

import (
	"bufio"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// scripts/release builds a static, version-stamped binary and a checksum
// file that matches it. It builds this machine's target only: the four
// targets take minutes with a cold build cache (seconds with a warm one),
// and the script's loop does the same for each.
func TestReleaseScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wabiz from scratch (-trimpath misses the test build's cache)")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	t.Parallel()
	dist := t.TempDir()
	const version = "v1.2.3-releasetest"
	target := runtime.GOOS + "/" + runtime.GOARCH
	cmd := exec.Command("bash", filepath.Join("..", "..", "scripts", "release"), "--dist", dist, "--version", version, target)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/release: %v\n%s", err, out)
	}
	name := "wabiz-" + version + "-" + runtime.GOOS + "-" + runtime.GOARCH
	bin := filepath.Join(dist, name)

	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "wabiz "+version+" (On-Premises API ") {
		t.Errorf("%s version: %v: %q", name, err, out)
	}

	f, err := os.Open(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		lines = append(lines, sc.Text())
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if want := hex.EncodeToString(sum[:]) + "  " + name; len(lines) != 1 || lines[0] != want {
		t.Errorf("SHA256SUMS = %q, want [%q]", lines, want)
	}

	if runtime.GOOS == "linux" {
		// Static: no program interpreter (dynamic loader) to find.
		ef, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer ef.Close()
		for _, p := range ef.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s asks for a dynamic loader: not a static binary", name)
			}
		}
	}
	// Without -trimpath every source file's absolute path is in the
	// binary's line table.
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), root+string(filepath.Separator)) {
		t.Errorf("%s holds the build machine's source paths (%s): -trimpath missing", name, root)
	}
}

func TestReleaseScriptRefusesBadInput(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	t.Parallel()
	for _, args := range [][]string{
		{"--version", "v1 with spaces"},
		{"--version", "v1", "linux"},
		{"--bogus"},
	} {
		cmd := exec.Command("bash", append([]string{filepath.Join("..", "..", "scripts", "release"), "--dist", t.TempDir()}, args...)...)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.HasPrefix(string(out), "release: ") {
			t.Errorf("release %q: %v %q, want exit 2 with a message", args, err, out)
		}
	}
}
