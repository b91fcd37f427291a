package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fhi/sysvak-import/internal/imaptest"
	"github.com/fhi/sysvak-import/internal/pgtest"
)

// The multi-process tests run this test binary as the CLI (TestMain sees cliEnv), so that
// pollers are separate processes that can be killed, without building the program first.
const cliEnv = "SYSVAK_IMPORT_TEST_AS_CLI"

// runAsCLI runs the program as main would, when the test binary was started as the CLI.
func runAsCLI() {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, now: time.Now}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}

// pgWorld is one mailbox, one PostgreSQL state and the folders of several poller processes.
type pgWorld struct {
	t        *testing.T
	cluster  *pgtest.Cluster
	url      string // without the password: the processes get PGPASSWORD
	db       string
	dir, out string
	admin    *imaptest.Client
	pollArgs []string
	env      []string
	logs     []*bytes.Buffer
	conn     *pgx.Conn
}

func newPGWorld(t *testing.T, srv imaptest.Server, cluster *pgtest.Cluster) *pgWorld {
	t.Helper()
	db, err := cluster.CreateDatabase(context.Background(), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	u, p := srv.NewUser(t)
	w := &pgWorld{t: t, cluster: cluster, url: cluster.URL(db), db: db, dir: t.TempDir()}
	w.out = filepath.Join(w.dir, "out")
	w.admin = imaptest.Login(t, srv.Addr(), u, p)
	write := func(name, content string) string {
		path := filepath.Join(w.dir, name)
		if err := os.WriteFile(path, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	w.pollArgs = []string{"poll", "--imap-addr", srv.Addr(), "--imap-tls", "insecure", "--imap-user", u,
		"--imap-password-file", write("imap.txt", p), "--password-file", write("pw.txt", knownPW),
		"--state", w.url, "--out", w.out, "--as-of", "2026-11-23", "--log-format", "json", "--log-level", "debug", "--claim-lease", "5s"}
	w.env = append(os.Environ(), cliEnv+"=1")
	w.env = append(w.env, cluster.Env()...)
	return w
}

// start starts a poller process with its own password drop-box.
func (w *pgWorld) start(extra ...string) *exec.Cmd {
	w.t.Helper()
	n := len(w.logs)
	args := append(append([]string{}, w.pollArgs...), "--password-dir", filepath.Join(w.dir, fmt.Sprintf("pw%d", n)))
	cmd := exec.Command(os.Args[0], append(args, extra...)...)
	cmd.Env = w.env
	log := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	w.logs = append(w.logs, log)
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	return cmd
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// query runs a query on the world's database (one connection, opened on first use).
func (w *pgWorld) query(q string, args ...any) pgx.Rows {
	w.t.Helper()
	rows, err := w.tryQuery(q, args...)
	if err != nil {
		rows, err = w.tryQuery(q, args...)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return rows
}

func (w *pgWorld) tryQuery(q string, args ...any) (pgx.Rows, error) {
	if w.conn == nil {
		conn, err := pgx.Connect(context.Background(), w.cluster.DSN(w.db))
		if err != nil {
			return nil, err
		}
		w.conn = conn
		w.t.Cleanup(func() { conn.Close(context.Background()) })
	}
	rows, err := w.conn.Query(context.Background(), q, args...)
	if err != nil { // a restarted server cut the connection: the next query reconnects
		w.conn.Close(context.Background())
		w.conn = nil
	}
	return rows, err
}

// check verifies the end state: every message moved once, every file one outcome and one report,
// no key twice, and the records table equal to the records files.
func (w *pgWorld) check(c *pollCorpus) {
	w.t.Helper()
	for f, want := range map[string]int{"INBOX": 0, "Processed+Rejected": len(c.msgs)} {
		var n int
		if f == "INBOX" {
			n, _ = w.admin.Count("INBOX")
		} else {
			p, _ := w.admin.Count("Processed")
			r, _ := w.admin.Count("Rejected")
			n = p + r
		}
		if n != want {
			w.t.Fatalf("%s holds %d messages, want %d (each message moved once)\n%s", f, n, want, w.allLogs())
		}
	}
	status := map[string]string{}
	rows := w.query("SELECT file_id, status FROM files")
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			w.t.Fatal(err)
		}
		status[id] = st
	}
	if len(status) != len(c.files) {
		w.t.Fatalf("%d files in the state, want %d", len(status), len(c.files))
	}
	sms := map[string]bool{}
	for _, id := range c.sms {
		sms[id] = true
	}
	for id, st := range status {
		want := "processed"
		if sms[id] {
			want = "waiting_password"
		} else if c.files[id] != nil && c.files[id].failCode != "" {
			want = "rejected"
		}
		if st != want {
			w.t.Errorf("file %s: status %s, want %s", id, st, want)
		}
		if _, err := os.Stat(filepath.Join(w.out, id, "report.json")); err != nil {
			w.t.Errorf("file %s (%s): no report: %v", id, st, err)
		}
	}
	w.checkRecords(c)
}

// checkRecords: the records table holds exactly the lines of the records files, no key twice.
func (w *pgWorld) checkRecords(c *pollCorpus) {
	w.t.Helper()
	var table []string
	rows := w.query("SELECT record::text FROM records ORDER BY file_id, row_no")
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			w.t.Fatal(err)
		}
		table = append(table, s)
	}
	var files []string
	paths := committedRecords(w.out)
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			w.t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			files = append(files, sc.Text())
		}
		f.Close()
	}
	sort.Strings(table)
	sort.Strings(files)
	if strings.Join(table, "\n") != strings.Join(files, "\n") {
		w.t.Fatalf("records table (%d) differs from the records files (%d)", len(table), len(files))
	}
	want := c.records // once every password is known: the SMS files still wait
	for _, id := range c.sms {
		want -= c.files[id].records
	}
	if len(table) != want {
		w.t.Errorf("%d records, want %d", len(table), want)
	}
	keys := map[string]int{}
	for _, line := range table {
		var r struct {
			P string `json:"person_id"`
			D string `json:"vaccination_date"`
			C string `json:"sysvak_code"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			w.t.Fatal(err)
		}
		keys[r.P+"|"+r.D+"|"+r.C]++
	}
	for _, n := range keys {
		if n > 1 {
			w.t.Fatalf("a key was registered %d times", n)
		}
	}
	var live int
	rows = w.query("SELECT count(*) FROM ledger_keys WHERE NOT deleted")
	for rows.Next() {
		_ = rows.Scan(&live)
	}
	if live != len(keys) {
		w.t.Errorf("ledger holds %d live keys, records name %d", live, len(keys))
	}
}

func (w *pgWorld) allLogs() string {
	var b strings.Builder
	for i, l := range w.logs {
		s := l.String()
		if p := os.Getenv("SYSVAK_POLLER_LOGS"); p != "" {
			_ = os.WriteFile(fmt.Sprintf("%s.%d", p, i), []byte(s), 0o600)
		}
		fmt.Fprintf(&b, "--- poller %d ---\n%s\n", i, s[max(0, len(s)-3000):])
	}
	return b.String()
}

// dovecotAndPG starts what the multi-process tests need.
func dovecotAndPG(t *testing.T) (*imaptest.Dovecot, *pgtest.Cluster) {
	return imaptest.NewDovecot(t), pg.Cluster(t)
}

// Two pollers, separate processes, started at the same moment against one Dovecot mailbox of 60
// messages and one PostgreSQL state: every message moved once, every file one outcome and one
// report, no key registered twice, the records table equal to the records files.
func TestTwoPollersPostgresDovecot(t *testing.T) {
	srv, cluster := dovecotAndPG(t)
	c := buildPollCorpus(t, 60)
	w := newPGWorld(t, srv, cluster)
	appendAll(t, w.admin, c.msgs)
	a, b := w.start("--once"), w.start("--once")
	ca, cb := exitCode(a.Wait()), exitCode(b.Wait())
	for i, code := range []int{ca, cb} {
		if code != exitOK && code != exitRowsRejects && code != exitFileFailed {
			t.Fatalf("poller %d: exit %d\n%s", i, code, w.allLogs())
		}
	}
	w.check(c)
	for i, l := range w.logs { // how the work was shared (informational: timing decides)
		t.Logf("poller %d: %d log lines naming a file", i, strings.Count(l.String(), `"file_id"`))
	}
	if strings.Contains(w.allLogs(), cluster.Password()) {
		t.Fatal("a poller logged the database password")
	}
}

// killRuns is how many SIGKILL runs TestKillPollerPostgres makes (SYSVAK_SOAK_RUNS for `make soak`).
func killRuns() int {
	if n, err := strconv.Atoi(os.Getenv("SYSVAK_SOAK_RUNS")); err == nil && n > 0 {
		return n
	}
	return 20
}

// One of two long-running pollers is killed (SIGKILL) at a random moment, again and again: nothing
// is lost, nothing doubled, and the survivor finishes the work (taking over the dead one's claims
// once their lease has run out).
//
// The records compared are the committed output sets': the killed poller's half-written set
// stays in its hidden temporary folder (removed once stale), which is not output.
func TestKillPollerPostgres(t *testing.T) {
	srv := imaptest.NewDovecotWith(t, imaptest.DovecotOptions{Users: killRuns()}) // a user per run
	cluster := pg.Cluster(t)
	c := buildPollCorpus(t, 12)
	for run := 0; run < killRuns(); run++ {
		t.Run(fmt.Sprintf("run%02d", run), func(t *testing.T) {
			w := newPGWorld(t, srv, cluster)
			appendAll(t, w.admin, c.msgs)
			a, b := w.start("--interval", "300ms"), w.start("--interval", "300ms")
			time.Sleep(time.Duration(rand.IntN(1500)) * time.Millisecond)
			_ = a.Process.Signal(syscall.SIGKILL)
			_ = a.Wait()
			w.waitDone(c, 60*time.Second)
			_ = b.Process.Signal(syscall.SIGTERM)
			if code := exitCode(b.Wait()); code != exitOK && code != exitRowsRejects && code != exitFileFailed && code != exitOperational {
				t.Fatalf("survivor: exit %d\n%s", code, w.allLogs())
			}
			w.check(c)
		})
	}
}

// waitDone waits until the mailbox is empty and every file has its final status and report.
func (w *pgWorld) waitDone(c *pollCorpus, limit time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		inbox, _ := w.admin.Count("INBOX")
		open, n := -1, -1
		if rows, err := w.tryQuery("SELECT count(*) FILTER (WHERE status IN ('arrived', 'processing') OR NOT written AND status <> 'waiting_password'), count(*) FROM files"); err == nil {
			for rows.Next() {
				_ = rows.Scan(&open, &n)
			}
			rows.Close()
		} // before the first poller migrated the schema there is no table yet
		if inbox == 0 && open == 0 && n == len(c.files) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	inbox, _ := w.admin.Count("INBOX")
	var diag strings.Builder
	fmt.Fprintf(&diag, "INBOX %d;", inbox)
	if rows, err := w.tryQuery("SELECT file_id, status, written, claimed_by, coalesce(lease_until::text, '') FROM files ORDER BY file_id"); err == nil {
		for rows.Next() {
			var id, st, by, lease string
			var written bool
			_ = rows.Scan(&id, &st, &written, &by, &lease)
			fmt.Fprintf(&diag, " %s:%s:%v:%s:%s", id, st, written, by, lease)
		}
		rows.Close()
	}
	if rows, err := w.tryQuery("SELECT uid, claimed_by, coalesce(lease_until::text, '') FROM message_claims WHERE claimed_by <> ''"); err == nil {
		for rows.Next() {
			var uid int64
			var by, lease string
			_ = rows.Scan(&uid, &by, &lease)
			fmt.Fprintf(&diag, " msg %d claimed by %s until %s;", uid, by, lease)
		}
		rows.Close()
	}
	w.t.Fatalf("the work was not finished within %v: %s\n%s", limit, diag.String(), w.allLogs())
}

// PostgreSQL restarted (pg_ctl restart) while a long-running poller works: it reconnects and
// finishes. While the database is down, poll --once exits 4.
func TestPollerSurvivesPostgresRestart(t *testing.T) {
	srv := imaptest.NewDovecot(t)
	cluster := pgtest.New(t, pgtest.Options{})
	c := buildPollCorpus(t, 20)
	w := newPGWorld(t, srv, cluster)
	appendAll(t, w.admin, c.msgs[:10])
	p := w.start("--interval", "300ms")
	time.Sleep(1500 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cluster.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	appendAll(t, w.admin, c.msgs[10:])
	w.waitDone(c, 90*time.Second)
	if err := cluster.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	once := w.start("--once")
	if code := exitCode(once.Wait()); code != exitOperational {
		t.Fatalf("poll --once with the database down: exit %d, want 4\n%s", code, w.allLogs())
	}
	if err := cluster.Start(ctx); err != nil {
		t.Fatal(err)
	}
	_ = p.Process.Signal(syscall.SIGTERM)
	_ = p.Wait()
	w.check(c)
}
