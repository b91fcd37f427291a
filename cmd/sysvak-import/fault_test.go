package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/fixtures/hostile"
	"github.com/fhi/sysvak-import/fixtures/mail/mailgen"
	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/internal/imaptest"
	"github.com/fhi/sysvak-import/internal/state/folder/spool"
)

// Disk and fault paths (issue 7): out of space, a read-only output folder, a file-size limit
// that makes every write past it fail, an IMAP connection dropped in the middle of a FETCH, and a
// state store held by another process. Each run ends with exit 4 and a message naming the
// cause, leaves no partial output (no temporary set, no set without its reports), and leaves a
// state from which the next run completes.

// benchBook writes a valid workbook of n rows (records.jsonl of about 250 bytes a row).
func benchBook(t *testing.T, dir string, n int) string {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("bench-%d.xlsx", n))
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := fixturegen.WriteBench(f, n, fixturegen.BenchSST); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// assertNoPartialOutput: the out folder holds only complete sets (report.json and report.txt,
// records.jsonl where import wrote one) and no temporary folder.
func assertNoPartialOutput(t *testing.T, out string) {
	t.Helper()
	ents, err := os.ReadDir(out)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary output left behind: %s", e.Name())
			continue
		}
		for _, f := range []string{"report.json", "report.txt"} {
			if _, err := os.Stat(filepath.Join(out, e.Name(), f)); err != nil {
				t.Errorf("set %s is incomplete: %v", e.Name(), err)
			}
		}
	}
}

func countRecords(t *testing.T, out string) int {
	t.Helper()
	n := 0
	files := committedRecords(out)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n += bytes.Count(b, []byte("\n"))
	}
	return n
}

// mountTmpfs mounts a tmpfs of size bytes (opts "ro" for a read-only one) on a new folder, or
// skips the test when that is not possible (not root, no mount permission).
func mountTmpfs(t *testing.T, size int64, opts string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root; the RLIMIT_FSIZE test covers write failures without it")
	}
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	o := fmt.Sprintf("size=%d,mode=0700", size)
	if opts != "" {
		o += "," + opts
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", o, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s); the RLIMIT_FSIZE test covers write failures", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

func remount(t *testing.T, dir, opts string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+opts, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s: %v %s", opts, err, out)
	}
}

