package imaptest

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/fhi/sysvak-import/internal/testtool"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrNoDovecot is returned by StartDovecot when the dovecot binary is not installed.
var ErrNoDovecot = errors.New("imaptest: dovecot is not installed (apt-get install -y dovecot-imapd)")

// DefaultDovecotUsers is the number of users NewDovecot creates.
const DefaultDovecotUsers = 80

// Dovecot is a real Dovecot (libraries.md §3.4) run in the foreground as a child process, rootless
// (or as nobody/nogroup when the caller is root), on a free 127.0.0.1 port, with a passwd-file of
// users u01, u02, ... (password "secret") and Maildir folders in a temporary directory.
type Dovecot struct {
	addr string
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	n    int
	max  int
}

func dovecotBinary() (string, error) {
	if bin, err := exec.LookPath("dovecot"); err == nil {
		return bin, nil
	}
	for _, p := range []string{"/usr/sbin/dovecot", "/usr/local/sbin/dovecot"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", ErrNoDovecot
}

// DovecotOptions configure StartDovecotWith.
type DovecotOptions struct {
	Users int // default DefaultDovecotUsers
	// OAuth, when set, adds the SASL mechanisms XOAUTH2 and OAUTHBEARER, checked by Dovecot's
	// oauth2 passdb validating the issuer's JWT access tokens locally (introspection_mode =
	// local, with the issuer's key in a key dict): the token's "sub" must be the user name.
	// The passwd-file users keep their password for PLAIN and LOGIN.
	OAuth *Issuer
}

// StartDovecot starts Dovecot with the given number of users and waits until it greets. Stop
// it with Close. It returns ErrNoDovecot when Dovecot is not installed.
func StartDovecot(users int) (*Dovecot, error) {
	return StartDovecotWith(DovecotOptions{Users: users})
}

// StartDovecotWith starts Dovecot as StartDovecot does, with options.
func StartDovecotWith(opts DovecotOptions) (*Dovecot, error) {
	bin, err := dovecotBinary()
	if err != nil {
		return nil, err
	}
	if opts.Users <= 0 {
		opts.Users = DefaultDovecotUsers
	}
	dir, err := os.MkdirTemp("", "dovetest-")
	if err != nil {
		return nil, fmt.Errorf("imaptest: %w", err)
	}
	d, err := startDovecot(bin, dir, opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return d, nil
}

// startDovecot writes a configuration for Dovecot under dir, starts it and waits for its greeting.
func startDovecot(bin, dir string, opts DovecotOptions) (*Dovecot, error) {
	as, err := dovecotRunAs()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := writeDovecotConfig(bin, dir, opts, port, as); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-F", "-c", filepath.Join(dir, "dovecot.conf"))
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if as.root {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(as.uid), Gid: uint32(as.gid)}
	}
	out := &syncBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("imaptest: start dovecot: %w", err)
	}
	d := &Dovecot{addr: fmt.Sprintf("127.0.0.1:%d", port), dir: dir, cmd: cmd, done: make(chan struct{}), max: opts.Users}
	go func() { _ = cmd.Wait(); close(d.done) }()
	if err := d.waitGreeting(out); err != nil {
		return nil, err
	}
	return d, nil
}

// dovecotAccount is the account Dovecot runs as: nobody when we are root, else the current
// user.
type dovecotAccount struct {
	user, group string
	uid, gid    int
	root        bool
}

// dovecotRunAs looks up the account Dovecot runs as.
func dovecotRunAs() (dovecotAccount, error) {
	as := dovecotAccount{user: "nobody", group: "nogroup", root: os.Geteuid() == 0}
	if as.root {
		u, err := user.Lookup(as.user)
		if err != nil {
			return as, fmt.Errorf("imaptest: %w", err)
		}
		as.uid, _ = strconv.Atoi(u.Uid)
		as.gid, _ = strconv.Atoi(u.Gid)
		if g, err := user.LookupGroupId(u.Gid); err == nil {
			as.group = g.Name
		}
		return as, nil
	}
	u, err := user.Current()
	if err != nil {
		return as, fmt.Errorf("imaptest: %w", err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return as, fmt.Errorf("imaptest: %w", err)
	}
	as.user, as.group = u.Username, g.Name
	as.uid, as.gid = os.Geteuid(), os.Getegid()
	return as, nil
}

// freePort is a local TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("imaptest: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port, nil
}

// writeDovecotConfig writes Dovecot's configuration, its users (all with password secret)
// and its directories under dir, with OAuth set up if opts asks for it; as root it hands
// dir to the account Dovecot runs as.
func writeDovecotConfig(bin, dir string, opts DovecotOptions, port int, as dovecotAccount) error {
	var passwd strings.Builder
	for i := 1; i <= opts.Users; i++ {
		fmt.Fprintf(&passwd, "%s:{PLAIN}secret\n", dovecotUser(i))
	}
	confText := dovecotConf
	if opts.OAuth != nil {
		if err := checkOAuthVersion(bin); err != nil {
			return err
		}
		confText = strings.Replace(confText, "auth_mechanisms = plain login\n", dovecotOAuthConf, 1)
		confText = strings.Replace(confText, "service anvil {\n", dovecotNoPenalty, 1)
		if err := opts.OAuth.writeValidationKey(filepath.Join(dir, "keys")); err != nil {
			return err
		}
		oauthExt := strings.ReplaceAll(dovecotOAuthExt, "$D", dir)
		if err := os.WriteFile(filepath.Join(dir, "dovecot-oauth2.conf.ext"), []byte(oauthExt), 0o600); err != nil {
			return fmt.Errorf("imaptest: %w", err)
		}
	}
	conf := strings.NewReplacer("$D", dir, "$PORT", strconv.Itoa(port), "$USER", as.user, "$GROUP", as.group).Replace(confText)
	for _, sub := range []string{"run", "state", "mail"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return fmt.Errorf("imaptest: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte(passwd.String()), 0o600); err != nil {
		return fmt.Errorf("imaptest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dovecot.conf"), []byte(conf), 0o600); err != nil {
		return fmt.Errorf("imaptest: %w", err)
	}
	if as.root {
		_ = filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, as.uid, as.gid) })
		_ = os.Chmod(dir, 0o700)
	}
	return nil
}

