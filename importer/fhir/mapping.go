package fhir

import (
	"fmt"
	"strconv"
	"time"

	"github.com/fhi/sysvak-import/validate"
)

// Mapper maps the checked records of one file to Immunization resources (SPEC 12's table).
type Mapper struct {
	// FileID is the file's id; with the row number it makes identifier[0] (stable across resends).
	FileID string
	// Recorded is when the file's rows were registered (its first processing); written as a UTC
	// dateTime with seconds. The zero time omits recorded.
	Recorded time.Time
	// Codes is the code list in use (display names and ATC codes); nil means the built-in list.
	Codes *validate.CodeList
}

// patientSystem is the HL7 Norway naming system of each person identifier type SYSVAK takes.
func patientSystem(t validate.IDType) (string, bool) {
	switch t {
	case validate.IDTypeFnr:
		return SystemFnr, true
	case validate.IDTypeDnr:
		return SystemDnr, true
	case validate.IDTypeDUF:
		return SystemDUF, true
	}
	return "", false
}

// Map returns the Immunization for one registered record. It fails only for a record that no
// checked row can give (an unknown person identifier type).
func (m *Mapper) Map(rec *validate.Record) (Immunization, error) {
	sys, ok := patientSystem(rec.PersonIDType)
	if !ok {
		return Immunization{}, fmt.Errorf("fhir: row %d: unknown person identifier type %q", rec.Row, rec.PersonIDType)
	}
	im := Immunization{
		ResourceType:       "Immunization",
		Identifier:         []Identifier{{System: SystemRow, Value: m.FileID + "-" + strconv.Itoa(rec.Row)}},
		Status:             StatusCompleted,
		VaccineCode:        m.vaccineCode(rec.SysvakCode),
		Patient:            Reference{Identifier: &Identifier{System: sys, Value: rec.PersonID}},
		OccurrenceDateTime: isoDate(rec.VaccinationDate),
		PrimarySource:      primarySource(rec.GivenElsewhere),
		LotNumber:          rec.Batch,
		Performer:          performers(rec.VaccinatorHPR, rec.UnitID),
	}
	if rec.Action == validate.ActionDelete {
		im.Status = StatusEnteredInError
	}
	if !m.Recorded.IsZero() {
		im.Recorded = m.Recorded.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	if rec.Municipality != "" {
		im.Location = &Reference{Display: rec.Municipality}
	}
	if rec.Dose > 0 {
		im.ProtocolApplied = []ProtocolApplied{{DoseNumberPositiveInt: rec.Dose}}
	}
	return im, nil
}

// vaccineCode is the SYSVAK coding (display from the code list) plus the ATC coding where the
// code list has one.
func (m *Mapper) vaccineCode(code string) CodeableConcept {
	codes := m.Codes
	if codes == nil {
		codes = validate.DefaultCodes()
	}
	info, _ := codes.Lookup(code)
	cc := CodeableConcept{Coding: []Coding{{System: SystemSysvakCode, Code: code, Display: info.Name}}}
	if info.ATC != "" {
		cc.Coding = append(cc.Coding, Coding{System: SystemATC, Code: info.ATC})
	}
	return cc
}

// primarySource is false for a vaccination given elsewhere (registered afterwards), else true.
func primarySource(givenElsewhere *bool) *bool {
	v := givenElsewhere == nil || !*givenElsewhere
	return &v
}

// performers lists the vaccinator (HPR number, function AP) and the unit (organisation number
// when it has 9 digits, as the unit rule requires of one, else a HER-id; function OP).
func performers(hpr, unit string) []Performer {
	var ps []Performer
	if hpr != "" {
		ps = append(ps, Performer{
			Function: function(FunctionVaccinator, "Administering Provider"),
			Actor:    Reference{Identifier: &Identifier{System: SystemHPR, Value: hpr}},
		})
	}
	if unit != "" {
		sys := SystemHERID
		if len(unit) == 9 {
			sys = SystemOrgNr
		}
		ps = append(ps, Performer{
			Function: function(FunctionUnit, "Ordering Provider"),
			Actor:    Reference{Identifier: &Identifier{System: sys, Value: unit}},
		})
	}
	return ps
}

func function(code, display string) *CodeableConcept {
	return &CodeableConcept{Coding: []Coding{{System: SystemPerformerFn, Code: code, Display: display}}}
}

// isoDate formats a date as FHIR's YYYY-MM-DD (years 0-9999; a checked record's are).
func isoDate(d validate.Date) string {
	y, m := d.Year, int(d.Month)
	b := [10]byte{byte('0' + y/1000%10), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + m/10%10), byte('0' + m%10), '-', byte('0' + d.Day/10%10), byte('0' + d.Day%10)}
	return string(b[:])
}
