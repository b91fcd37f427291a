// Package annotate writes the annotated copy of a checked workbook (SPEC 5 `validate --annotate
// OUT.xlsx`, issue 5): every cell with a finding is highlighted (red fill for errors, yellow for
// warnings, the cell's own number format and other style kept) and carries a cell comment with
// the message and code; rows with findings are marked in an added status column after the last
// used column; a first sheet "Funn" lists every finding, file-level ones included, with internal
// hyperlinks to the cells. Cell values are never changed, and nothing is written that was not in
// the input except the findings themselves (whose values are masked for identifiers by contract;
// this package writes no finding values at all).
//
// The data sheet and its header are located exactly as the reader does it, by running
// importer/workbook OpenSheet over the same bytes, so a finding's column key maps to the same
// spreadsheet column the row was read from. The copy is made with excelize's full (DOM) API: it
// is meant for the vaccinator's own files, not for bulk imports.
package annotate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/fhi/sysvak-import/importer/workbook"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/validate"
)

// Names and colours of the annotated copy.
const (
	// SheetFindings is the summary sheet inserted first. If the workbook already has a sheet of
	// that name, " (2)", " (3)" ... is appended.
	SheetFindings = "Funn"
	// Author is the author of the cell comments.
	Author = "sysvak-import"
	// FillError and FillWarning are the highlight colours (Excel's "bad" and "neutral" fills).
	FillError   = "FFC7CE"
	FillWarning = "FFEB9C"
)

// Options configure WriteWith.
type Options struct {
	// Lang is the language of the added texts ("nb" default, "en"); findings with an empty
	// Message are localized in it.
	Lang string
	// Mapping must be the header mapping the findings were produced with; nil means
	// workbook.DefaultMapping().
	Mapping *workbook.Mapping
	// Password, when not empty, encrypts the copy (ECMA-376 standard encryption, as excelize
	// writes it; libraries.md §1.3). Pass the password that opened an encrypted input, so that
	// the copy is as protected as the original.
	Password secret.Secret
	// Read bounds the workbook (limits and temp dir), as for the validation run.
	Read workbook.Options
	// MaxComments caps the cells that get a comment (0: DefaultMaxComments; negative: no cap).
	// excelize places each comment by summing the row heights above it, so comments cost
	// O(rows) each; beyond the cap cells are still highlighted, marked in the status column and
	// listed (and linked) in Funn, without a comment.
	MaxComments int
}

// DefaultMaxComments is the default of Options.MaxComments (about 2 s of comment placement on
// the build machine; BenchmarkAnnotate10000Rows).
const DefaultMaxComments = 10000

// Write writes an annotated copy of the plain (decrypted) workbook in (size bytes) to w.
// findings are those of the validation run of the same bytes (report.Findings). The copy is not
// encrypted; use WriteWith with a Password for an encrypted input.
func Write(ctx context.Context, in io.ReaderAt, size int64, findings []validate.Finding, lang string, w io.Writer) error {
	return WriteWith(ctx, in, size, findings, w, Options{Lang: lang})
}

// ErrNotAnnotatable wraps a failure to open the input workbook: a file the reader rejected as
// corrupt cannot be annotated (its findings are in the report). The chain also holds the
// *workbook.Error.
var ErrNotAnnotatable = errors.New("annotate: the workbook cannot be opened")

// WriteWith is Write with options.
func WriteWith(ctx context.Context, in io.ReaderAt, size int64, findings []validate.Finding, w io.Writer, o Options) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	hdr, err := locate(ctx, in, size, o)
	if err != nil {
		return err
	}
	f, err := open(in, size, o.Read)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := guard(f.Close); err == nil && cerr != nil {
			err = fmt.Errorf("annotate: close: %w", cerr)
		}
	}()
	maxComments := o.MaxComments
	switch {
	case maxComments == 0:
		maxComments = DefaultMaxComments
	case maxComments < 0:
		maxComments = int(^uint(0) >> 1)
	}
	a := &annotator{f: f, hdr: hdr, lang: o.Lang, lab: validate.ByLang(o.Lang, labelsNB, labelsEN), styles: map[styleKey]int{}, maxComments: maxComments}
	if err := guard(func() error { return a.run(ctx, findings) }); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("annotate: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var opts []excelize.Options
	if !o.Password.Empty() {
		// excelize takes the password as a string; it cannot be wiped (same as decrypt.EncryptOffice).
		opts = append(opts, excelize.Options{Password: string(o.Password.Bytes())})
	}
	if err := guard(func() error { return f.Write(w, opts...) }); err != nil {
		return fmt.Errorf("annotate: write: %w", err)
	}
	return nil
}

