package imaptest

import (
	"io"
	"net"
	"sync"
)

// DropProxy is a TCP proxy on 127.0.0.1 that can drop every connection at once (the "server
// drops the connection" tests).
type DropProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

// NewDropProxy starts a proxy to target for the test and stops it when the test ends.
func NewDropProxy(tb TB, target string) *DropProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &DropProxy{ln: ln, target: target}
	go p.serve()
	tb.Cleanup(func() { ln.Close(); p.DropAll() })
	return p
}

func (p *DropProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); s.Close() }()
		go func() { _, _ = io.Copy(c, s); c.Close() }()
	}
}

// Addr is the proxy's host:port.
func (p *DropProxy) Addr() string { return p.ln.Addr().String() }

// DropAll closes every proxied connection and returns how many there were.
func (p *DropProxy) DropAll() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.conns) / 2
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	return n
}
