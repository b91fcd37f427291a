package workbook

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/fixtures/hostile"
	"github.com/fhi/sysvak-import/validate"
)

// The excelize reader on the hostile workbooks of fixtures/hostile (the pipeline reads with
// fastxlsx first and falls back to this reader): malformed XML in the middle of a sheet is
// file.corrupt instead of a sheet that silently ends early; a sheet numbered past MaxRows fails
// before its rows are read; more columns than Excel allows is file.too_large.
func TestExcelizeHostile(t *testing.T) {
	tests := []struct {
		name string
		want validate.Code
		rows int // data rows read before the end (for the files that are read)
	}{
		{"xml-malformed-middle.xlsx", validate.FileCorrupt, -1},
		{"xml-entity-bomb.xlsx", validate.FileCorrupt, -1},
		{"rows-2m-sparse.xlsx", validate.FileTooLarge, -1},
		{"cols-20000.xlsx", validate.FileTooLarge, -1},
		{"sheet-part-missing.xlsx", validate.FileCorrupt, -1},
		{"zip-bomb-lying-header.xlsx", validate.FileCorrupt, -1},
		{"zip-declared-8gib.xlsx", validate.FileTooLarge, -1},
		// excelize parses [Content_Types].xml when it reads shared strings (fastxlsx never
		// reads it, and accepts the file).
		{"content-types-garbage.xlsx", validate.FileCorrupt, -1},
		{"content-types-wrong.xlsx", "", 3},
		// Parts excelize holds in memory are bounded (fastxlsx does not read these parts).
		{"zip-bomb-styles-900mib.xlsx", validate.FileTooLarge, -1},
		{"zip-bomb-media-900mib.xlsx", validate.FileTooLarge, -1},
		{"zip-100k-entries.xlsx", "", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := hostile.ByName(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := c.Write(&buf); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			rows, err := readAllErr(buf.Bytes(), Options{TmpDir: t.TempDir()})
			if got := CodeOf(err); got != tt.want {
				t.Fatalf("%v (code %q), want %q", err, got, tt.want)
			}
			if tt.rows >= 0 && rows != tt.rows {
				t.Fatalf("%d rows, want %d", rows, tt.rows)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}

// readAllErr opens a workbook with excelize and reads every data row; it returns the rows read
// and the first error.
func readAllErr(data []byte, o Options) (int, error) {
	ctx := context.Background()
	b, err := OpenExcelize(ctx, bytes.NewReader(data), int64(len(data)), o)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	s, err := OpenSheet(ctx, b, ReadOptions{})
	if err != nil {
		return 0, err
	}
	defer s.Close()
	n := 0
	for s.Next() {
		n++
	}
	return n, s.Err()
}

// The prescan's row count follows excelize's numbering: a well-formed sheet with gaps in its row
// numbers is read as it is, not taken for a sheet that broke off.
func TestRowScanGapsAreNotCorrupt(t *testing.T) {
	sheet := `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` +
		`<row r="1"><c r="A1" t="inlineStr"><is><t>Fødselsnummer</t></is></c><c r="B1" t="inlineStr"><is><t>Vaksinasjonsdato</t></is></c><c r="C1" t="inlineStr"><is><t>Vaksinekode</t></is></c></row>` +
		`<row r="5"><c r="A5" t="inlineStr"><is><t>13097248022</t></is></c><c r="B5"><v>45000</v></c><c r="C5" t="inlineStr"><is><t>BNT03</t></is></c></row>` +
		`<row r="900"><c r="A900" t="inlineStr"><is><t>13097248022</t></is></c><c r="B900"><v>45001</v></c><c r="C900" t="inlineStr"><is><t>BNT03</t></is></c></row>` +
		`</sheetData></worksheet>`
	data := xlsxWithSheet(t, sheet)
	n, err := readAllErr(data, Options{TmpDir: t.TempDir()})
	if err != nil || n != 2 {
		t.Fatalf("%d rows, %v; want 2 rows", n, err)
	}
}

// xlsxWithSheet is clean.xlsx with its only worksheet replaced.
func xlsxWithSheet(t *testing.T, sheet string) []byte {
	t.Helper()
	base, err := os.ReadFile(filepath.Join(fixtureDir, "clean.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	return zipWith(t, base, "xl/worksheets/sheet1.xml", []byte(sheet))
}
