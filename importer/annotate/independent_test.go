package annotate

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fhi/sysvak-import/importer/template/xlsxtest"
	"github.com/fhi/sysvak-import/importer/workbook"
	"github.com/fhi/sysvak-import/validate"
)

// Issue 5 "Done when": an independent reader (Debian's python3-openpyxl) finds the annotated
// copy's comments and fills; LibreOffice opens (converts) it; the project's reader re-reads it.

func writeAnnotated(t *testing.T) (path string, in []byte, fs []validate.Finding) {
	t.Helper()
	in = buildInput(t, inputSpec{sheet: "Vaksinasjoner"})
	fs = check(t, in)
	path = filepath.Join(t.TempDir(), "merket.xlsx")
	if err := os.WriteFile(path, annotate(t, in, fs, Options{Lang: "nb"}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, in, fs
}

func TestOpenpyxlReadsAnnotatedCopy(t *testing.T) {
	path, _, fs := writeAnnotated(t)
	p := xlsxtest.RunProbe(t, path, 0)
	if len(p.Sheets) == 0 || p.Sheets[0].Name != SheetFindings || p.Active != SheetFindings {
		t.Fatalf("first/active sheet = %v/%q, want %s", p.Sheets, p.Active, SheetFindings)
	}
	data := p.Sheet("Vaksinasjoner")
	if data == nil {
		t.Fatal("no data sheet")
	}
	sev := map[string]validate.Severity{}
	codes := map[string][]string{}
	for _, f := range fs {
		ref := cellRef(f)
		if ref == "" {
			continue
		}
		if sev[ref] != validate.SeverityError {
			sev[ref] = f.Severity
		}
		codes[ref] = append(codes[ref], string(f.Code))
	}
	for ref, s := range sev {
		c := data.Cells[ref]
		want := "FF" + FillWarning
		if s == validate.SeverityError {
			want = "FF" + FillError
		}
		if !strings.EqualFold(c.Fill, want) {
			t.Errorf("openpyxl: %s fill = %q, want %s", ref, c.Fill, want)
		}
		if c.Comment == nil || c.CommentAuthor != Author {
			t.Errorf("openpyxl: %s comment = %v by %q", ref, c.Comment, c.CommentAuthor)
			continue
		}
		for _, code := range codes[ref] {
			if !strings.Contains(*c.Comment, code) {
				t.Errorf("openpyxl: %s comment lacks %s", ref, code)
			}
		}
	}
	// The date cell with a finding keeps its number format (C7: the future date).
	if c := data.Cells["C7"]; c.NumberFormat != "dd.mm.yyyy" || c.Value != "2030-01-01T00:00:00" {
		t.Errorf("openpyxl: C7 = %v (%q), want the date 2030-01-01 formatted dd.mm.yyyy", c.Value, c.NumberFormat)
	}
	if c := data.Cells["A6"]; c.Value != float64(idTen) {
		t.Errorf("openpyxl: A6 = %v, want the number %d unchanged", c.Value, idTen)
	}
	if v := data.Cells["I3"].Value; v != "Status" {
		t.Errorf("openpyxl: status header = %v", v)
	}
	if v, _ := data.Cells["I5"].Value.(string); !strings.HasPrefix(v, "Avvist: ") {
		t.Errorf("openpyxl: I5 status = %v", data.Cells["I5"].Value)
	}
	funn := p.Sheet(SheetFindings)
	links := 0
	for ref, c := range funn.Cells {
		if c.LinkLocation == nil {
			continue
		}
		links++
		if !strings.HasPrefix(ref, "C") || !strings.HasPrefix(*c.LinkLocation, "'Vaksinasjoner'!") {
			t.Errorf("openpyxl: link in %s to %q", ref, *c.LinkLocation)
		}
		if target := "'Vaksinasjoner'!" + c.Value.(string); *c.LinkLocation != target {
			t.Errorf("openpyxl: %s shows %v but links to %q", ref, c.Value, *c.LinkLocation)
		}
	}
	rowFindings := 0
	for _, f := range fs {
		if f.Row > 0 {
			rowFindings++
		}
	}
	if links != rowFindings {
		t.Errorf("openpyxl: %d links, want %d (one per row finding)", links, rowFindings)
	}
	if h := funn.Cells["A1"].Value; h != "Rad" {
		t.Errorf("openpyxl: Funn!A1 = %v", h)
	}
	if funn.Freeze == nil || *funn.Freeze != "A2" {
		t.Errorf("openpyxl: Funn freeze = %v", funn.Freeze)
	}
	if n := funn.MaxRow; n != len(fs)+1 {
		t.Errorf("openpyxl: Funn has %d rows, want %d", n, len(fs)+1)
	}
}

// LibreOffice re-saves the annotated copy as xlsx and as CSV (every sheet); the conversion
// succeeds, the Funn header and the data header survive, and the project's reader reads
// LibreOffice's xlsx with the same findings.
func TestLibreOfficeConvertsAnnotatedCopy(t *testing.T) {
	path, _, fs := writeAnnotated(t)
	csvs := xlsxtest.LibreOfficeConvert(t, path, "csv")
	if got := xlsxtest.FirstLine(csvs["merket-"+SheetFindings+".csv"]); got != strings.Join(labelsNB.columns[:], ",") {
		t.Errorf("LibreOffice CSV of Funn: header %q (files %d)", got, len(csvs))
	}
	data := string(csvs["merket-Vaksinasjoner.csv"])
	lines := strings.Split(data, "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[2], "Fnr,Navn,Dato,Vaksine,Dose,Batch,HPR,Intern ref,Status") {
		t.Errorf("LibreOffice CSV of the data sheet, row 3 = %q", lines[min(2, len(lines)-1)])
	}
	xl := xlsxtest.LibreOfficeConvert(t, path, "xlsx")["merket.xlsx"]
	if len(xl) == 0 {
		t.Fatal("LibreOffice wrote no xlsx")
	}
	ctx := context.Background()
	book, err := workbook.OpenExcelize(ctx, bytes.NewReader(xl), int64(len(xl)), workbook.Options{})
	if err != nil {
		t.Fatalf("reader on LibreOffice's xlsx: %v", err)
	}
	book.Close()
	again := check(t, xl)
	var a, b []string
	for _, f := range fs {
		if f.Row > 0 {
			a = append(a, strconv.Itoa(f.Row)+string(f.Code))
		}
	}
	for _, f := range again {
		if f.Row > 0 {
			b = append(b, strconv.Itoa(f.Row)+string(f.Code))
		}
	}
	if !slices.Equal(a, b) {
		t.Errorf("findings on LibreOffice's copy = %v, want %v", b, a)
	}
}
