// Package fastxlsx is a fast, allocation-lean reader of the rows of a SpreadsheetML (.xlsx)
// worksheet for the common case (issue 6, SPEC §1.1-1.4). It reads the workbook straight from
// the zip (archive/zip), inflates the sheet part in a goroutine while the caller's goroutine
// scans it with a hand-written scanner (no encoding/xml tokens), and resolves shared strings
// from one byte arena plus an offset index.
//
// excelize stays the reference: for every cell fastxlsx yields exactly the value that
// excelize's rows.Columns(excelize.Options{RawCellValue: true}) yields (rows.go rowXMLHandler,
// cell.go getValueFrom, xlsxSI.String with bstrUnmarshal). Whatever the scanner does not
// handle exactly -- DTDs, odd encodings, strict OOXML, cells out of column order, unknown
// elements inside rows and cells, malformed XML -- makes it return an error wrapping
// ErrUnsupported, never a guess. OpenWithFallback turns that into a transparent switch to
// workbook.OpenExcelize, even in the middle of a sheet.
//
// Limits (SPEC §1.1) are typed *workbook.Error values with code file.too_large.
//
// Speed and memory (issue 6; `make bench`): cells of the shapes Excel and excelize write
// (<v>TEXT</v>, <is><t>TEXT</t></is>) are matched on the raw bytes, everything else goes through
// the tokenizer; the shared-strings table is one arena plus offsets, reserved once from the
// part's declared size; and after ReuseRowMemory a row's text lives in one reused buffer, so
// reading allocates nothing per row or cell.
package fastxlsx
