// Package imaptest owns the IMAP servers that tests and the demo run against (issue 4 "Tests with
// real parts", "The demo shows the main job"): go-imap's in-memory server (imapserver +
// imapmemserver) in-process on 127.0.0.1, a real Dovecot started as an unprivileged child process
// on a free loopback port with a passwd-file, a TCP proxy that can drop every connection, and a
// small admin client to APPEND messages and count folders. It is used by the mailbox tests, the
// CLI tests and fixtures/demo, so that all of them exercise the same servers.
//
// The package does not import "testing": helpers take the small TB interface (which testing.TB
// satisfies), and the demo uses the error-returning constructors.
package imaptest

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// TB is the part of testing.TB the helpers use.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
	Skipf(format string, args ...any)
	Cleanup(func())
}

// Server is an IMAP server for a test: the in-memory one or a real Dovecot.
type Server interface {
	// Addr is host:port on 127.0.0.1 (plain text; clients use TLS mode "insecure").
	Addr() string
	// NewUser returns the credentials of a fresh user whose INBOX is empty.
	NewUser(tb TB) (user, pass string)
}

// ---- go-imap in-memory server (libraries.md §3.3) ----

// Mem is go-imap's in-memory IMAP server serving on a loopback port. It advertises IMAP4rev2,
// so clients get MOVE, IDLE and UIDPLUS, as from Dovecot.
type Mem struct {
	addr string
	mem  *imapmemserver.Server
	srv  *imapserver.Server
	mu   sync.Mutex
	n    int
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}
func (quietLogger) Println(...any)        {}

// StartMem starts an in-memory server on addr ("" means 127.0.0.1 on a free port). Stop it
// with Close.
func StartMem(addr string) (*Mem, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	mem := imapmemserver.New()
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}, // rev2 => MOVE, IDLE, UIDPLUS
		InsecureAuth: true,
		Logger:       quietLogger{},
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("imaptest: listen: %w", err)
	}
	go func() { _ = srv.Serve(ln) }()
	return &Mem{addr: ln.Addr().String(), mem: mem, srv: srv}, nil
}

// NewMem starts an in-memory server for the test and stops it when the test ends.
func NewMem(tb TB) *Mem {
	tb.Helper()
	m, err := StartMem("")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = m.Close() })
	return m
}

// Addr is the server's host:port.
func (m *Mem) Addr() string { return m.addr }

// Close stops the server and closes its connections.
func (m *Mem) Close() error { return m.srv.Close() }

// AddUser adds a user with an empty INBOX (imapmemserver's users start with no mailbox at all).
func (m *Mem) AddUser(name, pass string) error {
	u := imapmemserver.NewUser(name, pass)
	if err := u.Create("INBOX", nil); err != nil {
		return fmt.Errorf("imaptest: create INBOX: %w", err)
	}
	m.mem.AddUser(u)
	return nil
}

// NewUser adds a fresh user (user1, user2, ...; password "secret").
func (m *Mem) NewUser(tb TB) (string, string) {
	tb.Helper()
	m.mu.Lock()
	m.n++
	name := fmt.Sprintf("user%d", m.n)
	m.mu.Unlock()
	if err := m.AddUser(name, "secret"); err != nil {
		tb.Fatal(err)
	}
	return name, "secret"
}

// ---- admin client ----

// Client is an IMAP client logged in as a test user, for seeding and inspecting mailboxes.
type Client struct {
	*imapclient.Client
}

// Dial connects in plain text (loopback test servers only) and logs in.
func Dial(addr, user, pass string) (*Client, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return nil, fmt.Errorf("imaptest: dial: %w", err)
	}
	if err := c.Login(user, pass).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("imaptest: login: %w", err)
	}
	return &Client{c}, nil
}

// Login dials for the test and logs out when the test ends.
func Login(tb TB, addr, user, pass string) *Client {
	tb.Helper()
	c, err := Dial(addr, user, pass)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Close logs out and closes the connection.
func (c *Client) Close() error {
	_ = c.Logout().Wait()
	return c.Client.Close()
}

// Append appends one raw message (CRLF line endings) to mbox.
func (c *Client) Append(mbox string, raw []byte) error { return c.AppendAt(mbox, raw, time.Time{}) }

// AppendAt appends one raw message with the given internal date (the "received" time the poller
// records; zero means now).
func (c *Client) AppendAt(mbox string, raw []byte, received time.Time) error {
	cmd := c.Client.Append(mbox, int64(len(raw)), &imap.AppendOptions{Time: received})
	_, werr := cmd.Write(raw)
	cerr := cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		return fmt.Errorf("imaptest: append to %s: %w", mbox, err)
	}
	if err := errors.Join(werr, cerr); err != nil {
		return fmt.Errorf("imaptest: append to %s: %w", mbox, err)
	}
	return nil
}

// Count returns the number of messages in mbox (STATUS MESSAGES).
func (c *Client) Count(mbox string) (int, error) {
	sd, err := c.Status(mbox, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		return 0, fmt.Errorf("imaptest: status %s: %w", mbox, err)
	}
	return int(*sd.NumMessages), nil
}
