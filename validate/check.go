package validate

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
)

// This file checks a whole row (SPEC 2: every problem of the row, not only the first) and turns
// it into a Record. The field rules of the simple columns (dose range, batch, HPR, unit,
// municipality and comment formats; validation-rules.md "Other columns") are declared as
// go-playground/validator tags on fieldRules (libraries.md §4); everything that needs parsing or
// context (identifier, dates, codes, yes/no, action) is plain code.

// Options configure a Checker.
type Options struct {
	// Codes is the SYSVAK code list; nil means DefaultCodes().
	Codes *CodeList
	// AsOf is "today" for the date rules (--as-of). Required.
	AsOf Date
	// Date1904 selects the workbook's 1904 date system for serial dates.
	Date1904 bool
	// AllowSynthetic accepts Tenor/SyntPop test numbers with a warning (--allow-synthetic).
	AllowSynthetic bool
	// SkipDUFCheckDigits turns the assumed DUF check-digit rule off (config duf-check-digits =
	// false). The zero value keeps it on, as the default must be (validation-rules.md).
	SkipDUFCheckDigits bool
	// Absent marks columns the file does not have at all. For an absent recommended column
	// (batch, vaccinator_hpr) the caller reports batch.missing / vaccinator.missing once for the
	// file (FileLevelMissing) instead of once per row, so that a million-row file without a
	// batch column does not carry a million identical warnings.
	Absent [NumColumns]bool
}

// ErrOptions is returned by NewChecker for unusable options.
var ErrOptions = errors.New("validate: invalid options")

// Checker checks rows. It is immutable after NewChecker and safe for concurrent use.
type Checker struct {
	o       Options
	codes   *CodeList
	v       *validator.Validate
	idOpts  IDOptions
	minDate Date // as-of minus 110 years (date.implausible)
	// yesNo is what Record.GivenElsewhere points to ({false, true}), so that a row does not
	// allocate a bool (issue 6). Never written after NewChecker.
	yesNo [2]bool
}

// fieldRules carries the simple column values through validator. The `col` tag is the column key
// used as the field name in errors; ruleCode maps (column, tag) to the finding code. The tags are
// the authority for these rules. Running validator costs about 1.8 µs and 7 allocations per row
// (it boxes every string field into an interface), more than the rest of the row together, so
// Check first runs fastOK, a plain-code mirror of the tags (proved equal by
// TestFieldRulesFastPath and FuzzFieldRulesFastPath), and calls validator only when fastOK
// reports a problem, to find out which rules failed.
type fieldRules struct {
	Dose          *int   `col:"dose" validate:"omitempty,min=1,max=20"`
	Batch         string `col:"batch" validate:"omitempty,max=40,batchchars"`
	VaccinatorHPR string `col:"vaccinator_hpr" validate:"omitempty,max=9,digitsonly"`
	UnitID        string `col:"unit_id" validate:"omitempty,digitsonly,unitid"`
	Municipality  string `col:"municipality" validate:"omitempty,len=4,digitsonly"`
	Comment       string `col:"comment" validate:"omitempty,max=500"`
	dose          int
	doseSet       bool
}

// fastOK mirrors the validate tags of fieldRules in plain code (no allocation).
func (r *fieldRules) fastOK() bool {
	if r.doseSet && (r.dose < 1 || r.dose > 20) {
		return false
	}
	if r.Batch != "" && (utf8.RuneCountInString(r.Batch) > 40 || !batchChars(r.Batch)) {
		return false
	}
	if r.VaccinatorHPR != "" && (utf8.RuneCountInString(r.VaccinatorHPR) > 9 || !allDigits(r.VaccinatorHPR)) {
		return false
	}
	if r.UnitID != "" && (!allDigits(r.UnitID) || !unitIDOK(r.UnitID)) {
		return false
	}
	if r.Municipality != "" && (utf8.RuneCountInString(r.Municipality) != 4 || !allDigits(r.Municipality)) {
		return false
	}
	return r.Comment == "" || utf8.RuneCountInString(r.Comment) <= 500
}

