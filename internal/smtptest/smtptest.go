// Package smtptest runs a real SMTP server for tests: Debian's python3-aiosmtpd, started by the
// test as a child process on a random 127.0.0.1 port, in a temporary folder, with optional
// implicit TLS or STARTTLS under a test CA made for the run, and optional AUTH PLAIN/LOGIN. Every
// accepted message is stored as a file the test reads back; the answer to DATA can be switched to
// a 4xx or 5xx while the server runs; the server can be stopped and started again on the same
// port. Under CI=true a missing aiosmtpd fails the test (internal/testtool). No production code
// imports it.
package smtptest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/internal/testtool"
)

//go:embed testdata/smtp_server.py
var serverScript []byte

// Python is Debian's interpreter, which has python3-aiosmtpd (a pyenv python3 on PATH may not).
const Python = "/usr/bin/python3"

// Install is what to install when the server cannot start.
const Install = "apt-get install -y python3-aiosmtpd"

// TLS modes of the server.
const (
	TLSNone     = ""
	TLSImplicit = "tls"
	TLSStart    = "starttls"
)

// Options choose the server's security.
type Options struct {
	TLS            string // TLSNone, TLSImplicit or TLSStart
	User, Password string // when set, AUTH (PLAIN, LOGIN) is required before MAIL
}

// Server is one running aiosmtpd.
type Server struct {
	t    testing.TB
	opt  Options
	dir  string // working folder: script, certificates
	out  string // stored messages
	ca   *CA
	mu   sync.Mutex
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// Message is one message the server accepted.
type Message struct {
	Raw           []byte
	Header        mail.Header
	MailFrom      string
	RcptTo        []string
	TLS           bool
	Authenticated bool
}

type envelope struct {
	MailFrom      string   `json:"mail_from"`
	RcptTos       []string `json:"rcpt_tos"`
	TLS           bool     `json:"tls"`
	Authenticated bool     `json:"authenticated"`
}

// python returns an interpreter that has aiosmtpd, or ends the test through testtool.Missing.
func python(t testing.TB) string {
	t.Helper()
	for _, p := range []string{Python, "python3"} {
		bin, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		if exec.Command(bin, "-c", "import aiosmtpd").Run() == nil {
			return bin
		}
	}
	testtool.Missing(t, "python3-aiosmtpd", Install)
	return ""
}

// Start starts a server and stops it when the test ends.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	bin := python(t)
	dir := t.TempDir()
	s := &Server{t: t, opt: opt, dir: dir, out: filepath.Join(dir, "out")}
	if err := os.Mkdir(s.out, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "smtp_server.py"), serverScript, 0o600); err != nil {
		t.Fatal(err)
	}
	if opt.TLS != TLSNone {
		s.ca = NewCA(t, dir)
	}
	if err := s.start(bin); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "server.log")); err == nil && len(b) > 0 {
				t.Logf("aiosmtpd log:\n%s", b)
			}
		}
	})
	return s
}

func (s *Server) args() []string {
	a := []string{filepath.Join(s.dir, "smtp_server.py"), "--out", s.out, "--port", strconv.Itoa(s.port)}
	switch s.opt.TLS {
	case TLSImplicit:
		a = append(a, "--tls")
	case TLSStart:
		a = append(a, "--starttls")
	}
	if s.ca != nil {
		a = append(a, "--cert", s.ca.CertFile, "--key", s.ca.KeyFile)
	}
	if s.opt.User != "" {
		a = append(a, "--auth", s.opt.User+":"+s.opt.Password)
	}
	return a
}

func (s *Server) start(bin string) error {
	cmd := exec.Command(bin, s.args()...)
	cmd.Dir = s.dir
	var stderr bytes.Buffer
	logf, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stderr = io.MultiWriter(&stderr, logf)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("smtptest: start aiosmtpd: %w", err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "READY ") {
				ready <- strings.TrimPrefix(line, "READY ")
			}
		}
		close(ready)
	}()
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case p, ok := <-ready:
		if !ok {
			<-done
			return fmt.Errorf("smtptest: aiosmtpd exited before it listened: %s", stderr.String())
		}
		port, err := strconv.Atoi(p)
		if err != nil {
			return fmt.Errorf("smtptest: bad READY line %q", p)
		}
		s.mu.Lock()
		s.port, s.cmd, s.done = port, cmd, done
		s.mu.Unlock()
		return nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("smtptest: aiosmtpd did not listen within 30 s: %s", stderr.String())
	}
}

// Addr is the server's host:port (the same after a Restart).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// Stop kills the server (as a crash or an outage would) and waits until it is gone.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Restart starts the server again on the same port; stored messages stay.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(python(s.t)); err != nil {
		s.t.Fatal(err)
	}
}

// Respond makes the server answer DATA with line (e.g. "451 4.3.0 try again later") and store
// nothing; "" returns to normal.
func (s *Server) Respond(line string) {
	s.t.Helper()
	if err := os.WriteFile(filepath.Join(s.out, "respond"), []byte(line+"\n"), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

// RootCAs is the pool that verifies the server's certificate (nil without TLS).
func (s *Server) RootCAs() *x509.CertPool {
	if s.ca == nil {
		return nil
	}
	return s.ca.Pool
}

// TLSConfig is a client configuration that verifies the server against the test CA.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.RootCAs(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// Messages returns every message stored so far, in arrival order.
func (s *Server) Messages() []Message {
	s.t.Helper()
	names, err := filepath.Glob(filepath.Join(s.out, "*.eml"))
	if err != nil {
		s.t.Fatal(err)
	}
	sort.Strings(names)
	out := make([]Message, 0, len(names))
	for _, n := range names {
		raw, err := os.ReadFile(n)
		if err != nil {
			s.t.Fatal(err)
		}
		m := Message{Raw: raw}
		if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
			m.Header = msg.Header
		} else {
			s.t.Fatalf("smtptest: stored message %s does not parse: %v", filepath.Base(n), err)
		}
		var env envelope
		if b, err := os.ReadFile(strings.TrimSuffix(n, ".eml") + ".json"); err == nil && json.Unmarshal(b, &env) == nil {
			m.MailFrom, m.RcptTo, m.TLS, m.Authenticated = env.MailFrom, env.RcptTos, env.TLS, env.Authenticated
		}
		out = append(out, m)
	}
	return out
}

// WaitMessages waits until at least n messages are stored (or fails the test after timeout) and
// returns all of them.
func (s *Server) WaitMessages(n int, timeout time.Duration) []Message {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ms := s.Messages()
		if len(ms) >= n {
			return ms
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("smtptest: %d messages stored, want %d", len(ms), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
