package validate

import "time"

// Row is one data row as read from the sheet, before checking. Cells hold the raw cell text as the
// row source gave it (raw cell values: a date cell is its serial number, a numeric ID cell may
// have lost its leading zero); Present says which columns the file has at all.
type Row struct {
	Num   int                // spreadsheet row number, 1-based
	Cells [NumColumns]string // raw text; "" for a blank or absent cell
	// FormulaNoValue marks cells that hold a formula without a cached value (cell.formula_no_value).
	FormulaNoValue [NumColumns]bool
}

// IDType is the kind of a person identifier SYSVAK registers.
type IDType string

const (
	IDTypeFnr IDType = "fnr"
	IDTypeDnr IDType = "dnr"
	IDTypeDUF IDType = "duf"
)

// Action is what a row asks for: register a vaccination or delete an earlier registration.
type Action string

const (
	ActionRegister Action = "register"
	ActionDelete   Action = "delete"
)

// Date is a calendar date without time of day or zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// Record is a checked row: typed values, ready for dedup and output. It is meaningful only when
// the row had no error finding.
type Record struct {
	Row             int
	PersonID        string // normalised: 11 or 12 digits
	PersonIDType    IDType
	VaccinationDate Date
	SysvakCode      string // upper case
	Name            string
	Dose            int // 0 when blank
	Batch           string
	VaccinatorHPR   string
	UnitID          string
	Municipality    string
	GivenElsewhere  *bool // nil when blank; read-only (it points into the Checker)
	Action          Action
	Comment         string
}
