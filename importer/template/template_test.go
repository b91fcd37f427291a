package template

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/fhi/sysvak-import/importer/template/xlsxtest"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/fhi/sysvak-import/importer/workbook"
	"github.com/fhi/sysvak-import/validate"
)

// templateOrder is the header order issue 5 prescribes (filimport-columns.md "Columns").
var templateOrder = []string{"person_id", "name", "vaccination_date", "sysvak_code", "dose", "batch",
	"vaccinator_hpr", "unit_id", "municipality", "given_elsewhere", "action", "comment"}

// asOf is the fixed "today" of these tests (the date checks depend on it).
var asOf = validate.Date{Year: 2026, Month: time.November, Day: 23}

func writeTemplate(t testing.TB, codes *validate.CodeList, lang string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(context.Background(), &buf, codes, lang); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

func openBytes(t testing.TB, b []byte) *excelize.File {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("excelize.OpenReader: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// manyCodes is an operator code list far longer than an inline drop-down may be (255
// characters), to show that the hidden-sheet list holds all of it.
func manyCodes(t testing.TB, n int) *validate.CodeList {
	t.Helper()
	var b strings.Builder
	b.WriteString("code,name,atc,valid_from,valid_to\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%c%c%c%02d,Vaksine %d,,2020-01-01,\n", 'A'+i/260%26, 'A'+i/10%26, 'A'+i%26, i%100, i)
	}
	l, err := validate.ParseCodesCSV(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("ParseCodesCSV: %v", err)
	}
	return l
}

func TestWriteStructure(t *testing.T) {
	tests := []struct {
		name  string
		codes *validate.CodeList
		lang  string
	}{
		{"built-in codes nb", validate.DefaultCodes(), "nb"},
		{"built-in codes en", validate.DefaultCodes(), "en"},
		{"operator list of 400 codes", manyCodes(t, 400), "nb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := openBytes(t, writeTemplate(t, tc.codes, tc.lang))

			// Sheets: data first and active, guide second, code list hidden.
			if got, want := f.GetSheetList(), []string{SheetData, SheetGuide, SheetCodes}; !slices.Equal(got, want) {
				t.Fatalf("sheets = %q, want %q", got, want)
			}
			if i := f.GetActiveSheetIndex(); i != 0 {
				t.Errorf("active sheet index = %d, want 0", i)
			}
			for _, s := range []struct {
				name    string
				visible bool
			}{{SheetData, true}, {SheetGuide, true}, {SheetCodes, false}} {
				if v, err := f.GetSheetVisible(s.name); err != nil || v != s.visible {
					t.Errorf("sheet %s visible = %v (%v), want %v", s.name, v, err, s.visible)
				}
			}

			// Header row: layout v1 template headers in issue 5's order.
			layout := validate.Layout()
			rows, err := f.GetRows(SheetData)
			if err != nil || len(rows) != 1 {
				t.Fatalf("GetRows = %d rows, %v; want only the header", len(rows), err)
			}
			if len(rows[0]) != len(templateOrder) {
				t.Fatalf("header has %d cells, want %d", len(rows[0]), len(templateOrder))
			}
			for i, key := range templateOrder {
				c, ok := validate.ColumnByKey(key)
				if !ok {
					t.Fatalf("unknown key %s", key)
				}
				spec := layout[c]
				if rows[0][i] != spec.Header {
					t.Errorf("header %d = %q, want %q (%s)", i, rows[0][i], spec.Header, key)
				}
				cell, _ := excelize.CoordinatesToCellName(i+1, 1)
				col, _ := excelize.ColumnNumberToName(i + 1)

				// Required headers bold, others not.
				st := xlsxtest.CellStyle(t, f, SheetData, cell)
				if bold := st.Font != nil && st.Font.Bold; bold != spec.Required {
					t.Errorf("%s bold = %v, want %v (required)", cell, bold, spec.Required)
				}
				// Column formats for the data rows.
				cs, err := f.GetColStyle(SheetData, col)
				if err != nil {
					t.Fatal(err)
				}
				colSt, err := f.GetStyle(cs)
				if err != nil {
					t.Fatal(err)
				}
				switch key {
				case "person_id", "vaccinator_hpr", "unit_id", "municipality":
					if colSt.NumFmt != 49 {
						t.Errorf("column %s (%s) numFmt = %d, want 49 (\"@\")", col, key, colSt.NumFmt)
					}
				case "vaccination_date":
					if colSt.CustomNumFmt == nil || *colSt.CustomNumFmt != DateFormat {
						t.Errorf("column %s date format = %v, want %s", col, colSt.CustomNumFmt, DateFormat)
					}
				default:
					if colSt.NumFmt != 0 || colSt.CustomNumFmt != nil {
						t.Errorf("column %s (%s) has a number format (%d, %v), want General", col, key, colSt.NumFmt, colSt.CustomNumFmt)
					}
				}
				// Sensible widths.
				if w, err := f.GetColWidth(SheetData, col); err != nil || w < 10 || w > 60 {
					t.Errorf("column %s width = %v (%v)", col, w, err)
				}
				// A data cell below inherits the column format (what Excel does when typing).
				dataCell := col + "500"
				ds := xlsxtest.CellStyle(t, f, SheetData, dataCell)
				if ds.NumFmt != colSt.NumFmt {
					t.Errorf("%s numFmt = %d, want the column's %d", dataCell, ds.NumFmt, colSt.NumFmt)
				}
			}

			// Header comments: one per header cell, by sysvak-import, naming the header.
			comments, err := f.GetComments(SheetData)
			if err != nil {
				t.Fatal(err)
			}
			byCell := map[string]excelize.Comment{}
			for _, c := range comments {
				byCell[c.Cell] = c
			}
			for i, key := range templateOrder {
				cell, _ := excelize.CoordinatesToCellName(i+1, 1)
				c, ok := byCell[cell]
				if !ok {
					t.Errorf("no comment on header %s (%s)", cell, key)
					continue
				}
				if c.Author != "sysvak-import" {
					t.Errorf("%s comment author = %q", cell, c.Author)
				}
				text := c.Text
				for _, r := range c.Paragraph {
					text += r.Text
				}
				spec := layout[mustCol(t, key)]
				if !strings.Contains(text, spec.Header) {
					t.Errorf("%s comment %q does not name the header %q", cell, text, spec.Header)
				}
				want := map[string]string{"nb": "Påkrevd", "en": "Required"}[tc.lang]
				if spec.Required != strings.Contains(text, want) {
					t.Errorf("%s comment %q: says required = %v, want %v", cell, text, !spec.Required, spec.Required)
				}
			}

			// Frozen header row.
			p, err := f.GetPanes(SheetData)
			if err != nil || !p.Freeze || p.YSplit != 1 || p.XSplit != 0 || p.TopLeftCell != "A2" {
				t.Errorf("panes = %+v (%v), want header row frozen", p, err)
			}

			// Data validations: one per column over rows 2..LastRow, each with an input prompt.
			dvs, err := f.GetDataValidations(SheetData)
			if err != nil {
				t.Fatal(err)
			}
			bySqref := map[string]*excelize.DataValidation{}
			for _, dv := range dvs {
				bySqref[dv.Sqref] = dv
			}
			for i, key := range templateOrder {
				col, _ := excelize.ColumnNumberToName(i + 1)
				sq := fmt.Sprintf("%s2:%s%d", col, col, LastRow)
				dv, ok := bySqref[sq]
				if !ok {
					t.Errorf("no data validation on %s (%s); have %v", sq, key, keys(bySqref))
					continue
				}
				if !dv.ShowInputMessage || dv.Prompt == nil || *dv.Prompt == "" || dv.PromptTitle == nil || *dv.PromptTitle == "" {
					t.Errorf("%s (%s): no input prompt", sq, key)
				}
				switch key {
				case "sysvak_code":
					if dv.Type != "list" || dv.Formula1 != CodeListRange(tc.codes.Len()) {
						t.Errorf("code drop-down = %s %q, want list %q", dv.Type, dv.Formula1, CodeListRange(tc.codes.Len()))
					}
				case "given_elsewhere":
					if dv.Type != "list" || dv.Formula1 != `"Ja,Nei"` {
						t.Errorf("yes/no drop-down = %s %q", dv.Type, dv.Formula1)
					}
				case "action":
					if dv.Type != "list" || dv.Formula1 != `"R,S"` {
						t.Errorf("R/S drop-down = %s %q", dv.Type, dv.Formula1)
					}
				case "dose":
					if dv.Type != "whole" || dv.Formula1 != "1" || dv.Formula2 != "20" {
						t.Errorf("dose rule = %s %q..%q", dv.Type, dv.Formula1, dv.Formula2)
					}
				}
			}
			if len(dvs) != len(templateOrder) {
				t.Errorf("%d data validations, want %d", len(dvs), len(templateOrder))
			}

			// The hidden code sheet holds the whole list, in the range the drop-down names.
			all := tc.codes.All()
			got, err := f.GetCols(SheetCodes)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 || len(got[0]) != len(all)+1 {
				t.Fatalf("code sheet column A has %d cells, want %d", len(got[0]), len(all)+1)
			}
			for i, c := range all {
				if got[0][i+1] != c.Code {
					t.Errorf("code sheet A%d = %q, want %q", i+2, got[0][i+1], c.Code)
				}
			}

			// Veiledning: how to fill in, required columns, how to encrypt, password by SMS.
			guide := sheetText(t, f, SheetGuide)
			for _, want := range []string{
				"Fødselsnummer, Vaksinasjonsdato, Vaksinekode",
				"Fil > Info > Beskytt arbeidsbok > Krypter med passord",
				"sysvak-import encrypt",
				"Passordet sendes på SMS, aldri på e-post",
				"dd.mm.åååå",
			} {
				if !strings.Contains(guide, want) {
					t.Errorf("Veiledning lacks %q", want)
				}
			}
			if partial := strings.Contains(guide, "ufullstendig"); partial != tc.codes.Partial() {
				t.Errorf("Veiledning mentions the partial list = %v, want %v", partial, tc.codes.Partial())
			}
		})
	}
}

// Excel's limits on data-validation prompts (title 32, message 255 characters) and error texts;
// longer ones make Excel repair the file.
func TestTextsFitExcelLimits(t *testing.T) {
	for _, lang := range []string{"nb", "en"} {
		for c, tx := range textsFor(lang) {
			key := validate.Column(c).Key()
			if n := utf8.RuneCountInString(tx.title); n == 0 || n > 32 {
				t.Errorf("%s %s: title %q has %d characters", lang, key, tx.title, n)
			}
			if n := utf8.RuneCountInString(tx.prompt); n == 0 || n > 255 {
				t.Errorf("%s %s: prompt has %d characters", lang, key, n)
			}
			if n := utf8.RuneCountInString(tx.errMsg); n > 225 {
				t.Errorf("%s %s: error message has %d characters", lang, key, n)
			}
			if tx.comment == "" {
				t.Errorf("%s %s: no header comment", lang, key)
			}
		}
		if n := utf8.RuneCountInString(validate.ByLang(lang, labelsNB, labelsEN).errTitle); n > 32 {
			t.Errorf("%s: error title has %d characters", lang, n)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		codes *validate.CodeList
		want  error
	}{
		{"nil code list", context.Background(), nil, ErrNoCodes},
		{"canceled", canceled, validate.DefaultCodes(), context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(tc.ctx, &buf, tc.codes, "nb")
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes on error", buf.Len())
			}
		})
	}
}

