package annotate

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/fhi/sysvak-import/importer/template"
	"github.com/fhi/sysvak-import/importer/template/xlsxtest"
	"github.com/fhi/sysvak-import/validate"
)

// Issue 12: the vaccinator's loop on her own file. The template is filled in and saved by
// openpyxl, by LibreOffice (openpyxl's file re-saved) and by excelize; each is annotated, and
// the annotated copy is annotated again. openpyxl reads every result, LibreOffice re-saves every
// result, and in both every faulty cell has exactly one comment line per finding; the
// vaccinator's own comment survives; no zip entry has an absolute name.

// fillScript fills rows 2-4 of the template's data sheet and adds the vaccinator's own comment
// on D2 (a faulty code). Usage: fill.py IN OUT
const fillScript = `
import sys, datetime, openpyxl
from openpyxl.comments import Comment
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb["Vaksinasjoner"]
rows = [
    ("15108695088", "Kari", datetime.datetime(2024, 5, 17), "XXX", 1, "FK1", "9144889"),
    ("13097248023", "Per", datetime.datetime(2024, 5, 17), "BNT03", 1, "FK1", "9144889"),
    ("26111593816", None, datetime.datetime(2024, 5, 18), "BNT03", 1, None, None),
]
for r, row in enumerate(rows, start=2):
    for c, v in enumerate(row, start=1):
        if v is not None:
            ws.cell(row=r, column=c, value=v)
ws["D2"].comment = Comment("Sjekk denne koden", "Lege")
wb.save(sys.argv[2])
`

func TestAnnotateOtherProducers(t *testing.T) {
	xlsxtest.RequireOpenpyxl(t)
	dir := t.TempDir()
	var tpl bytes.Buffer
	if err := template.Write(context.Background(), &tpl, validate.DefaultCodes(), "nb"); err != nil {
		t.Fatal(err)
	}
	tplPath := filepath.Join(dir, "mal.xlsx")
	writeFile(t, tplPath, tpl.Bytes())
	opPath := filepath.Join(dir, "openpyxl.xlsx")
	xlsxtest.RunPython(t, fillScript, tplPath, opPath)
	lo := xlsxtest.LibreOfficeConvertAll(t, []string{opPath}, "xlsx")["openpyxl.xlsx"]
	inputs := map[string][]byte{
		"openpyxl":    readFile(t, opPath),
		"libreoffice": lo,
		"excelize":    fillExcelize(t, tpl.Bytes()),
	}
	var outs []string
	for name, in := range inputs {
		first := annotateChecked(t, in)
		second := annotateChecked(t, first)
		for i, b := range [][]byte{first, second} {
			p := filepath.Join(dir, name+"-merket"+string(rune('1'+i))+".xlsx")
			writeFile(t, p, b)
			outs = append(outs, p)
		}
	}
	for _, p := range outs {
		t.Run("openpyxl reads "+filepath.Base(p), func(t *testing.T) {
			b := readFile(t, p)
			assertRelativeEntries(t, b)
			assertCommented(t, xlsxtest.RunProbe(t, p, 0), check(t, b), true)
		})
	}
	// LibreOffice re-saves every annotated copy; openpyxl then finds the comments in its files.
	saved := xlsxtest.LibreOfficeConvertAll(t, outs, "xlsx")
	for _, p := range outs {
		t.Run("LibreOffice reads "+filepath.Base(p), func(t *testing.T) {
			b, ok := saved[filepath.Base(p)]
			if !ok {
				t.Fatalf("LibreOffice wrote no copy of %s", filepath.Base(p))
			}
			q := filepath.Join(t.TempDir(), "lo.xlsx")
			writeFile(t, q, b)
			assertCommented(t, xlsxtest.RunProbe(t, q, 0), check(t, readFile(t, p)), false)
		})
	}
}

// A cell fixed in the annotated copy loses its highlight and its finding comment when the copy
// is annotated again; the vaccinator's own comment on it stays.
func TestReannotateFixedCell(t *testing.T) {
	xlsxtest.RequireOpenpyxl(t)
	dir := t.TempDir()
	var tpl bytes.Buffer
	if err := template.Write(context.Background(), &tpl, validate.DefaultCodes(), "nb"); err != nil {
		t.Fatal(err)
	}
	tplPath, opPath := filepath.Join(dir, "mal.xlsx"), filepath.Join(dir, "openpyxl.xlsx")
	writeFile(t, tplPath, tpl.Bytes())
	xlsxtest.RunPython(t, fillScript, tplPath, opPath)
	first := filepath.Join(dir, "merket.xlsx")
	writeFile(t, first, annotateChecked(t, readFile(t, opPath)))
	fixed := filepath.Join(dir, "rettet.xlsx")
	xlsxtest.RunPython(t, `
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
wb["Vaksinasjoner"]["D2"].value = "BNT03"
wb.save(sys.argv[2])
`, first, fixed)
	again := filepath.Join(dir, "merket2.xlsx")
	writeFile(t, again, annotateChecked(t, readFile(t, fixed)))
	p := xlsxtest.RunProbe(t, again, 0)
	d2 := p.Sheet("Vaksinasjoner").Cells["D2"]
	if d2.Comment == nil || strings.TrimSpace(*d2.Comment) != "Sjekk denne koden" {
		t.Errorf("D2 comment after the fix = %v, want only the vaccinator's own", deref(d2.Comment))
	}
	if d2.Fill != "" && !strings.EqualFold(d2.Fill, "00000000") {
		t.Errorf("D2 fill after the fix = %q, want none", d2.Fill)
	}
}

