package intake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/intake"
	"github.com/fhi/sysvak-import/internal/pgtest"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/folder"
	"github.com/fhi/sysvak-import/internal/state/pgstate"
	"github.com/fhi/sysvak-import/validate"
)

var pg pgtest.Shared

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// overlapping writes n files of 100 rows; file j holds rows 50j..50j+99 of the bench sequence,
// so every file repeats half of the one before (ledger duplicates across files).
func overlapping(t *testing.T, dir string, n int) []string {
	t.Helper()
	var paths []string
	for j := 0; j < n; j++ {
		paths = append(paths, benchRange(t, dir, fmt.Sprintf("f%02d.xlsx", j), 50*j, 100))
	}
	return paths
}

func benchRange(t *testing.T, dir, name string, start, n int) string {
	t.Helper()
	var buf bytes.Buffer
	if err := fixturegen.WriteBenchRange(&buf, start, n, fixturegen.BenchSST); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func testOpts() importer.Options {
	return importer.Options{Lang: "en", Limits: importer.DefaultLimits(), Log: zerolog.Nop(),
		Check: validate.Options{Codes: validate.DefaultCodes(), AsOf: validate.Date{Year: 2026, Month: 11, Day: 23}}}
}

var received = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// importRun is what an import left: each report as given (in order), each output set's report
// and records, and the ledger's live keys.
type importRun struct {
	reports []string          // report.json as given, in order
	sets    map[string]string // file id -> report.json + records.jsonl as written
	live    int
}

func snapshot(t *testing.T, st state.Store, out string, reps []*report.Report) importRun {
	t.Helper()
	r := importRun{sets: map[string]string{}}
	for _, rep := range reps {
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		r.reports = append(r.reports, string(b))
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name()[0] == '.' {
			t.Fatalf("a temporary output folder was left: %s", e.Name())
		}
		rep, err := os.ReadFile(filepath.Join(out, e.Name(), importer.ReportJSONFile))
		if err != nil {
			t.Fatal(err)
		}
		recs, _ := os.ReadFile(filepath.Join(out, e.Name(), importer.RecordsFile))
		r.sets[e.Name()] = string(rep) + string(recs)
		f, err := st.File(ctx, e.Name())
		if err != nil || !f.Written || f.Claim.Owner != "" {
			t.Fatalf("file %s after the import: %+v %v", e.Name(), f, err)
		}
	}
	if r.live, _, err = st.LedgerStats(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

func openFolder(t *testing.T, now func() time.Time) state.Store {
	t.Helper()
	st, err := folder.Open(ctx, t.TempDir(), folder.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestImportPathsAsOneByOne: a batched import (several batch sizes, a key limit that flushes
// inside a chunk) gives exactly what importing the files one at a time gives: the same reports
// in the same order (later files see the earlier files' keys as ledger duplicates), the same
// output sets and ledger. Among the files: a file that is not a workbook, one with row errors,
// and the same bytes twice (the second is a resend of the first); then the whole list again (all
// resends, listed in the reports in batches as one by one).
func TestImportPathsAsOneByOne(t *testing.T) {
	dir := t.TempDir()
	paths := overlapping(t, dir, 7)
	fx := func(name string) string { return filepath.Join("..", "..", "fixtures", "files", name) }
	paths = append(paths[:3], append([]string{fx("not-a-workbook.xlsx"), fx("row-errors.xlsx"), paths[0]}, paths[3:]...)...)

	oneByOne := func() importRun {
		st, out := openFolder(t, nil), t.TempDir()
		svc := intake.New(st, intake.Config{OutDir: out, Opts: testOpts(), Log: zerolog.Nop()})
		var reps []*report.Report
		for pass := 0; pass < 2; pass++ { // the second pass: every file a resend
			for _, p := range paths {
				rep, err := svc.ImportPath(ctx, p, nil, received)
				if err != nil {
					t.Fatalf("ImportPath %s: %v", p, err)
				}
				reps = append(reps, rep)
			}
		}
		return snapshot(t, st, out, reps)
	}
	want := oneByOne()
	if want.live < 50*7+50 { // the overlapping rows, and row-errors.xlsx's valid rows
		t.Fatalf("one by one: %d live keys", want.live)
	}
	for _, lim := range []struct{ files, keys int }{{512, 100_000}, {3, 100_000}, {512, 150}, {1, 1}} {
		t.Run(fmt.Sprintf("files=%d,keys=%d", lim.files, lim.keys), func(t *testing.T) {
			st, out := openFolder(t, nil), t.TempDir()
			svc := intake.New(st, intake.Config{OutDir: out, Opts: testOpts(), Log: zerolog.Nop()})
			intake.SetBatchLimits(svc, lim.files, lim.keys)
			var reps []*report.Report
			var order []string
			for pass := 0; pass < 2; pass++ { // the second pass: every file a resend, in batches too
				err := svc.ImportPaths(ctx, paths, nil, received, intake.PathHooks{Report: func(p string, rep *report.Report) error {
					order = append(order, p)
					reps = append(reps, rep)
					return nil
				}})
				if err != nil {
					t.Fatal(err)
				}
			}
			if fmt.Sprint(order) != fmt.Sprint(append(paths[:len(paths):len(paths)], paths...)) {
				t.Fatalf("reports given for\n%v\nwant\n%v", order, paths)
			}
			got := snapshot(t, st, out, reps)
			if got.live != want.live {
				t.Errorf("%d live keys, one by one %d", got.live, want.live)
			}
			for i := range want.reports {
				if got.reports[i] != want.reports[i] {
					t.Errorf("report %d (%s) differs:\n%s\none by one:\n%s", i, paths[i%len(paths)], got.reports[i], want.reports[i])
				}
			}
			if len(got.sets) != len(want.sets) {
				t.Fatalf("%d output sets, one by one %d", len(got.sets), len(want.sets))
			}
			for id, w := range want.sets {
				if got.sets[id] != w {
					t.Errorf("output set %s differs from the one-by-one import", id)
				}
			}
		})
	}
}

// TestImportPathsLostClaim: a file whose claim is taken over while its batch is evaluated is
// left out; the file before it is recorded as evaluated, the files after it are evaluated
// again (the rows they counted as the lost file's are theirs now), and the error names it.
func TestImportPathsLostClaim(t *testing.T) {
	clock := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	var now func() time.Time = func() time.Time { return clock }
	st, out := openFolder(t, func() time.Time { return now() }), t.TempDir()
	paths := overlapping(t, t.TempDir(), 4)
	svc := intake.New(st, intake.Config{OutDir: out, Opts: testOpts(), Log: zerolog.Nop(), Now: now})
	var lostID string
	n := 0
	intake.SetCrashHook(svc, func(what string) {
		if what != "file evaluated" {
			return
		}
		if n++; n == 2 { // the second file: its lease runs out and another worker takes it
			clock = clock.Add(2 * time.Minute)
			lostID = fileID(t, paths[1])
			if _, _, err := st.ClaimFile(ctx, lostID, "another worker", time.Minute); err != nil {
				t.Errorf("take-over: %v", err)
			}
		}
	})
	var got []string
	err := svc.ImportPaths(ctx, paths, nil, received, intake.PathHooks{Report: func(p string, rep *report.Report) error {
		got = append(got, fmt.Sprintf("%s %d", filepath.Base(p), rep.Stats.Registered))
		return nil
	}})
	if !errors.Is(err, state.ErrLostClaim) || !bytes.Contains([]byte(err.Error()), []byte(lostID)) {
		t.Fatalf("error %v, want the lost claim of %s", err, lostID)
	}
	// f02 (rows 100..199) registers the 50 rows it shared with the lost f01 as well.
	if want := "[f00.xlsx 100 f02.xlsx 100 f03.xlsx 50]"; fmt.Sprint(got) != want {
		t.Fatalf("reports %v, want %s", got, want)
	}
	if f, _ := st.File(ctx, lostID); f.Status != state.StatusProcessing || f.Claim.Owner != "another worker" {
		t.Fatalf("the lost file: %+v", f)
	}
	if _, err := os.Stat(filepath.Join(out, lostID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the lost file has outputs: %v", err)
	}
	if live, _, _ := st.LedgerStats(ctx); live != 250 {
		t.Fatalf("%d live keys, want 250", live)
	}
}

func fileID(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha(b)[:16]
}

// twoPostgresStores opens one fresh PostgreSQL state twice, as two processes would.
func twoPostgresStores(t *testing.T) (state.Store, state.Store) {
	dsn := pg.Database(t)
	open := func() state.Store {
		st, err := pgstate.Open(ctx, dsn, pgstate.Options{PasswordDir: t.TempDir(), TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	return open(), open()
}

// TestImportPathsLedgerConflictPostgres: with a shared state, another process registers keys of
// a batch's second file after the batch's ledger view was taken. The batch's first file is
// recorded, the second is evaluated again with a fresh view (those rows are now ledger
// duplicates of the other process's file), and nothing is registered twice.
func TestImportPathsLedgerConflictPostgres(t *testing.T) {
	st, other := twoPostgresStores(t)
	dir, out := t.TempDir(), t.TempDir()
	paths := overlapping(t, dir, 3)
	rival := benchRange(t, dir, "rival.xlsx", 120, 20) // rows of f01 and f02 only
	svc := intake.New(st, intake.Config{OutDir: out, Opts: testOpts(), Log: zerolog.Nop()})
	otherSvc := intake.New(other, intake.Config{OutDir: out, Opts: testOpts(), Log: zerolog.Nop()})
	evaluated := 0
	intake.SetCrashHook(svc, func(what string) {
		if what == "file evaluated" {
			if evaluated++; evaluated == 3 {
				if _, err := otherSvc.ImportPath(context.Background(), rival, nil, received); err != nil {
					t.Errorf("the other process's import: %v", err)
				}
			}
		}
	})
	var got []string
	err := svc.ImportPaths(ctx, paths, nil, received, intake.PathHooks{Report: func(p string, rep *report.Report) error {
		dups := 0
		for _, f := range rep.Findings {
			if f.Code == validate.LedgerDuplicate {
				dups++
			}
		}
		got = append(got, fmt.Sprintf("%s %d/%d", filepath.Base(p), rep.Stats.Registered, dups))
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	// f01 (rows 50..149): 50 duplicates of f00, 20 of the rival; f02 (100..199): 50 of f01.
	if want := "[f00.xlsx 100/0 f01.xlsx 30/70 f02.xlsx 50/50]"; fmt.Sprint(got) != want {
		t.Fatalf("reports %v, want %s", got, want)
	}
	if live, _, _ := st.LedgerStats(ctx); live != 200 {
		t.Fatalf("%d live keys, want 200 (no row registered twice)", live)
	}
}

// TestResendLogAndFHIR: a resend writes a log line (issue 12) and leaves immunizations.ndjson
// as it was (recorded stays the first processing); a set written before --fhir gets it on a
// resend with --fhir, made from records.jsonl with that same time, as a first run with --fhir
// writes it; a later arrival without --fhir keeps it unchanged.
func TestResendLogAndFHIR(t *testing.T) {
	first := time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)
	now := first
	var logs bytes.Buffer
	opts := testOpts()
	opts.Now = func() time.Time { return now }
	st, out := openFolder(t, func() time.Time { return now }), t.TempDir()
	svc := intake.New(st, intake.Config{OutDir: out, Opts: opts, Log: zerolog.New(&logs), Now: func() time.Time { return now }})
	path := filepath.Join("..", "..", "fixtures", "files", "synonyms-title.xlsx")
	imp := func(svc *intake.Service) *report.Report {
		t.Helper()
		var rep *report.Report
		if err := svc.ImportPaths(ctx, []string{path}, nil, now, intake.PathHooks{Report: func(_ string, r *report.Report) error {
			rep = r
			return nil
		}}); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	rep := imp(svc) // without --fhir
	nd := filepath.Join(out, rep.FileID, importer.FHIRFile)
	if _, err := os.Stat(nd); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ndjson written without --fhir: %v", err)
	}
	now = first.Add(48 * time.Hour)
	withFHIR := opts
	withFHIR.FHIR = true
	rep = imp(svc.WithOptions(withFHIR))
	if len(rep.Resent) != 1 {
		t.Fatalf("second arrival not listed as resent: %+v", rep.Resent)
	}
	if !bytes.Contains(logs.Bytes(), []byte(`"message":"file received again`)) || !bytes.Contains(logs.Bytes(), []byte(`"file_id":"`+rep.FileID+`"`)) {
		t.Errorf("no log line for the resent file:\n%s", logs.String())
	}
	raw, err := os.ReadFile(nd)
	if err != nil || !bytes.Contains(raw, []byte(`"recorded":"2026-11-23T10:30:00Z"`)) || bytes.Contains(raw, []byte("2026-11-25")) {
		t.Fatalf("ndjson made on the resend (want recorded = the first processing): %v\n%s", err, raw)
	}
	// A first run with --fhir writes the same resources.
	st2, out2 := openFolder(t, nil), t.TempDir()
	firstOpts := withFHIR
	firstOpts.Now = func() time.Time { return first }
	rep2 := imp(intake.New(st2, intake.Config{OutDir: out2, Opts: firstOpts, Log: zerolog.Nop()}))
	if raw2, _ := os.ReadFile(filepath.Join(out2, rep2.FileID, importer.FHIRFile)); !bytes.Equal(raw, raw2) {
		t.Errorf("ndjson made on the resend differs from a first run's:\n%s\n%s", raw, raw2)
	}
	// A third arrival, without --fhir, keeps it unchanged.
	now = first.Add(72 * time.Hour)
	rep = imp(svc)
	if raw3, _ := os.ReadFile(nd); !bytes.Equal(raw, raw3) || len(rep.Resent) != 2 {
		t.Errorf("third arrival changed the ndjson (resent %d)", len(rep.Resent))
	}
	if bytes.Contains(raw, []byte("Testperson")) {
		t.Error("a name reached the FHIR output")
	}
}

// TestImportPathsKeepsClaims: a batch that takes longer than the claim lease keeps its claims
// (one renewal loop for the batch): another worker on the shared state cannot take a file
// over meanwhile, and the batch records every file.
func TestImportPathsKeepsClaims(t *testing.T) {
	st, other := twoPostgresStores(t)
	paths := overlapping(t, t.TempDir(), 3)
	svc := intake.New(st, intake.Config{OutDir: t.TempDir(), Opts: testOpts(), Log: zerolog.Nop(), Lease: 600 * time.Millisecond})
	n := 0
	intake.SetCrashHook(svc, func(what string) {
		if what != "file evaluated" {
			return
		}
		if n++; n == 2 {
			time.Sleep(1500 * time.Millisecond) // two and a half leases
			_, _, err := other.ClaimFile(ctx, fileID(t, paths[0]), "another worker", time.Minute)
			if !errors.Is(err, state.ErrClaimed) {
				t.Errorf("another worker's claim during the batch: %v, want ErrClaimed", err)
			}
		}
	})
	reports := 0
	err := svc.ImportPaths(ctx, paths, nil, received, intake.PathHooks{Report: func(string, *report.Report) error { reports++; return nil }})
	if err != nil || reports != 3 {
		t.Fatalf("ImportPaths: %v, %d reports", err, reports)
	}
}
