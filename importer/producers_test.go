package importer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fhi/sysvak-import/importer/template/xlsxtest"
	"github.com/fhi/sysvak-import/validate"
)

// Issue 12: a CSV opened (here: converted) by LibreOffice turns 0301 into the number 301 and the
// ID 07020554821 into 7020554821. Both are restored with a warning, and the row is registered.
func TestLibreOfficeCSVLeadingZerosRestored(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "vaksiner.csv")
	// ASCII header names (synonyms): LibreOffice reads a CSV in the system charset.
	body := "Fnr,Dato,Vaksine,Dose,Batch,HPR,Helseenhet,Kommunenummer\n" +
		"07020554821,01.03.2025,BNT03,1,FK1234,9144889,974760673,0301\n"
	if err := os.WriteFile(csv, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	xl := xlsxtest.LibreOfficeConvert(t, csv, "xlsx")["vaksiner.xlsx"]
	if len(xl) == 0 {
		t.Fatal("LibreOffice wrote no xlsx")
	}
	path := filepath.Join(dir, "vaksiner.xlsx")
	if err := os.WriteFile(path, xl, 0o600); err != nil {
		t.Fatal(err)
	}
	fx := newFixture(t)
	rep := fx.importFile(path)
	if rep.Stats.Registered != 1 || rep.Stats.Rejected != 0 {
		t.Fatalf("stats %+v, findings %+v", rep.Stats, rep.Findings)
	}
	got := map[validate.Code]bool{}
	for _, f := range rep.Findings {
		got[f.Code] = true
		if f.Severity != validate.SeverityWarning {
			t.Errorf("finding %+v is not a warning", f)
		}
	}
	for _, c := range []validate.Code{validate.IDLeadingZeroRestored, validate.MunicipalityLeadingZeroRestored} {
		if !got[c] {
			t.Errorf("no %s warning: %+v", c, rep.Findings)
		}
	}
	recs := fx.records(rep.FileID)
	if len(recs) != 1 || recs[0]["municipality"] != "0301" || recs[0]["person_id"] != "07020554821" ||
		recs[0]["vaccinator_hpr"] != "9144889" || recs[0]["unit_id"] != "974760673" {
		t.Errorf("record %v: leading zeros not restored or numbers changed", recs)
	}
}

// Issue 12 (SPEC 1.1): a file that is not a workbook is rejected with a message that says what it
// is, in the reader's language: an empty file, a CSV, an ODS and a PDF saved by LibreOffice, and a
// ZIP made by Python's zipfile.
func TestFileTypeNamed(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("..", "fixtures", "files", "clean.xlsx")
	files := map[string][]byte{"tom.xlsx": {}}
	for _, format := range []string{"csv", "ods", "pdf"} {
		for name, b := range xlsxtest.LibreOfficeConvert(t, src, format) {
			if strings.HasSuffix(name, ".csv") {
				name = "clean.csv" // one file per sheet: clean-<sheet>.csv
			}
			files[name] = b
		}
	}
	zipPath := filepath.Join(dir, "arkiv.zip")
	xlsxtest.RunPython(t, "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w') as z:\n    z.writestr('notat.txt', 'hei')\n", zipPath)
	zb, err := os.ReadFile(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	files["arkiv.zip"] = zb
	want := map[string][2]string{ // file -> nb, en
		"tom.xlsx":  {"en tom fil", "an empty file"},
		"clean.csv": {"en CSV-fil", "a CSV file"},
		"clean.ods": {"et OpenDocument-regneark (.ods", "an OpenDocument spreadsheet (.ods"},
		"clean.pdf": {"et PDF-dokument", "a PDF document"},
		"arkiv.zip": {"et ZIP-arkiv", "a ZIP archive"},
	}
	for name, w := range want {
		b, ok := files[name]
		if !ok {
			t.Fatalf("no %s (files %d)", name, len(files))
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		for i, lang := range []string{"nb", "en"} {
			rep, err := Validate(context.Background(), Input{Path: path, Name: name}, Options{Lang: lang})
			if err != nil {
				t.Fatal(err)
			}
			rep.Localize(lang)
			if len(rep.Findings) != 1 || rep.Findings[0].Code != validate.FileUnsupportedFormat {
				t.Fatalf("%s: findings %+v", name, rep.Findings)
			}
			if msg := rep.Findings[0].Message; !strings.Contains(msg, w[i]) {
				t.Errorf("%s %s: %q does not say %q", name, lang, msg, w[i])
			}
		}
	}
}