// failedRules runs validator over a copy of r and returns the (column, code) of each failing
// rule, one per column.
func (c *Checker) failedRules(r fieldRules, yield func(Column, Code)) {
	p := new(fieldRules)
	*p = r
	p.Dose = nil
	if p.doseSet {
		p.Dose = &p.dose
	}
	err := c.v.Struct(p)
	var ves validator.ValidationErrors
	if !errors.As(err, &ves) {
		return
	}
	var done [NumColumns]bool
	for _, fe := range ves {
		col, ok := ColumnByKey(fe.Field())
		if !ok || done[col] {
			continue
		}
		code, ok := ruleCode(fe.Field(), fe.Tag())
		if !ok {
			continue
		}
		done[col] = true
		yield(col, code)
	}
}

// ruleCode is the tag -> code map of fieldRules (tested against the struct tags).
func ruleCode(col, tag string) (Code, bool) {
	switch col + "/" + tag {
	case "dose/min", "dose/max":
		return DoseFormat, true
	case "batch/max", "batch/batchchars":
		return BatchFormat, true
	case "vaccinator_hpr/max", "vaccinator_hpr/digitsonly":
		return VaccinatorFormat, true
	case "unit_id/digitsonly", "unit_id/unitid":
		return UnitFormat, true
	case "municipality/len", "municipality/digitsonly":
		return MunicipalityFormat, true
	case "comment/max":
		return CommentTooLong, true
	}
	return "", false
}

// NewChecker prepares a checker.
func NewChecker(o Options) (*Checker, error) {
	if !o.AsOf.Valid() {
		return nil, errors.Join(ErrOptions, errors.New("as-of date missing or not a real date"))
	}
	c := &Checker{o: o, codes: o.Codes}
	if c.codes == nil {
		c.codes = DefaultCodes()
	}
	c.idOpts = IDOptions{AsOfYear: o.AsOf.Year, AllowSynthetic: o.AllowSynthetic, SkipDUFCheckDigits: o.SkipDUFCheckDigits}
	c.minDate = Date{Year: o.AsOf.Year - 110, Month: o.AsOf.Month, Day: o.AsOf.Day}
	c.yesNo = [2]bool{false, true}
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string { return f.Tag.Get("col") })
	for tag, fn := range map[string]func(string) bool{
		"digitsonly": allDigits,
		"batchchars": batchChars,
		"unitid":     unitIDOK,
	} {
		fn := fn
		if err := v.RegisterValidation(tag, func(fl validator.FieldLevel) bool { return fn(fl.Field().String()) }); err != nil {
			return nil, errors.Join(ErrOptions, err)
		}
	}
	c.v = v
	return c, nil
}

// WithDate1904 returns a checker for a workbook in the given date system, sharing everything else.
func (c *Checker) WithDate1904(date1904 bool) *Checker {
	cc := *c
	cc.o.Date1904 = date1904
	return &cc
}

// WithFile returns a checker for one workbook (its date system and the columns it lacks),
// sharing everything else: NewChecker's set-up (the validator above all) is done once per run,
// not once per file (issue 17).
func (c *Checker) WithFile(date1904 bool, absent [NumColumns]bool) *Checker {
	cc := *c
	cc.o.Date1904 = date1904
	cc.o.Absent = absent
	return &cc
}

// Codes returns the code list in use.
func (c *Checker) Codes() *CodeList { return c.codes }

// batchChars: letters, digits, space, `-`, `/`, `.` (validation-rules.md batch.format).
func batchChars(s string) bool {
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r == ' ', r == '-', r == '/', r == '.':
		case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
		default:
			return false
		}
	}
	return true
}

// unitIDOK: a 9-digit value must be an organisasjonsnummer (mod 11, weights 3 2 7 6 5 4 3 2);
// other lengths are HER-ids and need only be digits (validation-rules.md unit.format).
func unitIDOK(s string) bool {
	if len(s) != 9 {
		return true
	}
	return OrgNumberOK(s)
}

// OrgNumberOK checks a 9-digit organisasjonsnummer's control digit (weights 3,2,7,6,5,4,3,2;
// K = 11 - sum mod 11, 11 -> 0, 10 impossible).
func OrgNumberOK(s string) bool {
	if len(s) != 9 || !allDigits(s) {
		return false
	}
	w := [8]int{3, 2, 7, 6, 5, 4, 3, 2}
	sum := 0
	for i, x := range w {
		sum += x * int(s[i]-'0')
	}
	k := 11 - sum%11
	if k == 11 {
		k = 0
	}
	return k != 10 && k == int(s[8]-'0')
}

