package workbook

import (
	"context"
	"fmt"
	"strings"

	"github.com/fhi/sysvak-import/validate"
)

// Sheet choice and header detection (SPEC 1.2).
const (
	// SheetName is the sheet the rows are on; matched exactly first, then case-insensitively.
	SheetName = "Vaksinasjoner"
	// AnnotationSheet and AnnotationHeader are what `validate --annotate` adds to a copy: a
	// first sheet listing the findings and a status column. Reading an annotated copy again
	// passes over both, so that the copy validates like the original.
	AnnotationSheet  = "Funn"
	AnnotationHeader = "Status"
	// HeaderScanRows: the header is among spreadsheet rows 1..HeaderScanRows.
	HeaderScanRows = 10
	// MinHeaderMatches: a header row has at least this many cells naming distinct known columns.
	MinHeaderMatches = 3
)

// ReadOptions configures OpenSheet.
type ReadOptions struct {
	// Mapping resolves header texts; nil means DefaultMapping().
	Mapping *Mapping
}

// DuplicateHeader is a header cell naming a column that an earlier header cell already named.
// The first one wins; this one is ignored (and listed in HeaderInfo.Unknown so that the
// header.unknown_column warning mentions it).
type DuplicateHeader struct {
	Header string
	Column validate.Column
	Index  int // 0-based column index of the ignored cell
}

// HeaderInfo describes the header row that was found.
type HeaderInfo struct {
	Sheet string // the sheet read
	Row   int    // spreadsheet row number of the header (1-based)
	// Index is the 0-based column index (A = 0) of each column, -1 when the file lacks it.
	Index [validate.NumColumns]int
	// Headers are all non-empty header cells, trimmed, in column order.
	Headers []string
	// Unknown are the header cells that map to no column (or duplicate an earlier one), trimmed,
	// in column order: report them once as header.unknown_column.
	Unknown    []string
	Duplicates []DuplicateHeader
}

// Has reports whether the file has column c.
func (h *HeaderInfo) Has(c validate.Column) bool { return c < validate.NumColumns && h.Index[c] >= 0 }

// Sheet streams the data rows of the chosen sheet below its header.
type Sheet struct {
	it      RowIter
	header  HeaderInfo
	row     validate.Row
	mapped  []int8 // column index -> validate.Column, -1 for unmapped
	yielded int
	err     error
	done    bool
}

// OpenSheet chooses the sheet, finds and maps the header (SPEC 1.2), and returns a Sheet
// positioned at the first data row. File-level problems are *Error: file.no_sheet,
// file.header_not_found, file.column_missing, or the reader's file.corrupt/file.too_large.
//
// Sheet choice: the sheet named Vaksinasjoner (exact name, else case-insensitive), used even if
// hidden because its name says it is the data; otherwise the first visible sheet that has at
// least one non-empty row (an empty first sheet is passed over). None: file.no_sheet.
func OpenSheet(ctx context.Context, book Book, o ReadOptions) (*Sheet, error) {
	m := o.Mapping
	if m == nil {
		m = DefaultMapping()
	}
	sheets := book.Sheets()
	if name, ok := namedSheet(sheets); ok {
		it, err := book.Rows(ctx, name)
		if err != nil {
			return nil, err
		}
		if !it.Next() {
			err := it.Err()
			_ = it.Close()
			if err != nil {
				return nil, err
			}
			return nil, &Error{Code: validate.FileNoSheet, Detail: fmt.Sprintf("sheet %q has no rows", name), Args: validate.Args{"what": name}}
		}
		return findHeader(name, it, m)
	}
	visible := 0
	for i, s := range sheets {
		if !s.Visible || (i == 0 && s.Name == AnnotationSheet && len(sheets) > 1) {
			continue
		}
		visible++
		it, err := book.Rows(ctx, s.Name)
		if err != nil {
			return nil, err
		}
		if it.Next() {
			return findHeader(s.Name, it, m)
		}
		err = it.Err()
		_ = it.Close()
		if err != nil {
			return nil, err
		}
	}
	detail := "the workbook has no visible sheet"
	if visible > 0 {
		detail = fmt.Sprintf("none of the %d visible sheets has any rows", visible)
	}
	return nil, &Error{Code: validate.FileNoSheet, Detail: detail, Args: validate.Args{"what": detail}}
}

func namedSheet(sheets []SheetInfo) (string, bool) {
	for _, s := range sheets {
		if s.Name == SheetName {
			return s.Name, true
		}
	}
	for _, s := range sheets {
		if strings.EqualFold(strings.TrimSpace(s.Name), SheetName) {
			return s.Name, true
		}
	}
	return "", false
}

