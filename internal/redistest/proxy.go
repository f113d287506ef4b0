package redistest

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// linkProxy forwards a loopback port to a Redis server and can cut the
// replication links through it the way a network partition does: bytes
// are silently dropped both ways, no connection is closed, so neither
// side notices before its timeouts. Ordinary clients pass untouched. A
// connection is a replication link once its client sends REPLCONF, SYNC
// or PSYNC.
type linkProxy struct {
	Addr    string
	target  string
	ln      net.Listener
	cut     atomic.Bool
	mu      sync.Mutex
	conns   map[net.Conn]bool
	stopped bool
	wg      sync.WaitGroup
}

func startLinkProxy(tb testing.TB, target string) *linkProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("proxy: %v", err)
	}
	p := &linkProxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(p.stop)
	return p
}

func (p *linkProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil { // the server is gone: so is the proxy's end
			c.Close()
			continue
		}
		if !p.track(c, s) {
			return
		}
		var repl atomic.Bool
		p.wg.Add(2)
		go p.pipe(s, c, &repl, true)
		go p.pipe(c, s, &repl, false)
	}
}

func (p *linkProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = true
	}
	return true
}

// pipe copies src to dst; fromClient marks the client-to-server direction,
// where replication links are recognised.
func (p *linkProxy) pipe(dst, src net.Conn, repl *atomic.Bool, fromClient bool) {
	defer p.wg.Done()
	defer p.untrack(dst, src)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			if fromClient && !repl.Load() {
				up := bytes.ToUpper(chunk)
				if bytes.Contains(up, []byte("REPLCONF")) || bytes.Contains(up, []byte("PSYNC")) || bytes.Contains(up, []byte("\r\nSYNC\r\n")) {
					repl.Store(true)
				}
			}
			if !(repl.Load() && p.cut.Load()) {
				if _, err := dst.Write(chunk); err != nil {
					return
				}
			}
		}
		if err != nil { // EOF or closed: close both ends, as a socket would
			return
		}
	}
}

func (p *linkProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *linkProxy) stop() {
	p.mu.Lock()
	p.stopped = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}
