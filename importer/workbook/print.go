package workbook

import (
	"github.com/xuri/excelize/v2"
)

// PrintToWidth makes a sheet print whole: its print area is ref (for example "$A$1:$A$40"),
// scaled to one page wide and as many pages tall as it needs, in the given orientation, with
// titleRows ("$1:$1", or "") repeated on every page. Without it a wide column (Veiledning's 110
// characters) is cut at the page edge (issue 12).
func PrintToWidth(f *excelize.File, sheet, ref, orientation, titleRows string) error {
	one, zero, yes := 1, 0, true
	if err := f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &yes}); err != nil {
		return err
	}
	if err := f.SetPageLayout(sheet, &excelize.PageLayoutOptions{Orientation: &orientation, FitToWidth: &one, FitToHeight: &zero}); err != nil {
		return err
	}
	quoted := "'" + sheet + "'!"
	if err := f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Area", RefersTo: quoted + ref, Scope: sheet}); err != nil {
		return err
	}
	if titleRows == "" {
		return nil
	}
	return f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: quoted + titleRows, Scope: sheet})
}
