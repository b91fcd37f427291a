package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/importer/ledger"
)

// The group commit (Batch, issue 17) keeps the crash guarantees of one file (SPEC 5, 6): outputs
// are visible only when the ledger holds their keys, and a crash loses nothing and doubles
// nothing. TestKillBatchImport proves it by SIGKILLing an import of a dozen overlapping files
// (batches of 5) at every crash point in turn, each child running the whole import again on the
// state the last one left, as cron would, and comparing the end state with an import that was
// never killed.

const killFiles = 12

// killInputs writes files of 100 rows each; file j holds rows 50j..50j+99 of the bench sequence,
// so that every file repeats half of the one before (ledger.duplicate across files, within a
// batch and across batches).
func killInputs(t *testing.T, dir string) []string {
	t.Helper()
	var paths []string
	for j := 0; j < killFiles; j++ {
		var buf bytes.Buffer
		if err := fixturegen.WriteBenchRange(&buf, 50*j, 100, fixturegen.BenchSST); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("f%02d.xlsx", j))
		if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// importAll imports paths into state/out in batches of 5; hook is the batch's crash-point hook.
func importAll(ctx context.Context, state, out string, paths []string, hook func(string)) error {
	led, err := ledger.Open(ctx, state, ledger.Options{})
	if err != nil {
		return err
	}
	defer led.Close()
	o, err := testOptions(zerolog.Nop()).Prepare()
	if err != nil {
		return err
	}
	im := &Importer{Ledger: led, OutDir: out, Opts: o}
	b := im.NewBatch()
	b.maxFiles, b.hook = 5, hook
	for _, p := range paths {
		if b.Full() {
			if err := b.Flush(ctx); err != nil {
				return err
			}
		}
		if _, err := b.Add(ctx, Input{Path: p, Name: filepath.Base(p)}); err != nil {
			return err
		}
	}
	return b.Flush(ctx)
}

// TestKillBatchImportChild is the child process of TestKillBatchImport.
func TestKillBatchImportChild(t *testing.T) {
	if os.Getenv("IMPORTER_KILL_CHILD") != "1" {
		t.Skip("helper process for TestKillBatchImport")
	}
	killAt, _ := strconv.Atoi(os.Getenv("KILL_AT"))
	paths := filepath.SplitList(os.Getenv("KILL_FILES"))
	n := 0
	hook := func(what string) {
		if n++; n == killAt {
			fmt.Fprintf(os.Stderr, "crash point: %s\n", what)
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	if err := importAll(context.Background(), os.Getenv("STATE"), os.Getenv("OUT"), paths, hook); err != nil {
		t.Fatal(err)
	}
}

func TestKillBatchImport(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	dir := t.TempDir()
	paths := killInputs(t, dir)
	// The reference: one import that was never killed.
	ref := filepath.Join(dir, "ref")
	if err := importAll(context.Background(), filepath.Join(ref, "state"), filepath.Join(ref, "out"), paths, nil); err != nil {
		t.Fatal(err)
	}
	want := endState(t, filepath.Join(ref, "out"), filepath.Join(ref, "state"))
	if got, min := len(want.records), 50*killFiles+50; got != min {
		t.Fatalf("reference run registered %d rows, want %d (the distinct rows of the files)", got, min)
	}

	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out")
	kills := 0
	points := map[string]int{}
	for k := 1; ; k++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillBatchImportChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "IMPORTER_KILL_CHILD=1", "KILL_AT="+strconv.Itoa(k), "STATE="+state, "OUT="+out,
			"KILL_FILES="+joinList(paths))
		outp, err := cmd.CombinedOutput()
		if err == nil {
			break
		}
		if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("child %d failed without being killed: %v\n%s", k, err, outp)
		}
		kills++
		if _, what, ok := bytes.Cut(outp, []byte("crash point: ")); ok {
			points[string(bytes.TrimSpace(what))]++
		}
		// After every crash: each visible output set's keys are in the ledger (the invariant),
		// and no person-date-code is in two visible record sets.
		checkVisible(t, out, state)
		if kills > 200 {
			t.Fatal("the import does not advance across kills")
		}
	}
	t.Logf("%d SIGKILLs: %v", kills, points)
	for _, p := range []string{"file added", "ledger committed", "outputs synced", "output published", "done"} {
		if points[p] == 0 {
			t.Errorf("no kill at crash point %q", p)
		}
	}
	got := endState(t, out, state)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("end state after kills differs from a clean import:\ngot  %v\nwant %v", got.summary(), want.summary())
	}
}

func joinList(paths []string) string {
	s := ""
	for i, p := range paths {
		if i > 0 {
			s += string(os.PathListSeparator)
		}
		s += p
	}
	return s
}

type killEnd struct {
	records []string // file id, row, person, date, code of every record line, sorted
	files   []string // file id and status of every output set, sorted
	live    int      // live keys in the ledger
}

func (e killEnd) summary() string {
	return fmt.Sprintf("%d records, %d output sets, %d live keys", len(e.records), len(e.files), e.live)
}

func endState(t *testing.T, out, state string) killEnd {
	t.Helper()
	var e killEnd
	sets, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sets {
		if !s.IsDir() || s.Name()[0] == '.' {
			continue
		}
		rep := readJSON(t, filepath.Join(out, s.Name(), ReportJSONFile))
		e.files = append(e.files, s.Name()+" "+fmt.Sprint(rep["status"]))
		for _, r := range readJSONL(t, filepath.Join(out, s.Name(), RecordsFile)) {
			e.records = append(e.records, fmt.Sprint(r["file_id"], r["row"], r["person_id"], r["vaccination_date"], r["sysvak_code"]))
		}
	}
	sort.Strings(e.records)
	sort.Strings(e.files)
	led, err := ledger.Open(context.Background(), state, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	if e.live, _, err = led.Stats(); err != nil {
		t.Fatal(err)
	}
	return e
}

// checkVisible checks the state a crash left: every record of a visible output set is in the
// ledger under its own file, and no key is in two visible sets.
func checkVisible(t *testing.T, out, state string) {
	t.Helper()
	led, err := ledger.Open(context.Background(), state, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	r, err := led.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := led.NewHasher()
	sets, _ := os.ReadDir(out)
	seen := map[ledger.Key]string{}
	for _, s := range sets {
		if !s.IsDir() || s.Name()[0] == '.' {
			continue
		}
		if _, err := os.Stat(filepath.Join(out, s.Name(), ReportJSONFile)); err != nil {
			t.Fatalf("visible output set %s is incomplete: %v", s.Name(), err)
		}
		for _, rec := range readJSONL(t, filepath.Join(out, s.Name(), RecordsFile)) {
			k := h.Key(fmt.Sprint(rec["person_id"]), []byte(fmt.Sprint(rec["vaccination_date"])), fmt.Sprint(rec["sysvak_code"]))
			e, ok := r.Get(k)
			if !ok || e.FileID != s.Name() {
				t.Fatalf("a record of visible set %s (row %v) is not in the ledger under its file (entry %+v, found %v)", s.Name(), rec["row"], e, ok)
			}
			if other, dup := seen[k]; dup {
				t.Fatalf("a key is registered by two visible sets, %s and %s", other, s.Name())
			}
			seen[k] = s.Name()
		}
	}
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	return m
}

func readJSONL(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		out = append(out, m)
	}
	return out
}