// checkOperational asserts exit 4 with a message that names the cause and no stack trace.
func checkOperational(t *testing.T, r result, cause string) {
	t.Helper()
	if r.code != exitOperational {
		t.Fatalf("exit %d, want %d (operational)\nstdout %.500s\nstderr %.2000s", r.code, exitOperational, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "sysvak-import") || !strings.Contains(strings.ToLower(r.stderr), cause) {
		t.Fatalf("the message does not say %q: %.2000s", cause, r.stderr)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
		t.Fatalf("stack trace: %s", r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	t.Logf("exit 4: %s", lines[len(lines)-1])
}

func TestFaultOutOfSpace(t *testing.T) {
	out := mountTmpfs(t, 256<<10, "")
	dir := t.TempDir()
	book := benchBook(t, dir, 3000) // about 750 KB of records
	args := []string{"import", "--state", filepath.Join(dir, "state"), "--out", out, "--as-of", "2026-11-23", "--log-format", "json", book}
	r := runCLI(t, nil, args...)
	checkOperational(t, r, "no space left on device")
	assertNoPartialOutput(t, out)
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Fatalf("%d entries in the out folder after the failed run", len(ents))
	}

	remount(t, out, "size=64m")
	r = runCLI(t, nil, args...)
	if r.code != exitOK {
		t.Fatalf("the run after space was freed: exit %d: %.2000s", r.code, r.stderr)
	}
	if n := countRecords(t, out); n != 3000 {
		t.Fatalf("%d records, want 3000", n)
	}
	assertNoPartialOutput(t, out)
}

// The disk fills up after the ledger has recorded the file's keys, while the reports are
// written: the set is not published, and the next run registers the file (its keys are its own
// in the ledger) and publishes it.
func TestFaultOutOfSpaceAfterLedgerCommit(t *testing.T) {
	dir := t.TempDir()
	book := benchBook(t, dir, 3000)
	scratch := filepath.Join(dir, "scratch")
	if r := runCLI(t, nil, "import", "--state", filepath.Join(dir, "scratch-state"), "--out", scratch, "--as-of", "2026-11-23", book); r.code != exitOK {
		t.Fatalf("scratch run: %d %s", r.code, r.stderr)
	}
	recs, _ := filepath.Glob(filepath.Join(scratch, "*", "records.jsonl"))
	fi, err := os.Stat(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	// Room for the records and one more page: report.json fits, report.txt does not.
	const page = 4096
	out := mountTmpfs(t, (fi.Size()+page-1)/page*page+page, "")
	state := filepath.Join(dir, "state")
	args := []string{"import", "--state", state, "--out", out, "--as-of", "2026-11-23", "--log-format", "json", book}
	r := runCLI(t, nil, args...)
	checkOperational(t, r, "no space left on device")
	assertNoPartialOutput(t, out)
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Fatalf("%d entries in the out folder after the failed run", len(ents))
	}
	remount(t, out, "size=64m")
	r = runCLI(t, nil, args...)
	if r.code != exitOK || countRecords(t, out) != 3000 {
		t.Fatalf("the run after space was freed: exit %d, %d records: %.2000s", r.code, countRecords(t, out), r.stderr)
	}
	assertNoPartialOutput(t, out)
}

// The state folder fills up: the ledger cannot grow.
func TestFaultStateOutOfSpace(t *testing.T) {
	state := mountTmpfs(t, 128<<10, "")
	dir := t.TempDir()
	book := benchBook(t, dir, 3000)
	out := filepath.Join(dir, "out")
	args := []string{"import", "--state", state, "--out", out, "--as-of", "2026-11-23", "--log-format", "json", book}
	r := runCLI(t, nil, args...)
	checkOperational(t, r, "no space left on device")
	assertNoPartialOutput(t, out)
	if n := countRecords(t, out); n != 0 {
		t.Fatalf("%d records published although the ledger could not record them", n)
	}
	remount(t, state, "size=64m")
	r = runCLI(t, nil, args...)
	if r.code != exitOK || countRecords(t, out) != 3000 {
		t.Fatalf("the run after space was freed: exit %d, %d records: %.2000s", r.code, countRecords(t, out), r.stderr)
	}
}

func TestFaultReadOnlyOut(t *testing.T) {
	dir := t.TempDir()
	var out string
	if os.Geteuid() == 0 {
		out = mountTmpfs(t, 64<<20, "ro")
	} else {
		out = filepath.Join(dir, "out")
		if err := os.Mkdir(out, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(out, 0o700) })
	}
	book := benchBook(t, dir, 20)
	args := []string{"import", "--state", filepath.Join(dir, "state"), "--out", out, "--as-of", "2026-11-23", "--log-format", "json", book}
	r := runCLI(t, nil, args...)
	cause := "read-only file system"
	if os.Geteuid() != 0 {
		cause = "permission denied"
	}
	checkOperational(t, r, cause)
	assertNoPartialOutput(t, out)

	if os.Geteuid() == 0 {
		remount(t, out, "rw")
	} else if err := os.Chmod(out, 0o700); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, nil, args...)
	if r.code != exitOK || countRecords(t, out) != 20 {
		t.Fatalf("the run after the folder became writable: exit %d, %d records: %.2000s", r.code, countRecords(t, out), r.stderr)
	}
}

// The failing writer: a child process runs the CLI under RLIMIT_FSIZE, so that every write past
// the limit fails (EFBIG), wherever it happens (records, reports or the ledger). This works
// without root.
const fsizeEnv = "SYSVAK_FAULT_FSIZE_ARGS"

func TestFaultFileSizeLimitChild(t *testing.T) {
	args := os.Getenv(fsizeEnv)
	if args == "" {
		t.Skip("child of TestFaultFileSizeLimit only")
	}
	var limit syscall.Rlimit
	limit.Cur, limit.Max = 200<<10, 200<<10
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
		t.Fatal(err)
	}
	e := &env{stdin: strings.NewReader(""), stdout: os.Stdout, stderr: os.Stderr, getenv: func(string) string { return "" },
		now: func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }}
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		t.Fatal(err)
	}
	code := runMain(context.Background(), e, argv)
	os.Exit(code)
}

func TestFaultFileSizeLimit(t *testing.T) {
	if os.Getenv(fsizeEnv) != "" {
		t.Skip("in the child")
	}
	dir := t.TempDir()
	book := benchBook(t, dir, 3000)
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out")
	args := []string{"import", "--state", state, "--out", out, "--as-of", "2026-11-23", "--log-format", "json", book}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestFaultFileSizeLimitChild$")
	argv, _ := json.Marshal(args)
	cmd.Env = append(os.Environ(), fsizeEnv+"="+string(argv))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("child: %v", err)
	}
	checkOperational(t, result{code, stdout.String(), stderr.String()}, "file too large")
	assertNoPartialOutput(t, out)
	if n := countRecords(t, out); n != 0 {
		t.Fatalf("%d records published by the failed run", n)
	}
	r := runCLI(t, nil, args...)
	if r.code != exitOK || countRecords(t, out) != 3000 {
		t.Fatalf("the run without the limit: exit %d, %d records: %.2000s", r.code, countRecords(t, out), r.stderr)
	}
}

