package importer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/xuri/excelize/v2"

	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/validate"
)

// Valid person IDs, all public test vectors of shared/reference/id_vectors.csv.
const (
	fnrA = "15108695088" // ids.md §4.2 worked example
	fnrB = "26111593816" // python-stdnum doctest
	fnrC = "07020554821" // Fhi.NINCheck test
	dufA = "200112345609"
)

var header = []any{"Fødselsnummer", "Navn", "Vaksinasjonsdato", "Vaksinekode", "Dosenummer", "Batchnummer",
	"Vaksinatør HPR-nummer", "Helseenhet", "Kommunenummer", "Gitt annet sted", "Handling"}

// writeBook writes a filimport workbook with the given data rows under the standard header.
func writeBook(t testing.TB, dir, name string, rows ...[]any) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	f.SetSheetName("Sheet1", "Vaksinasjoner")
	if err := f.SetSheetRow("Vaksinasjoner", "A1", &header); err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := f.SetSheetRow("Vaksinasjoner", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, name)
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func testOptions(log zerolog.Logger) Options {
	return Options{
		Lang:   "nb",
		Check:  validate.Options{Codes: validate.DefaultCodes(), AsOf: validate.Date{Year: 2026, Month: time.November, Day: 23}},
		Limits: DefaultLimits(),
		Log:    log,
	}
}