// HasError reports whether any finding is an error.
func HasError(fs []Finding) bool {
	for i := range fs {
		if fs[i].Severity == SeverityError {
			return true
		}
	}
	return false
}

// stripZeroFraction turns a number cell's "12.0" into "12" (numeric renderings of whole numbers).
func stripZeroFraction(s string) string {
	i := strings.IndexByte(s, '.')
	if i <= 0 || !allDigits(s[:i]) {
		return s
	}
	for j := i + 1; j < len(s); j++ {
		if s[j] != '0' {
			return s
		}
	}
	if i == len(s)-1 {
		return s
	}
	return s[:i]
}

// ParseYesNo reads a given_elsewhere cell: Ja/Nei, J/N, X/blank, Yes/No, Y/N, true/false, 1/0,
// case-insensitive (filimport-columns.md). blank reports an empty cell.
func ParseYesNo(s string) (v, blank, ok bool) {
	t := TrimCell(s)
	switch {
	case t == "":
		return false, true, true
	case eqFold(t, "ja"), eqFold(t, "j"), eqFold(t, "x"), eqFold(t, "yes"), eqFold(t, "y"), eqFold(t, "true"), t == "1":
		return true, false, true
	case eqFold(t, "nei"), eqFold(t, "n"), eqFold(t, "no"), eqFold(t, "false"), t == "0":
		return false, false, true
	}
	return false, false, false
}

func eqFold(a, b string) bool { return len(a) == len(b) && strings.EqualFold(a, b) }

// ParseAction reads an action cell: R/Registrer (also blank) or S/Slett, case-insensitive.
func ParseAction(s string) (Action, bool) {
	t := TrimCell(s)
	switch {
	case t == "", eqFold(t, "r"), eqFold(t, "registrer"):
		return ActionRegister, true
	case eqFold(t, "s"), eqFold(t, "slett"):
		return ActionDelete, true
	}
	return "", false
}

// parseDose reads a whole number (also a number cell's "2.0"); false for anything else.
func parseDose(s string) (int, bool) {
	t := stripZeroFraction(s)
	if !allDigits(t) {
		return 0, false
	}
	if len(t) > 6 {
		return 1 << 30, true // out of range; the range rule reports it
	}
	n, err := strconv.Atoi(t)
	return n, err == nil
}

// rowFindings appends findings for one row.
type rowFindings struct {
	row *Row
	out []Finding
	// date (when dateOK) is the parsed vaccination date, shown as dd.mm.yyyy as the value of
	// date findings instead of the raw cell (an Excel serial such as 46380 means nothing to a
	// nurse). It is formatted only when such a finding is added: most rows have none, and the
	// row path allocates nothing per row (issue 6).
	date   Date
	dateOK bool
}

func (f *rowFindings) add(col Column, code Code, sev Severity, args Args) {
	value := TrimCell(f.row.Cells[col])
	if col == ColVaccinationDate && f.dateOK {
		value = f.date.Norwegian()
	}
	switch col {
	case ColPersonID, ColName, ColComment:
		// No part of an ID number (six digits are a birth date, SPEC 5) and no free text (a
		// name; a comment may name a person or a health detail): the report points at the
		// cell by row and column and never repeats it (SPEC 7).
		value = ""
	}
	f.out = append(f.out, Finding{Row: f.row.Num, Column: col.Key(), Code: code, Severity: sev, Value: clipValue(value), Args: args})
}

// maxValueBytes bounds the cell value a finding shows: a 10 MB cell must not be copied into
// the report (issue 7, fixtures/hostile cells-10mb), nor keep the whole cell alive in memory.
const maxValueBytes = 200

// clipValue cuts a long value at a rune boundary, marks the cut with "…", and copies the kept
// part so that it does not share memory with the cell.
func clipValue(s string) string {
	if len(s) <= maxValueBytes {
		return s
	}
	cut := maxValueBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.Clone(s[:cut]) + "…"
}

