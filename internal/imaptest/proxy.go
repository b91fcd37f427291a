package imaptest

import (
	"bytes"
	"io"
	"net"
	"sync"
	"sync/atomic"
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

// forward accepts connections on ln until it is closed, dials target for each, and hands the
// pair (client, server) to handle.
func forward(ln net.Listener, target string, handle func(c, s net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			continue
		}
		handle(c, s)
	}
}

func (p *DropProxy) serve() {
	forward(p.ln, p.target, func(c, s net.Conn) {
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); s.Close() }()
		go func() { _, _ = io.Copy(c, s); c.Close() }()
	})
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

// FetchCutProxy forwards IMAP connections to target and, once, closes the first connection that
// sends a FETCH after the server has sent limit bytes of the answer: the drop lands in the middle
// of a message body (the "server drops the connection mid-fetch" tests). limit < 0 never cuts.
type FetchCutProxy struct {
	ln     net.Listener
	target string
	limit  int64
	cuts   atomic.Int32
}

// NewFetchCutProxy starts a proxy to target for the test and stops it when the test ends.
func NewFetchCutProxy(tb TB, target string, limit int64) *FetchCutProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &FetchCutProxy{ln: ln, target: target, limit: limit}
	go p.serve()
	tb.Cleanup(func() { ln.Close() })
	return p
}

// Addr is the proxy's host:port.
func (p *FetchCutProxy) Addr() string { return p.ln.Addr().String() }

// Cuts is how many connections the proxy has cut (0 or 1).
func (p *FetchCutProxy) Cuts() int { return int(p.cuts.Load()) }

func (p *FetchCutProxy) serve() {
	forward(p.ln, p.target, func(c, s net.Conn) {
		var fetching atomic.Bool
		cut := p.limit >= 0 && p.cuts.Load() == 0
		go func() { // client -> server: watch for FETCH
			buf := make([]byte, 32<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if bytes.Contains(bytes.ToUpper(buf[:n]), []byte(" FETCH ")) {
						fetching.Store(true)
					}
					if _, werr := s.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			s.Close()
		}()
		go func() { // server -> client: cut after limit bytes of a FETCH response
			buf := make([]byte, 16<<10)
			var sent int64
			for {
				n, err := s.Read(buf)
				if n > 0 {
					if cut && fetching.Load() {
						if sent+int64(n) > p.limit {
							n = int(p.limit - sent)
							c.Write(buf[:n])
							p.cuts.Add(1)
							c.Close()
							s.Close()
							return
						}
						sent += int64(n)
					}
					if _, werr := c.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			c.Close()
		}()
	})
}
