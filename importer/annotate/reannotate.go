package annotate

import (
	"context"
	"regexp"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Annotating an annotated copy (the vaccinator's fix -> re-check loop, SPEC 4) replaces what an
// earlier run added instead of adding a second set: its Funn sheet, its status column, its
// highlights and its lines in the cell comments. What the vaccinator wrote is kept.

// ownLine is one line of a finding comment written by this package: "Feil (code.format): ...".
var ownLine = regexp.MustCompile(`^(?:` + labelsNB.errorWord + `|` + labelsNB.warningWord + `|` +
	labelsEN.errorWord + `|` + labelsEN.warningWord + `) \([a-z0-9_]+\.[a-z0-9_.]+\): `)

// ownFindingsSheet matches the names an earlier run gave its summary sheet.
var ownFindingsSheet = regexp.MustCompile(`^(?i:` + SheetFindings + `)(?: \([0-9]+\))?$`)

// removeEarlier removes an earlier run's additions from the workbook.
func (a *annotator) removeEarlier(ctx context.Context) error {
	if err := a.removeFindingsSheets(); err != nil {
		return err
	}
	if a.hdr == nil {
		return nil
	}
	rows, err := a.removeStatusColumn(ctx)
	if err != nil {
		return err
	}
	if err := a.removeHighlights(rows); err != nil {
		return err
	}
	return a.removeOwnComments()
}

// removeFindingsSheets deletes every sheet that is an earlier Funn sheet: its name and its
// header row are ours (in either language).
func (a *annotator) removeFindingsSheets() error {
	for _, name := range a.f.GetSheetList() {
		if !ownFindingsSheet.MatchString(name) || (a.hdr != nil && name == a.hdr.Sheet) {
			continue
		}
		var head []string
		for c := 1; c <= len(labelsNB.columns); c++ {
			cell, _ := excelize.CoordinatesToCellName(c, 1)
			v, err := a.f.GetCellValue(name, cell)
			if err != nil {
				return err
			}
			head = append(head, v)
		}
		if !sameHeader(head, labelsNB.columns[:]) && !sameHeader(head, labelsEN.columns[:]) {
			continue
		}
		if err := a.f.DeleteSheet(name); err != nil {
			return err
		}
	}
	return nil
}

func sameHeader(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if strings.TrimSpace(got[i]) != want[i] {
			return false
		}
	}
	return true
}

// removeStatusColumn empties an earlier status column: a header cell "Status" after every
// mapped column whose cells below are all empty or ours ("Avvist: ...", "Warning: ..."). It
// returns the rows the earlier run marked.
func (a *annotator) removeStatusColumn(ctx context.Context) ([]int, error) {
	sheet := a.hdr.Sheet
	lastMapped := 0
	for _, i := range a.hdr.Index {
		lastMapped = max(lastMapped, i+1)
	}
	cols, err := a.f.GetCols(sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, err
	}
	for c := len(cols); c > lastMapped; c-- {
		col := cols[c-1]
		if len(col) < a.hdr.Row || strings.TrimSpace(col[a.hdr.Row-1]) != labelsNB.status && strings.TrimSpace(col[a.hdr.Row-1]) != labelsEN.status {
			continue
		}
		var marked []int
		ours := true
		for r := a.hdr.Row + 1; r <= len(col); r++ {
			v := col[r-1]
			if v == "" {
				continue
			}
			if !isOwnStatus(v) {
				ours = false
				break
			}
			marked = append(marked, r)
		}
		if !ours {
			continue
		}
		for _, r := range append([]int{a.hdr.Row}, marked...) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			cell, _ := excelize.CoordinatesToCellName(c, r)
			if err := a.f.SetCellValue(sheet, cell, nil); err != nil {
				return nil, err
			}
			if err := a.f.SetCellStyle(sheet, cell, cell, 0); err != nil {
				return nil, err
			}
		}
		return marked, nil
	}
	return nil, nil
}

func isOwnStatus(v string) bool {
	for _, l := range []labels{labelsNB, labelsEN} {
		if strings.HasPrefix(v, l.rejected+": ") || strings.HasPrefix(v, l.warning+": ") {
			return true
		}
	}
	return false
}

// removeHighlights takes our fills off the cells of the rows an earlier run marked.
func (a *annotator) removeHighlights(rows []int) error {
	if len(rows) == 0 {
		return nil
	}
	sheet := a.hdr.Sheet
	last := 0
	for _, i := range a.hdr.Index {
		last = max(last, i+1)
	}
	plain := map[int]int{}
	for _, r := range rows {
		for c := 1; c <= last; c++ {
			cell, _ := excelize.CoordinatesToCellName(c, r)
			id, err := a.f.GetCellStyle(sheet, cell)
			if err != nil {
				return err
			}
			to, ok := plain[id]
			if !ok {
				to = id
				st, err := a.f.GetStyle(id)
				if err != nil {
					return err
				}
				if st != nil && isOwnFill(st.Fill) {
					st.Fill = excelize.Fill{}
					if to, err = a.f.NewStyle(st); err != nil {
						return err
					}
				}
				plain[id] = to
			}
			if to != id {
				if err := a.f.SetCellStyle(sheet, cell, cell, to); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func isOwnFill(f excelize.Fill) bool {
	if f.Type != "pattern" || f.Pattern != 1 || len(f.Color) != 1 {
		return false
	}
	c := strings.ToUpper(strings.TrimPrefix(f.Color[0], "#"))
	if len(c) == 8 {
		c = c[2:] // ARGB
	}
	return c == FillError || c == FillWarning
}

// removeOwnComments takes our lines out of the data sheet's comments: a comment that held only
// ours is deleted, one that also held the vaccinator's text keeps that text.
func (a *annotator) removeOwnComments() error {
	sheet := a.hdr.Sheet
	cmts, err := a.f.GetComments(sheet)
	if err != nil {
		return err
	}
	for _, c := range cmts {
		if c.Author != Author {
			continue
		}
		text := c.Text
		for _, r := range c.Paragraph {
			text += r.Text
		}
		var keep []string
		removed := false
		for _, line := range strings.Split(text, "\n") {
			if ownLine.MatchString(line) {
				removed = true
				continue
			}
			keep = append(keep, line)
		}
		if !removed {
			continue
		}
		if err := a.f.DeleteComment(sheet, c.Cell); err != nil {
			return err
		}
		rest := strings.TrimSpace(strings.Join(keep, "\n"))
		if rest == "" {
			continue
		}
		if err := a.f.AddComment(sheet, excelize.Comment{Cell: c.Cell, Author: Author, Text: rest, Width: c.Width, Height: c.Height}); err != nil {
			return err
		}
	}
	return nil
}