// The project's own reader finds the template's header in row 1 with every column mapped in
// template order, no unknown header, and no data rows (file.no_rows).
func TestReaderReadsEmptyTemplate(t *testing.T) {
	b := writeTemplate(t, validate.DefaultCodes(), "nb")
	ctx := context.Background()
	book, err := workbook.OpenExcelize(ctx, bytes.NewReader(b), int64(len(b)), workbook.Options{})
	if err != nil {
		t.Fatalf("OpenExcelize: %v", err)
	}
	defer book.Close()
	sh, err := workbook.OpenSheet(ctx, book, workbook.ReadOptions{})
	if err != nil {
		t.Fatalf("OpenSheet: %v", err)
	}
	defer sh.Close()
	h := sh.Header()
	if h.Sheet != SheetData || h.Row != 1 || len(h.Unknown) != 0 {
		t.Fatalf("header = sheet %q row %d unknown %q", h.Sheet, h.Row, h.Unknown)
	}
	for i, key := range templateOrder {
		if got := h.Index[mustCol(t, key)]; got != i {
			t.Errorf("%s at column index %d, want %d", key, got, i)
		}
	}
	if sh.Next() {
		t.Fatalf("empty template yields a data row %d", sh.Row().Num)
	}
	if code := workbook.CodeOf(sh.NoRowsError()); code != validate.FileNoRows {
		t.Errorf("NoRowsError code = %q, want %s", code, validate.FileNoRows)
	}
}

