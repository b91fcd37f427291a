// Package pgtest runs a throw-away PostgreSQL cluster for tests: Debian's initdb and pg_ctl (from
// /usr/lib/postgresql/<version>/bin, the newest version 15 or later), a data folder and a socket
// folder in a temporary directory, a random port on 127.0.0.1, run unprivileged (as "nobody" when
// the test runs as root, because initdb and postgres refuse root). The cluster is removed by
// Close. Stop, Start and Restart let outage tests take the server away and bring it back on the
// same port.
//
// The superuser has a random password and host connections require it (scram-sha-256), so the
// tests exercise the same password path as a production database.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoPostgres is returned by StartCluster when no PostgreSQL 15+ server binaries are installed.
var ErrNoPostgres = errors.New("pgtest: PostgreSQL 15 or newer is not installed (apt-get install -y postgresql)")

// InstallHint says how to get the binaries.
const InstallHint = "apt-get install -y postgresql"

// Superuser is the name of the cluster's superuser.
const Superuser = "sysvak_test"

// Options tune StartCluster.
type Options struct {
	// Durable keeps fsync and synchronous_commit on (benchmarks measure what production pays).
	// Off by default: a test cluster is thrown away, and fsync off makes CREATE DATABASE fast.
	Durable bool
	// MaxConnections defaults to 200 (several pollers, each with a pool, in one test).
	MaxConnections int
}

// Cluster is a running (or stopped) throw-away cluster.
type Cluster struct {
	bin      string
	dir      string
	port     int
	password string
	cred     *syscall.Credential
	mu       sync.Mutex
	seq      int
}

// FindBinDir returns the newest /usr/lib/postgresql/<major>/bin with major >= 15 that has initdb,
// pg_ctl and postgres (PGTEST_BINDIR overrides), or ErrNoPostgres.
func FindBinDir() (string, error) {
	if d := os.Getenv("PGTEST_BINDIR"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	type cand struct {
		major int
		dir   string
	}
	var cands []cand
	for _, d := range dirs {
		major, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err != nil || major < 15 {
			continue
		}
		ok := true
		for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
			if _, err := os.Stat(filepath.Join(d, b)); err != nil {
				ok = false
			}
		}
		if ok {
			cands = append(cands, cand{major, d})
		}
	}
	if len(cands) == 0 {
		return "", ErrNoPostgres
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].major > cands[j].major })
	return cands[0].dir, nil
}

// StartCluster initialises and starts a cluster. Close it when done.
func StartCluster(ctx context.Context, o Options) (*Cluster, error) {
	bin, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	sweepStale(bin, cred)
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c := &Cluster{bin: bin, dir: dir, cred: cred, password: randomHex(16)}
	if err := c.init(ctx, o); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	var startErr error
	for attempt := 0; attempt < 5; attempt++ {
		if startErr = c.configurePort(); startErr != nil {
			break
		}
		if startErr = c.Start(ctx); startErr == nil {
			return c, nil
		}
	}
	os.RemoveAll(dir)
	return nil, startErr
}

// ownerFile holds the pid of the test process that made a cluster.
const ownerFile = "owner.pid"

// sweepStale stops and removes clusters left behind by test processes that died without Close
// (a test binary killed by its timeout): those whose owner process is gone.
func sweepStale(bin string, cred *syscall.Credential) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "pgtest-*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue // not ours, or its process still runs
		}
		c := &Cluster{bin: bin, dir: d, cred: cred}
		_ = c.Close()
	}
}

// credential returns the user to run PostgreSQL as: nil (the caller) unless the caller is root,
// then "nobody".
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root, and there is no user nobody to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }
func (c *Cluster) sockDir() string { return filepath.Join(c.dir, "sock") }
func (c *Cluster) logFile() string { return filepath.Join(c.dir, "postgres.log") }

