package workbook

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/validate"
)

const fixtureDir = "../../fixtures/files"

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every fixture of fixtures/files (excelize-, openpyxl- and XlsxWriter-made) read end to end:
// the sheet and header found, the rows and their raw values (fixtures/README.md lists them).
func TestFixtures(t *testing.T) {
	all := func(keys ...string) map[string]int {
		m := map[string]int{}
		for i, k := range keys {
			m[k] = i
		}
		return m
	}
	template := all("person_id", "name", "vaccination_date", "sysvak_code", "dose", "batch", "vaccinator_hpr", "unit_id", "municipality", "given_elsewhere", "action", "comment")
	tests := []struct {
		file      string
		sheet     string
		headerRow int
		index     map[string]int
		unknown   []string
		rows      int
		firstRow  int
		date1904  bool
		// spot checks: row number -> column key -> raw value
		cells map[int]map[string]string
	}{
		{file: "clean.xlsx", sheet: "Vaksinasjoner", headerRow: 1, index: template, rows: 12, firstRow: 2, cells: map[int]map[string]string{
			2:  {"person_id": "01025450058", "vaccination_date": "45294", "sysvak_code": "BNT03", "dose": "1", "unit_id": fixturegen.OrgNr, "municipality": "0301", "action": "R"}, // 2024-01-03
			13: {"person_id": "202000000003", "name": "Testperson Tolv", "given_elsewhere": "Ja"},
		}},
		{file: "row-errors.xlsx", sheet: "Vaksinasjoner", headerRow: 1, index: template, unknown: []string{"Forventet"}, rows: len(fixturegen.RowErrors()), firstRow: 2, cells: map[int]map[string]string{
			2:  {"person_id": "", "sysvak_code": "BNT03"},
			4:  {"person_id": "7020554821"}, // numeric cell: leading zero lost
			5:  {"person_id": "1.51087E+10"},
			17: {"vaccination_date": "4505"}, // 1912-05-01
			33: {"dose": ""},                 // formula without cached value reads blank (excelize limitation)
		}},
		{file: "synonyms-title.xlsx", sheet: "Vaksinasjoner", headerRow: 4, index: all(fixturegen.SynonymsKeys()...), rows: 5, firstRow: 5, cells: map[int]map[string]string{
			5: {"sysvak_code": "bnt03", "person_id": "43100833132", "batch": "FK2000", "name": "Testperson En"},
		}},
		{file: "numeric-ids-text-dates.xlsx", sheet: "Vaksinasjoner", headerRow: 1, index: template, rows: 6, firstRow: 2, cells: map[int]map[string]string{
			2: {"person_id": "13097248022", "vaccination_date": "17.05.2025"},
			3: {"person_id": "7020554821", "vaccination_date": "7.5.2025"},
			4: {"person_id": "200112345609", "vaccination_date": "17.05.25"},
			5: {"person_id": "1.5108695088E10", "vaccination_date": "2025-05-17"},
			6: {"person_id": "1.51087E+10", "vaccination_date": "17/05/2025"},
			7: {"person_id": "3014595561", "vaccination_date": "45794.4375"},
		}},
		{file: "numeric-1904.xlsx", sheet: "Vaksinasjoner", headerRow: 1, index: template, rows: 3, firstRow: 2, date1904: true, cells: map[int]map[string]string{
			2: {"vaccination_date": "44332"}, // 2025-05-17 in the 1904 system
		}},
		{file: "duplicates.xlsx", sheet: "Vaksinasjoner", headerRow: 1, index: template, rows: 6, firstRow: 2, cells: map[int]map[string]string{
			3: {"person_id": "70124044454", "batch": "FK1234"},
			4: {"person_id": "70124044454", "batch": "FK5678", "dose": "2"},
			7: {"person_id": "01025450058", "action": "S"},
		}},
		{file: "no-rows.xlsx", sheet: "Vaksinasjoner", headerRow: 1, index: template, rows: 0},
		{file: "openpyxl-clean.xlsx", sheet: "Vaksinasjoner", headerRow: 1, index: template, rows: 6, firstRow: 2, cells: map[int]map[string]string{
			2: {"person_id": "01025450058", "vaccination_date": "45336", "comment": "Laget med openpyxl"}, // 2024-02-14
			7: {"person_id": "202000000003", "sysvak_code": "DT51"},
		}},
		{file: "xlsxwriter-synonyms.xlsx", sheet: "Ark1", headerRow: 3, index: template, rows: 3, firstRow: 4, cells: map[int]map[string]string{
			4: {"person_id": "13097248022", "vaccination_date": "45749", "vaccinator_hpr": "3456789"}, // 2025-04-02
			5: {"person_id": "7020554821", "name": "Testperson Åtte"},
			6: {"person_id": "200112345609", "dose": "2"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := openBytes(t, readFixture(t, tt.file), Options{})
			if b.Date1904() != tt.date1904 {
				t.Errorf("Date1904 = %v", b.Date1904())
			}
			s, err := OpenSheet(context.Background(), b, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			h := s.Header()
			if h.Sheet != tt.sheet || h.Row != tt.headerRow || !reflect.DeepEqual(h.Unknown, tt.unknown) {
				t.Errorf("header = sheet %q row %d unknown %q", h.Sheet, h.Row, h.Unknown)
			}
			for c := validate.Column(0); c < validate.NumColumns; c++ {
				want, ok := tt.index[c.Key()]
				if !ok {
					want = -1
				}
				if h.Index[c] != want {
					t.Errorf("index of %s = %d, want %d", c.Key(), h.Index[c], want)
				}
			}
			n, first := 0, 0
			for s.Next() {
				r := s.Row()
				if n == 0 {
					first = r.Num
				}
				n++
				for key, want := range tt.cells[r.Num] {
					c, _ := validate.ColumnByKey(key)
					if r.Cells[c] != want {
						t.Errorf("row %d %s = %q, want %q", r.Num, key, r.Cells[c], want)
					}
				}
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			if n != tt.rows || (n > 0 && first != tt.firstRow) {
				t.Errorf("rows = %d from row %d, want %d from %d", n, first, tt.rows, tt.firstRow)
			}
			if (tt.rows == 0) != (s.NoRowsError() != nil) {
				t.Errorf("NoRowsError = %v", s.NoRowsError())
			}
		})
	}
}

// The malformed fixtures end with their file-level code.
func TestFixturesMalformed(t *testing.T) {
	tests := []struct {
		file string
		code validate.Code
	}{
		{"not-a-workbook.xlsx", validate.FileCorrupt}, // the sniffer says unsupported_format first
		{"truncated.xlsx", validate.FileCorrupt},
		{"no-header.xlsx", validate.FileHeaderNotFound},
		{"missing-column.xlsx", validate.FileColumnMissing},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			wantCode(t, openAndRead(readFixture(t, tt.file), Options{}), tt.code)
		})
	}
}

// The committed excelize fixtures are what the generator writes now (run fixtures/make.sh after
// changing fixturegen).
func TestFixturesUpToDate(t *testing.T) {
	dir := t.TempDir()
	if err := fixturegen.WriteAll(dir); err != nil {
		t.Fatal(err)
	}
	for _, fx := range fixturegen.Fixtures() {
		want, _ := os.ReadFile(filepath.Join(dir, fx.Name))
		if got := readFixture(t, fx.Name); !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output: run fixtures/make.sh", fx.Name)
		}
	}
}