// waitGreeting waits up to 15 seconds for Dovecot's IMAP greeting, stopping it if it does not
// come; the error carries Dovecot's output (out) and log.
func (d *Dovecot) waitGreeting(out *syncBuf) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", d.addr, time.Second)
		if err == nil {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "* OK") {
				return nil
			}
		}
		select {
		case <-d.done:
			log, _ := os.ReadFile(filepath.Join(d.dir, "dovecot.log"))
			return fmt.Errorf("imaptest: dovecot exited: %s\n%s", out.String(), log)
		default:
		}
		if time.Now().After(deadline) {
			d.stop()
			log, _ := os.ReadFile(filepath.Join(d.dir, "dovecot.log"))
			return fmt.Errorf("imaptest: dovecot did not listen on %s: %s\n%s", d.addr, out.String(), log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// NewDovecot starts Dovecot with DefaultDovecotUsers users for the test and stops it when the
// test ends. It skips the test, with a message, only when Dovecot is not installed.
func NewDovecot(tb TB) *Dovecot {
	tb.Helper()
	return NewDovecotWith(tb, DovecotOptions{})
}

// NewDovecotWith starts Dovecot with options for the test, as NewDovecot does.
func NewDovecotWith(tb TB, opts DovecotOptions) *Dovecot {
	tb.Helper()
	d, err := StartDovecotWith(opts)
	if errors.Is(err, ErrNoDovecot) {
		testtool.Missing(tb, "dovecot", "apt-get install -y dovecot-imapd")
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = d.Close() })
	return d
}

func (d *Dovecot) stop() {
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
	}
}

// Close stops Dovecot (SIGTERM to its process group, SIGKILL after 10 s) and removes its files.
func (d *Dovecot) Close() error {
	d.stop()
	return os.RemoveAll(d.dir)
}

// Addr is the server's host:port.
func (d *Dovecot) Addr() string { return d.addr }

// Log returns Dovecot's log so far (logins with their method, authentication failures and why).
func (d *Dovecot) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.dir, "dovecot.log"))
	return string(b)
}

// NewUser hands out the next unused user of the passwd-file.
func (d *Dovecot) NewUser(tb TB) (string, string) {
	tb.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n++
	if d.n > d.max {
		tb.Fatal("imaptest: out of dovecot test users")
	}
	return dovecotUser(d.n), "secret"
}

func dovecotUser(i int) string { return fmt.Sprintf("u%02d", i) }

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
  mechanisms = plain login
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

// dovecotOAuthConf replaces the auth_mechanisms line when OAuth is on: the oauth2 passdb takes
// XOAUTH2 and OAUTHBEARER, the passwd-file keeps PLAIN and LOGIN (without its "mechanisms" line
// Dovecot would also try an OAuth token as the user's password).
// Refusals are logged with their reason (auth_verbose) and answered at once.
const dovecotOAuthConf = `auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
auth_verbose = yes
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $D/dovecot-oauth2.conf.ext
}
`

// checkOAuthVersion makes sure the Dovecot is a 2.3 with local JWT validation (2.3.11 and later;
// Debian 12 has 2.3.19). Dovecot 2.4 configures OAuth 2.0 differently (no oauth2 passdb for
// tokens), so the configuration below would not apply to it.
func checkOAuthVersion(bin string) error {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return fmt.Errorf("imaptest: dovecot --version: %w", err)
	}
	v := strings.Fields(string(out))
	var major, minor, patch int
	if len(v) > 0 {
		_, _ = fmt.Sscanf(v[0], "%d.%d.%d", &major, &minor, &patch)
	}
	if major != 2 || minor != 3 || patch < 11 {
		return fmt.Errorf("imaptest: the oauth2 passdb configuration is written for Dovecot 2.3.11 or later 2.3 releases, found %q", strings.TrimSpace(string(out)))
	}
	return nil
}

// dovecotNoPenalty turns off the authentication penalty (Authentication.Penalty in Dovecot's
// docs): a test that checks refusals would otherwise wait up to 15 s per refusal.
const dovecotNoPenalty = `service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
`

// dovecotOAuthExt is the oauth2 passdb's configuration: local JWT validation with the key dict
// (fs driver: one file per key, <prefix>/<azp>/<alg>/<kid>), the user name from "sub".
const dovecotOAuthExt = `introspection_mode = local
local_validation_key_dict = fs:posix:prefix=$D/keys/
username_attribute = sub
`

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
