// Package template writes the empty filimport workbook that vaccinators fill in (SPEC 4
// `template OUT.xlsx`, issue 5): the sheet Vaksinasjoner with the header row of layout v1
// (filimport-columns.md "Columns", in template order), text format on the identifier columns so
// that Excel keeps leading zeros, dd.mm.yyyy on the date column, a drop-down of the SYSVAK codes
// in use (from a hidden sheet, so the full list fits), Ja/Nei and R/S drop-downs, an input prompt
// on every column's data cells and a comment on every header cell, a frozen header row, and the
// sheet Veiledning with short instructions in Norwegian bokmål.
//
// The workbook is built with excelize's normal (non-streaming) API, which is the only one that
// writes data validations (libraries.md §1.8); the template is small.
package template

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/fhi/sysvak-import/importer/workbook"
	"github.com/fhi/sysvak-import/validate"
)

// Sheet names and layout of the template.
const (
	// SheetData is the data sheet; the reader looks for it by name (SPEC 1.2).
	SheetData = workbook.SheetName
	// SheetGuide holds the instructions.
	SheetGuide = "Veiledning"
	// SheetCodes is the hidden sheet with the code list the vaccine-code drop-down refers to.
	SheetCodes = "Vaksinekoder"
	// LastRow is the last spreadsheet row the data validations cover (Excel's last row), so
	// drop-downs and prompts work however many rows are filled in.
	LastRow = excelize.TotalRows
	// DateFormat is the number format of the vaccination date column.
	DateFormat = "dd.mm.yyyy"
	// TextFormat is the number format "Text" (built-in format 49).
	TextFormat = "@"
)

// Yes/no and action values offered by the drop-downs; the reader accepts more spellings
// (filimport-columns.md).
var (
	YesNo   = []string{"Ja", "Nei"}
	Actions = []string{"R", "S"}
)

// ErrNoCodes is returned when the code list is nil or empty: the drop-down would be empty.
var ErrNoCodes = errors.New("template: the code list is empty")

// textColumns are formatted as text so that Excel keeps leading zeros and long digit strings.
var textColumns = map[validate.Column]bool{
	validate.ColPersonID: true, validate.ColVaccinatorHPR: true, validate.ColUnitID: true, validate.ColMunicipality: true,
}

// widths are the column widths in characters.
var widths = [validate.NumColumns]float64{
	validate.ColPersonID: 16, validate.ColName: 28, validate.ColVaccinationDate: 17, validate.ColSysvakCode: 13,
	validate.ColDose: 12, validate.ColBatch: 16, validate.ColVaccinatorHPR: 22, validate.ColUnitID: 16,
	validate.ColMunicipality: 16, validate.ColGivenElsewhere: 16, validate.ColAction: 11, validate.ColComment: 40,
}

// Write writes the template workbook to w. codes is the code list in use (validate.DefaultCodes()
// or the operator's --codes list); lang ("nb" default, "en") is the language of the input
// prompts and header comments. Header texts, sheet names and the Veiledning sheet are always
// Norwegian: the headers are what the reader matches, and the instructions are for Norwegian
// vaccinators.
func Write(ctx context.Context, w io.Writer, codes *validate.CodeList, lang string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := Build(codes, lang)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("template: write: %w", err)
	}
	return nil
}

// Build returns the template as an open excelize file (Write saves it). The caller closes it.
func Build(codes *validate.CodeList, lang string) (*excelize.File, error) {
	if codes == nil || codes.Len() == 0 {
		return nil, ErrNoCodes
	}
	f := excelize.NewFile()
	b := &builder{f: f, lang: lang, lab: validate.ByLang(lang, labelsNB, labelsEN), texts: textsFor(lang), layout: validate.Layout()}
	if err := b.build(codes); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("template: %w", err)
	}
	return f, nil
}

type builder struct {
	f      *excelize.File
	lang   string
	lab    labels
	texts  *[validate.NumColumns]columnText
	layout []validate.ColumnSpec
}