// locate finds the data sheet and header the way the reader does. A file-level problem of the
// sheet or header (no sheet, no header, a required column missing) is not an error here: the
// copy then only gets the Funn sheet, listing the file-level findings. A workbook that cannot
// be opened at all is ErrNotAnnotatable.
func locate(ctx context.Context, in io.ReaderAt, size int64, o Options) (*workbook.HeaderInfo, error) {
	book, err := workbook.OpenExcelize(ctx, in, size, o.Read)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %w", ErrNotAnnotatable, err)
	}
	defer book.Close()
	sheet, err := workbook.OpenSheet(ctx, book, workbook.ReadOptions{Mapping: o.Mapping})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		switch workbook.CodeOf(err) {
		case validate.FileNoSheet, validate.FileHeaderNotFound, validate.FileColumnMissing:
			return nil, nil
		}
		return nil, fmt.Errorf("%w: %w", ErrNotAnnotatable, err)
	}
	h := sheet.Header()
	_ = sheet.Close()
	return &h, nil
}

func open(in io.ReaderAt, size int64, ro workbook.Options) (*excelize.File, error) {
	lim := ro.UnzipSizeLimit
	if lim <= 0 {
		lim = workbook.DefaultUnzipSizeLimit
	}
	var f *excelize.File
	err := guard(func() error {
		src := io.Reader(io.NewSectionReader(in, 0, size))
		norm, err := normalizePackage(in, size, lim)
		if err != nil {
			return err
		}
		if norm != nil {
			src = bytes.NewReader(norm)
		}
		f, err = excelize.OpenReader(src, excelize.Options{
			UnzipSizeLimit: lim,
			TmpDir:         ro.TmpDir,
		})
		return err
	})
	if err != nil {
		if f != nil {
			_ = guard(f.Close)
		}
		return nil, fmt.Errorf("%w: %w", ErrNotAnnotatable, err)
	}
	return f, nil
}

// guard runs fn and turns a panic in excelize into an error. Only a runtime error's message is
// kept: any other panic value could quote the file's contents.
func guard(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			if re, ok := v.(runtime.Error); ok {
				err = fmt.Errorf("panic in excelize: %w", re)
			} else {
				err = fmt.Errorf("panic in excelize: %T", v)
			}
		}
	}()
	return fn()
}

type styleKey struct {
	style int
	sev   validate.Severity
}

// mark is what one cell (or one row, when a finding has no cell) collects.
type mark struct {
	row, col int // spreadsheet row, 1-based column (0: no cell)
	findings []*validate.Finding
}

func (m *mark) severity() validate.Severity {
	for _, f := range m.findings {
		if f.Severity == validate.SeverityError {
			return validate.SeverityError
		}
	}
	return validate.SeverityWarning
}

type annotator struct {
	f      *excelize.File
	hdr    *workbook.HeaderInfo // nil: no data sheet located
	lang   string
	lab    labels
	styles map[styleKey]int // (original style id, severity) -> highlighted style id
	// maxComments caps the comments added (Options.MaxComments).
	maxComments int
}

// entry is one line of the Funn sheet.
type entry struct {
	f    *validate.Finding
	cell string // "" when the finding has no cell
}

