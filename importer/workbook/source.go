package workbook

import "context"

// SheetInfo names one worksheet of a workbook in workbook order.
type SheetInfo struct {
	Name    string
	Visible bool
}

// Book is an open workbook.
type Book interface {
	// Sheets lists the worksheets in workbook order.
	Sheets() []SheetInfo
	// Date1904 reports whether the workbook uses the 1904 date system.
	Date1904() bool
	// Rows opens a stream over one sheet's rows.
	Rows(ctx context.Context, sheet string) (RowIter, error)
	// Close releases the workbook and removes any temporary files.
	Close() error
}

// Cell is one cell's raw value. FormulaNoValue is set when the cell holds a formula without a
// cached value (a reader that cannot tell leaves it false).
type Cell struct {
	Value          string
	FormulaNoValue bool
}

// RowIter streams the rows of one sheet. Next advances to the next row and returns false at the
// end or on error (see Err). Num is the spreadsheet's 1-based row number of the current row;
// rows absent from the file are skipped, not returned empty. Cells is valid until the next call
// to Next and is indexed by 0-based column (A = 0); trailing blanks may be cut.
type RowIter interface {
	Next() bool
	Num() int
	Cells() []Cell
	Err() error
	Close() error
}