type fixture struct {
	t      *testing.T
	dir    string
	led    *ledger.Ledger
	im     *testImporter
	logBuf *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	led, err := ledger.Open(context.Background(), filepath.Join(dir, "state"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	var buf bytes.Buffer
	log := zerolog.New(&buf).Level(zerolog.DebugLevel)
	return &fixture{t: t, dir: dir, led: led, logBuf: &buf,
		im: &testImporter{Ledger: led, OutDir: filepath.Join(dir, "out"), Opts: testOptions(log)}}
}

func (fx *fixture) importFile(path string) *report.Report {
	fx.t.Helper()
	rep, err := fx.im.Import(context.Background(), Input{Path: path, Name: filepath.Base(path),
		Source: report.Source{Kind: "local", Path: path, Received: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}})
	if err != nil {
		fx.t.Fatal(err)
	}
	// Every row ends in exactly one counted state (docs/behaviour.md).
	st := rep.Stats
	if rep.Status != report.StatusFileRejected && rep.Status != report.StatusWaitingPassword &&
		st.Rows != st.Registered+st.Rejected+st.DuplicatesInFile+st.DuplicatesInLedger+st.NotRegistered {
		fx.t.Fatalf("stats do not add up: %+v", st)
	}
	return rep
}

func (fx *fixture) records(fileID string) []map[string]any {
	fx.t.Helper()
	f, err := os.Open(filepath.Join(fx.im.OutDir, fileID, RecordsFile))
	if err != nil {
		fx.t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			fx.t.Fatalf("bad record line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func codesOf(rep *report.Report) map[validate.Code]int {
	m := map[validate.Code]int{}
	for _, f := range rep.Findings {
		m[f.Code]++
	}
	return m
}

func TestImportWithinAndAcrossFiles(t *testing.T) {
	fx := newFixture(t)
	a := writeBook(t, fx.dir, "a.xlsx",
		[]any{fnrA, "Testperson En", "01.03.2025", "BNT03", 1, "FK1234", "1234567"},
		[]any{fnrB, "Testperson To", "2025-03-02", "MOD03", 1, "FK1234", "1234567"},
		[]any{fnrA, "Testperson En", "01.03.2025", "BNT03", 2, "FK9999", "1234567"}, // in-file duplicate, dose+batch differ
		[]any{fnrC, "Testperson Tre", "01.03.2025", "XX1", 1, "FK1234", "1234567"},  // code.format: rejected
	)
	rep := fx.importFile(a)
	if rep.Status != report.StatusRejectedRows {
		t.Fatalf("status %s", rep.Status)
	}
	want := report.Stats{Rows: 4, Registered: 2, Rejected: 1, DuplicatesInFile: 1, Warnings: rep.Stats.Warnings}
	if rep.Stats.Rows != want.Rows || rep.Stats.Registered != want.Registered || rep.Stats.Rejected != want.Rejected {
		t.Fatalf("stats %+v", rep.Stats)
	}
	c := codesOf(rep)
	if c[validate.RowDuplicateConflict] != 1 || c[validate.CodeFormat] != 1 {
		t.Fatalf("codes %v", c)
	}
	for _, f := range rep.Findings {
		if f.Code == validate.RowDuplicateConflict && (f.Row != 4 || f.Args["row"] != "2" || !strings.Contains(f.Args["differs"], "dose")) {
			t.Errorf("conflict finding %+v", f)
		}
		if f.Message == "" {
			t.Errorf("finding %s has no message", f.Code)
		}
	}
	if rep.ExitCode() != 1 {
		t.Errorf("exit code %d", rep.ExitCode())
	}
	recs := fx.records(rep.FileID)
	if len(recs) != 2 || recs[0]["person_id"] != fnrA || recs[0]["vaccination_date"] != "2025-03-01" || recs[1]["sysvak_code"] != "MOD03" {
		t.Fatalf("records %v", recs)
	}

	// Another file repeating a registered vaccination: ledger.duplicate naming file and row.
	b := writeBook(t, fx.dir, "b.xlsx",
		[]any{fnrA, "Testperson En", "01.03.2025", "BNT03", 1, "FK1234", "1234567"},
		[]any{fnrA, "Testperson En", "02.03.2025", "BNT03", 2, "FK1234", "1234567"},
	)
	repB := fx.importFile(b)
	if repB.Stats.DuplicatesInLedger != 1 || repB.Stats.Registered != 1 || repB.Status != report.StatusAcceptedWithWarnings {
		t.Fatalf("file b: %+v %s %+v", repB.Stats, repB.Status, repB.Findings)
	}
	for _, f := range repB.Findings {
		if f.Code == validate.LedgerDuplicate && (f.Args["file"] != rep.FileID || f.Args["row"] != "2") {
			t.Errorf("ledger.duplicate should name %s row 2: %+v", rep.FileID, f.Args)
		}
	}

	// A deletion row removes the key; a later file may register it again.
	cFile := writeBook(t, fx.dir, "c.xlsx",
		[]any{fnrA, "", "01.03.2025", "BNT03", 1, "FK1234", "1234567", "", "", "", "S"},
		[]any{fnrC, "", "01.03.2025", "BNT03", 1, "FK1234", "1234567", "", "", "", "Slett"})
	repC := fx.importFile(cFile)
	if repC.Stats.Registered != 2 || codesOf(repC)[validate.LedgerDeleteUnknown] != 1 {
		t.Fatalf("deletions: %+v %v", repC.Stats, codesOf(repC))
	}
	recsC := fx.records(repC.FileID)
	if len(recsC) != 2 || recsC[0]["action"] != "delete" {
		t.Fatalf("deletion records %v", recsC)
	}
	d := writeBook(t, fx.dir, "d.xlsx", []any{fnrA, "Testperson En", "01.03.2025", "BNT03", 1, "FK1234", "1234567"})
	repD := fx.importFile(d)
	if repD.Stats.Registered != 1 || repD.Stats.DuplicatesInLedger != 0 {
		t.Fatalf("register after delete: %+v", repD.Stats)
	}
}

// Issue 12: each checked file writes a log line whose "took" carries its unit. (The log line of
// a resent file is internal/intake's, tested there.)
func TestCheckedFileLogLine(t *testing.T) {
	fx := newFixture(t)
	a := writeBook(t, fx.dir, "a.xlsx", []any{fnrA, "Testperson En", "01.03.2025", "BNT03", 1, "FK1234", "1234567"})
	rep := fx.importFile(a)
	logs := fx.logBuf.String()
	if !strings.Contains(logs, `"message":"file checked"`) || !strings.Contains(logs, `"file_id":"`+rep.FileID+`"`) {
		t.Errorf("no log line for the checked file:\n%s", logs)
	}
	if !regexp.MustCompile(`"took":"[0-9.]+(µs|ms|s)"`).MatchString(logs) {
		t.Errorf("took without a unit:\n%s", logs)
	}
}

func TestStrictRegistersNothingWithRejectedRows(t *testing.T) {
	fx := newFixture(t)
	fx.im.Opts.Strict = true
	a := writeBook(t, fx.dir, "a.xlsx",
		[]any{fnrA, "Testperson En", "01.03.2025", "BNT03", 1, "FK1234", "1234567"},
		[]any{"12345678901", "Testperson To", "01.03.2025", "BNT03", 1, "FK1234", "1234567"})
	rep := fx.importFile(a)
	if rep.Stats.Registered != 0 || rep.Stats.NotRegistered != 1 || rep.Stats.Rejected != 1 {
		t.Fatalf("strict: %+v", rep.Stats)
	}
	if n := len(fx.records(rep.FileID)); n != 0 {
		t.Fatalf("strict wrote %d records", n)
	}
	if live, _, _ := fx.led.Stats(); live != 0 {
		t.Fatalf("strict registered %d keys", live)
	}
}

func TestLogsAndReportsNeverCarryIDsOrNames(t *testing.T) {
	fx := newFixture(t)
	a := writeBook(t, fx.dir, "a.xlsx",
		[]any{fnrA, "Testperson Hemmelig", "01.03.2025", "BNT03", 1, "FK1234", "1234567"},
		[]any{"15108695089", "Testperson Hemmelig", "01.03.2025", "BNT03", 1, "FK1234", "1234567"}, // checksum error
		[]any{fnrA, "Testperson Hemmelig", "01.03.2025", "BNT03", 1, "FK1234", "1234567"})
	rep := fx.importFile(a)
	for _, name := range []string{ReportJSONFile, ReportTextFile} {
		b, err := os.ReadFile(filepath.Join(fx.im.OutDir, rep.FileID, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{fnrA, "15108695089", "Hemmelig"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s contains %q", name, secret)
			}
		}
		// No part of an ID either: six digits are a birth date (SPEC 5, issue 12).
		if bytes.Contains(b, []byte("151086")) {
			t.Errorf("%s holds the first six digits of an ID", name)
		}
	}
	for _, secret := range []string{fnrA, "15108695089", "Hemmelig", "151086"} {
		if strings.Contains(fx.logBuf.String(), secret) {
			t.Errorf("log contains %q", secret)
		}
	}
	if fx.logBuf.Len() == 0 {
		t.Error("nothing logged")
	}
}

// TestAbsentRecommendedColumnWarnsOnce: a file without the batch and vaccinator columns gets
// batch.missing and vaccinator.missing once for the file, not once per row; a file that has the
// column but leaves a cell blank still gets the warning on that row.
func TestAbsentRecommendedColumnWarnsOnce(t *testing.T) {
	dir := t.TempDir()
	f := excelize.NewFile()
	f.SetSheetName("Sheet1", "Vaksinasjoner")
	f.SetSheetRow("Vaksinasjoner", "A1", &[]any{"Fødselsnummer", "Vaksinasjonsdato", "Vaksinekode"})
	for i, id := range []string{fnrA, fnrB, fnrC} {
		f.SetSheetRow("Vaksinasjoner", fmt.Sprintf("A%d", i+2), &[]any{id, "01.11.2026", "BNT03"})
	}
	noCols := filepath.Join(dir, "uten-batch.xlsx")
	if err := f.SaveAs(noCols); err != nil {
		t.Fatal(err)
	}
	f.Close()
	blank := writeBook(t, dir, "tom-batch.xlsx",
		[]any{fnrA, "", "01.11.2026", "BNT03", 1, "", "", "", "", "", ""},
		[]any{fnrB, "", "01.11.2026", "BNT03", 1, "AB12", "1234567", "", "", "", ""})

	tests := []struct {
		path     string
		batchRow []int // rows of batch.missing (0 = file level)
		hprRow   []int
	}{
		{noCols, []int{0}, []int{0}},
		{blank, []int{2}, []int{2}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			rep, err := Validate(context.Background(), Input{Path: tt.path, Name: filepath.Base(tt.path)}, testOptions(zerolog.Nop()))
			if err != nil {
				t.Fatal(err)
			}
			var batch, hpr []int
			for _, f := range rep.Findings {
				switch f.Code {
				case validate.BatchMissing:
					batch = append(batch, f.Row)
				case validate.VaccinatorMissing:
					hpr = append(hpr, f.Row)
				}
			}
			if fmt.Sprint(batch) != fmt.Sprint(tt.batchRow) || fmt.Sprint(hpr) != fmt.Sprint(tt.hprRow) {
				t.Fatalf("batch.missing rows %v, vaccinator.missing rows %v; want %v and %v", batch, hpr, tt.batchRow, tt.hprRow)
			}
			if rep.Stats.Registered == 0 || rep.Status != report.StatusAcceptedWithWarnings {
				t.Fatalf("status %s, stats %+v", rep.Status, rep.Stats)
			}
		})
	}
}