func (a *annotator) run(ctx context.Context, in []validate.Finding) error {
	if err := a.removeEarlier(ctx); err != nil {
		return err
	}
	fs := make([]validate.Finding, len(in))
	copy(fs, in)
	for i := range fs {
		if fs[i].Message == "" {
			validate.Localize(a.lang, &fs[i])
		}
		if fs[i].Severity == "" {
			fs[i].Severity = fs[i].Code.DefaultSeverity()
		}
	}
	// File-level findings first, then by row and column: the order a reader scans the sheet.
	order := make([]int, len(fs))
	for i := range order {
		order[i] = i
	}
	colOf := func(f *validate.Finding) int {
		if c := a.column(f); c > 0 {
			return c
		}
		return 1 << 20
	}
	sort.SliceStable(order, func(i, j int) bool {
		x, y := &fs[order[i]], &fs[order[j]]
		if x.Row != y.Row {
			return x.Row < y.Row
		}
		return colOf(x) < colOf(y)
	})

	var (
		cells   = map[[2]int]*mark{} // (row, col) -> mark
		rows    = map[int]*mark{}    // row -> all findings of the row
		cellSeq []*mark
		rowSeq  []int
		entries = make([]entry, 0, len(fs))
	)
	for _, i := range order {
		f := &fs[i]
		e := entry{f: f}
		if a.hdr != nil && f.Row > 0 {
			r, ok := rows[f.Row]
			if !ok {
				r = &mark{row: f.Row}
				rows[f.Row] = r
				rowSeq = append(rowSeq, f.Row)
			}
			r.findings = append(r.findings, f)
			if c := a.column(f); c > 0 {
				k := [2]int{f.Row, c}
				m, ok := cells[k]
				if !ok {
					m = &mark{row: f.Row, col: c}
					cells[k] = m
					cellSeq = append(cellSeq, m)
				}
				m.findings = append(m.findings, f)
				e.cell, _ = excelize.CoordinatesToCellName(c, f.Row)
			}
		}
		entries = append(entries, e)
	}

	if a.hdr != nil {
		statusCol, err := a.lastColumn(ctx)
		if err != nil {
			return err
		}
		statusCol++
		if err := a.markCells(ctx, cellSeq); err != nil {
			return err
		}
		if len(rowSeq) > 0 {
			if err := a.statusColumn(statusCol, rowSeq, rows, entries); err != nil {
				return err
			}
		}
	}
	return a.findingsSheet(entries)
}

// column returns the 1-based spreadsheet column of a finding's cell, 0 when it has none (file
// level, no column key, or a column the file does not have).
func (a *annotator) column(f *validate.Finding) int {
	if a.hdr == nil || f.Row <= 0 || f.Column == "" {
		return 0
	}
	c, ok := validate.ColumnByKey(f.Column)
	if !ok || !a.hdr.Has(c) {
		return 0
	}
	return a.hdr.Index[c] + 1
}

// lastColumn is the last used column of the data sheet (the widest row, header included).
func (a *annotator) lastColumn(ctx context.Context) (int, error) {
	rows, err := a.f.Rows(a.hdr.Sheet)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	last := 0
	for n := 0; rows.Next(); n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		cols, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return 0, err
		}
		// Columns trims trailing blanks, so len is the last column with a value.
		if len(cols) > last {
			last = len(cols)
		}
	}
	if err := rows.Error(); err != nil {
		return 0, err
	}
	for _, i := range a.hdr.Index {
		if i+1 > last {
			last = i + 1
		}
	}
	return last, nil
}

// markCells highlights every cell with a finding and adds its comment.
func (a *annotator) markCells(ctx context.Context, marks []*mark) error {
	sheet := a.hdr.Sheet
	existing := map[string]excelize.Comment{}
	cmts, err := a.f.GetComments(sheet)
	if err != nil {
		return err
	}
	for _, c := range cmts {
		existing[strings.ToUpper(c.Cell)] = c
	}
	for n, m := range marks {
		if n&255 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		cell, err := excelize.CoordinatesToCellName(m.col, m.row)
		if err != nil {
			return err
		}
		if err := a.highlight(sheet, cell, m.severity()); err != nil {
			return err
		}
		if n >= a.maxComments {
			continue
		}
		if err := a.comment(sheet, cell, m.findings, existing); err != nil {
			return err
		}
	}
	return nil
}

