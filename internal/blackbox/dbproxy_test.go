package blackbox

import (
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/wabiz/wabiz/internal/store"
	"github.com/wabiz/wabiz/internal/store/storetest"
)

// tcpProxy stands between wabiz and its database server so a test can take
// the database away without touching the server other tests share: cut
// closes every connection and refuses new ones (a server that stopped or a
// network that went down); stall keeps connections open but forwards
// nothing (a server or network that stopped answering); restore undoes
// either.
type tcpProxy struct {
	t      testing.TB
	target string
	addr   string

	mu     sync.Mutex
	ln     net.Listener // nil while cut
	conns  map[net.Conn]struct{}
	open   chan struct{} // closed while data flows; a new, open one while stalled
	closed bool
}

func newTCPProxy(t testing.TB, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{t: t, target: target, conns: map[net.Conn]struct{}{}, open: make(chan struct{})}
	close(p.open)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.cut()
		p.resume()
	})
	return p
}

// port is the proxy's port, for WA_DB_PORT.
func (p *tcpProxy) port() string {
	_, port, _ := net.SplitHostPort(p.addr)
	return port
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(client)
		}
	}()
}

func (p *tcpProxy) pipe(client net.Conn) {
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // cut meanwhile
		p.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	p.conns[client], p.conns[server] = struct{}{}, struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { p.pump(server, client) })
	wg.Go(func() { p.pump(client, server) })
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

// pump copies src to dst, holding each chunk while the proxy is stalled.
// Either side ending ends both.
func (p *tcpProxy) pump(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			open := p.open
			p.mu.Unlock()
			<-open
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cut closes the listener and every connection: the database is gone.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	ln := p.ln
	p.ln = nil
	conns := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, c := range conns {
		c.Close()
	}
}

// stall stops forwarding while keeping every connection open, and accepts
// new ones (listening again after a cut) that get nothing either.
func (p *tcpProxy) stall() {
	p.mu.Lock()
	select {
	case <-p.open:
		p.open = make(chan struct{})
	default:
	}
	p.mu.Unlock()
	p.listen()
}

func (p *tcpProxy) resume() {
	p.mu.Lock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
	p.mu.Unlock()
}

// restore ends a cut or a stall: the database is back.
func (p *tcpProxy) restore() {
	p.resume()
	p.listen()
}

// listen accepts connections again after a cut.
func (p *tcpProxy) listen() {
	p.t.Helper()
	p.mu.Lock()
	listening := p.ln != nil || p.closed
	p.mu.Unlock()
	if listening {
		return
	}
	var (
		ln  net.Listener
		err error
	)
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("database proxy: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// dbServerAddr is host:port of engine's test server (PostgreSQL or MySQL),
// from the same variables storetest reads; the test is skipped when the
// engine is not configured.
func dbServerAddr(t testing.TB, engine store.Dialect) string {
	t.Helper()
	envName, port := storetest.PostgresEnv, "5432"
	if engine == store.MySQL {
		envName, port = storetest.MySQLEnv, "3306"
	}
	raw := os.Getenv(envName)
	if raw == "" {
		t.Skipf("%s tests skipped: set %s to run them", engine, envName)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", envName, err)
	}
	if u.Port() != "" {
		port = u.Port()
	}
	return net.JoinHostPort(u.Hostname(), port)
}