// filledRow is one row typed into the template the way a vaccinator does it: identifiers as
// text in the text-formatted columns, the date as a real date in the date column.
type filledRow struct {
	id, name     string
	date         time.Time
	code         string
	dose         int // 0: blank
	batch, hpr   string
	unit, kommne string
	elsewhere    string
	action       string
	comment      string
}

// validRows use public test vectors (id_vectors.csv: 15108695088, 26111593816 and
// 07020554821, the last with a leading zero that only a text cell keeps; 41061352331 is a
// D-nummer) and the built-in codes (filimport-columns.md "SYSVAK codes").
var validRows = []filledRow{
	{id: "15108695088", name: "Kari Nordmann", date: time.Date(2024, 5, 17, 0, 0, 0, 0, time.UTC), code: "BNT03", dose: 1,
		batch: "FK1234", hpr: "9144889", unit: "974760673", kommne: "0301", elsewhere: "Nei", action: "R"},
	{id: "26111593816", date: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC), code: "AII02", dose: 2, batch: "AB-12/3.4",
		hpr: "123456789", kommne: "4601", comment: "Gitt i venstre arm"},
	{id: "07020554821", name: "Ola Nordmann", date: time.Date(2023, 10, 30, 0, 0, 0, 0, time.UTC), code: "DT51",
		batch: "X1", hpr: "1", unit: "12345", elsewhere: "Ja"},
	{id: "41061352331", date: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), code: "MOD03", dose: 3, batch: "MOD-77",
		hpr: "565501872", kommne: "5001", action: "R"},
}

