package intake_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/internal/intake"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/folder"
	"github.com/fhi/sysvak-import/internal/state/pgstate"
	"github.com/fhi/sysvak-import/internal/state/statedump"
)

// The group commit of ImportPaths (issue 17) keeps the crash guarantees of one file (SPEC 5, 6,
// 8): outputs are visible only when the state holds their keys, and a crash loses nothing and
// doubles nothing. TestKillImportPaths proves it, on a folder state and on PostgreSQL, by
// SIGKILLing an import of a dozen overlapping files (batches of 5) at every crash point in turn,
// each child running the whole import again on the state the last one left, as cron would, and
// comparing the end state with an import that was never killed.

const killFiles = 12

// openKillState opens the state target names: a PostgreSQL URL or a folder. The clock runs
// ahead by offset: a later child sees an earlier (killed) child's claims as expired, as a
// process started a minute after the kill would (SPEC 8).
func openKillState(target string, offset time.Duration) (state.Store, error) {
	now := func() time.Time { return time.Now().Add(offset) }
	if strings.HasPrefix(target, "postgres") {
		tmp := filepath.Join(os.TempDir(), "intake-kill-pg")
		if err := os.MkdirAll(tmp, 0o700); err != nil {
			return nil, err
		}
		return pgstate.Open(ctx, target, pgstate.Options{Now: now, PasswordDir: tmp, TempDir: tmp})
	}
	return folder.Open(ctx, target, folder.Options{Now: now})
}

// importKill imports paths in batches of 5; hook is the crash-point hook.
func importKill(target, out string, offset time.Duration, paths []string, hook func(string)) error {
	st, err := openKillState(target, offset)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := intake.New(st, intake.Config{OutDir: out, Opts: testOpts(), Log: zerolog.Nop(),
		Now: func() time.Time { return time.Now().Add(offset) }})
	intake.SetBatchLimits(svc, 5, 100_000)
	intake.SetCrashHook(svc, hook)
	return svc.ImportPaths(ctx, paths, nil, received, intake.PathHooks{})
}

// killPoints are the crash points of ImportPaths, in the order a batch passes them.
var killPoints = []string{"file evaluated", "outcomes recorded", "outputs synced", "output published", "written"}

// TestKillImportPathsChild is the child process of TestKillImportPaths: it imports the files
// and SIGKILLs itself at the KILL_NTH time it passes crash point KILL_AT.
func TestKillImportPathsChild(t *testing.T) {
	if os.Getenv("INTAKE_KILL_CHILD") != "1" {
		t.Skip("helper process for TestKillImportPaths")
	}
	nth, _ := strconv.Atoi(os.Getenv("KILL_NTH"))
	n := 0
	hook := func(what string) {
		if what != os.Getenv("KILL_AT") {
			return
		}
		if n++; n == nth {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	paths := filepath.SplitList(os.Getenv("KILL_FILES"))
	offset := time.Duration(nth) * time.Hour
	if err := importKill(os.Getenv("STATE"), os.Getenv("OUT"), offset, paths, hook); err != nil {
		t.Fatal(err)
	}
}

// TestKillImportPaths: for each crash point, on a fresh state, children are killed at its 1st,
// 2nd, 3rd... passage (each child running the import again on what the last one left) until a
// child finishes; after every kill the visible outputs must be backed by the state, and the end
// state must be that of an import never killed.
func TestKillImportPaths(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	dir := t.TempDir()
	paths := overlapping(t, dir, killFiles)
	ref := filepath.Join(dir, "ref")
	if err := importKill(filepath.Join(ref, "state"), filepath.Join(ref, "out"), 0, paths, nil); err != nil {
		t.Fatal(err)
	}
	want := endState(t, filepath.Join(ref, "out"), filepath.Join(ref, "state"))
	if got := len(want.records); got != 50*killFiles+50 {
		t.Fatalf("reference run registered %d rows, want %d (the distinct rows of the files)", got, 50*killFiles+50)
	}
	for _, backend := range []string{"folder", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			for i, point := range killPoints {
				target := filepath.Join(dir, fmt.Sprint(backend, "-state", i))
				if backend == "postgres" {
					target = pg.Database(t)
				}
				out := filepath.Join(dir, fmt.Sprint(backend, "-out", i))
				kills := killRun(t, target, out, point, paths)
				got := endState(t, out, target)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("end state after %d kills at %q differs from a clean import:\ngot  %v\nwant %v", kills, point, got.summary(), want.summary())
				}
				t.Logf("%q: %d SIGKILLs, end state as a clean import's", point, kills)
			}
		})
	}
}

