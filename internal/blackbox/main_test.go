// Package blackbox drives the real wabiz binary: TestMain builds it once,
// each test starts it as a child process on its own data directory and
// database, talks to it over HTTPS with the server's own self-signed CA, and
// stops it with SIGTERM or SIGKILL. What a user runs is what is tested.
//
// A failing test prints the server's output; WABIZ_TEST_SERVER_LOG=1 prints
// it for passing tests too.
package blackbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

var (
	// wabizBin is the binary built by TestMain.
	wabizBin string
	// moduleDir is the module root the binary was built from.
	moduleDir string
	trackOnce sync.Once
)

const (
	readyTimeout = 20 * time.Second
	stopTimeout  = 20 * time.Second
)

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "blackbox:", err)
		return 1
	}
	moduleDir = root
	dir, err := os.MkdirTemp("", "wabiz-blackbox-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "blackbox:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	wabizBin = filepath.Join(dir, "wabiz")
	build := exec.Command("go", "build", "-o", wabizBin, "./cmd/wabiz")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "blackbox: go build ./cmd/wabiz: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// moduleRoot walks up from the package directory to the go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test directory")
		}
		dir = parent
	}
}

// baseEnv is the test process's environment without any WA_* or WABIZ_*
// variable, so the developer's own settings never leak into a child.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "WA_") || strings.HasPrefix(kv, "WABIZ_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// instance is one deployment: a data directory and a database that survive
// restarts of the process running on them.
type instance struct {
	t       *testing.T
	dataDir string
	extra   []string // variables every run gets: database, data dir, speed-ups

	logs *syncBuffer // output of every run, kept for failure reports
	proc *process    // the running server, if any
	addr string      // host:port of the last start
}

// newInstance prepares a fresh deployment on engine (skipping the test when
// that engine's server is not configured). extra adds or overrides variables.
func newInstance(t *testing.T, engine store.Dialect, extra ...string) *instance {
	t.Helper()
	cfg := storetest.Config(t, engine)
	in := &instance{t: t, dataDir: t.TempDir(), logs: &syncBuffer{}}
	in.extra = append([]string{
		"WABIZ_DATA_DIR=" + in.dataDir,
		"WABIZ_BCRYPT_COST=4",
		"WABIZ_HEALTH_RATE_LIMIT=0",
	}, storetest.Env(cfg)...)
	in.extra = append(in.extra, extra...)
	// Registered after storetest's database removal, so it runs first: the
	// process is gone before its database is dropped.
	t.Cleanup(func() {
		if in.proc != nil {
			in.proc.kill()
		}
		if t.Failed() || os.Getenv("WABIZ_TEST_SERVER_LOG") != "" {
			t.Logf("wabiz output (%s):\n%s", engine, in.logs.String())
		}
	})
	return in
}

func (in *instance) env(more ...string) []string {
	env := append(baseEnv(), in.extra...)
	return append(env, more...)
}

// start runs "wabiz serve" on a free port and waits until it accepts
// connections, then returns a client for it.
func (in *instance) start(more ...string) *client {
	t := in.t
	t.Helper()
	if in.proc != nil {
		t.Fatal("start: the server is already running")
	}
	// A port found free can be taken by a parallel test before the child
	// binds it; try again on a new one in that case.
	for attempt := 1; ; attempt++ {
		addr := freeAddr(t)
		fmt.Fprintf(in.logs, "==== start on %s ====\n", addr)
		p, err := startProcess(in.env(append([]string{"WABIZ_LISTEN=" + addr}, more...)...), in.logs, "serve")
		if err != nil {
			t.Fatal(err)
		}
		err = p.waitListening(addr, readyTimeout)
		if err == nil {
			in.proc, in.addr = p, addr
			return newClient(t, addr, in.dataDir)
		}
		p.kill()
		if attempt < 3 && strings.Contains(p.output.String(), "address already in use") {
			continue
		}
		t.Fatalf("wabiz serve did not become ready: %v\n%s", err, in.logs.String())
	}
}

// stop sends SIGTERM and expects a clean exit.
func (in *instance) stop() {
	t := in.t
	t.Helper()
	if in.proc == nil {
		t.Fatal("stop: no server running")
	}
	p := in.proc
	in.proc = nil
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		p.kill()
		t.Fatalf("wabiz did not exit within %s of SIGTERM", stopTimeout)
	}
	if p.err != nil {
		t.Fatalf("wabiz exited with %v after SIGTERM", p.err)
	}
}

// crash kills the server with SIGKILL: nothing gets to clean up.
func (in *instance) crash() {
	in.t.Helper()
	if in.proc == nil {
		in.t.Fatal("crash: no server running")
	}
	in.proc.kill()
	in.proc = nil
}

// run executes a one-shot command (migrate, user, version) on this
// deployment and returns its exit code, standard output and standard error.
func (in *instance) run(stdin string, args ...string) (code int, stdout, stderr string) {
	in.t.Helper()
	return runCommand(in.t, in.env(), stdin, args...)
}

func runCommand(t *testing.T, env []string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	trackSources()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, wabizBin, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("wabiz %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("wabiz %s did not finish within 30 s\n%s", strings.Join(args, " "), errOut.String())
	}
	return code, out.String(), errOut.String()
}

// trackSources reads the sources the binary is built from, inside a test.
// The go test cache knows only the test binary and the files and variables
// the test process itself touches; without this, "go test ./..." would
// report a cached pass for this package after the server's code changed.
func trackSources() {
	trackOnce.Do(func() {
		filepath.WalkDir(moduleDir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			name := d.Name()
			if d.IsDir() {
				if path != moduleDir && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
					name == "testdata" || name == "wabiz-data") {
					return filepath.SkipDir
				}
				return nil
			}
			rel, _ := filepath.Rel(moduleDir, path)
			source := strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")
			embedded := strings.HasPrefix(rel, "web"+string(filepath.Separator))
			if source || embedded || rel == "go.mod" || rel == "go.sum" {
				os.ReadFile(path)
			}
			return nil
		})
	})
}

// process is one running child.
type process struct {
	cmd    *exec.Cmd
	output *syncBuffer // this run only
	done   chan struct{}
	err    error // from Wait, valid once done is closed
}

func startProcess(env []string, logs *syncBuffer, args ...string) (*process, error) {
	trackSources()
	p := &process{cmd: exec.Command(wabizBin, args...), output: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = env
	w := teeWriter{p.output, logs}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start wabiz: %w", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitListening polls the port until it accepts a connection, the process
// exits, or the timeout passes.
func (p *process) waitListening(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("wabiz exited before listening: %v", p.err)
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listening on %s after %s", addr, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *process) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type teeWriter [2]*syncBuffer

func (w teeWriter) Write(p []byte) (int, error) {
	w[0].Write(p)
	return w[1].Write(p)
}

// forEachEngine runs fn in parallel subtests, one per database engine.
func forEachEngine(t *testing.T, fn func(t *testing.T, engine store.Dialect)) {
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			fn(t, engine)
		})
	}
}
