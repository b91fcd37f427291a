package workbook

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/validate"
)

// rawRows reads a sheet through the Book/RowIter layer only: row number -> cell values.
func rawRows(t testing.TB, b Book, sheet string) map[int][]string {
	t.Helper()
	it, err := b.Rows(context.Background(), sheet)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	out := map[int][]string{}
	for it.Next() {
		var vals []string
		for _, c := range it.Cells() {
			if c.FormulaNoValue {
				t.Errorf("excelize reader set FormulaNoValue")
			}
			vals = append(vals, c.Value)
		}
		out[it.Num()] = vals
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// SPEC 1.4 and libraries.md §1.6: raw values. A date cell gives its serial, a numeric ID that
// lost its leading zero gives the 10 digits, formulas give their cached value.
func TestExcelizeRawValues(t *testing.T) {
	day := fixturegen.Day(2025, 5, 17)
	tests := []struct {
		name     string
		date1904 bool
		cell     any
		want     string
	}{
		{"date 1900 system", false, fixturegen.Date(day), "45794"},
		{"date 1904 system", true, fixturegen.Date(day), "44332"},
		{"date with time of day", false, fixturegen.Serial(45794.4375), "45794.4375"},
		{"numeric id lost its zero", false, int64(7020554821), "7020554821"},   // 07020554821
		{"numeric DUF", false, int64(200112345609), "200112345609"},            // 12 digits intact
		{"float id", false, float64(13097248022), "13097248022"},               // no exponent
		{"exact scientific text", false, "1.5108695088E10", "1.5108695088E10"}, // ids.md §2
		{"text id keeps zero", false, "01025450058", "01025450058"},
		{"text untrimmed", false, "  BNT03\u00a0", "  BNT03\u00a0"},
		{"formula with cached value", false, fixturegen.Formula{Expr: "1+1", Cached: "2"}, "2"},
		// Known limitation: excelize gives "" for a formula without a cached value, the same as
		// a blank cell; the faster reader will report cell.formula_no_value.
		{"formula without cached value", false, fixturegen.Formula{Expr: "1+1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := bookBytes(t, fixturegen.Book{Date1904: tt.date1904, Sheets: []fixturegen.Sheet{{Name: "S", Rows: [][]any{{"x", tt.cell, "y"}}}}})
			b := openBytes(t, data, Options{})
			if b.Date1904() != tt.date1904 {
				t.Errorf("Date1904 = %v", b.Date1904())
			}
			got := rawRows(t, b, "S")
			if want := map[int][]string{1: {"x", tt.want, "y"}}; !reflect.DeepEqual(got, want) {
				t.Errorf("rows = %v, want %v", got, want)
			}
		})
	}
}

// Shared strings (excelize's regular writer and the SST bench form) and inline strings
// (StreamWriter) read the same; gaps in the XML are skipped with correct row numbers.
func TestExcelizeStringForms(t *testing.T) {
	for _, form := range []fixturegen.BenchForm{fixturegen.BenchInline, fixturegen.BenchSST} {
		t.Run(string(form), func(t *testing.T) {
			var buf bytes.Buffer
			if err := fixturegen.WriteBench(&buf, 25, form); err != nil {
				t.Fatal(err)
			}
			b := openBytes(t, buf.Bytes(), Options{UnzipXMLSizeLimit: 512}) // SST and sheet via temp files
			got := rawRows(t, b, "Vaksinasjoner")
			if len(got) != 26 {
				t.Fatalf("%d rows", len(got))
			}
			if !reflect.DeepEqual(got[1][:3], []string{"Fødselsnummer", "Navn", "Vaksinasjonsdato"}) {
				t.Errorf("header %q", got[1])
			}
			r := fixturegen.MakeBenchRow(24, fixturegen.ValidIDs(), fixturegen.BenchCodes())
			want := []string{r.PersonID, "Testperson 25", "40179", r.Code, "1", "FK0024", "1000024", fixturegen.OrgNr, "0301", "Nei", "R"}
			if !reflect.DeepEqual(got[26], want) {
				t.Errorf("row 26 = %q, want %q", got[26], want)
			}
		})
	}
	// The bench writer's files really differ in string storage.
	for form, part := range map[fixturegen.BenchForm]string{fixturegen.BenchSST: "xl/sharedStrings.xml", fixturegen.BenchInline: ""} {
		var buf bytes.Buffer
		if err := fixturegen.WriteBench(&buf, 3, form); err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		has := false
		for _, f := range zr.File {
			if f.Name == "xl/sharedStrings.xml" {
				has = true
			}
		}
		if has != (part != "") {
			t.Errorf("%s: has sharedStrings.xml = %v", form, has)
		}
	}
}

// zipWith rewrites a workbook with one part replaced (or removed when body is nil).
func zipWith(t testing.TB, data []byte, name string, body []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		content := func() []byte {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}()
		if f.Name == name {
			if body == nil {
				continue
			}
			content = body
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(content)
	}
	zw.Close()
	return out.Bytes()
}

func sheetXML(t testing.TB, data []byte) []byte {
	zr, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	for _, f := range zr.File {
		if f.Name == "xl/worksheets/sheet1.xml" {
			rc, _ := f.Open()
			defer rc.Close()
			b, _ := io.ReadAll(rc)
			return b
		}
	}
	t.Fatal("no sheet1.xml")
	return nil
}

// Malformed input ends with file.corrupt / file.too_large, never a panic (issue 2 "Done when").
func TestExcelizeBadInput(t *testing.T) {
	clean := bookBytes(t, fixturegen.CleanBook())
	sheet := sheetXML(t, clean)
	// A deflate stream whose bytes are flipped in the middle: the CRC (or inflate) fails.
	flipped := bytes.Clone(clean)
	for i := len(flipped) / 3; i < len(flipped)/3+40; i++ {
		flipped[i] ^= 0x5a
	}
	tests := []struct {
		name string
		data []byte
		o    Options
		code validate.Code
	}{
		{"empty", nil, Options{}, validate.FileCorrupt},
		{"text file", fixturegen.NotAWorkbook(), Options{}, validate.FileCorrupt},
		{"ole header", append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 600)...), Options{}, validate.FileCorrupt},
		{"truncated zip", clean[:len(clean)/2], Options{}, validate.FileCorrupt},
		{"damaged deflate data", flipped, Options{}, validate.FileCorrupt},
		{"zip without workbook", zipWith(t, clean, "xl/workbook.xml", nil), Options{}, validate.FileCorrupt},
		{"broken workbook.xml", zipWith(t, clean, "xl/workbook.xml", []byte("<workbook><sheets><sheet name=")), Options{}, validate.FileCorrupt},
		{"truncated sheet xml", zipWith(t, clean, "xl/worksheets/sheet1.xml", sheet[:len(sheet)*2/3]), Options{}, validate.FileCorrupt},
		{"over unzip limit", clean, Options{UnzipSizeLimit: 4096, UnzipXMLSizeLimit: 1024}, validate.FileTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := openAndRead(tt.data, tt.o)
			we := wantCode(t, err, tt.code)
			if strings.Contains(we.Error(), "01025450058") {
				t.Errorf("error leaks an ID: %v", we)
			}
		})
	}
}

