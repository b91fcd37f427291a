package workbook

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/fhi/sysvak-import/internal/ctxio"
	"github.com/fhi/sysvak-import/validate"
)

// Defaults of Options (SPEC 1.1 limits; libraries.md §1.5 for the XML size limit).
const (
	// DefaultUnzipSizeLimit caps the sum of the declared uncompressed sizes of all parts.
	DefaultUnzipSizeLimit int64 = 1 << 30
	// DefaultUnzipXMLSizeLimit: worksheet and shared-strings parts larger than this are extracted
	// to temp files instead of being held (and, for shared strings, parsed) in memory. 4 MiB keeps
	// peak RSS roughly flat for big shared-string tables (see fixtures/README.md, "Measured").
	DefaultUnzipXMLSizeLimit int64 = 4 << 20
	// DefaultMaxRows is Excel's own row limit.
	DefaultMaxRows = 1 << 20
)

// Options configures OpenExcelize. Zero values take the defaults above.
type Options struct {
	UnzipSizeLimit    int64  // total declared uncompressed size of all parts (file.too_large beyond)
	UnzipXMLSizeLimit int64  // sheet/shared-strings parts above this go to temp files
	TmpDir            string // where temp files go ("" = os.TempDir()); removed by Book.Close
	MaxRows           int    // highest spreadsheet row number accepted (file.too_large beyond)
}

func (o Options) withDefaults() Options {
	if o.UnzipSizeLimit <= 0 {
		o.UnzipSizeLimit = DefaultUnzipSizeLimit
	}
	if o.UnzipXMLSizeLimit <= 0 {
		o.UnzipXMLSizeLimit = DefaultUnzipXMLSizeLimit
	}
	if o.UnzipXMLSizeLimit > o.UnzipSizeLimit {
		o.UnzipXMLSizeLimit = o.UnzipSizeLimit
	}
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	return o
}

// OpenExcelize opens a plain (already decrypted) xlsx/xlsm workbook of size bytes from r with
// excelize. Every failure that is the file's fault is a *Error: file.corrupt (not a zip, a
// truncated or damaged zip, broken XML, a library panic) or file.too_large (over
// UnzipSizeLimit). The caller must Close the Book to remove temp files.
//
// Memory: excelize's OpenReader reads the compressed file into memory (it has no exported
// ReaderAt entry point), so the compressed size must already be bounded (SPEC 1.1: 50 MiB).
// Parts above UnzipXMLSizeLimit live in temp files under TmpDir.
//
// Why recover: excelize has panicked on malformed input before (index and nil errors in its
// parsers); a vaccination file from outside must never crash the importer, so every call into
// excelize runs under a recover that turns a panic into file.corrupt.
func OpenExcelize(ctx context.Context, r io.ReaderAt, size int64, o Options) (Book, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	lastRows, err := prescan(ctx, r, size, o)
	if err != nil {
		return nil, err
	}
	f, err := openGuarded(r, size, o)
	if err != nil {
		return nil, err
	}
	b := &excelBook{f: f, maxRows: o.MaxRows, lastRows: lastRows}
	if err := guard("workbook properties", func() error {
		props, err := f.GetWorkbookProps()
		if err != nil {
			return err
		}
		b.date1904 = props.Date1904 != nil && *props.Date1904
		for _, name := range f.GetSheetList() {
			vis, err := f.GetSheetVisible(name)
			if err != nil {
				return err
			}
			b.sheets = append(b.sheets, SheetInfo{Name: name, Visible: vis})
		}
		return nil
	}); err != nil {
		_ = f.Close()
		return nil, classify("reading the workbook part", err)
	}
	return b, nil
}