// A ledger held by another process (here: this test) stops import with exit 4 once the wait
// (one second) is over; when it is released, the same command completes.
func TestFaultLedgerLocked(t *testing.T) {
	dir := t.TempDir()
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out")
	held, err := ledger.Open(context.Background(), state, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"import", "--state", state, "--out", out, "--as-of", "2026-11-23", "--log-format", "json", fixtures + "clean.xlsx"}
	r := runCLI(t, nil, args...)
	checkOperational(t, r, "in use by another sysvak-import process")
	assertNoPartialOutput(t, out)
	held.Close()
	if r := runCLI(t, nil, args...); r.code != exitOK || countRecords(t, out) != 12 {
		t.Fatalf("after the ledger was released: exit %d, %d records: %s", r.code, countRecords(t, out), r.stderr)
	}
}

// pollSetup is an in-memory IMAP server with one message (clean.xlsx attached), reached
// through a proxy that can cut the connection in the middle of a FETCH.
type pollSetup struct {
	dir, state, out string
	admin           *imaptest.Client
	proxy           *imaptest.FetchCutProxy
	env             map[string]string
	args            []string
}

func newPollSetup(t *testing.T, attachment []byte, cutAfter int64) *pollSetup {
	srv := imaptest.NewMem(t)
	u, p := srv.NewUser(t)
	s := &pollSetup{dir: t.TempDir(), admin: imaptest.Login(t, srv.Addr(), u, p), env: map[string]string{"SYSVAK_IMAP_PASSWORD": p}}
	s.state, s.out = filepath.Join(s.dir, "state"), filepath.Join(s.dir, "out")
	s.proxy = imaptest.NewFetchCutProxy(t, srv.Addr(), cutAfter)
	msg := mailgen.Message{Subject: "vaksiner", Attachments: []mailgen.Attachment{{Name: "vaksiner.xlsx", Data: attachment}}}.Bytes()
	if err := s.admin.Append("INBOX", msg); err != nil {
		t.Fatal(err)
	}
	s.args = []string{"poll", "--once", "--imap-addr", s.proxy.Addr(), "--imap-tls", "insecure", "--imap-user", u,
		"--state", s.state, "--out", s.out, "--as-of", "2026-11-23", "--log-format", "json"}
	return s
}