// annotateChecked checks b and returns its annotated copy.
func annotateChecked(t *testing.T, b []byte) []byte {
	t.Helper()
	return annotate(t, b, check(t, b), Options{Lang: "nb"})
}

// assertCommented checks that every cell with findings has one comment line per finding
// (the code in it once), that the vaccinator's comment on D2 is kept, and that there is one
// Funn sheet and one status column. strict: also the highlight fills (openpyxl reads ours;
// LibreOffice rewrites fills as it likes).
func assertCommented(t *testing.T, p *xlsxtest.Probe, fs []validate.Finding, strict bool) {
	t.Helper()
	data := p.Sheet("Vaksinasjoner")
	if data == nil {
		t.Fatal("no data sheet")
	}
	funn := 0
	for _, s := range p.Sheets {
		if strings.HasPrefix(s.Name, SheetFindings) {
			funn++
		}
	}
	if funn != 1 || p.Sheets[0].Name != SheetFindings {
		t.Errorf("sheets %v: want one %s sheet, first", sheetNames(p), SheetFindings)
	}
	status := 0
	for ref, c := range data.Cells {
		if strings.HasSuffix(ref, "1") && len(ref) <= 3 && c.Value == labelsNB.status {
			status++
		}
	}
	if status != 1 {
		t.Errorf("%d status columns, want 1", status)
	}
	hdr := header(t, fs)
	n := 0
	for _, f := range fs {
		ref := hdr(f)
		if ref == "" {
			continue
		}
		n++
		c := data.Cells[ref]
		if c.Comment == nil {
			t.Errorf("%s (%s): no comment", ref, f.Code)
			continue
		}
		if k := strings.Count(*c.Comment, "("+string(f.Code)+")"); k != 1 {
			t.Errorf("%s: comment names %s %d times: %q", ref, f.Code, k, *c.Comment)
		}
		if strict && c.Fill == "" {
			t.Errorf("%s (%s): not highlighted", ref, f.Code)
		}
	}
	if n == 0 {
		t.Fatal("no cell findings: the fixture tests nothing")
	}
	// Issue 12: Funn prints whole: print area over its rows, one page wide, header repeated.
	if f := p.Sheet(SheetFindings); f == nil || f.PrintsToWidth() != "" ||
		!strings.HasSuffix(deref(f.PrintArea), fmt.Sprintf("$A$1:$F$%d", len(fs)+1)) || deref(f.PrintTitleRows) == "" {
		t.Errorf("Funn printing: %q, area %q, titles %q (%d findings)", f.PrintsToWidth(), deref(f.PrintArea), deref(f.PrintTitleRows), len(fs))
	}
	if c := data.Cells["D2"].Comment; c == nil || !strings.HasPrefix(*c, "Sjekk denne koden") {
		t.Errorf("D2: the vaccinator's comment is gone: %q", deref(c))
	}
}

// header returns a function giving the cell of a finding in the template's layout (header in
// row 1, columns in validate.Layout order).
func header(t *testing.T, _ []validate.Finding) func(validate.Finding) string {
	t.Helper()
	layout := validate.Layout()
	col := map[string]int{}
	for i, c := range layout {
		col[c.Key] = i + 1
	}
	return func(f validate.Finding) string {
		c, ok := col[f.Column]
		if !ok || f.Row == 0 {
			return ""
		}
		ref, _ := excelize.CoordinatesToCellName(c, f.Row)
		return ref
	}
}

func sheetNames(p *xlsxtest.Probe) []string {
	var n []string
	for _, s := range p.Sheets {
		n = append(n, s.Name)
	}
	return n
}

// assertRelativeEntries fails on a zip entry whose name is absolute (issue 12).
func assertRelativeEntries(t *testing.T, b []byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, "/") {
			t.Errorf("zip entry with an absolute name: %s", f.Name)
		}
	}
}

// fillExcelize fills the template as fillScript does, with excelize.
func fillExcelize(t *testing.T, tpl []byte) []byte {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(tpl))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := [][]any{
		{"15108695088", "Kari", "17.05.2024", "XXX", 1, "FK1", "9144889"},
		{"13097248023", "Per", "17.05.2024", "BNT03", 1, "FK1", "9144889"},
		{"26111593816", nil, "18.05.2024", "BNT03", 1, nil, nil},
	}
	for i, r := range rows {
		for j, v := range r {
			if v == nil {
				continue
			}
			cell, _ := excelize.CoordinatesToCellName(j+1, i+2)
			if err := f.SetCellValue("Vaksinasjoner", cell, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.AddComment("Vaksinasjoner", excelize.Comment{Cell: "D2", Author: "Lege", Text: "Sjekk denne koden"}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t testing.TB, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
