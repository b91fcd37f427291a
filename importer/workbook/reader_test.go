package workbook

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/validate"
)

func hdr() []any {
	var r []any
	for _, h := range fixturegen.Headers() {
		r = append(r, h)
	}
	return r
}

func data(id, date, code string) []any { return []any{id, "Testperson En", date, code} }

// SPEC 1.2: sheet choice.
func TestOpenSheetChoosesSheet(t *testing.T) {
	body := [][]any{hdr(), data("13097248022", "17.05.2025", "BNT03")}
	other := [][]any{{"Fødselsnummer", "Dato", "Kode"}, {"x", "y", "z"}, {"x", "y", "z"}}
	tests := []struct {
		name   string
		sheets []fixturegen.Sheet
		want   string
	}{
		{"named sheet not first", []fixturegen.Sheet{{Name: "Forside", Rows: other}, {Name: "Vaksinasjoner", Rows: body}}, "Vaksinasjoner"},
		{"named sheet case-insensitive", []fixturegen.Sheet{{Name: "Ark1", Rows: other}, {Name: "VAKSINASJONER", Rows: body}}, "VAKSINASJONER"},
		{"hidden first sheet skipped", []fixturegen.Sheet{{Name: "Skjult", Hidden: true, Rows: other}, {Name: "Ark2", Rows: body}}, "Ark2"},
		{"empty first visible sheet passed over", []fixturegen.Sheet{{Name: "Tom"}, {Name: "Data", Rows: body}}, "Data"},
		{"hidden named sheet still used", []fixturegen.Sheet{{Name: "Ark1", Rows: other}, {Name: "Vaksinasjoner", Hidden: true, Rows: body}}, "Vaksinasjoner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := openBytes(t, bookBytes(t, fixturegen.Book{Sheets: tt.sheets}), Options{})
			h, rows := readAll(t, b, ReadOptions{})
			if h.Sheet != tt.want {
				t.Errorf("sheet = %q, want %q", h.Sheet, tt.want)
			}
			if len(rows) != 1 || rows[0].Cells["person_id"] != "13097248022" {
				t.Errorf("rows = %+v", rows)
			}
		})
	}
}