// killRun runs children killed at the 1st, 2nd... passage of point until one finishes, and
// checks the visible outputs after each kill. It returns the number of kills.
func killRun(t *testing.T, target, out, point string, paths []string) int {
	t.Helper()
	kills := 0
	for k := 1; ; k++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillImportPathsChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "INTAKE_KILL_CHILD=1", "KILL_AT="+point, "KILL_NTH="+strconv.Itoa(k),
			"STATE="+target, "OUT="+out, "KILL_FILES="+strings.Join(paths, string(os.PathListSeparator)))
		outp, err := cmd.CombinedOutput()
		if err == nil {
			break
		}
		if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("child killed at %q #%d failed without being killed: %v\n%s", point, k, err, outp)
		}
		kills++
		checkVisible(t, out, target)
		if kills > 2*killFiles {
			t.Fatalf("the import does not advance across kills at %q", point)
		}
	}
	if kills == 0 {
		t.Errorf("no kill at crash point %q", point)
	}
	return kills
}

type killEnd struct {
	records []string // file id, row, person, date, code of every record line, sorted
	files   []string // file id, report status and state status of every output set, sorted
	live    int      // live keys in the ledger
}

func (e killEnd) summary() string {
	return fmt.Sprintf("%d records, %d output sets, %d live keys", len(e.records), len(e.files), e.live)
}

// endState reads what an import left; every file must be recorded and written.
func endState(t *testing.T, out, target string) killEnd {
	t.Helper()
	var e killEnd
	st, err := openKillState(target, 1000*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	forEachSet(t, out, func(id string, rep map[string]any, recs []map[string]any) {
		f, err := st.File(ctx, id)
		if err != nil || !f.Written {
			t.Fatalf("file %s after the import: %+v %v", id, f, err)
		}
		e.files = append(e.files, fmt.Sprint(id, " ", rep["status"], " ", f.Status))
		for _, r := range recs {
			e.records = append(e.records, fmt.Sprint(r["file_id"], r["row"], r["person_id"], r["vaccination_date"], r["sysvak_code"]))
		}
	})
	sort.Strings(e.records)
	sort.Strings(e.files)
	// `state check`: the ledger against the records (the records table on PostgreSQL), reports.
	problems, err := statedump.Check(ctx, st, out)
	if err != nil || len(problems) > 0 {
		t.Fatalf("state check after the import: %v %+v", err, problems)
	}
	if e.live, _, err = st.LedgerStats(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// checkVisible checks the state a crash left: every visible output set belongs to a file the
// state holds as recorded, every record of it is in the ledger under its own file, and no key
// is in two visible sets.
func checkVisible(t *testing.T, out, target string) {
	t.Helper()
	st, err := openKillState(target, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mac, err := st.LedgerSecret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, err := st.LedgerView(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	h := ledger.NewHasher(mac)
	seen := map[state.LedgerKey]string{}
	forEachSet(t, out, func(id string, _ map[string]any, recs []map[string]any) {
		if f, err := st.File(ctx, id); err != nil || (f.Status != state.StatusProcessed && f.Status != state.StatusRejected) {
			t.Fatalf("visible output set %s of a file not recorded: %+v %v", id, f, err)
		}
		for _, rec := range recs {
			k := state.LedgerKey(h.Key(fmt.Sprint(rec["person_id"]), []byte(fmt.Sprint(rec["vaccination_date"])), fmt.Sprint(rec["sysvak_code"])))
			e, ok := v.Get(k)
			if !ok || e.FileID != id || e.Deleted {
				t.Fatalf("a record of visible set %s (row %v) is not in the ledger under its file (entry %+v, found %v)", id, rec["row"], e, ok)
			}
			if other, dup := seen[k]; dup {
				t.Fatalf("a key is registered by two visible sets, %s and %s", other, id)
			}
			seen[k] = id
		}
	})
}

// forEachSet calls f for every visible output set in out (temporary folders are not visible).
func forEachSet(t *testing.T, out string, f func(id string, rep map[string]any, recs []map[string]any)) {
	t.Helper()
	sets, err := os.ReadDir(out)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, s := range sets {
		if !s.IsDir() || s.Name()[0] == '.' {
			continue
		}
		b, err := os.ReadFile(filepath.Join(out, s.Name(), importer.ReportJSONFile))
		if err != nil {
			t.Fatalf("visible output set %s is incomplete: %v", s.Name(), err)
		}
		var rep map[string]any
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		b, err = os.ReadFile(filepath.Join(out, s.Name(), importer.RecordsFile))
		if err != nil {
			t.Fatalf("visible output set %s is incomplete: %v", s.Name(), err)
		}
		var recs []map[string]any
		for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatal(err)
			}
			recs = append(recs, m)
		}
		f(s.Name(), rep, recs)
	}
}
