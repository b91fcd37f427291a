package fastxlsx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/fhi/sysvak-import/importer/workbook"
	"github.com/fhi/sysvak-import/validate"
)

// excelTotalRows and excelMaxColumns are excelize's TotalRows and MaxColumns.
const (
	excelTotalRows  = 1048576
	excelMaxColumns = 16384
	ctxEvery        = 1024 // rows between ctx checks
)

// scanErr returns the scanner's sticky error, classified: context errors pass through,
// ErrUnsupported passes through, read errors of the part (checksum, damaged deflate data) wrap
// ErrUnsupported so that excelize decides what the file is; otherwise "what".
func scanErr(s *scanner, what string) error {
	err := s.err
	if err == nil {
		if what == "" {
			what = "truncated XML"
		}
		return unsupported(what)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnsupported) {
		return err
	}
	var we *workbook.Error
	if errors.As(err, &we) {
		return err
	}
	return fmt.Errorf("%w: reading a part: %v", ErrUnsupported, err)
}

// rootElement reads the prolog and the root start tag, which must be want in the transitional
// SpreadsheetML namespace. It returns the root's name (to match its end tag) and whether the
// root was self-closing.
func rootElementName(s *scanner, want string) (qname, bool, error) {
	var q qname
	for {
		switch s.next() {
		case tkPI:
		case tkText:
			if !isBlank(s.text) {
				return q, false, unsupported("text before the root element (a byte order mark?)")
			}
		case tkStart:
			if !s.isLocal(want) {
				return q, false, unsupported("unexpected root element")
			}
			ns := ""
			for _, a := range s.attrs {
				if len(s.prefix) == 0 && len(a.prefix) == 0 && string(a.local) == "xmlns" ||
					len(s.prefix) > 0 && string(a.prefix) == "xmlns" && bytes.Equal(a.local, s.prefix) {
					ns = string(a.val)
				}
			}
			if ns != nsMain {
				return q, false, unsupported("a root element outside the transitional SpreadsheetML namespace (strict OOXML?)")
			}
			if !q.set(s) {
				return q, false, unsupported("a long element name")
			}
			return q, s.selfClose, nil
		default:
			return q, false, scanErr(s, "no root element")
		}
	}
}

func rootElement(s *scanner, want string) error {
	_, self, err := rootElementName(s, want)
	if err == nil && self {
		return unsupported("an empty root element")
	}
	return err
}

// expectEnd checks that only whitespace follows the root end tag, as excelize's prescan
// requires (the part must end with its closing tag).
func expectEnd(s *scanner) error {
	for {
		switch s.next() {
		case tkText:
			if !isBlank(s.text) {
				return unsupported("content after the root element")
			}
		case tkEOF:
			if s.err != nil {
				return scanErr(s, "")
			}
			return nil
		default:
			return unsupported("content after the root element")
		}
	}
}

// drainTail reads the rest of the part (so that archive/zip verifies its checksum) and returns
// its last bytes.
func (s *scanner) drainTail() ([]byte, error) {
	var tail []byte
	keep := func(b []byte) {
		if len(b) >= 256 {
			tail = append(tail[:0], b[len(b)-256:]...)
			return
		}
		tail = append(tail, b...)
		if len(tail) > 256 {
			tail = append(tail[:0], tail[len(tail)-256:]...)
		}
	}
	keep(s.buf[s.pos:])
	s.pos = len(s.buf)
	for !s.eof && s.err == nil {
		c, err := s.src()
		s.consumed += int64(len(c))
		keep(c)
		if s.rel != nil && c != nil {
			s.rel(c)
		}
		if err != nil {
			s.eof = true
			if err != io.EOF {
				s.err = err
			}
		}
	}
	if s.err != nil {
		return nil, scanErr(s, "")
	}
	return tail, nil
}

const (
	tOther = iota
	tShared
	tInline
)

// cellRef is one cell of the current row before its value becomes a string: either a span of
// the row arena or a shared-string index.
type cellRef struct {
	a, b    int32
	sst     int32 // >= 0: shared string index
	formula bool  // FormulaNoValue
}

