package mailbox

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/fhi/sysvak-import/internal/secret"
)

// serverHandle is an IMAP server for the conformance suite: the in-memory one or a real Dovecot.
type serverHandle interface {
	Addr() string
	// NewUser returns the credentials of a fresh user whose INBOX is empty.
	NewUser(t testing.TB) (user, pass string)
}

// ---- go-imap in-memory server (libraries.md §3.3) ----

type memHandle struct {
	addr string
	mem  *imapmemserver.Server
	mu   sync.Mutex
	n    int
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}
func (quietLogger) Println(...any)        {}

func newMemServer(t testing.TB) serverHandle {
	mem := imapmemserver.New()
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}, // rev2 => MOVE, IDLE, UIDPLUS
		InsecureAuth: true,
		Logger:       quietLogger{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &memHandle{addr: ln.Addr().String(), mem: mem}
}

func (h *memHandle) Addr() string { return h.addr }

func (h *memHandle) NewUser(t testing.TB) (string, string) {
	h.mu.Lock()
	h.n++
	name := fmt.Sprintf("user%d", h.n)
	h.mu.Unlock()
	u := imapmemserver.NewUser(name, "secret")
	if err := u.Create("INBOX", nil); err != nil { // NewUser has no mailboxes, not even INBOX
		panic(err)
	}
	h.mem.AddUser(u)
	return name, "secret"
}

// ---- real Dovecot (libraries.md §3.4), rootless, on a free loopback port ----

type dovecotHandle struct {
	addr string
	mu   sync.Mutex
	n    int
	max  int
}

const dovecotUsers = 80

// newDovecot starts Dovecot in the foreground (-F, a child of the test) as an unprivileged user
// (nobody/nogroup when the test runs as root) with a passwd-file of dovecotUsers users, and
// stops it in t.Cleanup. It skips only when the dovecot binary is absent.
func newDovecot(t testing.TB) serverHandle {
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/dovecot"); serr == nil {
			bin = "/usr/sbin/dovecot"
		} else {
			t.Skip("dovecot is not installed (apt-get install -y dovecot-imapd); skipping the real-server tests")
		}
	}
	dir, err := os.MkdirTemp("", "dovetest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	runUser, runGroup := "nobody", "nogroup"
	var uid, gid int
	if os.Geteuid() == 0 {
		u, err := user.Lookup(runUser)
		if err != nil {
			t.Fatal(err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		if g, err := user.LookupGroupId(u.Gid); err == nil {
			runGroup = g.Name
		}
	} else {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			t.Fatal(err)
		}
		runUser, runGroup = u.Username, g.Name
		uid, gid = os.Geteuid(), os.Getegid()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var users strings.Builder
	for i := 1; i <= dovecotUsers; i++ {
		fmt.Fprintf(&users, "u%02d:{PLAIN}secret\n", i)
	}
	conf := strings.NewReplacer("$D", dir, "$PORT", strconv.Itoa(port), "$USER", runUser, "$GROUP", runGroup).Replace(dovecotConf)
	for _, d := range []string{"run", "state", "mail"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte(users.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dovecot.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		_ = filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, uid, gid) })
		_ = os.Chmod(dir, 0o700)
	}
	cmd := exec.Command(bin, "-F", "-c", filepath.Join(dir, "dovecot.conf"))
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dovecot: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "* OK") {
				break
			}
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Fatalf("dovecot exited: %s\n%s", out.String(), log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Fatalf("dovecot did not listen on %s: %s\n%s", addr, out.String(), log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &dovecotHandle{addr: addr, max: dovecotUsers}
}

func (h *dovecotHandle) Addr() string { return h.addr }

func (h *dovecotHandle) NewUser(t testing.TB) (string, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n++
	if h.n > h.max {
		t.Fatal("out of dovecot test users")
	}
	return fmt.Sprintf("u%02d", h.n), "secret"
}

const dovecotConf = `base_dir = $D/run
state_dir = $D/state
instance_name = dovetest
log_path = $D/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = $USER
default_internal_group = $GROUP
default_login_user = $USER
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:$D/mail/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/users
}
userdb {
  driver = static
  args = uid=$USER gid=$GROUP home=$D/mail/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service stats {
  chroot =
}
`

// ---- a TCP proxy that can drop every connection (the "server drops the connection" test) ----

type dropProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newDropProxy(t testing.TB, target string) *dropProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dropProxy{ln: ln, target: target}
	go func() {
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
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.DropAll() })
	return p
}

func (p *dropProxy) Addr() string { return p.ln.Addr().String() }

func (p *dropProxy) DropAll() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.conns) / 2
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	return n
}

func benchAdmin(tb testing.TB, addr, u, pw string) *imapclient.Client {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Login(u, pw).Wait(); err != nil {
		tb.Fatal(err)
	}
	return c
}

func secretOf(s string) secret.Secret { return secret.New([]byte(s)) }

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
