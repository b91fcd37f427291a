// Package interop tests the importer on files made by other producers than this project
// (LibreOffice, openpyxl, Python's zipfile): issue 12. It is a package of its own so that its
// LibreOffice conversions (seconds each) do not share the importer package's test time budget.
package interop

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/importer/template/xlsxtest"
	"github.com/fhi/sysvak-import/internal/intake"
	"github.com/fhi/sysvak-import/internal/state/folder"
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
	rep, recs := importOne(t, path)
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
	src := filepath.Join("..", "..", "fixtures", "files", "clean.xlsx")
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
			o := testOptions(zerolog.Nop())
			o.Lang = lang
			rep, err := importer.Validate(context.Background(), importer.Input{Path: path, Name: name}, o)
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

// Issue 12: a sheet whose XML is not well-formed is file.corrupt (Excel refuses it), whichever
// reader meets it: the base workbook is openpyxl's, its sheet XML then broken by leaving an
// element open.
func TestMalformedSheetIsCorrupt(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.xlsx")
	xlsxtest.RunPython(t, `
import sys, openpyxl
wb = openpyxl.Workbook()
ws = wb.active
ws.title = "Vaksinasjoner"
ws.append(["Fnr", "Dato", "Vaksine", "Dose"])
ws.append(["15108695088", "01.03.2025", "BNT03", 1])
ws.append(["26111593816", "02.03.2025", "BNT03", 2])
ws.append(["26111593816", "03.03.2025", "MOD03", 3])
wb.save(sys.argv[1])
`, base)
	b, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	// The cases edit the second data row (row 3) of openpyxl's sheet1.xml.
	cases := map[string]func(string) string{
		"row left open":       func(x string) string { return strings.Replace(x, `</row><row r="4"`, `<row r="4"`, 1) },
		"cell left open":      func(x string) string { return strings.Replace(x, `</c><c r="B3"`, `<c r="B3"`, 1) },
		"sheetData left open": func(x string) string { return strings.Replace(x, `</sheetData>`, ``, 1) },
		"value left open":     func(x string) string { return strings.Replace(x, `<v>2</v>`, `<v>2`, 1) },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "brutt.xlsx")
			writeZipEdited(t, b, path, "xl/worksheets/sheet1.xml", edit)
			rep, err := importer.Validate(context.Background(), importer.Input{Path: path, Name: "brutt.xlsx"}, testOptions(zerolog.Nop()))
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Findings) == 0 || rep.Findings[0].Code != validate.FileCorrupt || rep.Stats.Rows != 0 {
				t.Errorf("findings %+v, stats %+v: want file.corrupt and no rows", rep.Findings, rep.Stats)
			}
		})
	}
}

// writeZipEdited copies the zip b to path with the part name passed through edit; it fails when
// edit changes nothing (the case would test nothing).
func writeZipEdited(t *testing.T, b []byte, path, name string, edit func(string) string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	edited := false
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if zf.Name == name {
			s := edit(string(data))
			edited = s != string(data)
			data = []byte(s)
		}
		w, err := zw.Create(zf.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if !edited {
		t.Fatalf("%s: the edit changed nothing", name)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Issue 12: --max-file-size raised above 50 MiB lets a plain workbook over 50 MiB through: the
// decrypt stage uses the same limit (one Limits structure). The workbook is openpyxl's, with a
// 51 MiB stored part added by Python's zipfile.
func TestMaxFileSizeRaised(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 51 MiB file")
	}
	path := filepath.Join(t.TempDir(), "stor.xlsx")
	xlsxtest.RunPython(t, `
import sys, os, zipfile, openpyxl
wb = openpyxl.Workbook()
ws = wb.active
ws.title = "Vaksinasjoner"
ws.append(["Fnr", "Dato", "Vaksine", "Dose", "Batch", "HPR"])
ws.append(["15108695088", "01.03.2025", "BNT03", 1, "FK1", "9144889"])
wb.save(sys.argv[1])
with zipfile.ZipFile(sys.argv[1], "a", compression=zipfile.ZIP_STORED) as z:
    z.writestr("xl/media/film.bin", os.urandom(51 << 20))
`, path)
	o := testOptions(zerolog.Nop())
	rep, err := importer.Validate(context.Background(), importer.Input{Path: path, Name: "stor.xlsx"}, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) == 0 || rep.Findings[0].Code != validate.FileTooLarge {
		t.Fatalf("default limit: findings %+v, want file.too_large", rep.Findings)
	}
	o.Limits.SetMaxFileSize(60 << 20)
	rep, err = importer.Validate(context.Background(), importer.Input{Path: path, Name: "stor.xlsx"}, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stats.Rows != 1 || rep.Stats.Registered != 1 {
		t.Errorf("limit raised to 60 MiB: stats %+v, findings %+v", rep.Stats, rep.Findings)
	}
}

func testOptions(log zerolog.Logger) importer.Options {
	return importer.Options{
		Lang:   "nb",
		Check:  validate.Options{Codes: validate.DefaultCodes(), AsOf: validate.Date{Year: 2026, Month: time.November, Day: 23}},
		Limits: importer.DefaultLimits(),
		Log:    log,
	}
}

// importOne imports path (as `import` does, through internal/intake) into a fresh state and output folder and returns its report and
// records.
func importOne(t *testing.T, path string) (*report.Report, []map[string]any) {
	t.Helper()
	dir := t.TempDir()
	st, err := folder.Open(context.Background(), filepath.Join(dir, "state"), folder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := filepath.Join(dir, "out")
	svc := intake.New(st, intake.Config{OutDir: out, Opts: testOptions(zerolog.Nop()), Log: zerolog.Nop()})
	rep, err := svc.ImportPath(context.Background(), path, nil, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, rep.FileID, importer.RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, m)
	}
	return rep, recs
}