// fill types rows into a template from row 2 down and returns the saved workbook.
func fill(t testing.TB, tpl []byte, rows []filledRow) []byte {
	t.Helper()
	f := openBytes(t, tpl)
	for i, r := range rows {
		n := i + 2
		set := func(c validate.Column, v any) {
			if s, ok := v.(string); ok && s == "" {
				return
			}
			if d, ok := v.(int); ok && d == 0 {
				return
			}
			cell, _ := excelize.CoordinatesToCellName(colIndex(t, c)+1, n)
			if err := f.SetCellValue(SheetData, cell, v); err != nil {
				t.Fatalf("SetCellValue %s: %v", cell, err)
			}
		}
		set(validate.ColPersonID, r.id)
		set(validate.ColName, r.name)
		set(validate.ColVaccinationDate, r.date)
		set(validate.ColSysvakCode, r.code)
		set(validate.ColDose, r.dose)
		set(validate.ColBatch, r.batch)
		set(validate.ColVaccinatorHPR, r.hpr)
		set(validate.ColUnitID, r.unit)
		set(validate.ColMunicipality, r.kommne)
		set(validate.ColGivenElsewhere, r.elsewhere)
		set(validate.ColAction, r.action)
		set(validate.ColComment, r.comment)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// check reads a workbook with the project's reader and checks every row with validate.Checker,
// as the pipeline does (minus dedup, which needs two equal rows), returning findings and records.
func check(t testing.TB, b []byte) ([]validate.Finding, []validate.Record) {
	t.Helper()
	ctx := context.Background()
	book, err := workbook.OpenExcelize(ctx, bytes.NewReader(b), int64(len(b)), workbook.Options{})
	if err != nil {
		t.Fatalf("OpenExcelize: %v", err)
	}
	defer book.Close()
	sh, err := workbook.OpenSheet(ctx, book, workbook.ReadOptions{})
	if err != nil {
		t.Fatalf("OpenSheet: %v", err)
	}
	defer sh.Close()
	var fs []validate.Finding
	if u := sh.Header().Unknown; len(u) > 0 {
		fs = append(fs, validate.Finding{Code: validate.HeaderUnknownColumn, Severity: validate.SeverityWarning})
	}
	chk, err := validate.NewChecker(validate.Options{AsOf: asOf, Date1904: book.Date1904()})
	if err != nil {
		t.Fatal(err)
	}
	var recs []validate.Record
	var out []validate.Finding
	for sh.Next() {
		var rec validate.Record
		rec, out = chk.Check(sh.Row(), out[:0])
		fs = append(fs, out...)
		if !validate.HasError(out) {
			recs = append(recs, rec)
		}
	}
	if err := sh.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
	for i := range fs {
		validate.Localize("nb", &fs[i])
	}
	return fs, recs
}

// Issue 5: "A template filled in by hand with valid rows validates with no findings."
func TestFilledTemplateValidates(t *testing.T) {
	tpl := writeTemplate(t, validate.DefaultCodes(), "nb")
	tests := []struct {
		name      string
		rows      []filledRow
		wantCodes []validate.Code // nil: no findings
	}{
		{"valid rows", validRows, nil},
		// Controls: the same path does report problems, so "no findings" above means something.
		{"bad checksum and unknown code", []filledRow{{id: "13097248023", date: validRows[0].date, code: "ZZZ99", batch: "B", hpr: "1"}},
			[]validate.Code{validate.IDChecksum, validate.CodeUnknown}},
		{"recommended columns blank", []filledRow{{id: "15108695088", date: validRows[0].date, code: "BNT03"}},
			[]validate.Code{validate.BatchMissing, validate.VaccinatorMissing}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, recs := check(t, fill(t, tpl, tc.rows))
			var got []validate.Code
			for _, f := range fs {
				got = append(got, f.Code)
			}
			if !slices.Equal(codeStrings(got), codeStrings(tc.wantCodes)) {
				t.Fatalf("findings = %v, want %v (%+v)", got, tc.wantCodes, fs)
			}
			if tc.wantCodes != nil {
				return
			}
			if len(recs) != len(tc.rows) {
				t.Fatalf("%d records, want %d", len(recs), len(tc.rows))
			}
			for i, r := range recs {
				want := tc.rows[i]
				if r.PersonID != want.id {
					t.Errorf("row %d person_id = %s, want %s (leading zero kept by the text format)", r.Row, validate.MaskID(r.PersonID), validate.MaskID(want.id))
				}
				if r.VaccinationDate != validate.DateOf(want.date) {
					t.Errorf("row %d date = %v, want %v", r.Row, r.VaccinationDate, validate.DateOf(want.date))
				}
				if r.Municipality != want.kommne {
					t.Errorf("row %d municipality = %q, want %q", r.Row, r.Municipality, want.kommne)
				}
			}
		})
	}
}

// The date typed into the template is a real date (a serial with the column's dd.mm.yyyy
// format), not text: Excel shows it as 17.05.2024.
func TestFilledDateIsRealDate(t *testing.T) {
	b := fill(t, writeTemplate(t, validate.DefaultCodes(), "nb"), validRows[:1])
	f := openBytes(t, b)
	cell, _ := excelize.CoordinatesToCellName(colIndex(t, validate.ColVaccinationDate)+1, 2)
	raw, err := f.GetCellValue(SheetData, cell, excelize.Options{RawCellValue: true})
	if err != nil || raw != "45429" {
		t.Errorf("raw %s = %q (%v), want serial 45429", cell, raw, err)
	}
	shown, err := f.GetCellValue(SheetData, cell)
	if err != nil || shown != "17.05.2024" {
		t.Errorf("formatted %s = %q (%v), want 17.05.2024", cell, shown, err)
	}
}

func BenchmarkWrite(b *testing.B) {
	codes := manyCodes(b, 400)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := Write(context.Background(), &buf, codes, "nb"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes")
}

// --- helpers ---

func sheetText(t testing.TB, f *excelize.File, sheet string) string {
	t.Helper()
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, " "))
		b.WriteByte('\n')
	}
	return b.String()
}

func mustCol(t testing.TB, key string) validate.Column {
	t.Helper()
	c, ok := validate.ColumnByKey(key)
	if !ok {
		t.Fatalf("unknown column key %s", key)
	}
	return c
}

// colIndex is the 0-based template column of c.
func colIndex(t testing.TB, c validate.Column) int {
	t.Helper()
	for i, k := range templateOrder {
		if k == c.Key() {
			return i
		}
	}
	t.Fatalf("column %v not in the template", c)
	return -1
}

func codeStrings(cs []validate.Code) []string {
	var s []string
	for _, c := range cs {
		s = append(s, string(c))
	}
	return s
}

func keys[V any](m map[string]V) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	return k
}
