package template

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/fhi/sysvak-import/importer/template/xlsxtest"
	"github.com/fhi/sysvak-import/importer/workbook"
	"github.com/fhi/sysvak-import/validate"
)

// Issue 5 "Done when": an independent reader (Debian's python3-openpyxl, not excelize) reads the
// template's header, data validations and formats; LibreOffice converts it without trouble.

func TestOpenpyxlReadsTemplate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mal.xlsx")
	codes := validate.DefaultCodes()
	if err := os.WriteFile(path, writeTemplate(t, codes, "nb"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := xlsxtest.RunProbe(t, path, 0)
	if p.Active != SheetData {
		t.Errorf("active sheet = %q, want %s", p.Active, SheetData)
	}
	states := map[string]string{}
	for _, s := range p.Sheets {
		states[s.Name] = s.State
	}
	if len(p.Sheets) != 3 || p.Sheets[0].Name != SheetData || states[SheetGuide] != "visible" || states[SheetCodes] != "hidden" {
		t.Fatalf("sheets = %v, want %s first, %s visible, %s hidden", states, SheetData, SheetGuide, SheetCodes)
	}
	// Issue 12: Veiledning prints whole (print area, one page wide), not cut at the page edge.
	if g := p.Sheet(SheetGuide); g == nil || g.PrintsToWidth() != "" || !strings.Contains(deref(g.PrintArea), "$A$1:$A$") {
		t.Errorf("Veiledning printing: %q (print area %q)", g.PrintsToWidth(), deref(g.PrintArea))
	}
	data := p.Sheet(SheetData)
	if data.Freeze == nil || *data.Freeze != "A2" {
		t.Errorf("freeze panes = %v, want A2", data.Freeze)
	}
	layout := validate.Layout()
	for i, key := range templateOrder {
		spec := layout[mustCol(t, key)]
		ref, _ := excelize.CoordinatesToCellName(i+1, 1)
		cell := data.Cells[ref]
		if cell.Value != spec.Header {
			t.Errorf("header %s = %v, want %q", ref, cell.Value, spec.Header)
		}
		if cell.Bold != spec.Required {
			t.Errorf("header %s bold = %v, want %v", ref, cell.Bold, spec.Required)
		}
		if cell.Comment == nil || !strings.Contains(*cell.Comment, spec.Header) || cell.CommentAuthor != "sysvak-import" {
			t.Errorf("header %s comment = %v by %q", ref, cell.Comment, cell.CommentAuthor)
		}
		want := "General"
		switch key {
		case "person_id", "vaccinator_hpr", "unit_id", "municipality":
			want = "@"
		case "vaccination_date":
			want = "dd.mm.yyyy"
		}
		if nf, found := data.ColumnFormat(i + 1); !found || nf != want {
			t.Errorf("column %d (%s) number format = %q (found %v), want %q", i+1, key, nf, found, want)
		}
	}
	type dvWant struct{ typ, f1 string }
	wants := map[string]dvWant{
		"D2:D1048576": {"list", CodeListRange(codes.Len())},
		"J2:J1048576": {"list", `"Ja,Nei"`},
		"K2:K1048576": {"list", `"R,S"`},
		"E2:E1048576": {"whole", "1"},
		"A2:A1048576": {"textLength", "11"},
	}
	prompts := 0
	for _, dv := range data.DVs {
		if dv.ShowInput && dv.Prompt != nil && *dv.Prompt != "" && dv.PromptTitle != nil && *dv.PromptTitle != "" {
			prompts++
		}
		w, ok := wants[dv.Sqref]
		if !ok {
			continue
		}
		delete(wants, dv.Sqref)
		if deref(dv.Type) != w.typ || deref(dv.Formula1) != w.f1 {
			t.Errorf("validation %s = %s %s, want %s %s", dv.Sqref, deref(dv.Type), deref(dv.Formula1), w.typ, w.f1)
		}
	}
	if len(wants) > 0 {
		t.Errorf("validations not found: %v", wants)
	}
	if prompts != len(templateOrder) {
		t.Errorf("%d columns with an input prompt, want %d", prompts, len(templateOrder))
	}
	codesSheet := p.Sheet(SheetCodes)
	for i, c := range codes.All() {
		if v := codesSheet.Cells["A"+strconv.Itoa(i+2)].Value; v != c.Code {
			t.Errorf("%s!A%d = %v, want %s", SheetCodes, i+2, v, c.Code)
		}
	}
}

// Filled in with openpyxl (a different writer than excelize), the template still reads and
// validates cleanly, leading zeros included.
func TestOpenpyxlFilledTemplateValidates(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "mal.xlsx"), filepath.Join(dir, "utfylt.xlsx")
	if err := os.WriteFile(in, writeTemplate(t, validate.DefaultCodes(), "nb"), 0o600); err != nil {
		t.Fatal(err)
	}
	const script = `
import sys, datetime, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb["Vaksinasjoner"]
ws.append(["07020554821", "Ola", datetime.datetime(2024, 5, 17), "BNT03", 1, "FK1", "9144889", "974760673", "0301", "Ja", "R", None])
ws["C2"].number_format = "dd.mm.yyyy"
wb.save(sys.argv[2])
`
	xlsxtest.RunPython(t, script, in, out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	fs, recs := check(t, b)
	if len(fs) != 0 || len(recs) != 1 {
		t.Fatalf("findings %+v, records %d; want none and 1", fs, len(recs))
	}
	if recs[0].PersonID != "07020554821" || recs[0].Municipality != "0301" {
		t.Errorf("leading zeros lost: id %s, municipality %q", validate.MaskID(recs[0].PersonID), recs[0].Municipality)
	}
}

// LibreOffice (Debian libreoffice-calc, headless) re-saves the template as xlsx: the conversion
// succeeds, the header text, the hidden code sheet and the code drop-down survive, and the
// project's reader reads LibreOffice's file.
func TestLibreOfficeConvertsTemplate(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "mal.xlsx")
	codes := validate.DefaultCodes()
	if err := os.WriteFile(src, writeTemplate(t, codes, "nb"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := xlsxtest.LibreOfficeConvert(t, src, "xlsx")
	xl, ok := out["mal.xlsx"]
	if !ok {
		t.Fatalf("LibreOffice wrote %v", keys(out))
	}
	f := openBytes(t, xl)
	rows, err := f.GetRows(SheetData)
	if err != nil || len(rows) == 0 {
		t.Fatalf("LibreOffice's %s: %d rows, %v", SheetData, len(rows), err)
	}
	var want []string
	for _, key := range templateOrder {
		want = append(want, validate.Layout()[mustCol(t, key)].Header)
	}
	if !slices.Equal(rows[0], want) {
		t.Errorf("LibreOffice header = %q, want %q", rows[0], want)
	}
	if v, err := f.GetSheetVisible(SheetCodes); err != nil || v {
		t.Errorf("LibreOffice: %s visible = %v (%v), want hidden", SheetCodes, v, err)
	}
	dvs, err := f.GetDataValidations(SheetData)
	if err != nil {
		t.Fatal(err)
	}
	foundList := false
	for _, dv := range dvs {
		if dv.Type == "list" && strings.Contains(dv.Formula1, SheetCodes) && strings.Contains(dv.Sqref, "D2") {
			foundList = true
		}
	}
	if !foundList {
		t.Errorf("LibreOffice dropped the code drop-down: %d validations", len(dvs))
	}
	if g := sheetText(t, f, SheetGuide); !strings.Contains(g, "Krypter med passord") {
		t.Errorf("LibreOffice's Veiledning lacks the encryption instructions")
	}
	ctx := context.Background()
	book, err := workbook.OpenExcelize(ctx, bytes.NewReader(xl), int64(len(xl)), workbook.Options{})
	if err != nil {
		t.Fatalf("reader on LibreOffice's xlsx: %v", err)
	}
	defer book.Close()
	sh, err := workbook.OpenSheet(ctx, book, workbook.ReadOptions{})
	if err != nil {
		t.Fatalf("OpenSheet on LibreOffice's xlsx: %v", err)
	}
	defer sh.Close()
	if h := sh.Header(); h.Row != 1 || len(h.Unknown) != 0 || h.Index[validate.ColComment] != 11 {
		t.Errorf("LibreOffice xlsx header: row %d unknown %q comment at %d", h.Row, h.Unknown, h.Index[validate.ColComment])
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