// highlight sets the severity's fill on a cell, keeping the rest of its style (number format,
// font, borders, alignment). Styles are cached per (original style, severity).
func (a *annotator) highlight(sheet, cell string, sev validate.Severity) error {
	orig, err := a.f.GetCellStyle(sheet, cell)
	if err != nil {
		return err
	}
	k := styleKey{orig, sev}
	id, ok := a.styles[k]
	if !ok {
		st, err := a.f.GetStyle(orig)
		if err != nil {
			return err
		}
		if st == nil {
			st = &excelize.Style{}
		}
		st.Fill = fillFor(sev)
		if id, err = a.f.NewStyle(st); err != nil {
			return err
		}
		a.styles[k] = id
	}
	return a.f.SetCellStyle(sheet, cell, cell, id)
}

func fillFor(sev validate.Severity) excelize.Fill {
	c := FillWarning
	if sev == validate.SeverityError {
		c = FillError
	}
	return excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{c}}
}

// comment adds (or extends) the cell's comment: one paragraph per finding, "message (code)".
// A comment the cell already had is kept above ours.
func (a *annotator) comment(sheet, cell string, fs []*validate.Finding, existing map[string]excelize.Comment) error {
	var runs []excelize.RichTextRun
	if old, ok := existing[cell]; ok {
		if err := a.f.DeleteComment(sheet, old.Cell); err != nil {
			return err
		}
		if old.Text != "" {
			runs = append(runs, excelize.RichTextRun{Text: old.Text})
		}
		runs = append(runs, old.Paragraph...)
		runs = append(runs, excelize.RichTextRun{Text: "\n\n"})
	}
	for i, f := range fs {
		if i > 0 {
			runs = append(runs, excelize.RichTextRun{Text: "\n"})
		}
		runs = append(runs,
			excelize.RichTextRun{Text: a.lab.severity(f.Severity) + " (" + string(f.Code) + "): ", Font: &excelize.Font{Bold: true, Size: 9}},
			excelize.RichTextRun{Text: f.Message, Font: &excelize.Font{Size: 9}},
		)
	}
	height := uint(60 + 40*len(fs))
	return a.f.AddComment(sheet, excelize.Comment{Cell: cell, Author: Author, Paragraph: runs, Width: 300, Height: min(height, 400)})
}

// statusColumn writes the status header and one status cell per row with findings.
func (a *annotator) statusColumn(col int, rowSeq []int, rows map[int]*mark, entries []entry) error {
	sheet := a.hdr.Sheet
	name, err := excelize.ColumnNumberToName(col)
	if err != nil {
		return err
	}
	head, err := a.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	hcell, err := excelize.CoordinatesToCellName(col, a.hdr.Row)
	if err != nil {
		return err
	}
	if err := a.f.SetCellStr(sheet, hcell, a.lab.status); err != nil {
		return err
	}
	if err := a.f.SetCellStyle(sheet, hcell, hcell, head); err != nil {
		return err
	}
	if err := a.f.SetColWidth(sheet, name, name, 34); err != nil {
		return err
	}
	var styles [2]int
	for i, sev := range []validate.Severity{validate.SeverityError, validate.SeverityWarning} {
		if styles[i], err = a.f.NewStyle(&excelize.Style{Fill: fillFor(sev), NumFmt: 49}); err != nil {
			return err
		}
	}
	statusCell := map[int]string{}
	for _, r := range rowSeq {
		m := rows[r]
		cell, err := excelize.CoordinatesToCellName(col, r)
		if err != nil {
			return err
		}
		statusCell[r] = cell
		sev := m.severity()
		var codes []string
		seen := map[validate.Code]bool{}
		// Error codes first: they are why the row is rejected.
		for _, want := range []validate.Severity{validate.SeverityError, validate.SeverityWarning} {
			for _, f := range m.findings {
				if f.Severity == want && !seen[f.Code] {
					seen[f.Code] = true
					codes = append(codes, string(f.Code))
				}
			}
		}
		prefix, style := a.lab.rejected, styles[0]
		if sev != validate.SeverityError {
			prefix, style = a.lab.warning, styles[1]
		}
		if err := a.f.SetCellStr(sheet, cell, prefix+": "+strings.Join(codes, ", ")); err != nil {
			return err
		}
		if err := a.f.SetCellStyle(sheet, cell, cell, style); err != nil {
			return err
		}
	}
	// A row finding without a cell (its column is absent from the file) links to the status cell.
	for i := range entries {
		if entries[i].cell == "" && entries[i].f.Row > 0 {
			entries[i].cell = statusCell[entries[i].f.Row]
		}
	}
	return nil
}