// rowIter implements workbook.RowIter over one worksheet part.
//
// Cells returns a slice that is reused: it is valid until the next call to Next. The Value
// strings themselves are ordinary immutable strings (substrings of one string per row, or of
// the shared-strings arena) and may be kept: steady state, one allocation per row (the row's
// non-shared text), none per cell. After ReuseRowMemory the row's text stays in the reused
// arena, and the Values are valid only until the next call to Next: no allocation at all.
type rowIter struct {
	ctx     context.Context
	p       *pipe
	s       *scanner
	sst     *sst
	maxRows int
	reuse   bool // ReuseRowMemory: Values point into arena

	root    qname
	rowName qname
	started bool // inside sheetData
	done    bool
	ended   bool // </sheetData> seen while looking ahead: the current row is the last

	pending  bool // a <row> start tag was read ahead (pendNum, pendSelf, rowName)
	pendNum  int
	pendSelf bool

	num   int
	prev  int
	count int
	refs  []cellRef
	cells []workbook.Cell
	arena []byte
	err   error
}

func (it *rowIter) Num() int               { return it.num }
func (it *rowIter) Cells() []workbook.Cell { return it.cells }
func (it *rowIter) Err() error             { return it.err }

func (it *rowIter) Close() error {
	it.done = true
	if it.p != nil {
		p := it.p
		it.p = nil
		return p.close()
	}
	return nil
}

func (it *rowIter) fail(err error) bool {
	it.err = err
	it.done = true
	it.cells = it.cells[:0]
	if it.p != nil {
		_ = it.p.close()
		it.p = nil
	}
	return false
}

// start reads up to <sheetData>.
func (it *rowIter) start() error {
	s := it.s
	root, self, err := rootElementName(s, "worksheet")
	if err != nil {
		return err
	}
	it.root = root
	if self {
		it.done = true
		return it.finishTail()
	}
	for {
		switch s.next() {
		case tkPI:
		case tkText:
			if !isBlank(s.text) {
				return unsupported("text inside the worksheet element")
			}
		case tkStart:
			if s.isLocal("sheetData") {
				if s.selfClose {
					it.done = true
					return it.finishTail()
				}
				it.started = true
				return nil
			}
			if s.isLocal("row") {
				return unsupported("a row outside sheetData")
			}
			if !s.skipNoRows() {
				return scanErr(s, "")
			}
		case tkEnd:
			// a worksheet without sheetData: no rows (excelize reads to the end)
			if !it.root.matches(s) {
				return unsupported("mismatched end tag")
			}
			it.done = true
			return expectEnd(s)
		default:
			return scanErr(s, "")
		}
	}
}

// finishTail drains the part after </sheetData> and applies the prescan's tail check.
func (it *rowIter) finishTail() error {
	tail, err := it.s.drainTail()
	if err != nil {
		return err
	}
	if !workbook.EndsWithClose(tail, "worksheet") {
		return unsupported("the worksheet part does not end with </worksheet>")
	}
	return nil
}

// Next advances to the next row that has at least one cell with a value (or a formula).
//
// A row is returned only after the start tag of the next row (or the end of sheetData) has
// been read and checked: excelize folds a row that goes backwards, or a stray cell between
// rows, into the previous row, so only then is the previous row known to be final. That keeps
// OpenWithFallback exact when it switches to excelize in the middle of a sheet.
func (it *rowIter) Next() bool {
	if it.done || it.ended {
		it.done = true
		it.cells = it.cells[:0]
		if it.p != nil {
			_ = it.p.close()
			it.p = nil
		}
		return false
	}
	for {
		if !it.pending {
			found, err := it.seekRow()
			if err != nil {
				return it.fail(err)
			}
			if !found {
				it.done = true
				it.cells = it.cells[:0]
				return false
			}
		}
		it.pending = false
		if err := it.rowBody(); err != nil {
			return it.fail(err)
		}
		if len(it.refs) == 0 {
			continue
		}
		found, err := it.seekRow()
		if err != nil {
			return it.fail(err)
		}
		it.pending, it.ended = found, !found
		it.materialise()
		return true
	}
}