func (b *builder) build(codes *validate.CodeList) error {
	f := b.f
	if err := f.SetSheetName(f.GetSheetName(0), SheetData); err != nil {
		return err
	}
	for _, name := range []string{SheetGuide, SheetCodes} {
		if _, err := f.NewSheet(name); err != nil {
			return err
		}
	}
	if err := b.dataSheet(); err != nil {
		return err
	}
	n, err := b.codeSheet(codes)
	if err != nil {
		return err
	}
	if err := b.validations(n); err != nil {
		return err
	}
	if err := b.guideSheet(codes.Partial()); err != nil {
		return err
	}
	if err := f.SetSheetVisible(SheetCodes, false); err != nil {
		return err
	}
	f.SetActiveSheet(0)
	return f.SetDocProps(&excelize.DocProperties{
		Title:       "SYSVAK filimport",
		Subject:     "Vaksinasjoner til SYSVAK (layout v1)",
		Creator:     "sysvak-import",
		Description: "Mal laget av sysvak-import template",
		Language:    "nb-NO",
	})
}

// dataSheet writes the header row, column formats and widths, header comments and the frozen
// pane.
func (b *builder) dataSheet() error {
	f := b.f
	styles, err := b.styles()
	if err != nil {
		return err
	}
	for i, spec := range b.layout {
		col, err := excelize.ColumnNumberToName(i + 1)
		if err != nil {
			return err
		}
		if err := f.SetColWidth(SheetData, col, col, widths[spec.Column]); err != nil {
			return err
		}
		if s := styles.column[spec.Column]; s != 0 {
			if err := f.SetColStyle(SheetData, col, s); err != nil {
				return err
			}
		}
		cell := col + "1"
		if err := f.SetCellStr(SheetData, cell, spec.Header); err != nil {
			return err
		}
		hs := styles.header
		if spec.Required {
			hs = styles.headerRequired
		}
		if err := f.SetCellStyle(SheetData, cell, cell, hs); err != nil {
			return err
		}
		if err := f.AddComment(SheetData, excelize.Comment{
			Cell: cell, Author: "sysvak-import",
			Paragraph: []excelize.RichTextRun{
				{Text: spec.Header + "\n", Font: &excelize.Font{Bold: true}},
				{Text: b.texts[spec.Column].comment},
			},
			Width: 240, Height: 100,
		}); err != nil {
			return err
		}
	}
	if err := f.SetRowHeight(SheetData, 1, 30); err != nil {
		return err
	}
	return f.SetPanes(SheetData, &excelize.Panes{
		Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
	})
}

type styleSet struct {
	header, headerRequired int
	column                 [validate.NumColumns]int // 0 = General
}

func (b *builder) styles() (styleSet, error) {
	var s styleSet
	var err error
	headerFill := excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}
	headerBorder := []excelize.Border{{Type: "bottom", Color: "4472C4", Style: 2}}
	align := &excelize.Alignment{Vertical: "center", WrapText: true}
	if s.header, err = b.f.NewStyle(&excelize.Style{Fill: headerFill, Border: headerBorder, Alignment: align,
		Font: &excelize.Font{Bold: false}, NumFmt: 49}); err != nil {
		return s, err
	}
	if s.headerRequired, err = b.f.NewStyle(&excelize.Style{Fill: headerFill, Border: headerBorder, Alignment: align,
		Font: &excelize.Font{Bold: true}, NumFmt: 49}); err != nil {
		return s, err
	}
	text, err := b.f.NewStyle(&excelize.Style{NumFmt: 49}) // "@"
	if err != nil {
		return s, err
	}
	df := DateFormat
	date, err := b.f.NewStyle(&excelize.Style{CustomNumFmt: &df})
	if err != nil {
		return s, err
	}
	for c := range textColumns {
		s.column[c] = text
	}
	s.column[validate.ColVaccinationDate] = date
	return s, nil
}

// codeSheet writes the code list to the hidden sheet and returns the number of codes.
func (b *builder) codeSheet(codes *validate.CodeList) (int, error) {
	f := b.f
	head := make([]any, len(b.lab.codesHeader))
	for i, h := range b.lab.codesHeader {
		head[i] = h
	}
	if err := f.SetSheetRow(SheetCodes, "A1", &head); err != nil {
		return 0, err
	}
	all := codes.All()
	for i, c := range all {
		row := []any{c.Code, c.Name, c.ATC, dateText(c.ValidFrom), dateText(c.ValidTo)}
		cell, err := excelize.CoordinatesToCellName(1, i+2)
		if err != nil {
			return 0, err
		}
		if err := f.SetSheetRow(SheetCodes, cell, &row); err != nil {
			return 0, err
		}
	}
	if err := f.SetColWidth(SheetCodes, "A", "A", 14); err != nil {
		return 0, err
	}
	if err := f.SetColWidth(SheetCodes, "B", "B", 50); err != nil {
		return 0, err
	}
	return len(all), nil
}