// findingsSheet adds the Funn sheet, moves it first and makes it active.
func (a *annotator) findingsSheet(entries []entry) error {
	f := a.f
	name := a.uniqueSheetName(SheetFindings)
	if _, err := f.NewSheet(name); err != nil {
		return err
	}
	st, err := a.findingsStyles()
	if err != nil {
		return err
	}
	if err := a.findingsHeader(name, st.bold); err != nil {
		return err
	}
	if len(entries) == 0 {
		if err := f.SetCellStr(name, "A2", a.lab.none); err != nil {
			return err
		}
	}
	headers := a.headerTexts()
	if maxEntries := excelize.TotalRows - 2; len(entries) > maxEntries {
		// Excel's row limit: the last line says how many more there are (the report has all).
		more := len(entries) - maxEntries + 1
		entries = entries[:maxEntries-1]
		cell, _ := excelize.CoordinatesToCellName(6, maxEntries+1)
		if err := f.SetCellStr(name, cell, fmt.Sprintf(a.lab.more, more)); err != nil {
			return err
		}
	}
	for i, e := range entries {
		if err := a.findingsRow(name, i+2, e, headers, st); err != nil {
			return err
		}
	}
	if err := f.SetPanes(name, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}); err != nil {
		return err
	}
	if err := a.moveFirst(name); err != nil {
		return err
	}
	last := len(entries) + 1
	if len(entries) > 0 {
		ref := fmt.Sprintf("A1:F%d", last)
		if err := f.AutoFilter(name, ref, nil); err != nil {
			return err
		}
	}
	if err := workbook.PrintToWidth(f, name, fmt.Sprintf("$A$1:$F$%d", max(last, 2)), "landscape", "$1:$1"); err != nil {
		return err
	}
	f.SetActiveSheet(0)
	return nil
}

// findingsStyleIDs are the styles of the Funn sheet: the header row, the cell links, the
// wrapped message and the severity fills (error, warning).
type findingsStyleIDs struct {
	bold, link, wrap int
	sev              [2]int
}

// findingsStyles creates the styles of the Funn sheet in the workbook.
func (a *annotator) findingsStyles() (st findingsStyleIDs, err error) {
	f := a.f
	if st.bold, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}}); err != nil {
		return st, err
	}
	if st.link, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Color: "0563C1", Underline: "single"}}); err != nil {
		return st, err
	}
	if st.wrap, err = f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}); err != nil {
		return st, err
	}
	for i, sev := range []validate.Severity{validate.SeverityError, validate.SeverityWarning} {
		if st.sev[i], err = f.NewStyle(&excelize.Style{Fill: fillFor(sev)}); err != nil {
			return st, err
		}
	}
	return st, nil
}

// findingsHeader writes the Funn sheet's header row in style bold and sets the column widths.
func (a *annotator) findingsHeader(name string, bold int) error {
	f := a.f
	head := a.lab.columns
	hrow := make([]any, len(head))
	for i, h := range head {
		hrow[i] = h
	}
	if err := f.SetSheetRow(name, "A1", &hrow); err != nil {
		return err
	}
	if err := f.SetCellStyle(name, "A1", "F1", bold); err != nil {
		return err
	}
	for i, w := range []float64{8, 24, 10, 28, 12, 90} {
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColWidth(name, col, col, w); err != nil {
			return err
		}
	}
	return nil
}

