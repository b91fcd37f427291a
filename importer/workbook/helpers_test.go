package workbook

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/validate"
)

// openBytes opens xlsx bytes with OpenExcelize and closes the book at the end of the test.
func openBytes(t testing.TB, data []byte, o Options) Book {
	t.Helper()
	b, err := OpenExcelize(context.Background(), bytes.NewReader(data), int64(len(data)), o)
	if err != nil {
		t.Fatalf("OpenExcelize: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func bookBytes(t testing.TB, b fixturegen.Book) []byte {
	t.Helper()
	data, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// gotRow is a yielded row: its number and the cells by column key (non-empty only).
type gotRow struct {
	Num   int
	Cells map[string]string
}

// readAll opens the sheet and collects every data row.
func readAll(t testing.TB, b Book, o ReadOptions) (HeaderInfo, []gotRow) {
	t.Helper()
	s, err := OpenSheet(context.Background(), b, o)
	if err != nil {
		t.Fatalf("OpenSheet: %v", err)
	}
	defer s.Close()
	var rows []gotRow
	for s.Next() {
		r := s.Row()
		g := gotRow{Num: r.Num, Cells: map[string]string{}}
		for c := validate.Column(0); c < validate.NumColumns; c++ {
			if r.Cells[c] != "" {
				g.Cells[c.Key()] = r.Cells[c]
			}
		}
		rows = append(rows, g)
	}
	if err := s.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
	if s.Rows() != len(rows) {
		t.Errorf("Rows() = %d, yielded %d", s.Rows(), len(rows))
	}
	return s.Header(), rows
}

// wantCode asserts that err is a *Error with the given code.
func wantCode(t testing.TB, err error, code validate.Code) *Error {
	t.Helper()
	var we *Error
	if !errors.As(err, &we) {
		t.Fatalf("err = %v (%T), want *workbook.Error %s", err, err, code)
	}
	if we.Code != code {
		t.Fatalf("code = %s (%v), want %s", we.Code, err, code)
	}
	return we
}

// fakeBook is an in-memory Book for testing OpenSheet independently of excelize (and for what
// excelize cannot produce: FormulaNoValue cells, no visible sheet).
type fakeBook struct {
	sheets []SheetInfo
	rows   map[string][]fakeRow
}

type fakeRow struct {
	num   int
	cells []Cell
}

func (f *fakeBook) Sheets() []SheetInfo { return f.sheets }
func (f *fakeBook) Date1904() bool      { return false }
func (f *fakeBook) Close() error        { return nil }
func (f *fakeBook) Rows(_ context.Context, sheet string) (RowIter, error) {
	return &fakeIter{rows: f.rows[sheet], i: -1}, nil
}

type fakeIter struct {
	rows []fakeRow
	i    int
}

func (it *fakeIter) Next() bool    { it.i++; return it.i < len(it.rows) }
func (it *fakeIter) Num() int      { return it.rows[it.i].num }
func (it *fakeIter) Cells() []Cell { return it.rows[it.i].cells }
func (it *fakeIter) Err() error    { return nil }
func (it *fakeIter) Close() error  { return nil }

func cells(vals ...string) []Cell {
	out := make([]Cell, len(vals))
	for i, v := range vals {
		out[i] = Cell{Value: v}
	}
	return out
}
