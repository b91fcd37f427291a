package fastxlsx

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"strings"
	"unicode/utf16"

	kflate "github.com/klauspost/compress/flate"

	"github.com/fhi/sysvak-import/importer/workbook"
	"github.com/fhi/sysvak-import/validate"
)

// DefaultMaxSharedStrings bounds the decoded shared-strings table (text plus 4 bytes of index
// per string) held in memory.
const DefaultMaxSharedStrings int64 = 256 << 20

// fastInflateFrom is the archive size from which parts are inflated by klauspost/compress.
// A 100-row file is about 10 KB, a 25,000-row one 1 MB.
const fastInflateFrom = 1 << 20

// maxMetaPart bounds the small parts decoded with encoding/xml (workbook.xml, rels).
const maxMetaPart = 16 << 20

// Options configures Open. The embedded workbook.Options give the limits shared with the
// excelize reader (UnzipSizeLimit, MaxRows; UnzipXMLSizeLimit and TmpDir only matter for the
// excelize fallback of OpenWithFallback). Zero values take the defaults.
type Options struct {
	workbook.Options
	// MaxSharedStrings caps the in-memory shared-strings table in bytes (file.too_large beyond).
	MaxSharedStrings int64
	// inflateFrom (tests): the archive size from which klauspost/compress inflates (0:
	// fastInflateFrom, negative: never).
	inflateFrom int64
}

func (o Options) withDefaults() Options {
	if o.UnzipSizeLimit <= 0 {
		o.UnzipSizeLimit = workbook.DefaultUnzipSizeLimit
	}
	if o.MaxRows <= 0 {
		o.MaxRows = workbook.DefaultMaxRows
	}
	if o.MaxSharedStrings <= 0 {
		o.MaxSharedStrings = DefaultMaxSharedStrings
	}
	if o.inflateFrom == 0 {
		o.inflateFrom = fastInflateFrom
	}
	return o
}

const (
	relWorksheet     = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
	relOfficeDoc     = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
	relSharedStrings = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
	sstPath          = "xl/sharedStrings.xml"
	workbookPath     = "xl/workbook.xml"
)

type sheetRef struct {
	part      string
	worksheet bool
}

// book implements workbook.Book.
type book struct {
	o        Options
	files    map[string]*zip.File
	sheets   []workbook.SheetInfo
	parts    map[string]sheetRef
	sstFile  *zip.File
	sst      *sst
	date1904 bool
	reuse    bool // ReuseRowMemory was called
	// aheadFrom: worksheet parts from this size are read ahead (aheadIter; tests lower it)
	aheadFrom uint64
	iters     []*rowIter // iterators handed out, for ReuseRowMemory
}