// seekRow reads up to the next <row> start tag and parses its attributes (found=true), or to
// </sheetData> and the end of the part (found=false).
func (it *rowIter) seekRow() (bool, error) {
	s := it.s
	for {
		switch s.next() {
		case tkText:
			if !isBlank(s.text) {
				return false, unsupported("text between rows")
			}
		case tkPI:
		case tkStart:
			if !s.isLocal("row") {
				return false, unsupported("an element other than row in sheetData")
			}
			it.count++
			if it.count%ctxEvery == 0 {
				if err := it.ctx.Err(); err != nil {
					return false, err
				}
			}
			return true, it.rowStart()
		case tkEnd:
			if !s.isLocal("sheetData") {
				return false, unsupported("mismatched end tag in sheetData")
			}
			if err := it.finishTail(); err != nil {
				return false, err
			}
			if it.p != nil {
				_ = it.p.close()
				it.p = nil
			}
			return false, nil
		case tkCDATA:
			return false, unsupported("CDATA in sheetData")
		default:
			return false, scanErr(s, "the sheet ends early")
		}
	}
}

// materialise turns the row's refs into cells: one string for all arena text of the row.
func (it *rowIter) materialise() {
	var rowStr string
	switch {
	case len(it.arena) == 0:
	case it.reuse:
		// Valid until the next row overwrites the arena (ReuseRowMemory's contract).
		rowStr = unsafe.String(&it.arena[0], len(it.arena))
	default:
		rowStr = string(it.arena)
	}
	it.cells = it.cells[:0]
	for _, r := range it.refs {
		c := workbook.Cell{FormulaNoValue: r.formula}
		if r.sst >= 0 {
			c.Value = it.sst.get(int(r.sst))
		} else {
			c.Value = rowStr[r.a:r.b]
		}
		it.cells = append(it.cells, c)
	}
}

// trimTN is bytes.Trim(b, " \t\n") without building the cutset on every call. (excelize trims
// with strings.TrimSpace: an index with other white space around it is refused, not guessed.)
func trimTN(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}