// prescan looks at the zip directory before excelize reads anything: it rejects a non-zip or a
// damaged directory, enforces UnzipSizeLimit on the declared sizes (archive/zip refuses to
// inflate an entry beyond its declared size, so the declared total is a real bound), and checks
// that every worksheet and the shared-strings part inflate cleanly and end with their closing
// tag. The last check exists because excelize's streaming reader drops XML decoder errors: a
// truncated sheet would otherwise end the rows early without any error, and the file would be
// half imported as if it were whole. For the same reason it numbers the rows of each worksheet
// (rowscan.go): it returns, per sheet name (lower case), the number of the last row, which the
// row iterator must reach.
func prescan(ctx context.Context, r io.ReaderAt, size int64, o Options) (map[string]int, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, corrupt("not a readable zip archive (truncated or not an xlsx file)", err)
	}
	var total uint64
	for _, zf := range zr.File {
		total += zf.UncompressedSize64
		if zf.UncompressedSize64 > uint64(o.UnzipSizeLimit) || total > uint64(o.UnzipSizeLimit) {
			return nil, tooLarge(fmt.Sprintf("the unpacked workbook exceeds the limit of %d bytes", o.UnzipSizeLimit), o.UnzipSizeLimit, nil)
		}
	}
	sheets := worksheetParts(zr)
	// excelize holds every part in memory except the worksheets and the shared strings (which
	// go to temp files), and parses some of them (styles) whatever their size: a 900 MiB
	// styles part of blanks takes 80 s and gigabytes. No real workbook has such parts.
	var inMemory uint64
	for _, zf := range zr.File {
		name := strings.ReplaceAll(zf.Name, `\`, "/")
		lower := strings.ToLower(name)
		if sheets[name] != nil || strings.HasPrefix(lower, "xl/worksheets/") && strings.HasSuffix(lower, ".xml") || lower == "xl/sharedstrings.xml" {
			continue
		}
		inMemory += zf.UncompressedSize64
		if zf.UncompressedSize64 > maxInMemoryPart || inMemory > maxInMemoryParts {
			return nil, tooLarge(fmt.Sprintf("the part %s unpacks to %d bytes; parts other than the sheets and the shared strings may take %d MiB in all",
				printablePart(name), zf.UncompressedSize64, maxInMemoryParts>>20), maxInMemoryParts, nil)
		}
	}
	lastRows := map[string]int{}
	for _, zf := range zr.File {
		name := strings.ReplaceAll(zf.Name, `\`, "/")
		lower := strings.ToLower(name)
		var want string
		switch {
		case sheets[name] != nil, strings.HasPrefix(lower, "xl/worksheets/") && strings.HasSuffix(lower, ".xml"):
			want = "worksheet"
		case lower == "xl/sharedstrings.xml":
			want = "sst"
		default:
			continue
		}
		var rs *rowScanner
		if want == "worksheet" {
			rs = &rowScanner{}
		}
		if err := checkPart(ctx, zf, want, rs); err != nil {
			return nil, err
		}
		if rs != nil && !rs.unknown {
			for _, s := range sheets[name] {
				lastRows[strings.ToLower(s)] = rs.last
			}
		}
	}
	return lastRows, nil
}

// Limits of the parts excelize holds in memory (all but the worksheets and the shared strings).
const (
	maxInMemoryPart  = 64 << 20
	maxInMemoryParts = 128 << 20
)

// printablePart shortens a zip entry name for a message (it comes from the file).
func printablePart(name string) string {
	var b strings.Builder
	for _, r := range name {
		if b.Len() >= 80 {
			b.WriteString("...")
			break
		}
		if r < 0x20 || r == 0x7f {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// checkPart inflates one part (verifying its CRC) and checks that it ends with </want>. rows,
// when set, is fed the part too.
func checkPart(ctx context.Context, zf *zip.File, want string, rows *rowScanner) error {
	rc, err := zf.Open()
	if err != nil {
		return corrupt("a part of the workbook cannot be unpacked", err)
	}
	defer rc.Close()
	var tail tailWriter
	var w io.Writer = &tail
	if rows != nil {
		w = io.MultiWriter(&tail, rows)
	}
	var src io.Reader = ctxio.NewReader(ctx, rc)
	if want == "worksheet" {
		// excelize's row stream neither reports a decoder error nor checks that end tags match
		// their start tags, so a sheet that is not well-formed (a row or cell left unclosed)
		// would be read as rows. Excel refuses such a file; so do we (issue 12).
		tee := io.TeeReader(src, w)
		if err := wellFormed(tee); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return corrupt(fmt.Sprintf("the XML of part %s is not well-formed", printablePart(zf.Name)), err)
		}
		src = tee // the rest after the root element, if any
	}
	if _, err := io.Copy(w, src); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return corrupt("a part of the workbook is damaged", err)
	}
	if rows != nil {
		rows.finish()
	}
	if !EndsWithClose(tail.buf[:tail.n], want) {
		return corrupt(fmt.Sprintf("the XML of part %s is incomplete", zf.Name), nil)
	}
	return nil
}

// wellFormed reads XML from r up to the end of its root element and reports the first syntax
// error or end tag that does not match its start tag.
func wellFormed(r io.Reader) error {
	d := xml.NewDecoder(r)
	d.Strict = true
	var stack []xml.Name
	for {
		tok, err := d.RawToken()
		if err != nil {
			if err == io.EOF && len(stack) > 0 {
				return fmt.Errorf("%d elements left open at the end", len(stack))
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name)
		case xml.EndElement:
			if len(stack) == 0 || stack[len(stack)-1] != t.Name {
				return fmt.Errorf("an end tag that does not match its start tag at line %d", lineOf(d))
			}
			stack = stack[:len(stack)-1]
		}
	}
}

func lineOf(d *xml.Decoder) int {
	line, _ := d.InputPos()
	return line
}

// EndsWithClose reports whether b, after trailing whitespace, ends with </want> or </p:want>:
// the check that a part's XML was not cut short (shared by both readers).
func EndsWithClose(b []byte, want string) bool {
	b = bytes.TrimRight(b, " \t\r\n")
	if !bytes.HasSuffix(b, []byte(">")) {
		return false
	}
	i := bytes.LastIndex(b, []byte("</"))
	if i < 0 {
		return false
	}
	name := b[i+2 : len(b)-1]
	if j := bytes.IndexByte(name, ':'); j >= 0 {
		name = name[j+1:]
	}
	return string(bytes.TrimSpace(name)) == want
}

// tailWriter keeps the last bytes written to it.
type tailWriter struct {
	buf [128]byte
	n   int
}

func (t *tailWriter) Write(p []byte) (int, error) {
	if len(p) >= len(t.buf) {
		t.n = copy(t.buf[:], p[len(p)-len(t.buf):])
		return len(p), nil
	}
	if t.n+len(p) > len(t.buf) {
		drop := t.n + len(p) - len(t.buf)
		copy(t.buf[:], t.buf[drop:t.n])
		t.n -= drop
	}
	t.n += copy(t.buf[t.n:], p)
	return len(p), nil
}

func openGuarded(r io.ReaderAt, size int64, o Options) (*excelize.File, error) {
	var f *excelize.File
	err := guard("opening", func() error {
		var err error
		f, err = excelize.OpenReader(io.NewSectionReader(r, 0, size), excelize.Options{
			RawCellValue:      true,
			UnzipSizeLimit:    o.UnzipSizeLimit,
			UnzipXMLSizeLimit: o.UnzipXMLSizeLimit,
			TmpDir:            o.TmpDir,
		})
		return err
	})
	if err != nil {
		if f != nil {
			_ = f.Close()
		}
		return nil, classify("opening the workbook", err)
	}
	return f, nil
}

// guard runs fn and turns a panic inside it into a file.corrupt *Error (see OpenExcelize).
func guard(where string, fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicError(where, v)
		}
	}()
	return fn()
}

// classify maps an excelize/zip/XML error to a file-level *Error. Errors that already are a
// *Error pass through.
func classify(where string, err error) error {
	if err == nil {
		return nil
	}
	var we *Error
	if errors.As(err, &we) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, excelize.ErrMaxRows) {
		return tooLarge("the sheet has more rows than Excel allows", excelize.TotalRows, err)
	}
	if errors.Is(err, excelize.ErrColumnNumber) {
		return tooLarge(fmt.Sprintf("the sheet has more columns than Excel allows (%d)", excelize.MaxColumns), excelize.MaxColumns, err)
	}
	if strings.Contains(err.Error(), "unzip size exceeds") {
		return tooLarge("the unpacked workbook exceeds the size limit", 0, err)
	}
	return corrupt("the workbook is damaged ("+where+")", err)
}

// excelBook is a Book read with excelize's streaming API.
type excelBook struct {
	f        *excelize.File
	sheets   []SheetInfo
	date1904 bool
	maxRows  int
	lastRows map[string]int // from prescan: sheet name (lower case) -> number of its last row
}

func (b *excelBook) Sheets() []SheetInfo { return append([]SheetInfo(nil), b.sheets...) }
func (b *excelBook) Date1904() bool      { return b.date1904 }

func (b *excelBook) Close() error {
	if b.f == nil {
		return nil
	}
	f := b.f
	b.f = nil
	return guard("closing", f.Close)
}

// Rows streams one sheet with f.Rows + Columns(RawCellValue) (libraries.md §1.4): never
// GetRows/GetCellValue, which load the whole sheet.
func (b *excelBook) Rows(ctx context.Context, sheet string) (RowIter, error) {
	if b.f == nil {
		return nil, errors.New("workbook: Rows on a closed book")
	}
	listed := false
	for _, s := range b.sheets {
		if s.Name == sheet {
			listed = true
		}
	}
	if !listed {
		return nil, &Error{Code: validate.FileNoSheet, Detail: fmt.Sprintf("no sheet named %q", sheet), Args: validate.Args{"what": sheet}}
	}
	// The prescan numbered the rows already: a sheet beyond the limit fails now rather than
	// after a million rows have been read and checked.
	if last := b.lastRows[strings.ToLower(sheet)]; last > b.maxRows {
		return nil, tooLarge(fmt.Sprintf("the sheet has rows up to row %d, beyond the limit of %d", last, b.maxRows), int64(b.maxRows), nil)
	}
	var rows *excelize.Rows
	if err := guard("opening a sheet", func() error {
		var err error
		rows, err = b.f.Rows(sheet)
		return err
	}); err != nil {
		return nil, classify("opening sheet "+sheet, err)
	}
	return &excelRows{ctx: ctx, rows: rows, maxRows: b.maxRows, lastRow: b.lastRows[strings.ToLower(sheet)],
		opt: excelize.Options{RawCellValue: true}}, nil
}

// excelRows adapts *excelize.Rows to RowIter.
//
// Known limitation: excelize returns "" both for a blank cell and for a formula cell without a
// cached value (rows.go rowXMLHandler appends "" when <f> is present), so FormulaNoValue is
// never set here and such a cell reads as blank. The faster reader that follows can tell them
// apart.
type excelRows struct {
	ctx     context.Context
	rows    *excelize.Rows
	opt     excelize.Options
	maxRows int
	lastRow int // the last row number the prescan found in the sheet's XML (0 = unknown)
	num     int // spreadsheet row number: excelize's Nth Next() is row N, gaps included
	cells   []Cell
	err     error
	done    bool
}

func (it *excelRows) Next() bool {
	if it.done {
		return false
	}
	for {
		if it.num&1023 == 0 {
			if err := it.ctx.Err(); err != nil {
				return it.fail(err)
			}
		}
		var (
			ok   bool
			cols []string
		)
		err := guard("reading rows", func() error {
			ok = it.rows.Next()
			if !ok {
				return it.rows.Error()
			}
			var err error
			cols, err = it.rows.Columns(it.opt)
			return err
		})
		if err != nil {
			return it.fail(classify(fmt.Sprintf("row %d", it.num+1), err))
		}
		if !ok {
			if it.num < it.lastRow {
				// excelize stopped before the last row: its XML decoder met an error, which it
				// does not report (see rowscan.go).
				return it.fail(corrupt(fmt.Sprintf("the sheet's XML is malformed after row %d: the rows after it, up to row %d, cannot be read",
					it.num, it.lastRow), nil))
			}
			it.done = true
			return false
		}
		it.num++
		if it.num > it.maxRows {
			return it.fail(tooLarge(fmt.Sprintf("the sheet has rows beyond row %d", it.maxRows), int64(it.maxRows), nil))
		}
		if len(cols) == 0 { // absent from the XML, or no cell with a value
			continue
		}
		it.cells = it.cells[:0]
		for _, v := range cols {
			it.cells = append(it.cells, Cell{Value: v})
		}
		return true
	}
}

func (it *excelRows) fail(err error) bool {
	it.err = err
	it.done = true
	it.cells = it.cells[:0]
	return false
}

func (it *excelRows) Num() int      { return it.num }
func (it *excelRows) Cells() []Cell { return it.cells }
func (it *excelRows) Err() error    { return it.err }

func (it *excelRows) Close() error {
	it.done = true
	if it.rows == nil {
		return nil
	}
	rows := it.rows
	it.rows = nil
	err := guard("closing rows", rows.Close)
	if errors.Is(err, excelize.ErrMaxRows) { // already reported by Err
		return nil
	}
	return err
}