func TestOpenSheetNoSheet(t *testing.T) {
	tests := []struct {
		name string
		book *fakeBook
	}{
		{"no visible sheet", &fakeBook{sheets: []SheetInfo{{Name: "A", Visible: false}}, rows: map[string][]fakeRow{"A": {{1, cells("Fnr", "Dato", "Kode")}}}}},
		{"visible sheets all empty", &fakeBook{sheets: []SheetInfo{{Name: "A", Visible: true}, {Name: "B", Visible: true}}}},
		{"named sheet empty", &fakeBook{sheets: []SheetInfo{{Name: "Vaksinasjoner", Visible: true}, {Name: "B", Visible: true}}, rows: map[string][]fakeRow{"B": {{1, cells("Fnr", "Dato", "Kode")}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := OpenSheet(context.Background(), tt.book, ReadOptions{})
			wantCode(t, err, validate.FileNoSheet)
		})
	}
}

// SPEC 1.2: the header is the first row among the first 10 with at least three known names.
func TestOpenSheetHeader(t *testing.T) {
	title := []any{"Vaksinasjoner fra Testklinikken"}
	twoKnown := []any{"Fødselsnummer", "Dato", "Tull"} // only two known: not the header
	tests := []struct {
		name    string
		rows    [][]any
		wantRow int
		code    validate.Code
	}{
		{"header in row 1", [][]any{hdr()}, 1, ""},
		{"title and notes above", [][]any{title, {"Én rad per vaksinasjon"}, nil, hdr()}, 4, ""},
		{"two known names are not a header", [][]any{twoKnown, hdr()}, 2, ""},
		{"header in row 10", append(make([][]any, 9), hdr()), 10, ""},
		{"header in row 11 is too late", append(append(make([][]any, 9), title), hdr()), 0, validate.FileHeaderNotFound},
		{"no header at all", [][]any{title, {"13097248022", "Testperson En", "17.05.2025"}}, 0, validate.FileHeaderNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := openBytes(t, bookBytes(t, fixturegen.Book{Sheets: []fixturegen.Sheet{{Name: "Vaksinasjoner", Rows: tt.rows}}}), Options{})
			s, err := OpenSheet(context.Background(), b, ReadOptions{})
			if tt.code != "" {
				we := wantCode(t, err, tt.code)
				// The detail describes rows by counts, never by their (personal) values.
				for _, secret := range []string{"13097248022", "Testperson", "Testklinikken"} {
					if strings.Contains(we.Error(), secret) || strings.Contains(we.Args["what"], secret) {
						t.Errorf("error leaks cell value %q: %v", secret, we)
					}
				}
				if !strings.Contains(we.Detail, "non-empty cells") {
					t.Errorf("detail %q does not describe the rows seen", we.Detail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if h := s.Header(); h.Row != tt.wantRow {
				t.Errorf("header row = %d, want %d", h.Row, tt.wantRow)
			}
		})
	}
}

func TestOpenSheetColumnMissing(t *testing.T) {
	rows := [][]any{{"Fødselsnummer", "Navn", "Batchnummer", "Dosenummer", "Forventet"}}
	b := openBytes(t, bookBytes(t, fixturegen.Book{Sheets: []fixturegen.Sheet{{Name: "Vaksinasjoner", Rows: rows}}}), Options{})
	_, err := OpenSheet(context.Background(), b, ReadOptions{})
	we := wantCode(t, err, validate.FileColumnMissing)
	for _, want := range []string{"vaccination_date", "sysvak_code", "Vaksinasjonsdato", "Vaksinekode"} {
		if !strings.Contains(we.Args["column"], want) {
			t.Errorf("column arg %q lacks %q", we.Args["column"], want)
		}
	}
	if strings.Contains(we.Args["column"], "person_id") {
		t.Errorf("person_id is present but reported missing: %q", we.Args["column"])
	}
	if got, want := we.Args["headers"], "Fødselsnummer, Navn, Batchnummer, Dosenummer, Forventet"; got != want {
		t.Errorf("headers = %q, want %q", got, want)
	}
}

// Unknown headers are listed once; a second header for the same column loses (first wins) and
// is listed as unknown and as a duplicate.
func TestOpenSheetUnknownAndDuplicate(t *testing.T) {
	rows := [][]any{
		{"Fødselsnummer", "Forventet", "Dato", "Vaksinekode", "Fnr", "", "Ekstra 2"},
		{"13097248022", "id.ok", "17.05.2025", "BNT03", "02020000069", "", "x"},
	}
	b := openBytes(t, bookBytes(t, fixturegen.Book{Sheets: []fixturegen.Sheet{{Name: "Vaksinasjoner", Rows: rows}}}), Options{})
	h, got := readAll(t, b, ReadOptions{})
	if want := []string{"Forventet", "Fnr", "Ekstra 2"}; !reflect.DeepEqual(h.Unknown, want) {
		t.Errorf("Unknown = %q, want %q", h.Unknown, want)
	}
	if want := []DuplicateHeader{{Header: "Fnr", Column: validate.ColPersonID, Index: 4}}; !reflect.DeepEqual(h.Duplicates, want) {
		t.Errorf("Duplicates = %+v", h.Duplicates)
	}
	if want := []string{"Fødselsnummer", "Forventet", "Dato", "Vaksinekode", "Fnr", "Ekstra 2"}; !reflect.DeepEqual(h.Headers, want) {
		t.Errorf("Headers = %q", h.Headers)
	}
	if h.Index[validate.ColPersonID] != 0 || h.Index[validate.ColVaccinationDate] != 2 || h.Index[validate.ColSysvakCode] != 3 || h.Has(validate.ColBatch) {
		t.Errorf("Index = %v", h.Index)
	}
	if len(got) != 1 || got[0].Cells["person_id"] != "13097248022" {
		t.Errorf("first person_id column must win: %+v", got)
	}
}

// Operator extra mappings take part in header detection and mapping.
func TestOpenSheetExtraMapping(t *testing.T) {
	rows := [][]any{{"Pasient-ID", "Når", "Hva"}, {"13097248022", "17.05.2025", "BNT03"}}
	b := openBytes(t, bookBytes(t, fixturegen.Book{Sheets: []fixturegen.Sheet{{Name: "Vaksinasjoner", Rows: rows}}}), Options{})
	m, err := NewMapping(map[string]string{"Pasient ID": "person_id", "når": "vaccination_date", "HVA": "sysvak_code"})
	if err != nil {
		t.Fatal(err)
	}
	h, got := readAll(t, b, ReadOptions{Mapping: m})
	if h.Row != 1 || len(h.Unknown) != 0 {
		t.Fatalf("header %+v", h)
	}
	want := []gotRow{{2, map[string]string{"person_id": "13097248022", "vaccination_date": "17.05.2025", "sysvak_code": "BNT03"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %+v", got)
	}
	// Without the mapping the same sheet has no header.
	_, err = OpenSheet(context.Background(), b, ReadOptions{})
	wantCode(t, err, validate.FileHeaderNotFound)
}

// SPEC 1.2: fully empty rows are skipped silently; row numbers are the spreadsheet's own.
func TestSheetRowsSkipEmptyKeepNumbers(t *testing.T) {
	rows := [][]any{
		{"Merknad: testark"}, // 1 title
		hdr(),                // 2 header
		data("13097248022", "17.05.2025", "BNT03"), // 3
		nil,                   // 4 absent from the XML
		{"", "   ", "\u00a0"}, // 5 whitespace only: skipped
		data(" 02020000069 ", "18.05.2025", " bnt03 "), // 6 raw text kept untrimmed
		nil, nil, nil, // 7-9 gap
		{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, "utenfor"}, // 10: content only in an unmapped column
		data("03014595561", "19.05.2025", "MOD03"),                              // 11
	}
	b := openBytes(t, bookBytes(t, fixturegen.Book{Sheets: []fixturegen.Sheet{{Name: "Vaksinasjoner", Rows: rows}}}), Options{})
	h, got := readAll(t, b, ReadOptions{})
	if h.Row != 2 {
		t.Fatalf("header row %d", h.Row)
	}
	want := []gotRow{
		{3, map[string]string{"person_id": "13097248022", "name": "Testperson En", "vaccination_date": "17.05.2025", "sysvak_code": "BNT03"}},
		{6, map[string]string{"person_id": " 02020000069 ", "name": "Testperson En", "vaccination_date": "18.05.2025", "sysvak_code": " bnt03 "}},
		{10, map[string]string{}},
		{11, map[string]string{"person_id": "03014595561", "name": "Testperson En", "vaccination_date": "19.05.2025", "sysvak_code": "MOD03"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows:\n got %+v\nwant %+v", got, want)
	}
}

// FormulaNoValue passes through from the RowIter into validate.Row (the excelize reader never
// sets it: see excelRows), and a row whose only content is such a cell is not empty.
func TestSheetFormulaNoValuePassThrough(t *testing.T) {
	fb := &fakeBook{sheets: []SheetInfo{{Name: "Vaksinasjoner", Visible: true}}, rows: map[string][]fakeRow{"Vaksinasjoner": {
		{1, cells("Fødselsnummer", "Vaksinasjonsdato", "Vaksinekode", "Dosenummer")},
		{2, []Cell{{Value: "13097248022"}, {Value: "45794"}, {Value: "BNT03"}, {FormulaNoValue: true}}},
		{3, []Cell{{}, {}, {}, {FormulaNoValue: true}}},
		{4, []Cell{{}, {Value: " "}}},
	}}}
	s, err := OpenSheet(context.Background(), fb, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var nums []int
	for s.Next() {
		r := s.Row()
		nums = append(nums, r.Num)
		if !r.FormulaNoValue[validate.ColDose] || r.FormulaNoValue[validate.ColPersonID] {
			t.Errorf("row %d FormulaNoValue = %v", r.Num, r.FormulaNoValue)
		}
	}
	if !reflect.DeepEqual(nums, []int{2, 3}) {
		t.Errorf("rows = %v, want [2 3]", nums)
	}
	if s.NoRowsError() != nil {
		t.Errorf("NoRowsError with rows: %v", s.NoRowsError())
	}
}

// The Row is reused: Next does not allocate a new validate.Row.
func TestSheetReusesRow(t *testing.T) {
	b := openBytes(t, bookBytes(t, fixturegen.Book{Sheets: []fixturegen.Sheet{{Name: "Vaksinasjoner", Rows: [][]any{hdr(),
		data("13097248022", "1", "BNT03"), data("02020000069", "2", "BNT03")}}}}), Options{})
	s, err := OpenSheet(context.Background(), b, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Next()
	first := s.Row()
	s.Next()
	if s.Row() != first || first.Num != 3 || first.Cells[validate.ColPersonID] != "02020000069" {
		t.Errorf("row not reused: %p %p %+v", first, s.Row(), first)
	}
}

func TestSheetNoRows(t *testing.T) {
	b := openBytes(t, bookBytes(t, fixturegen.NoRowsBook()), Options{})
	s, err := OpenSheet(context.Background(), b, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.NoRowsError() != nil {
		t.Error("NoRowsError before the rows were read must be nil")
	}
	for s.Next() {
		t.Errorf("unexpected row %d", s.Row().Num)
	}
	wantCode(t, s.NoRowsError(), validate.FileNoRows)
}