// findHeader scans rows 1..HeaderScanRows; it is positioned on the first non-empty row. On
// success the returned Sheet owns it; on error it is closed.
func findHeader(sheet string, it RowIter, m *Mapping) (*Sheet, error) {
	type seen struct{ row, nonEmpty, known int }
	var looked []seen
	for {
		if it.Num() > HeaderScanRows {
			break
		}
		cells := it.Cells()
		nonEmpty, known := 0, 0
		var hit [validate.NumColumns]bool
		for _, c := range cells {
			if strings.TrimSpace(c.Value) == "" {
				continue
			}
			nonEmpty++
			if col, ok := m.Lookup(c.Value); ok && !hit[col] {
				hit[col] = true
				known++
			}
		}
		if known >= MinHeaderMatches {
			s, err := newSheet(sheet, it, m)
			if err != nil {
				_ = it.Close()
				return nil, err
			}
			return s, nil
		}
		if nonEmpty > 0 {
			looked = append(looked, seen{it.Num(), nonEmpty, known})
		}
		if !it.Next() {
			break
		}
	}
	err := it.Err()
	_ = it.Close()
	if err != nil {
		return nil, err
	}
	// The detail describes the rows by counts only: their cells may be personal data.
	var parts []string
	for _, l := range looked {
		parts = append(parts, fmt.Sprintf("row %d: %d non-empty cells, %d known column names", l.row, l.nonEmpty, l.known))
	}
	what := "the first 10 rows are empty"
	if len(parts) > 0 {
		what = strings.Join(parts, "; ")
	}
	return nil, &Error{
		Code:   validate.FileHeaderNotFound,
		Detail: fmt.Sprintf("sheet %q: no row among the first %d has %d known column names (%s)", sheet, HeaderScanRows, MinHeaderMatches, what),
		Args:   validate.Args{"what": what},
	}
}

// newSheet maps the header row the iterator is on.
func newSheet(sheet string, it RowIter, m *Mapping) (*Sheet, error) {
	s := &Sheet{it: it}
	h := &s.header
	h.Sheet, h.Row = sheet, it.Num()
	for i := range h.Index {
		h.Index[i] = -1
	}
	cells := it.Cells()
	s.mapped = make([]int8, len(cells))
	for i, c := range cells {
		s.mapped[i] = -1
		text := strings.TrimSpace(c.Value)
		if text == "" {
			continue
		}
		h.Headers = append(h.Headers, text)
		col, ok := m.Lookup(text)
		switch {
		case !ok && text == AnnotationHeader:
			// the status column of an annotated copy: not data, not unknown
		case !ok:
			h.Unknown = append(h.Unknown, text)
		case h.Index[col] >= 0:
			h.Unknown = append(h.Unknown, text)
			h.Duplicates = append(h.Duplicates, DuplicateHeader{Header: text, Column: col, Index: i})
		default:
			h.Index[col] = i
			s.mapped[i] = int8(col)
		}
	}
	var missing, missingNames []string
	for _, spec := range validate.Layout() {
		if spec.Required && h.Index[spec.Column] < 0 {
			missing = append(missing, spec.Key)
			missingNames = append(missingNames, fmt.Sprintf("%s (%s)", spec.Header, spec.Key))
		}
	}
	if len(missing) > 0 {
		headers := strings.Join(h.Headers, ", ")
		return nil, &Error{
			Code:   validate.FileColumnMissing,
			Detail: fmt.Sprintf("sheet %q row %d: missing required column(s) %s; headers found: %s", sheet, h.Row, strings.Join(missingNames, ", "), headers),
			Args:   validate.Args{"column": strings.Join(missingNames, ", "), "headers": headers},
		}
	}
	return s, nil
}

// Header describes the header row.
func (s *Sheet) Header() HeaderInfo { return s.header }

// Next advances to the next data row, skipping fully empty rows (every cell empty or
// whitespace, and no formula without value). It returns false at the end or on error (Err).
func (s *Sheet) Next() bool {
	if s.done {
		return false
	}
	for s.it.Next() {
		if s.fill(s.it.Cells()) {
			s.yielded++
			return true
		}
	}
	s.err = s.it.Err()
	s.done = true
	return false
}

// fill copies the mapped cells into the reused Row and reports whether the row has content.
func (s *Sheet) fill(cells []Cell) bool {
	s.row = validate.Row{Num: s.it.Num()}
	content := false
	for i, c := range cells {
		if !content && (c.FormulaNoValue || strings.TrimSpace(c.Value) != "") {
			content = true
		}
		if i >= len(s.mapped) || s.mapped[i] < 0 {
			continue
		}
		col := s.mapped[i]
		s.row.Cells[col] = c.Value
		s.row.FormulaNoValue[col] = c.FormulaNoValue
	}
	return content
}

// Row is the current data row. The same *validate.Row is reused: it is valid until the next
// call to Next; copy it to keep it.
func (s *Sheet) Row() *validate.Row { return &s.row }

// Err is the error that ended the rows, if any (a *Error for the file's faults, or the
// context's error).
func (s *Sheet) Err() error { return s.err }

// Rows counts the data rows yielded so far.
func (s *Sheet) Rows() int { return s.yielded }

// NoRowsError returns a file.no_rows *Error when the rows ended cleanly and none was yielded,
// else nil. Call it after Next returned false.
func (s *Sheet) NoRowsError() error {
	if !s.done || s.err != nil || s.yielded > 0 {
		return nil
	}
	return &Error{Code: validate.FileNoRows, Detail: fmt.Sprintf("sheet %q has a header in row %d but no data rows", s.header.Sheet, s.header.Row)}
}

// Close closes the row stream (not the Book).
func (s *Sheet) Close() error {
	s.done = true
	if s.it == nil {
		return nil
	}
	it := s.it
	s.it = nil
	return it.Close()
}