// findingsRow writes entry e as row r of the Funn sheet: row number, column (by its header
// text in the file when it has one), cell (a link to it), code, severity and message.
func (a *annotator) findingsRow(name string, r int, e entry, headers [validate.NumColumns]string, st findingsStyleIDs) error {
	f := a.f
	fd := e.f
	var row []any
	if fd.Row > 0 {
		row = append(row, fd.Row)
	} else {
		row = append(row, nil)
	}
	colText := fd.Column
	if c, ok := validate.ColumnByKey(fd.Column); ok && headers[c] != "" {
		colText = headers[c]
	}
	row = append(row, colText, e.cell, string(fd.Code), a.lab.severity(fd.Severity), fd.Message)
	start, _ := excelize.CoordinatesToCellName(1, r)
	if err := f.SetSheetRow(name, start, &row); err != nil {
		return err
	}
	sevCell, _ := excelize.CoordinatesToCellName(5, r)
	ss := st.sev[1]
	if fd.Severity == validate.SeverityError {
		ss = st.sev[0]
	}
	if err := f.SetCellStyle(name, sevCell, sevCell, ss); err != nil {
		return err
	}
	msgCell, _ := excelize.CoordinatesToCellName(6, r)
	if err := f.SetCellStyle(name, msgCell, msgCell, st.wrap); err != nil {
		return err
	}
	if e.cell != "" {
		c, _ := excelize.CoordinatesToCellName(3, r)
		loc := Location(a.hdr.Sheet, e.cell)
		tip := loc
		if err := f.SetCellHyperLink(name, c, loc, "Location", excelize.HyperlinkOpts{Tooltip: &tip}); err != nil {
			return err
		}
		if err := f.SetCellStyle(name, c, c, st.link); err != nil {
			return err
		}
	}
	return nil
}

// Location is the internal hyperlink location of a cell: 'Sheet name'!C5 (apostrophes in the
// name doubled).
func Location(sheet, cell string) string {
	return "'" + strings.ReplaceAll(sheet, "'", "''") + "'!" + cell
}

// headerTexts returns the file's own header text of each column, "" when absent.
func (a *annotator) headerTexts() [validate.NumColumns]string {
	var t [validate.NumColumns]string
	if a.hdr == nil {
		return t
	}
	for c, i := range a.hdr.Index {
		if i < 0 {
			continue
		}
		cell, err := excelize.CoordinatesToCellName(i+1, a.hdr.Row)
		if err != nil {
			continue
		}
		v, err := a.f.GetCellValue(a.hdr.Sheet, cell)
		if err == nil {
			t[c] = strings.TrimSpace(v)
		}
	}
	return t
}

func (a *annotator) uniqueSheetName(base string) string {
	taken := map[string]bool{}
	for _, s := range a.f.GetSheetList() {
		taken[strings.ToLower(s)] = true
	}
	name := base
	for n := 2; taken[strings.ToLower(name)]; n++ {
		name = base + " (" + strconv.Itoa(n) + ")"
	}
	return name
}

// moveFirst moves the (last, new) sheet to the front. excelize's MoveSheet reorders the sheets
// but leaves sheet-scoped defined names (localSheetId: print titles, autofilter ranges) pointing
// at the old positions; they are shifted here so that they stay on their sheets.
func (a *annotator) moveFirst(name string) error {
	f := a.f
	list := f.GetSheetList()
	if len(list) == 0 || list[0] == name {
		return nil
	}
	from, err := f.GetSheetIndex(name)
	if err != nil {
		return err
	}
	if err := f.MoveSheet(name, list[0]); err != nil {
		return err
	}
	if wb := f.WorkBook; wb != nil {
		if wb.DefinedNames != nil {
			for i := range wb.DefinedNames.DefinedName {
				dn := &wb.DefinedNames.DefinedName[i]
				if dn.LocalSheetID != nil && *dn.LocalSheetID < from {
					v := *dn.LocalSheetID + 1
					dn.LocalSheetID = &v
				}
			}
		}
		if wb.BookViews != nil {
			for i := range wb.BookViews.WorkBookView {
				wb.BookViews.WorkBookView[i].FirstSheet = 0
			}
		}
	}
	return nil
}