// Check checks every column of row and appends all its findings to out (Message left empty; see
// Localize). The Record is meaningful only when no error finding was appended (HasError).
// Record strings may share memory with row.Cells.
func (c *Checker) Check(row *Row, out []Finding) (Record, []Finding) {
	f := rowFindings{row: row, out: out}
	start := len(out)
	rec := Record{Row: row.Num, Action: ActionRegister}
	cells := &row.Cells
	var skip [NumColumns]bool
	for col := Column(0); col < NumColumns; col++ {
		if row.FormulaNoValue[col] {
			f.add(col, CellFormulaNoValue, SeverityError, nil)
			skip[col] = true
		}
	}
	id := c.checkID(&f, &rec, cells, &skip)
	dateOK := c.checkDate(&f, &rec, cells, &skip, id)
	c.checkCode(&f, &rec, cells, &skip, dateOK)
	c.checkFields(&f, &rec, cells, &skip)
	c.checkFlags(&f, &rec, cells, &skip)
	sortByColumn(f.out[start:])
	return rec, f.out
}

// checkID checks the identifier (ids.md; validation-rules.md "Identifiers").
func (c *Checker) checkID(f *rowFindings, rec *Record, cells *[NumColumns]string, skip *[NumColumns]bool) IDResult {
	var id IDResult
	if !skip[ColPersonID] {
		id = CheckID(cells[ColPersonID], c.idOpts)
		for _, code := range id.Codes() {
			var args Args
			switch code {
			case IDTypeNotAllowed, IDSynthetic:
				args = Args{"type": id.Kind.TypeName(), "kind": string(id.Kind)}
			case IDChecksum, IDDUFYear:
				if id.Kind == KindDUF {
					args = Args{"kind": string(KindDUF)}
				}
			case IDFormat:
				if len(id.Normalized) == 10 {
					args = Args{"digits": "10"}
				}
			}
			f.add(ColPersonID, code, id.Severity(code), args)
		}
		rec.PersonID = id.Normalized
		rec.PersonIDType = id.Type
	}

	return id
}

// checkDate checks the vaccination date; it reports whether the date could be read.
func (c *Checker) checkDate(f *rowFindings, rec *Record, cells *[NumColumns]string, skip *[NumColumns]bool, id IDResult) bool {
	dateOK := false
	if !skip[ColVaccinationDate] {
		d, code := ParseDate(cells[ColVaccinationDate], c.o.Date1904, c.o.AsOf.Year)
		if code != "" {
			f.add(ColVaccinationDate, code, SeverityError, nil)
		} else {
			dateOK = true
			rec.VaccinationDate = d
			f.date, f.dateOK = d, true
			if d.After(c.o.AsOf) {
				f.add(ColVaccinationDate, DateFuture, SeverityError, Args{"asof": c.o.AsOf.Norwegian()})
			}
			if d.Before(c.minDate) {
				f.add(ColVaccinationDate, DateImplausible, SeverityWarning, nil)
			}
			// date.before_birth: error for a fødselsnummer whose century the legacy table
			// determines; a warning for a D-nummer or an undetermined century; never for DUF.
			if (id.Type == IDTypeFnr || id.Type == IDTypeDnr) && !id.BirthDate.IsZero() && d.Before(id.BirthDate) {
				sev := SeverityWarning
				if id.Type == IDTypeFnr && id.BirthDateKnown {
					sev = SeverityError
				}
				f.add(ColVaccinationDate, DateBeforeBirth, sev, nil) // the birth date is part of the ID (SPEC 5)
			}
		}
	}

	return dateOK
}

// checkCode checks the vaccine code (against the code list, on the vaccination date).
func (c *Checker) checkCode(f *rowFindings, rec *Record, cells *[NumColumns]string, skip *[NumColumns]bool, dateOK bool) {
	if !skip[ColSysvakCode] {
		code, fc := c.codes.CheckCode(cells[ColSysvakCode], rec.VaccinationDate, dateOK)
		rec.SysvakCode = code
		if fc != "" {
			var args Args
			if fc == CodeInactive {
				info, _ := c.codes.Lookup(code)
				args = Args{"from": optDate(info.ValidFrom), "to": optDate(info.ValidTo)}
			}
			f.add(ColSysvakCode, fc, SeverityError, args)
		}
	}

}