func dateText(d validate.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

// CodeListRange is the absolute reference the vaccine-code drop-down uses for n codes.
func CodeListRange(n int) string {
	return fmt.Sprintf("'%s'!$A$2:$A$%d", SheetCodes, n+1)
}

// validations adds one data validation per column over rows 2..LastRow: the input prompt, and
// the column's rule where it has one. Rules that the reader is more lenient about (it accepts
// J/N, spaces in IDs, ...) warn instead of refusing.
func (b *builder) validations(nCodes int) error {
	for i, spec := range b.layout {
		col, err := excelize.ColumnNumberToName(i + 1)
		if err != nil {
			return err
		}
		t := b.texts[spec.Column]
		dv := excelize.NewDataValidation(true)
		dv.Sqref = fmt.Sprintf("%s2:%s%d", col, col, LastRow)
		style := excelize.DataValidationErrorStyleWarning
		switch spec.Column {
		case validate.ColPersonID:
			err = dv.SetRange(11, 12, excelize.DataValidationTypeTextLength, excelize.DataValidationOperatorBetween)
		case validate.ColVaccinationDate:
			err = dv.SetRange("DATE(1900,1,1)", "TODAY()", excelize.DataValidationTypeDate, excelize.DataValidationOperatorBetween)
		case validate.ColSysvakCode:
			dv.SetSqrefDropList(CodeListRange(nCodes))
		case validate.ColDose:
			err = dv.SetRange(1, 20, excelize.DataValidationTypeWhole, excelize.DataValidationOperatorBetween)
			style = excelize.DataValidationErrorStyleStop
		case validate.ColBatch:
			err = dv.SetRange(1, 40, excelize.DataValidationTypeTextLength, excelize.DataValidationOperatorBetween)
		case validate.ColVaccinatorHPR:
			err = dv.SetRange(1, 9, excelize.DataValidationTypeTextLength, excelize.DataValidationOperatorBetween)
		case validate.ColMunicipality:
			err = dv.SetRange(4, 4, excelize.DataValidationTypeTextLength, excelize.DataValidationOperatorBetween)
		case validate.ColGivenElsewhere:
			err = dv.SetDropList(YesNo)
			style = excelize.DataValidationErrorStyleStop
		case validate.ColAction:
			err = dv.SetDropList(Actions)
			style = excelize.DataValidationErrorStyleStop
		case validate.ColComment:
			err = dv.SetRange(0, 500, excelize.DataValidationTypeTextLength, excelize.DataValidationOperatorBetween)
			style = excelize.DataValidationErrorStyleStop
		}
		if err != nil {
			return fmt.Errorf("column %s: %w", spec.Key, err)
		}
		dv.SetInput(t.title, t.prompt)
		if t.errMsg != "" && dv.Type != "" {
			dv.SetError(style, b.lab.errTitle, t.errMsg)
		}
		if err := b.f.AddDataValidation(SheetData, dv); err != nil {
			return fmt.Errorf("column %s: %w", spec.Key, err)
		}
	}
	return nil
}

// guideSheet writes the instructions.
func (b *builder) guideSheet(partial bool) error {
	f := b.f
	var req, rec []string
	for _, spec := range b.layout {
		switch {
		case spec.Required:
			req = append(req, spec.Header)
		case spec.Recommended:
			rec = append(rec, spec.Header)
		}
	}
	repl := strings.NewReplacer("{required}", strings.Join(req, ", "), "{recommended}", strings.Join(rec, ", "))
	lines := append([]string(nil), guideNB...)
	if partial {
		lines = append(lines, "", guidePartialNB)
	}
	title, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}})
	if err != nil {
		return err
	}
	heading, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 12}})
	if err != nil {
		return err
	}
	wrap, err := f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})
	if err != nil {
		return err
	}
	if err := f.SetColWidth(SheetGuide, "A", "A", 110); err != nil {
		return err
	}
	for i, line := range lines {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		if err != nil {
			return err
		}
		style := wrap
		text := line
		if h, ok := strings.CutPrefix(line, "# "); ok {
			text, style = h, heading
			if i == 0 {
				style = title
			}
		}
		if text == "" {
			continue
		}
		if err := f.SetCellStr(SheetGuide, cell, repl.Replace(text)); err != nil {
			return err
		}
		if err := f.SetCellStyle(SheetGuide, cell, cell, style); err != nil {
			return err
		}
	}
	return workbook.PrintToWidth(f, SheetGuide, fmt.Sprintf("$A$1:$A$%d", len(lines)), "portrait", "")
}
