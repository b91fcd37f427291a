package validate

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var asOf = d(2026, 11, 23)

func newTestChecker(t testing.TB, o Options) *Checker {
	t.Helper()
	if o.AsOf.IsZero() {
		o.AsOf = asOf
	}
	c, err := NewChecker(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func validRow() Row {
	var r Row
	r.Num = 7
	r.Cells[ColPersonID] = "15108695088"
	r.Cells[ColName] = "Kari  Nordmann"
	r.Cells[ColVaccinationDate] = "15.03.2024"
	r.Cells[ColSysvakCode] = "bnt03"
	r.Cells[ColDose] = "2"
	r.Cells[ColBatch] = "FK 1234/a"
	r.Cells[ColVaccinatorHPR] = "1234567"
	r.Cells[ColUnitID] = "974760673" // valid organisasjonsnummer
	r.Cells[ColMunicipality] = "0301"
	r.Cells[ColGivenElsewhere] = "Nei"
	r.Cells[ColAction] = ""
	r.Cells[ColComment] = "ok"
	return r
}

type fc struct {
	col  string
	code Code
	sev  Severity
}

// TestCheckRow: each rule of validation-rules.md on a row, with the severity it must have.
func TestCheckRow(t *testing.T) {
	type tc struct {
		name string
		o    Options
		set  map[Column]string
		fnv  []Column
		want []fc
	}
	E, W := SeverityError, SeverityWarning
	tests := []tc{
		{name: "valid"},
		// Identifiers (validation-rules.md "Identifiers"; ids.md).
		{name: "id missing", set: map[Column]string{ColPersonID: " "}, want: []fc{{"person_id", IDMissing, E}}},
		{name: "id format", set: map[Column]string{ColPersonID: "abc"}, want: []fc{{"person_id", IDFormat, E}}},
		{name: "id lost zero", set: map[Column]string{ColPersonID: "7020554821"}, want: []fc{{"person_id", IDLeadingZeroRestored, W}}},
		{name: "id precision", set: map[Column]string{ColPersonID: "1.51087E+10"}, want: []fc{{"person_id", IDPrecisionLost, E}}},
		{name: "id birthdate", set: map[Column]string{ColPersonID: "31048512345"}, want: []fc{{"person_id", IDBirthdate, E}}},
		{name: "id checksum", set: map[Column]string{ColPersonID: "15108695077"}, want: []fc{{"person_id", IDChecksum, E}}},
		{name: "duf year", set: map[Column]string{ColPersonID: "185300000000"}, want: []fc{{"person_id", IDDUFYear, E}}},
		{name: "duf ok", set: map[Column]string{ColPersonID: "200112345609"}},
		{name: "H-nummer", set: map[Column]string{ColPersonID: "01415612385"}, want: []fc{{"person_id", IDTypeNotAllowed, E}}},
		{name: "synthetic prod", set: map[Column]string{ColPersonID: "29822099635", ColVaccinationDate: "01.01.2025"}, want: []fc{{"person_id", IDSynthetic, E}}},
		{name: "synthetic test mode", o: Options{AllowSynthetic: true}, set: map[Column]string{ColPersonID: "29822099635", ColVaccinationDate: "01.01.2025"}, want: []fc{{"person_id", IDSynthetic, W}}},
		// Dates.
		{name: "date missing", set: map[Column]string{ColVaccinationDate: ""}, want: []fc{{"vaccination_date", DateMissing, E}}},
		{name: "date format", set: map[Column]string{ColVaccinationDate: "31.02.2024"}, want: []fc{{"vaccination_date", DateFormat, E}}},
		{name: "date future", set: map[Column]string{ColVaccinationDate: "24.11.2026"}, want: []fc{{"vaccination_date", DateFuture, E}}},
		{name: "date = as-of", set: map[Column]string{ColVaccinationDate: "23.11.2026"}},
		{name: "date implausible", set: map[Column]string{ColPersonID: "02020000069", ColVaccinationDate: "22.11.1916"}, want: []fc{{"vaccination_date", DateImplausible, W}}},
		{name: "date 110 years exactly", set: map[Column]string{ColPersonID: "02020000069", ColVaccinationDate: "23.11.1916"}},
		// date.before_birth: error for fnr with a determined century, warning for D-nummer or an
		// undetermined century, nothing for DUF (validation-rules.md "Dates"; ids.md §4.5).
		{name: "before birth fnr", set: map[Column]string{ColVaccinationDate: "14.10.1986"}, want: []fc{{"vaccination_date", DateBeforeBirth, E}}},
		{name: "on birth day fnr", set: map[Column]string{ColVaccinationDate: "15.10.1986"}},
		{name: "before birth D-nummer", set: map[Column]string{ColPersonID: "42051199116", ColVaccinationDate: "01.01.2010"}, want: []fc{{"vaccination_date", DateBeforeBirth, W}}},
		{name: "before birth undetermined century", set: map[Column]string{ColPersonID: "29020012380", ColVaccinationDate: "01.01.1999"}, want: []fc{{"vaccination_date", DateBeforeBirth, W}}},
		{name: "DUF no birth check", set: map[Column]string{ColPersonID: "202310000002", ColVaccinationDate: "01.01.1990"}},
		// Codes.
		{name: "code missing", set: map[Column]string{ColSysvakCode: ""}, want: []fc{{"sysvak_code", CodeMissing, E}}},
		{name: "code format", set: map[Column]string{ColSysvakCode: "BNT3"}, want: []fc{{"sysvak_code", CodeFormat, E}}},
		{name: "code unknown", set: map[Column]string{ColSysvakCode: "ZZZ99"}, want: []fc{{"sysvak_code", CodeUnknown, E}}},
		// Other columns.
		{name: "dose text", set: map[Column]string{ColDose: "to"}, want: []fc{{"dose", DoseFormat, E}}},
		{name: "dose 0", set: map[Column]string{ColDose: "0"}, want: []fc{{"dose", DoseFormat, E}}},
		{name: "dose 21", set: map[Column]string{ColDose: "21"}, want: []fc{{"dose", DoseFormat, E}}},
		{name: "dose 1.5", set: map[Column]string{ColDose: "1.5"}, want: []fc{{"dose", DoseFormat, E}}},
		{name: "dose huge", set: map[Column]string{ColDose: "99999999999999999999"}, want: []fc{{"dose", DoseFormat, E}}},
		{name: "dose number cell", set: map[Column]string{ColDose: "20.0"}},
		{name: "dose blank", set: map[Column]string{ColDose: ""}},
		{name: "batch missing", set: map[Column]string{ColBatch: " "}, want: []fc{{"batch", BatchMissing, W}}},
		{name: "batch chars", set: map[Column]string{ColBatch: "AB#1"}, want: []fc{{"batch", BatchFormat, E}}},
		{name: "batch 41", set: map[Column]string{ColBatch: strings.Repeat("A", 41)}, want: []fc{{"batch", BatchFormat, E}}},
		{name: "batch 40 letters æøå", set: map[Column]string{ColBatch: strings.Repeat("Å", 40)}},
		{name: "vaccinator missing", set: map[Column]string{ColVaccinatorHPR: ""}, want: []fc{{"vaccinator_hpr", VaccinatorMissing, W}}},
		{name: "vaccinator letters", set: map[Column]string{ColVaccinatorHPR: "12A"}, want: []fc{{"vaccinator_hpr", VaccinatorFormat, E}}},
		{name: "vaccinator 10 digits", set: map[Column]string{ColVaccinatorHPR: "1234567890"}, want: []fc{{"vaccinator_hpr", VaccinatorFormat, E}}},
		{name: "unit bad orgnr", set: map[Column]string{ColUnitID: "974760674"}, want: []fc{{"unit_id", UnitFormat, E}}},
		{name: "unit HER-id", set: map[Column]string{ColUnitID: "12345"}},
		{name: "unit letters", set: map[Column]string{ColUnitID: "12a45"}, want: []fc{{"unit_id", UnitFormat, E}}},
		// Issue 12: 301 is 0301 whose 0 a number cell (or a CSV opened in Excel or LibreOffice)
		// dropped: restored with a warning, as for person_id.
		{name: "municipality 3 digits", set: map[Column]string{ColMunicipality: "301"}, want: []fc{{"municipality", MunicipalityLeadingZeroRestored, W}}},
		{name: "municipality number cell 301.0", set: map[Column]string{ColMunicipality: "301.0"}, want: []fc{{"municipality", MunicipalityLeadingZeroRestored, W}}},
		{name: "municipality 2 digits", set: map[Column]string{ColMunicipality: "30"}, want: []fc{{"municipality", MunicipalityFormat, E}}},
		// HPR and unit numbers have no fixed length: a number cell loses nothing they need.
		{name: "vaccinator number cell", set: map[Column]string{ColVaccinatorHPR: "9144889.0"}},
		{name: "unit number cell", set: map[Column]string{ColUnitID: "974760673"}},
		{name: "municipality letters", set: map[Column]string{ColMunicipality: "Oslo"}, want: []fc{{"municipality", MunicipalityFormat, E}}},
		{name: "given elsewhere bad", set: map[Column]string{ColGivenElsewhere: "kanskje"}, want: []fc{{"given_elsewhere", GivenElsewhereFormat, E}}},
		{name: "action bad", set: map[Column]string{ColAction: "D"}, want: []fc{{"action", ActionFormat, E}}},
		{name: "comment 501", set: map[Column]string{ColComment: strings.Repeat("ø", 501)}, want: []fc{{"comment", CommentTooLong, E}}},
		{name: "comment 500 runes", set: map[Column]string{ColComment: strings.Repeat("ø", 500)}},
		{name: "formula without value", fnv: []Column{ColSysvakCode, ColBatch}, want: []fc{{"sysvak_code", CellFormulaNoValue, E}, {"batch", CellFormulaNoValue, E}}},
		// SPEC 2: every problem of the row, in column order.
		{name: "everything wrong", set: map[Column]string{
			ColPersonID: "15108695077", ColVaccinationDate: "x", ColSysvakCode: "?", ColDose: "0", ColBatch: "",
			ColVaccinatorHPR: "x", ColUnitID: "x", ColMunicipality: "1", ColGivenElsewhere: "?", ColAction: "?", ColComment: strings.Repeat("x", 501),
		}, want: []fc{
			{"person_id", IDChecksum, E}, {"vaccination_date", DateFormat, E}, {"sysvak_code", CodeFormat, E},
			{"dose", DoseFormat, E}, {"batch", BatchMissing, W}, {"vaccinator_hpr", VaccinatorFormat, E},
			{"unit_id", UnitFormat, E}, {"municipality", MunicipalityFormat, E}, {"given_elsewhere", GivenElsewhereFormat, E},
			{"action", ActionFormat, E}, {"comment", CommentTooLong, E},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestChecker(t, tt.o)
			row := validRow()
			for col, v := range tt.set {
				row.Cells[col] = v
			}
			for _, col := range tt.fnv {
				row.FormulaNoValue[col] = true
			}
			prefix := []Finding{{Row: 1, Code: RowDuplicate}}
			rec, out := c.Check(&row, prefix)
			if len(out) < 1 || out[0].Code != RowDuplicate {
				t.Fatal("Check must append to out")
			}
			got := out[1:]
			var gotFC []fc
			for _, f := range got {
				gotFC = append(gotFC, fc{f.Column, f.Code, f.Severity})
				if f.Row != row.Num {
					t.Errorf("finding row %d", f.Row)
				}
				if f.Message != "" {
					t.Error("Check must leave Message to Localize")
				}
			}
			if !reflect.DeepEqual(gotFC, tt.want) {
				t.Fatalf("findings\n got %v\nwant %v", gotFC, tt.want)
			}
			wantErr := false
			for _, w := range tt.want {
				wantErr = wantErr || w.sev == SeverityError
			}
			if HasError(got) != wantErr {
				t.Errorf("HasError = %v", HasError(got))
			}
			if !wantErr && (rec.PersonID == "" || rec.PersonIDType == "" || rec.VaccinationDate.IsZero() || rec.SysvakCode == "") {
				t.Errorf("incomplete record %+v", rec)
			}
		})
	}
}

// TestCheckRecord: the typed record of a valid row (SPEC 5 records; Record in row.go).
func TestCheckRecord(t *testing.T) {
	c := newTestChecker(t, Options{})
	row := validRow()
	row.Cells[ColPersonID] = "  1010150740.0 " // numeric cell that lost its leading zero
	row.Cells[ColBatch] = " FK\u00a0 1234/a "
	row.Cells[ColVaccinatorHPR] = "1234567.0"
	row.Cells[ColGivenElsewhere] = "x"
	row.Cells[ColAction] = "slett"
	row.Cells[ColVaccinationDate] = "45366"
	rec, out := c.Check(&row, nil)
	if HasError(out) {
		t.Fatalf("errors: %+v", out)
	}
	want := Record{
		Row: 7, PersonID: "01010150740", PersonIDType: IDTypeFnr, VaccinationDate: d(2024, 3, 15), SysvakCode: "BNT03",
		Name: "Kari Nordmann", Dose: 2, Batch: "FK 1234/a", VaccinatorHPR: "1234567", UnitID: "974760673",
		Municipality: "0301", Action: ActionDelete, Comment: "ok",
	}
	if rec.GivenElsewhere == nil || !*rec.GivenElsewhere {
		t.Fatalf("given_elsewhere %v", rec.GivenElsewhere)
	}
	rec.GivenElsewhere = nil
	if !reflect.DeepEqual(rec, want) {
		t.Fatalf("record\n got %+v\nwant %+v", rec, want)
	}
	if len(out) != 1 || out[0].Code != IDLeadingZeroRestored || out[0].Value != "" {
		t.Fatalf("findings %+v", out)
	}
	// 1904 workbook.
	row.Cells[ColVaccinationDate] = "43904"
	rec, _ = c.WithDate1904(true).Check(&row, nil)
	if rec.VaccinationDate != d(2024, 3, 15) {
		t.Errorf("1904: %v", rec.VaccinationDate)
	}
	// Blank optional cells.
	row = validRow()
	row.Cells[ColGivenElsewhere], row.Cells[ColDose] = "", ""
	rec, _ = c.Check(&row, nil)
	if rec.GivenElsewhere != nil || rec.Dose != 0 || rec.Action != ActionRegister {
		t.Errorf("%+v", rec)
	}
}

// TestFindingValue: Value is the trimmed cell text; for person_id it is empty: no part of an ID
// number, six digits are a birth date (SPEC 5, issue 12).
func TestFindingValue(t *testing.T) {
	c := newTestChecker(t, Options{})
	row := validRow()
	row.Cells[ColPersonID] = " 15108695077 "
	row.Cells[ColSysvakCode] = " zzz99 "
	_, out := c.Check(&row, nil)
	if len(out) != 2 {
		t.Fatalf("%+v", out)
	}
	if out[0].Value != "" {
		t.Errorf("person_id value %q", out[0].Value)
	}
	if out[1].Value != "zzz99" {
		t.Errorf("code value %q", out[1].Value)
	}
	// Nor a short or odd one.
	row.Cells[ColPersonID] = "1234"
	_, out = c.Check(&row, out[:0])
	if out[0].Value != "" {
		t.Errorf("short id value %q", out[0].Value)
	}
}

func TestCodeInactiveInRow(t *testing.T) {
	l, err := ParseCodesCSV(strings.NewReader("code,name,atc,valid_from,valid_to\nBNT03,Covid,,2020-12-01,2023-12-31\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := newTestChecker(t, Options{Codes: l})
	row := validRow()
	_, out := c.Check(&row, nil)
	if len(out) != 1 || out[0].Code != CodeInactive || out[0].Args["to"] != "2023-12-31" {
		t.Fatalf("%+v", out)
	}
	row.Cells[ColVaccinationDate] = "31.12.2023"
	if _, out = c.Check(&row, nil); len(out) != 0 {
		t.Fatalf("%+v", out)
	}
}

func TestNewCheckerOptions(t *testing.T) {
	if _, err := NewChecker(Options{}); !errors.Is(err, ErrOptions) {
		t.Errorf("missing as-of: %v", err)
	}
	c := newTestChecker(t, Options{})
	if c.Codes().Len() != DefaultCodes().Len() {
		t.Error("default codes not used")
	}
	// DUF check digits are on unless skipped.
	row := validRow()
	row.Cells[ColPersonID] = "200112345610"
	if _, out := c.Check(&row, nil); len(out) != 1 || out[0].Code != IDChecksum || out[0].Args["kind"] != "duf" {
		t.Fatalf("%+v", out)
	}
	c2 := newTestChecker(t, Options{SkipDUFCheckDigits: true})
	if _, out := c2.Check(&row, nil); len(out) != 0 {
		t.Fatalf("%+v", out)
	}
}

// TestRuleCodeMap: every (column, tag) in fieldRules' validate tags maps to a code of its column,
// and every `col` tag is a column key.
func TestRuleCodeMap(t *testing.T) {
	typ := reflect.TypeOf(fieldRules{})
	n := 0
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		col := f.Tag.Get("col")
		tags := f.Tag.Get("validate")
		if tags == "" {
			continue
		}
		if _, ok := ColumnByKey(col); !ok {
			t.Errorf("field %s: col %q is not a column key", f.Name, col)
		}
		for _, tag := range strings.Split(tags, ",") {
			tag, _, _ = strings.Cut(tag, "=")
			if tag == "omitempty" {
				continue
			}
			code, ok := ruleCode(col, tag)
			if !ok {
				t.Errorf("%s/%s has no code", col, tag)
				continue
			}
			n++
			found := false
			for _, c := range AllCodes() {
				found = found || c == code
			}
			if !found || code.DefaultSeverity() != SeverityError {
				t.Errorf("%s/%s -> %q", col, tag, code)
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d rules", n)
	}
	if _, ok := ruleCode("dose", "email"); ok {
		t.Error("unknown tag mapped")
	}
}

func TestOrgNumber(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{{"974760673", true}, {"923609016", true}, {"974760674", false}, {"12345678", false}, {"97476067a", false}} {
		if OrgNumberOK(tc.in) != tc.ok {
			t.Errorf("%s", tc.in)
		}
	}
}

func TestParseYesNoAction(t *testing.T) {
	for _, tc := range []struct {
		in           string
		v, blank, ok bool
	}{
		{"Ja", true, false, true}, {"JA", true, false, true}, {"j", true, false, true}, {"X", true, false, true},
		{"yes", true, false, true}, {"TRUE", true, false, true}, {"1", true, false, true},
		{"Nei", false, false, true}, {"n", false, false, true}, {"No", false, false, true}, {"false", false, false, true}, {"0", false, false, true},
		{"", false, true, true}, {" \u00a0", false, true, true}, {"kanskje", false, false, false}, {"2", false, false, false},
	} {
		v, blank, ok := ParseYesNo(tc.in)
		if v != tc.v || blank != tc.blank || ok != tc.ok {
			t.Errorf("ParseYesNo(%q) = %v %v %v", tc.in, v, blank, ok)
		}
	}
	for _, tc := range []struct {
		in   string
		want Action
		ok   bool
	}{{"", ActionRegister, true}, {"R", ActionRegister, true}, {"registrer", ActionRegister, true}, {"S", ActionDelete, true}, {" Slett ", ActionDelete, true}, {"Delete", "", false}} {
		a, ok := ParseAction(tc.in)
		if a != tc.want || ok != tc.ok {
			t.Errorf("ParseAction(%q) = %q %v", tc.in, a, ok)
		}
	}
}

func BenchmarkCheckValidRow(b *testing.B) {
	c := newTestChecker(b, Options{})
	row := validRow()
	out := make([]Finding, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		_, out = c.Check(&row, out[:0])
	}
}

func BenchmarkCheckInvalidRow(b *testing.B) {
	c := newTestChecker(b, Options{})
	row := validRow()
	row.Cells[ColPersonID] = "15108695077"
	row.Cells[ColSysvakCode] = "ZZZ99"
	row.Cells[ColDose] = "0"
	row.Cells[ColBatch] = "AB#1"
	out := make([]Finding, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		_, out = c.Check(&row, out[:0])
	}
}

// fieldRulesValidatorOK runs validator itself over r.
func fieldRulesValidatorOK(c *Checker, r fieldRules) bool {
	ok := true
	c.failedRules(r, func(Column, Code) { ok = false })
	return ok
}

// TestFieldRulesFastPath: fastOK agrees with the validator tags (the authority) on edge values.
func TestFieldRulesFastPath(t *testing.T) {
	c := newTestChecker(t, Options{})
	cases := []fieldRules{
		{},
		{dose: 1, doseSet: true}, {dose: 20, doseSet: true}, {dose: 0, doseSet: true}, {dose: 21, doseSet: true}, {dose: 1 << 30, doseSet: true},
		{Batch: strings.Repeat("a", 40)}, {Batch: strings.Repeat("a", 41)}, {Batch: strings.Repeat("ø", 40)}, {Batch: "a#"}, {Batch: "AB-1/2.3 x"}, {Batch: "١٢"},
		{VaccinatorHPR: "123456789"}, {VaccinatorHPR: "1234567890"}, {VaccinatorHPR: "12a"}, {VaccinatorHPR: "١"},
		{UnitID: "974760673"}, {UnitID: "974760674"}, {UnitID: "1"}, {UnitID: "12345678901"}, {UnitID: "x"},
		{Municipality: "0301"}, {Municipality: "301"}, {Municipality: "03011"}, {Municipality: "03a1"}, {Municipality: "øøøø"},
		{Comment: strings.Repeat("ø", 500)}, {Comment: strings.Repeat("ø", 501)},
	}
	for _, r := range cases {
		if fast, slow := r.fastOK(), fieldRulesValidatorOK(c, r); fast != slow {
			t.Errorf("%+v: fastOK %v, validator %v", r, fast, slow)
		}
	}
}

func FuzzFieldRulesFastPath(f *testing.F) {
	f.Add(3, true, "AB12", "1234567", "974760673", "0301", "ok")
	f.Add(0, true, "a#", "12a", "974760674", "301", "")
	c := newTestChecker(f, Options{})
	f.Fuzz(func(t *testing.T, dose int, doseSet bool, batch, hpr, unit, mun, comment string) {
		r := fieldRules{dose: dose, doseSet: doseSet, Batch: batch, VaccinatorHPR: hpr, UnitID: unit, Municipality: mun, Comment: comment}
		if fast, slow := r.fastOK(), fieldRulesValidatorOK(c, r); fast != slow {
			t.Fatalf("%+v: fastOK %v, validator %v", r, fast, slow)
		}
	})
}

// BenchmarkCheckCleanRow: a valid row whose cells need no normalisation.
func BenchmarkCheckCleanRow(b *testing.B) {
	c := newTestChecker(b, Options{})
	row := validRow()
	row.Cells[ColName] = "Kari Nordmann"
	row.Cells[ColSysvakCode] = "BNT03"
	out := make([]Finding, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		_, out = c.Check(&row, out[:0])
	}
}

// BenchmarkCheckValidRowValidatorAlways: the cost validator would add to every valid row if it
// ran unconditionally (for the numbers in the fieldRules comment).
func BenchmarkCheckValidRowValidatorAlways(b *testing.B) {
	c := newTestChecker(b, Options{})
	row := validRow()
	out := make([]Finding, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		_, out = c.Check(&row, out[:0])
		_ = fieldRulesValidatorOK(c, fieldRules{dose: 2, doseSet: true, Batch: "FK 1234/a", VaccinatorHPR: "1234567", UnitID: "974760673", Municipality: "0301", Comment: "ok"})
	}
}

// FuzzCheck: any row: no panic; every finding has a known code, the row's number, a column key
// and a severity; a person_id value is always masked; messages render in both languages.
func FuzzCheck(f *testing.F) {
	v := validRow()
	f.Add(v.Cells[0], v.Cells[2], v.Cells[3], v.Cells[4], v.Cells[5], v.Cells[9], v.Cells[10], v.Cells[11])
	f.Add("1.51087E+10", "60", "bcg1", "x", "", "?", "?", "")
	c := newTestChecker(f, Options{AllowSynthetic: true})
	known := map[Code]bool{}
	for _, k := range AllCodes() {
		known[k] = true
	}
	f.Fuzz(func(t *testing.T, id, date, code, dose, batch, given, action, comment string) {
		row := validRow()
		row.Cells[ColPersonID], row.Cells[ColVaccinationDate], row.Cells[ColSysvakCode] = id, date, code
		row.Cells[ColDose], row.Cells[ColBatch], row.Cells[ColGivenElsewhere] = dose, batch, given
		row.Cells[ColAction], row.Cells[ColComment] = action, comment
		_, out := c.Check(&row, nil)
		for i := range out {
			fd := &out[i]
			if !known[fd.Code] || fd.Row != row.Num || fd.Severity == "" {
				t.Fatalf("bad finding %+v", fd)
			}
			if _, ok := ColumnByKey(fd.Column); !ok {
				t.Fatalf("bad column %q", fd.Column)
			}
			if (fd.Column == "person_id" || fd.Column == "name" || fd.Column == "comment") && fd.Value != "" {
				t.Fatalf("unmasked id value %q", fd.Value)
			}
			Localize("en", fd)
			Localize("nb", fd)
			if fd.Message == "" {
				t.Fatal("empty message")
			}
		}
	})
}

// TestDateFindingShowsDate: a date finding on an Excel serial shows the date, not the serial.
func TestDateFindingShowsDate(t *testing.T) {
	c := newTestChecker(t, Options{})
	row := validRow()
	row.Cells[ColVaccinationDate] = "46380" // 24.12.2026 in the 1900 system
	_, out := c.Check(&row, nil)
	if len(out) != 1 || out[0].Code != DateFuture || out[0].Value != "24.12.2026" {
		t.Fatalf("got %+v, want one date.future with value 24.12.2026", out)
	}
	if out[0].Args["asof"] != "23.11.2026" {
		t.Errorf("asof arg %q", out[0].Args["asof"])
	}
}

// TestFreeTextNeverInValue: findings on the name and comment columns point at the row and do
// not repeat the text (a comment may name a person); person_id is masked.
func TestFreeTextNeverInValue(t *testing.T) {
	c := newTestChecker(t, Options{})
	row := validRow()
	row.Cells[ColComment] = "Kari Nordmann fikk feber etter dosen. " + strings.Repeat("x", 500)
	row.FormulaNoValue[ColName] = true
	row.Cells[ColName] = "Ola Nordmann"
	row.Cells[ColPersonID] = "1510869508" // 10 digits: a finding on person_id
	_, out := c.Check(&row, nil)
	seen := map[string]bool{}
	for _, f := range out {
		seen[f.Column] = true
		if strings.Contains(f.Value, "Nordmann") || strings.Contains(f.Value, "1510869508") {
			t.Errorf("%s %s: value %q", f.Column, f.Code, f.Value)
		}
	}
	if !seen["comment"] || !seen["name"] || !seen["person_id"] {
		t.Fatalf("expected findings on comment, name and person_id: %+v", out)
	}
}