func (c *Cluster) init(ctx context.Context, o Options) error {
	if err := os.MkdirAll(c.sockDir(), 0o700); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	pwfile := filepath.Join(c.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := c.chown(); err != nil {
		return err
	}
	out, err := c.run(ctx, "initdb", "-D", c.dataDir(), "-U", Superuser, "--pwfile", pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	os.Remove(pwfile)
	if err != nil {
		return fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	maxConn := o.MaxConnections
	if maxConn == 0 {
		maxConn = 200
	}
	conf := fmt.Sprintf("listen_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nmax_connections = %d\n"+
		"shared_buffers = 32MB\nlogging_collector = off\ninclude_if_exists = 'port.conf'\n", c.sockDir(), maxConn)
	if !o.Durable {
		conf += "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
	}
	f, err := os.OpenFile(filepath.Join(c.dataDir(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(conf); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return nil
}

// configurePort picks a free loopback port and writes it into the cluster's configuration.
func (c *Cluster) configurePort() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	c.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p := filepath.Join(c.dataDir(), "port.conf")
	if err := os.WriteFile(p, []byte(fmt.Sprintf("port = %d\n", c.port)), 0o600); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return c.chown()
}

func (c *Cluster) chown() error {
	if c.cred == nil {
		return nil
	}
	uid, gid := int(c.cred.Uid), int(c.cred.Gid)
	return filepath.Walk(c.dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if err := os.Lchown(p, uid, gid); err != nil {
			return fmt.Errorf("pgtest: chown %s: %w", p, err)
		}
		return nil
	})
}

// run runs one of the cluster's programs as the cluster's user.
func (c *Cluster) run(ctx context.Context, prog string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, prog), args...)
	cmd.Dir = c.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "TZ=UTC"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.cred != nil {
		cmd.SysProcAttr.Credential = c.cred
	}
	return cmd.CombinedOutput()
}

// Start starts a stopped cluster and waits until it accepts connections.
func (c *Cluster) Start(ctx context.Context) error {
	out, err := c.run(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", c.dataDir(), "-l", c.logFile())
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl start: %w\n%s\n%s", err, out, c.Log())
	}
	return nil
}

// Stop stops the cluster (fast shutdown: connections are cut).
func (c *Cluster) Stop(ctx context.Context) error {
	out, err := c.run(ctx, "pg_ctl", "stop", "-w", "-t", "60", "-m", "fast", "-D", c.dataDir())
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// Restart is pg_ctl restart (fast): connections are cut, the server comes back on the same port.
func (c *Cluster) Restart(ctx context.Context) error {
	out, err := c.run(ctx, "pg_ctl", "restart", "-w", "-t", "60", "-m", "fast", "-D", c.dataDir(), "-l", c.logFile())
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl restart: %w\n%s", err, out)
	}
	return nil
}

// Close stops the cluster (immediate shutdown) and removes its folder.
func (c *Cluster) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := os.Stat(filepath.Join(c.dataDir(), "postmaster.pid")); err == nil {
		_, _ = c.run(ctx, "pg_ctl", "stop", "-w", "-t", "30", "-m", "immediate", "-D", c.dataDir())
	}
	return os.RemoveAll(c.dir)
}

// Log returns the server log (for failure messages).
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(c.logFile())
	return string(b)
}

// Port is the server's TCP port on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// Password is the superuser's password.
func (c *Cluster) Password() string { return c.password }

// URL is a connection URL for database db without the password (use it with PGPASSWORD, see
// Env), as a user would pass it to --state.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", Superuser, c.port, url.PathEscape(db))
}

// DSN is URL with the password in it, for in-process connections.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", Superuser, c.password, c.port, url.PathEscape(db))
}

// Env is the libpq environment for the superuser on this cluster (PGPASSWORD among it).
func (c *Cluster) Env() []string {
	return []string{"PGHOST=127.0.0.1", "PGPORT=" + strconv.Itoa(c.port), "PGUSER=" + Superuser,
		"PGPASSWORD=" + c.password, "PGSSLMODE=disable"}
}

// CreateDatabase creates a new, empty database with a unique name starting with prefix and
// returns its name.
func (c *Cluster) CreateDatabase(ctx context.Context, prefix string) (string, error) {
	c.mu.Lock()
	c.seq++
	name := fmt.Sprintf("%s_%d", sanitize(prefix), c.seq)
	c.mu.Unlock()
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return "", fmt.Errorf("pgtest: connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" STRATEGY FILE_COPY"); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return name, nil
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	if len(out) > 40 {
		out = out[:40]
	}
	if out == "" || (out[0] >= '0' && out[0] <= '9') {
		out = "db_" + out
	}
	return out
}
