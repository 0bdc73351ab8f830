package deploy

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testVersion is the VERSION build argument the tests stamp.
const testVersion = "v0.0.0-deploy-test"

var (
	buildOnce   sync.Once
	builtBinary string
	buildErr    error
	buildDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// wabizBinary builds ./cmd/wabiz once, exactly as the Dockerfile's build
// stage does (its ENV and its go build arguments, read from the file), so
// the tests run what the image would hold.
func wabizBinary(t *testing.T) string {
	t.Helper()
	b := dockerBuild(t, map[string]string{"VERSION": testVersion})
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "wabiz-deploy-")
		if buildErr != nil {
			return
		}
		builtBinary = filepath.Join(buildDir, "wabiz")
		args := append([]string(nil), b.args...)
		for i := range args {
			if args[i] == "-o" {
				args[i+1] = builtBinary
			}
		}
		cmd := exec.Command("go", append([]string{"build"}, args...)...)
		cmd.Dir = ".." // the Dockerfile's context: the repository's root
		cmd.Env = os.Environ()
		for k, v := range b.env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBinary
}

// wabizEnv is the environment a child wabiz gets: this process's without
// any WA_* or WABIZ_* (the developer's own settings must not leak in), plus
// vars.
func wabizEnv(vars map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WA_") && !strings.HasPrefix(kv, "WABIZ_") {
			env = append(env, kv)
		}
	}
	for _, k := range sortedKeys(vars) {
		env = append(env, k+"="+vars[k])
	}
	return env
}

// freeLoopbackAddr is a 127.0.0.1 address nobody listens on now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// server is a wabiz process a test started; it is stopped by its pid.
type server struct {
	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan struct{}
}

func startServer(t *testing.T, cmd *exec.Cmd) *server {
	t.Helper()
	s := &server{cmd: cmd, logs: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	go func() { cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop sends SIGTERM to the pid this test started and waits for a
// graceful exit, killing it if it does not come.
func (s *server) stop(t *testing.T) {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		t.Errorf("wabiz (pid %d) did not stop within 30 s of SIGTERM", s.cmd.Process.Pid)
	}
}

// waitListening polls addr until it accepts a connection. The child is a
// real process, so there is no clock to inject: the poll is bounded.
func (s *server) waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			t.Fatalf("wabiz exited before listening on %s:\n%s", addr, s.logs.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("wabiz did not listen on %s within 60 s:\n%s", addr, s.logs.String())
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// httpsClient trusts only the CA in caFile (the node's self-signed one).
func httpsClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}
}

// get fetches url with the Apikey and returns the status and body.
func get(t *testing.T, hc *http.Client, url, apiKey string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Apikey "+apiKey)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// exitCode runs cmd and returns its exit code and outputs.
func exitCode(t *testing.T, cmd *exec.Cmd) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exitErr):
		return exitErr.ExitCode(), stdout.String(), stderr.String()
	default:
		t.Fatalf("run %s: %v", cmd.Path, err)
		return -1, "", ""
	}
}

// subcommands lists the commands `wabiz help` names.
func subcommands(t *testing.T) map[string]bool {
	t.Helper()
	code, out, errOut := exitCode(t, exec.Command(wabizBinary(t), "help"))
	if code != 0 {
		t.Fatalf("wabiz help: exit %d: %s", code, errOut)
	}
	names := map[string]bool{}
	for line := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(line, "  ") {
			if f := strings.Fields(line); len(f) > 1 {
				names[f[0]] = true
			}
		}
	}
	if !names["serve"] {
		t.Fatalf("wabiz help lists no serve command:\n%s", out)
	}
	return names
}