// parseUint parses ASCII digits only (1..maxDigits), as strconv.Atoi would for them.
func parseUint(b []byte, maxDigits int) (int, bool) {
	if len(b) == 0 || len(b) > maxDigits {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// rowStart parses the attributes of a <row> start tag that was just read.
func (it *rowIter) rowStart() error {
	s := it.s
	rowNum := -1
	for _, a := range s.attrs {
		if string(a.prefix) == "xmlns" {
			return unsupported("a namespace declaration on a row")
		}
		if string(a.local) == "r" {
			n, ok := parseUint(a.val, 8)
			if !ok || n == 0 {
				return unsupported("a row number excelize would not read as such")
			}
			rowNum = n
		}
	}
	if rowNum < 0 {
		rowNum = it.prev + 1
	}
	if rowNum <= it.prev {
		return unsupported("rows out of order")
	}
	it.prev, it.pendNum, it.pendSelf = rowNum, rowNum, s.selfClose
	if !s.selfClose && !it.rowName.set(s) {
		return unsupported("a long element name")
	}
	return nil
}

// rowBody parses the content of the row whose start tag rowStart read.
func (it *rowIter) rowBody() error {
	s := it.s
	rowNum := it.pendNum
	if rowNum > it.maxRows || rowNum > excelTotalRows {
		limit := min(it.maxRows, excelTotalRows)
		return &workbook.Error{Code: validate.FileTooLarge,
			Detail: fmt.Sprintf("the sheet has rows beyond row %d", limit),
			Args:   validate.Args{"detail": "rows", "limit": fmt.Sprint(limit)}}
	}
	it.num = rowNum
	it.refs = it.refs[:0]
	it.arena = it.arena[:0]
	if it.pendSelf {
		return nil
	}
	col := 0
	for {
		switch s.next() {
		case tkText:
			if !isBlank(s.text) {
				return unsupported("text inside a row")
			}
		case tkPI:
		case tkStart:
			if !s.isLocal("c") {
				return unsupported("an element other than c in a row")
			}
			var err error
			if col, err = it.cell(col); err != nil {
				return err
			}
		case tkEnd:
			if !it.rowName.matches(s) {
				return unsupported("mismatched end tag in a row")
			}
			return nil
		case tkCDATA:
			return unsupported("CDATA in a row")
		default:
			return scanErr(s, "the sheet ends inside a row")
		}
	}
}

// cellCol parses a cell reference the way excelize's CellNameToCoordinates reads the column
// (the row part is ignored by the streaming reader): letters then digits only.
func cellCol(b []byte) (int, bool) {
	i, col, letters := 0, 0, 0
	for i < len(b) {
		c := b[i]
		switch {
		case c == '$': // SplitCellName drops every '$' of the column part
			i++
			continue
		case c >= 'A' && c <= 'Z':
			col = col*26 + int(c-'A'+1)
		case c >= 'a' && c <= 'z':
			col = col*26 + int(c-'a'+1)
		default:
			goto digits
		}
		if col > excelMaxColumns {
			return 0, false
		}
		letters++
		i++
	}
digits:
	if letters == 0 {
		return 0, false
	}
	row, ok := parseUint(b[i:], 7)
	if !ok || row == 0 || row > excelTotalRows {
		return 0, false
	}
	return col, true
}

// validStyle accepts what strconv.ParseInt(s, 10, 64) accepts without error for realistic
// values (excelize stops reading a cell's attributes at an invalid s, so that is unsupported).
func validStyle(b []byte) bool {
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		b = b[1:]
	}
	_, ok := parseUint(b, 18)
	return ok
}

const (
	fastNo = iota
	fastV
	fastIS
)

var (
	tagV      = []byte("<v>")
	tagVEnd   = []byte("</v></c>")
	tagIST    = []byte("<is><t>")
	tagISTEnd = []byte("</t></is></c>")
)

// fastCell reads the rest of an unprefixed cell whose non-self-closing start tag was just read
// when it is, byte for byte, <v>TEXT</v></c> or <is><t>TEXT</t></is></c> with TEXT free of
// entity references and of anything validText refuses, and all of it is in the window: the
// shapes Excel and excelize write for nearly every cell. It appends TEXT to the row arena (for
// an inline string with bstrUnmarshal, as parseSI does) and returns its span. Anything else,
// including a shape split across chunks, returns fastNo with nothing consumed, and the token
// path reads the cell; both give the same cell (TestDifferential*, FuzzDifferential).
func (it *rowIter) fastCell() (kind, a, b int) {
	s := it.s
	buf := s.buf[s.pos:]
	open, end, kind := tagV, tagVEnd, fastV
	if !bytes.HasPrefix(buf, tagV) {
		if !bytes.HasPrefix(buf, tagIST) {
			return fastNo, 0, 0
		}
		open, end, kind = tagIST, tagISTEnd, fastIS
	}
	text := buf[len(open):]
	j := bytes.IndexByte(text, '<')
	if j < 0 || !bytes.HasPrefix(text[j:], end) {
		return fastNo, 0, 0
	}
	text = text[:j]
	if bytes.IndexByte(text, '&') >= 0 || !validText(text) {
		return fastNo, 0, 0
	}
	a = len(it.arena)
	it.arena = append(it.arena, text...)
	if kind == fastIS {
		it.arena = bstrUnmarshal(it.arena, a)
	}
	s.pos += len(open) + j + len(end)
	return kind, a, len(it.arena)
}

// cell parses a <c> element whose start tag was just read; prevCol is the 1-based column of
// the previous cell in the row (0 at the start). It returns this cell's column.
func (it *rowIter) cell(prevCol int) (int, error) {
	col, typ, err := cellAttrs(it.s, prevCol)
	if err != nil {
		return 0, err
	}
	var body cellBody
	done := false
	if !it.s.selfClose && len(it.s.prefix) == 0 {
		// The common shapes, matched on the raw bytes (fastCell).
		switch kind, a, b := it.fastCell(); kind {
		case fastV:
			body.hasV, body.va, body.vb, done = true, a, b, true
		case fastIS:
			body.hasIS, body.ia, body.ib, done = true, a, b, true
		}
	}
	if !it.s.selfClose && !done {
		if err := it.cellChildren(&body); err != nil {
			return 0, err
		}
	}
	ref, err := it.cellValue(typ, &body)
	if err != nil {
		return 0, err
	}
	return col, it.storeCell(col, ref, body.hasF)
}

// cellBody records what a cell's children held: whether it had a <v>, an <f> and an <is>,
// and the arena spans [va,vb) of the value text and [ia,ib) of the inline string.
type cellBody struct {
	hasV, hasF, hasIS bool
	va, vb, ia, ib    int
}

// cellAttrs reads the attributes of a <c> start tag: the column (from r, else the one after
// prevCol) and the value type (from t). The style index is only validated.
func cellAttrs(s *scanner, prevCol int) (col, typ int, err error) {
	col, typ = prevCol+1, tOther
	for _, a := range s.attrs {
		if string(a.prefix) == "xmlns" {
			return 0, 0, unsupported("a namespace declaration on a cell")
		}
		switch string(a.local) {
		case "r":
			c, ok := cellCol(a.val)
			if !ok {
				return 0, 0, unsupported("a cell reference excelize would not read as such")
			}
			col = c
		case "s":
			if !validStyle(a.val) {
				return 0, 0, unsupported("an invalid style index")
			}
		case "t":
			typ = cellType(a.val)
		}
	}
	if col > excelMaxColumns {
		return 0, 0, unsupported("a cell beyond column XFD")
	}
	return col, typ, nil
}

// cellType maps a cell's t attribute to the types the reader tells apart.
func cellType(t []byte) int {
	switch string(t) {
	case "s":
		return tShared
	case "inlineStr":
		return tInline
	}
	return tOther
}

// cellChildren is the general path for a cell's content, token by token up to its end tag:
// it copies the <v> text and the <is> string into the arena and notes an <f>.
func (it *rowIter) cellChildren(body *cellBody) error {
	s := it.s
	var name qname
	if !name.set(s) {
		return unsupported("a long element name")
	}
	for {
		switch s.next() {
		case tkText:
			if !isBlank(s.text) {
				return unsupported("text inside a cell")
			}
		case tkPI:
		case tkStart:
			if err := it.cellChild(body); err != nil {
				return err
			}
		case tkEnd:
			if !name.matches(s) {
				return unsupported("mismatched end tag in a cell")
			}
			return nil
		case tkCDATA:
			return unsupported("CDATA in a cell")
		default:
			return scanErr(s, "the sheet ends inside a cell")
		}
	}
}

// cellChild reads one child element of a cell whose start tag was just read.
func (it *rowIter) cellChild(body *cellBody) error {
	s := it.s
	var err error
	switch {
	case s.isLocal("v"):
		if body.hasV {
			return unsupported("a cell with two values")
		}
		body.hasV = true
		body.va = len(it.arena)
		if it.arena, err = readText(s, it.arena); err != nil {
			return err
		}
		body.vb = len(it.arena)
	case s.isLocal("f"):
		body.hasF = true
		if !s.skipTyped() {
			return scanErr(s, "")
		}
	case s.isLocal("is"):
		if body.hasIS {
			return unsupported("a cell with two inline strings")
		}
		body.hasIS = true
		body.ia = len(it.arena)
		if !s.selfClose {
			if it.arena, err = parseSI(s, it.arena); err != nil {
				return err
			}
		}
		body.ib = len(it.arena)
	default:
		return unsupported("an unknown element in a cell")
	}
	return nil
}

// cellValue makes the cellRef for a cell of type typ: a shared-string cell's <v> becomes an
// index into the table (and its text leaves the arena), an inline-string cell takes the <is>
// span, any other cell the <v> span.
func (it *rowIter) cellValue(typ int, body *cellBody) (cellRef, error) {
	va, vb := body.va, body.vb
	ref := cellRef{a: int32(va), b: int32(vb), sst: -1, formula: body.hasF && !body.hasV && !(typ == tInline && body.hasIS)}
	switch typ {
	case tShared:
		if vb > va {
			v := trimTN(it.arena[va:vb])
			idx, ok := parseUint(v, 9)
			if !ok {
				return ref, unsupported("a shared string index excelize would not read as such")
			}
			if it.sst == nil || idx >= it.sst.count() {
				return ref, unsupported("a shared string index outside the table")
			}
			ref.sst = int32(idx)
			it.arena = it.arena[:va]
			ref.a, ref.b = int32(va), int32(va)
		}
	case tInline:
		if body.hasIS {
			ref.a, ref.b = int32(body.ia), int32(body.ib)
		}
	}
	return ref, nil
}

// storeCell puts ref at column col of the row, padding skipped columns with empty cells. An
// empty cell without a formula is not stored.
func (it *rowIter) storeCell(col int, ref cellRef, hasF bool) error {
	empty := ref.sst < 0 && ref.a == ref.b || ref.sst >= 0 && it.sst.offs[ref.sst] == it.sst.offs[ref.sst+1]
	if empty && !hasF {
		return nil
	}
	if col <= len(it.refs) {
		return unsupported("cells out of column order")
	}
	for len(it.refs) < col-1 {
		it.refs = append(it.refs, cellRef{sst: -1})
	}
	it.refs = append(it.refs, ref)
	return nil
}
