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
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/spawn"
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

// defaultParallel is how many tests run at once unless -parallel says
// otherwise. The tests here mostly wait: for child processes to start, for
// retries spaced in real time, for a database cut to end. go test's default
// (the number of CPUs, 2 on the CI machine) left the cores idle for most
// of the package's run.
const defaultParallel = "4"

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", defaultParallel)
	}
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	root, err := spawn.ModuleRoot()
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
	if wabizBin, err = spawn.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "blackbox:", err)
		return 1
	}
	return m.Run()
}

// baseEnv is the test process's environment without any WA_* or WABIZ_*
// variable, so the developer's own settings never leak into a child.
func baseEnv() []string { return spawn.CleanEnv() }

// instance is one deployment: a data directory and a database that survive
// restarts of the process running on them.
type instance struct {
	t       *testing.T
	dataDir string
	db      store.Config // the database every run uses
	extra   []string     // variables every run gets: database, data dir, speed-ups

	logs *syncBuffer // output of every run, kept for failure reports
	proc *process    // the running server, if any
	addr string      // host:port of the last start
}

// newInstance prepares a fresh deployment on engine (skipping the test when
// that engine's server is not configured). extra adds or overrides variables.
func newInstance(t *testing.T, engine store.Dialect, extra ...string) *instance {
	t.Helper()
	cfg := storetest.Config(t, engine)
	in := &instance{t: t, dataDir: t.TempDir(), db: cfg, logs: &syncBuffer{}}
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
			in.proc.Kill()
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
		err = p.WaitListening(addr, readyTimeout)
		if err == nil {
			in.proc, in.addr = p, addr
			return newClient(t, addr, in.dataDir)
		}
		p.Kill()
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
	if err := p.Stop(stopTimeout); err != nil {
		t.Fatalf("wabiz after SIGTERM: %v", err)
	}
}

// crash kills the server with SIGKILL: nothing gets to clean up.
func (in *instance) crash() {
	in.t.Helper()
	if in.proc == nil {
		in.t.Fatal("crash: no server running")
	}
	in.proc.Kill()
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

// process is one running child and its output.
type process struct {
	*spawn.Process
	output *syncBuffer // this run only
}

func startProcess(env []string, logs *syncBuffer, args ...string) (*process, error) {
	trackSources()
	output := &syncBuffer{}
	p, err := spawn.Start(wabizBin, env, teeWriter{output, logs}, args...)
	if err != nil {
		return nil, err
	}
	return &process{Process: p, output: output}, nil
}

func freeAddr(t testing.TB) string {
	t.Helper()
	addr, err := spawn.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

type syncBuffer = spawn.Buffer

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