func (s *pollSetup) count(t *testing.T, mbox string) int {
	t.Helper()
	n, err := s.admin.Count(mbox)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFaultIMAPDropMidFetch(t *testing.T) {
	data, err := os.ReadFile(fixtures + "clean.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	// A big attachment makes sure the cut lands inside the body: pad the message with a large
	// second part (a PDF, which is skipped) after the workbook.
	s := newPollSetup(t, data, 4<<10)
	pad := mailgen.Message{Subject: "stor", Attachments: []mailgen.Attachment{{Name: "vaksiner2.xlsx", Data: data},
		{Name: "vedlegg.pdf", ContentType: "application/pdf", Data: mailgen.Content("pdf", 9, 2<<20)}}}.Bytes()
	if err := s.admin.Append("INBOX", pad); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, s.env, s.args...)
	checkOperational(t, r, "imap")
	if s.proxy.Cuts() == 0 {
		t.Fatal("the proxy did not cut the connection")
	}
	assertNoPartialOutput(t, s.out)
	if tmp, _ := os.ReadDir(filepath.Join(s.state, spool.SpoolDir, spool.TempDirName)); len(tmp) != 0 {
		t.Fatalf("%d temp files left in the spool", len(tmp))
	}
	if n := s.count(t, "INBOX"); n == 0 {
		t.Fatal("every message left INBOX although the fetch failed")
	}

	r = runCLI(t, s.env, s.args...)
	if r.code != exitOK {
		t.Fatalf("the run after the drop: exit %d: %.2000s", r.code, r.stderr)
	}
	if n := s.count(t, "INBOX"); n != 0 {
		t.Fatalf("%d messages left in INBOX", n)
	}
	if n := s.count(t, "Processed"); n != 2 {
		t.Fatalf("%d messages in Processed, want 2", n)
	}
	// Both messages carry the same workbook: registered once.
	if n := countRecords(t, s.out); n != 12 {
		t.Fatalf("%d records, want 12", n)
	}
	assertNoPartialOutput(t, s.out)
}

// The poll lock is held (another poller): exit 4 at once; released: the next run completes.
func TestFaultPollLocked(t *testing.T) {
	data, err := os.ReadFile(fixtures + "clean.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	s := newPollSetup(t, data, -1)
	lock, err := spool.Lock(s.state)
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, s.env, s.args...)
	checkOperational(t, r, "another poller")
	if n := s.count(t, "INBOX"); n != 1 {
		t.Fatalf("%d messages in INBOX, want 1", n)
	}
	lock.Unlock()
	if r := runCLI(t, s.env, s.args...); r.code != exitOK || countRecords(t, s.out) != 12 {
		t.Fatalf("after the lock was released: exit %d, %d records: %.2000s", r.code, countRecords(t, s.out), r.stderr)
	}
}

// The ledger is held while poll processes what it spooled (an import runs): the message is
// spooled and moved, poll ends with exit 4 after its wait, and the next poll processes the
// spooled file.
func TestFaultPollLedgerLocked(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out poll's 10-second ledger timeout")
	}
	data, err := os.ReadFile(fixtures + "clean.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	s := newPollSetup(t, data, -1)
	held, err := ledger.Open(context.Background(), s.state, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, s.env, s.args...)
	checkOperational(t, r, "in use by another sysvak-import process")
	if n := s.count(t, "Processed"); n != 1 {
		t.Fatalf("%d messages in Processed: the message should be spooled and moved", n)
	}
	if n := countRecords(t, s.out); n != 0 {
		t.Fatalf("%d records written while the ledger was held", n)
	}
	assertNoPartialOutput(t, s.out)
	held.Close()
	r = runCLI(t, s.env, s.args...)
	if r.code != exitOK || countRecords(t, s.out) != 12 {
		t.Fatalf("the next poll: exit %d, %d records: %.2000s", r.code, countRecords(t, s.out), r.stderr)
	}
	var rep struct {
		Status string `json:"status"`
	}
	b, err := os.ReadFile(filepath.Join(s.out, fileID(data), "report.json"))
	if err != nil || json.Unmarshal(b, &rep) != nil || rep.Status != "accepted" {
		t.Fatalf("report of the spooled file: %v %s", err, b)
	}
}

// The hostile corpus (fixtures/hostile) through the CLI in one run each of validate and import:
// the run goes on after each file, every file gets its report with its code, exit code 2, and
// import writes nothing but the state and out folders (TMPDIR and the working folder stay empty).
func TestHostileCLIRun(t *testing.T) {
	var files []string
	want := map[string]string{}
	pwFile := filepath.Join(t.TempDir(), "pw.txt")
	if err := os.WriteFile(pwFile, []byte(hostile.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range hostile.Files() {
		if c.Heavy {
			continue // TestHostileFiles in importer measures those one by one
		}
		if len(c.Passwords) > 0 && c.Passwords[0] != hostile.Password {
			continue // the CLI takes one password file
		}
		files = append(files, c.Path(t))
		want[c.Name] = string(c.Want)
	}
	sandbox := t.TempDir()
	tmp := filepath.Join(sandbox, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	state, out := filepath.Join(sandbox, "state"), filepath.Join(sandbox, "out")
	for _, cmd := range []string{"validate", "import"} {
		args := []string{cmd, "--format", "json", "--as-of", "2026-11-23", "--log-format", "json", "--password-file", pwFile}
		if cmd == "import" {
			args = append(args, "--state", state, "--out", out)
		}
		start := time.Now()
		r := runCLI(t, nil, append(args, files...)...)
		t.Logf("%s of %d hostile files: exit %d in %.1fs", cmd, len(files), r.code, time.Since(start).Seconds())
		if r.code != exitFileFailed {
			t.Fatalf("%s: exit %d, want %d: %.2000s", cmd, r.code, exitFileFailed, r.stderr)
		}
		dec := json.NewDecoder(strings.NewReader(r.stdout))
		seen := 0
		for dec.More() {
			var rep struct {
				FileName string `json:"file_name"`
				Findings []struct {
					Row      int    `json:"row"`
					Code     string `json:"code"`
					Severity string `json:"severity"`
				} `json:"findings"`
			}
			if err := dec.Decode(&rep); err != nil {
				t.Fatalf("%s: report %d: %v", cmd, seen, err)
			}
			got := ""
			for _, f := range rep.Findings {
				if f.Row == 0 && f.Severity == "error" {
					got = f.Code
					break
				}
			}
			if w, ok := want[rep.FileName]; !ok || got != w {
				t.Errorf("%s: %s ended with %q, want %q", cmd, rep.FileName, got, w)
			}
			seen++
		}
		if seen != len(files) {
			t.Errorf("%s: %d reports for %d files: the run stopped early", cmd, seen, len(files))
		}
		if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
			t.Errorf("%s: %d files left in TMPDIR", cmd, len(ents))
		}
	}
	assertNoPartialOutput(t, out)
	if ents, _ := os.ReadDir(out); len(ents) != len(files) {
		t.Errorf("%d output sets for %d files", len(ents), len(files))
	}
	if ents, _ := os.ReadDir(sandbox); len(ents) != 3 {
		t.Errorf("the sandbox holds %d entries, want tmp, state and out", len(ents))
	}
}