// Open reads the workbook structure (sheet list, date system, part paths) from the zip in r.
// It does not inflate any worksheet. Errors: a *workbook.Error with code file.too_large when
// the declared uncompressed size exceeds o.UnzipSizeLimit; an error wrapping ErrUnsupported for
// anything else it does not read exactly like excelize (including damaged files: excelize then
// says what is wrong); ctx's error.
func Open(ctx context.Context, r io.ReaderAt, size int64, o Options) (workbook.Book, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: not a zip archive fastxlsx can read: %v", ErrUnsupported, err)
	}
	if o.inflateFrom >= 0 && size >= o.inflateFrom {
		// klauspost/compress/flate inflates about 30% faster than compress/flate (the 1M-row
		// bench file's sheet and shared strings: best of 6, 465 ms against 662; issue 17). It
		// does not pool its decompressors as archive/zip does, so small files keep the
		// standard one. archive/zip checks the CRC-32 either way.
		zr.RegisterDecompressor(zip.Deflate, kflate.NewReader)
	}
	b := &book{o: o, files: make(map[string]*zip.File, len(zr.File)), parts: map[string]sheetRef{}, aheadFrom: aheadFrom}
	var total uint64
	limit := uint64(o.UnzipSizeLimit)
	for _, zf := range zr.File {
		total += zf.UncompressedSize64
		if zf.UncompressedSize64 > limit || total > limit {
			return nil, &workbook.Error{Code: validate.FileTooLarge,
				Detail: fmt.Sprintf("the unpacked workbook exceeds the limit of %d bytes", o.UnzipSizeLimit),
				Args:   validate.Args{"detail": "unpacked size", "limit": fmt.Sprint(o.UnzipSizeLimit)}}
		}
		if strings.Contains(zf.Name, `\`) {
			return nil, unsupported("a zip entry name with backslashes")
		}
		if _, dup := b.files[zf.Name]; dup {
			return nil, unsupported("duplicate zip entries")
		}
		b.files[zf.Name] = zf
		if strings.EqualFold(zf.Name, sstPath) {
			if b.sstFile != nil {
				return nil, unsupported("two shared strings parts")
			}
			b.sstFile = zf
		}
	}
	if err := b.readStructure(); err != nil {
		return nil, err
	}
	return b, nil
}

// readPart inflates a small part fully.
func (b *book) readPart(name string) ([]byte, error) {
	zf := b.files[name]
	if zf == nil {
		return nil, unsupported("a missing part")
	}
	if zf.UncompressedSize64 > maxMetaPart {
		return nil, unsupported("an oversized workbook part")
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: opening a part: %v", ErrUnsupported, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxMetaPart+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading a part: %v", ErrUnsupported, err)
	}
	if bytes.Contains(data, []byte("purl.oclc.org")) {
		return nil, unsupported("strict OOXML")
	}
	if bytes.Contains(data, []byte("<!DOCTYPE")) {
		return nil, unsupported("a DTD in a workbook part")
	}
	return data, nil
}

type relsXML struct {
	Rels []struct {
		ID     string `xml:"Id,attr"`
		Target string `xml:",attr"`
		Type   string `xml:",attr"`
		Mode   string `xml:"TargetMode,attr"`
	} `xml:"Relationship"`
}

type workbookXML struct {
	XMLName    xml.Name `xml:"http://schemas.openxmlformats.org/spreadsheetml/2006/main workbook"`
	WorkbookPr *struct {
		Date1904 bool `xml:"date1904,attr,omitempty"`
	} `xml:"workbookPr"`
	Sheets struct {
		Sheet []struct {
			Name  string `xml:"name,attr"`
			ID    string `xml:"http://schemas.openxmlformats.org/officeDocument/2006/relationships id,attr"`
			State string `xml:"state,attr"`
		} `xml:"sheet"`
	} `xml:"sheets"`
}

func decodeXML(data []byte, v any) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: a workbook part encoding/xml cannot read: %v", ErrUnsupported, err)
	}
	return nil
}

// readStructure follows _rels/.rels -> xl/workbook.xml -> xl/_rels/workbook.xml.rels, as
// excelize does (getWorkbookPath, getSheetMap, getWorksheetPath).
func (b *book) readStructure() error {
	data, err := b.readPart("_rels/.rels")
	if err != nil {
		return err
	}
	var root relsXML
	if err := decodeXML(data, &root); err != nil {
		return err
	}
	wbPath := ""
	for _, r := range root.Rels {
		if r.Type == relOfficeDoc {
			wbPath = strings.TrimPrefix(r.Target, "/")
			break
		}
	}
	if wbPath != workbookPath {
		return unsupported("a workbook part other than xl/workbook.xml")
	}
	if data, err = b.readPart(workbookPath); err != nil {
		return err
	}
	var wb workbookXML
	if err := decodeXML(data, &wb); err != nil {
		return err
	}
	b.date1904 = wb.WorkbookPr != nil && wb.WorkbookPr.Date1904
	if data, err = b.readPart("xl/_rels/workbook.xml.rels"); err != nil {
		return err
	}
	var rels relsXML
	if err := decodeXML(data, &rels); err != nil {
		return err
	}
	byID := map[string]int{}
	for i, r := range rels.Rels {
		if _, dup := byID[r.ID]; dup {
			return unsupported("duplicate relationship ids")
		}
		byID[r.ID] = i
		if r.Type == relSharedStrings && !strings.EqualFold(resolveTarget(r.Target), sstPath) {
			return unsupported("a shared strings part other than xl/sharedStrings.xml")
		}
	}
	seen := map[string]bool{}
	for _, sh := range wb.Sheets.Sheet {
		if err := checkSheetName(sh.Name); err != nil {
			return err
		}
		folded := strings.ToLower(sh.Name)
		if seen[folded] {
			return unsupported("two sheets whose names differ only in case")
		}
		seen[folded] = true
		b.sheets = append(b.sheets, workbook.SheetInfo{Name: sh.Name, Visible: sh.State == "" || sh.State == "visible"})
		if i, ok := byID[sh.ID]; ok {
			r := rels.Rels[i]
			if strings.Contains(r.Target, `\`) || r.Mode == "External" {
				return unsupported("an unusual sheet target")
			}
			b.parts[sh.Name] = sheetRef{part: resolveTarget(r.Target), worksheet: r.Type == relWorksheet}
		}
	}
	return nil
}

// resolveTarget is excelize's getWorksheetPath for a workbook at xl/workbook.xml.
func resolveTarget(target string) string {
	if strings.HasPrefix(target, "/") {
		return strings.TrimPrefix(path.Clean(target), "/")
	}
	return strings.TrimPrefix(path.Clean("xl/"+target), "/")
}

// checkSheetName is excelize's checkSheetName (GetSheetVisible fails on such names, so the
// excelize reader refuses the workbook).
func checkSheetName(name string) error {
	if name == "" || len(utf16.Encode([]rune(name))) > 31 ||
		strings.HasPrefix(name, "'") || strings.HasSuffix(name, "'") ||
		strings.ContainsAny(name, ":\\/?*[]") {
		return unsupported("a sheet name excelize rejects")
	}
	return nil
}

func (b *book) Sheets() []workbook.SheetInfo { return append([]workbook.SheetInfo(nil), b.sheets...) }
func (b *book) Date1904() bool               { return b.date1904 }
func (b *book) Close() error                 { b.sst = nil; return nil }

// Rows opens a stream over one sheet. The shared-strings table is parsed on the first call.
func (b *book) Rows(ctx context.Context, sheet string) (workbook.RowIter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	listed := false
	for _, s := range b.sheets {
		if s.Name == sheet {
			listed = true
		}
	}
	if !listed {
		return nil, &workbook.Error{Code: validate.FileNoSheet, Detail: fmt.Sprintf("no sheet named %q", sheet), Args: validate.Args{"what": sheet}}
	}
	ref, ok := b.parts[sheet]
	if !ok || !ref.worksheet {
		return nil, unsupported("a sheet that is not a worksheet part")
	}
	zf := b.files[ref.part]
	if zf == nil {
		return nil, unsupported("a missing worksheet part")
	}
	if err := b.checkOtherParts(ctx, ref.part); err != nil {
		return nil, err
	}
	if b.sst == nil && b.sstFile != nil {
		t, err := b.readSST(ctx)
		if err != nil {
			return nil, err
		}
		b.sst = t
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: opening the worksheet: %v", ErrUnsupported, err)
	}
	p := newPipe(ctx, rc, zf.UncompressedSize64)
	it := &rowIter{ctx: ctx, p: p, s: pipeScanner(p), sst: b.sst, maxRows: b.o.MaxRows, reuse: b.reuse,
		refs: make([]cellRef, 0, 32), cells: make([]workbook.Cell, 0, 32), arena: make([]byte, 0, 1024)}
	if err := it.start(); err != nil {
		_ = it.Close()
		return nil, err
	}
	b.iters = append(b.iters, it)
	if zf.UncompressedSize64 >= b.aheadFrom && runtime.GOMAXPROCS(0) > 1 {
		return newAheadIter(it), nil
	}
	return it, nil
}

// ReuseRowMemory makes every row iterator of b, open now or opened later, keep the text of
// the current row in one reused buffer: a Cell.Value is then valid only until the next call
// to Next, like the Cells slice itself, and reading a row allocates nothing. Values already
// returned are not affected. It is for a caller that copies whatever it keeps beyond the row
// (the pipeline, once OpenSheet has read the header). b must come from Open or
// OpenWithFallback; for any other Book, and for rows read by the excelize fallback, it does
// nothing.
func ReuseRowMemory(b workbook.Book) {
	switch x := b.(type) {
	case *fallbackBook:
		ReuseRowMemory(x.fast)
	case *book:
		x.reuse = true
		for _, it := range x.iters {
			it.reuse = true
		}
	}
}

func (b *book) readSST(ctx context.Context) (*sst, error) {
	rc, err := b.sstFile.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: opening the shared strings: %v", ErrUnsupported, err)
	}
	p := newPipe(ctx, rc, b.sstFile.UncompressedSize64)
	defer p.close()
	t, err := parseSST(pipeScanner(p), b.o.MaxSharedStrings, int64(min(b.sstFile.UncompressedSize64, 1<<40)))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return t, nil
}

// checkOtherParts mirrors the prescan of workbook.OpenExcelize for the worksheets that are not
// read: each must inflate cleanly and end with its closing tag, or excelize refuses the file.
func (b *book) checkOtherParts(ctx context.Context, skip string) error {
	for name, zf := range b.files {
		lower := strings.ToLower(name)
		if name == skip || !strings.HasPrefix(lower, "xl/worksheets/") || !strings.HasSuffix(lower, ".xml") {
			continue
		}
		if err := checkTail(ctx, zf, "worksheet"); err != nil {
			return err
		}
	}
	return nil
}

func checkTail(ctx context.Context, zf *zip.File, want string) error {
	rc, err := zf.Open()
	if err != nil {
		return fmt.Errorf("%w: opening a part: %v", ErrUnsupported, err)
	}
	p := newPipe(ctx, rc, zf.UncompressedSize64)
	defer p.close()
	tail, err := pipeScanner(p).drainTail()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if !workbook.EndsWithClose(tail, want) {
		return unsupported("a worksheet part that does not end with its closing tag")
	}
	return nil
}

// IsUnsupported reports whether err means "read this file with excelize instead".
func IsUnsupported(err error) bool { return errors.Is(err, ErrUnsupported) }
