// Package spawn builds the wabiz binary and runs it as child processes. The
// black-box tests and the benchmark both drive the real binary this way, so
// what they check and measure is what a user runs.
package spawn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ModuleRoot walks up from the working directory to the directory holding
// go.mod.
func ModuleRoot() (string, error) {
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
			return "", errors.New("no go.mod above the working directory: run from inside the wabiz module")
		}
		dir = parent
	}
}

// Build compiles ./cmd/wabiz of the module around the working directory
// into dir and returns the binary's path.
func Build(dir string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "wabiz")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/wabiz")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/wabiz: %v\n%s", err, out)
	}
	return bin, nil
}

// CleanEnv is this process's environment without any WA_* or WABIZ_*
// variable, so the caller's own settings never leak into a child.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WA_") && !strings.HasPrefix(kv, "WABIZ_") {
			env = append(env, kv)
		}
	}
	return env
}

// FreeAddr returns a loopback address with a port nobody listens on now.
// Another process may take the port before the child binds it; callers
// that start servers on it retry on "address already in use".
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Process is a running child.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // from Wait, valid once done is closed
}

// Start runs bin with args and env, its standard output and error going to
// out.
func Start(bin string, env []string, out io.Writer, args ...string) (*Process, error) {
	p := &Process{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(bin), err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the child's process id: the only way anything here is stopped.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the child has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the child exited (nil for status 0); valid once Done is closed.
func (p *Process) Err() error { return p.err }

// Signal sends sig to the child.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Kill stops the child with SIGKILL, nothing getting to clean up, and waits
// for it.
func (p *Process) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
}

// Stop sends SIGTERM and waits up to timeout for the child to exit, then
// kills it. It reports a child that had to be killed, or exited with an
// error after SIGTERM.
func (p *Process) Stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM: %w", err)
	}
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("did not exit within %s of SIGTERM", timeout)
	}
}

// WaitListening polls addr until it accepts a connection, the child exits,
// or timeout passes.
func (p *Process) WaitListening(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("exited before listening: %v", p.err)
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

// Buffer collects a child's output; it is safe for the child's writers and
// a reader at once. With Limit set it keeps only the first Limit bytes
// (the start of a run is what explains a failure) and drops the rest.
type Buffer struct {
	Limit int

	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Limit > 0 && b.b.Len() >= b.Limit {
		return len(p), nil
	}
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