// openAndRead runs the whole read path and returns the first error.
func openAndRead(data []byte, o Options) error {
	ctx := context.Background()
	b, err := OpenExcelize(ctx, bytes.NewReader(data), int64(len(data)), o)
	if err != nil {
		return err
	}
	defer b.Close()
	s, err := OpenSheet(ctx, b, ReadOptions{})
	if err != nil {
		return err
	}
	defer s.Close()
	for s.Next() {
	}
	return s.Err()
}

func TestExcelizeMaxRows(t *testing.T) {
	rows := [][]any{hdr()}
	for i := 0; i < 8; i++ {
		rows = append(rows, data("13097248022", "1", "BNT03"))
	}
	rows = append(rows, nil, nil, data("13097248022", "1", "BNT03")) // row 12 after a gap
	d := bookBytes(t, fixturegen.Book{Sheets: []fixturegen.Sheet{{Name: "Vaksinasjoner", Rows: rows}}})
	if err := openAndRead(d, Options{MaxRows: 12}); err != nil {
		t.Fatalf("12 rows with MaxRows 12: %v", err)
	}
	wantCode(t, openAndRead(d, Options{MaxRows: 11}), validate.FileTooLarge)
}

// Close removes the temp files that parts above UnzipXMLSizeLimit were extracted to.
func TestExcelizeCloseRemovesTempFiles(t *testing.T) {
	var buf bytes.Buffer
	if err := fixturegen.WriteBench(&buf, 200, fixturegen.BenchSST); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b, err := OpenExcelize(context.Background(), bytes.NewReader(buf.Bytes()), int64(buf.Len()), Options{TmpDir: dir, UnzipXMLSizeLimit: 1024})
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenSheet(context.Background(), b, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for s.Next() {
		n++
	}
	if err := s.Err(); err != nil || n != 200 {
		t.Fatalf("rows %d err %v", n, err)
	}
	during, _ := os.ReadDir(dir)
	if len(during) < 2 { // sheet + shared strings (+ the SST index file)
		t.Errorf("expected temp files while reading, found %d", len(during))
	}
	s.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadDir(dir)
	if len(after) != 0 {
		t.Errorf("temp files left after Close: %d", len(after))
	}
}

func TestExcelizeContextCanceled(t *testing.T) {
	var buf bytes.Buffer
	if err := fixturegen.WriteBench(&buf, 3000, fixturegen.BenchInline); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := OpenExcelize(ctx, bytes.NewReader(buf.Bytes()), int64(buf.Len()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s, err := OpenSheet(ctx, b, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	for s.Next() {
		n++
		if n == 10 {
			cancel()
		}
	}
	if !errors.Is(s.Err(), context.Canceled) || n >= 3000 {
		t.Errorf("after cancel: %d rows, err %v", n, s.Err())
	}
	if _, err := OpenExcelize(ctx, bytes.NewReader(buf.Bytes()), int64(buf.Len()), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("open with canceled ctx: %v", err)
	}
}

func TestEndsWithClose(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"<worksheet></worksheet>", true},
		{"</x:worksheet>\r\n", true},
		{"</worksheet", false},
		{"<row r=\"5\">", false},
		{"</sheetData>", false},
	}
	for _, tt := range tests {
		if got := EndsWithClose([]byte(tt.in), "worksheet"); got != tt.want {
			t.Errorf("EndsWithClose(%q) = %v", tt.in, got)
		}
	}
	var tw tailWriter
	for i := 0; i < 1000; i++ {
		tw.Write([]byte("abc"))
	}
	tw.Write([]byte("</worksheet>"))
	if !EndsWithClose(tw.buf[:tw.n], "worksheet") || tw.n != len(tw.buf) {
		t.Errorf("tailWriter kept %q", tw.buf[:tw.n])
	}
}