// checkFields checks the simple columns: field rules (validator tags, fast path first).
func (c *Checker) checkFields(f *rowFindings, rec *Record, cells *[NumColumns]string, skip *[NumColumns]bool) {
	var rules fieldRules
	text := func(col Column) string {
		if skip[col] {
			return ""
		}
		return NormalizeText(cells[col])
	}
	rec.Name = text(ColName)
	if s := text(ColDose); s != "" {
		if n, ok := parseDose(s); ok {
			rules.dose, rules.doseSet = n, true
			if n >= 1 && n <= 20 {
				rec.Dose = n
			}
		} else {
			f.add(ColDose, DoseFormat, SeverityError, nil)
		}
	}
	rec.Batch = text(ColBatch)
	if rec.Batch == "" && !skip[ColBatch] && !c.o.Absent[ColBatch] {
		f.add(ColBatch, BatchMissing, SeverityWarning, nil)
	}
	rules.Batch = rec.Batch
	rec.VaccinatorHPR = stripZeroFraction(text(ColVaccinatorHPR))
	if rec.VaccinatorHPR == "" && !skip[ColVaccinatorHPR] && !c.o.Absent[ColVaccinatorHPR] {
		f.add(ColVaccinatorHPR, VaccinatorMissing, SeverityWarning, nil)
	}
	rules.VaccinatorHPR = rec.VaccinatorHPR
	rec.UnitID = stripZeroFraction(text(ColUnitID))
	rules.UnitID = rec.UnitID
	rec.Municipality = stripZeroFraction(text(ColMunicipality))
	if len(rec.Municipality) == 3 && allDigits(rec.Municipality) {
		// The leading zero of 0101-0999 lost in a number cell: put back, with a warning (as for
		// person_id). HPR and unit numbers have no fixed length and no leading zero to lose.
		f.add(ColMunicipality, MunicipalityLeadingZeroRestored, SeverityWarning, nil)
		rec.Municipality = "0" + rec.Municipality
	}
	rules.Municipality = rec.Municipality
	rec.Comment = text(ColComment)
	rules.Comment = rec.Comment
	if !rules.fastOK() {
		c.failedRules(rules, func(col Column, code Code) { f.add(col, code, SeverityError, nil) })
	}

}

// checkFlags checks the yes/no and action columns.
func (c *Checker) checkFlags(f *rowFindings, rec *Record, cells *[NumColumns]string, skip *[NumColumns]bool) {
	if !skip[ColGivenElsewhere] {
		v, blank, ok := ParseYesNo(cells[ColGivenElsewhere])
		switch {
		case !ok:
			f.add(ColGivenElsewhere, GivenElsewhereFormat, SeverityError, nil)
		case !blank && v:
			rec.GivenElsewhere = &c.yesNo[1]
		case !blank:
			rec.GivenElsewhere = &c.yesNo[0]
		}
	}
	if !skip[ColAction] {
		a, ok := ParseAction(cells[ColAction])
		if !ok {
			f.add(ColAction, ActionFormat, SeverityError, nil)
		} else {
			rec.Action = a
		}
	}

}

func optDate(d Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

// sortByColumn orders a row's findings by column (template order), stably.
func sortByColumn(fs []Finding) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && colIndex(fs[j].Column) < colIndex(fs[j-1].Column); j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

func colIndex(key string) int {
	c, ok := ColumnByKey(key)
	if !ok {
		return int(NumColumns)
	}
	return int(c)
}

// FileLevelMissing returns the file-level warnings for absent recommended columns (Row 0): the
// per-row batch.missing / vaccinator.missing that Options.Absent suppresses, said once.
func FileLevelMissing(absent [NumColumns]bool) []Finding {
	var out []Finding
	for _, m := range []struct {
		col  Column
		code Code
	}{{ColBatch, BatchMissing}, {ColVaccinatorHPR, VaccinatorMissing}} {
		if absent[m.col] {
			out = append(out, Finding{Column: m.col.Key(), Code: m.code, Severity: SeverityWarning})
		}
	}
	return out
}
