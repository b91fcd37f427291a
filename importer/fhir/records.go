package fhir

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/fhi/sysvak-import/validate"
)

// recordLine is the part of a records.jsonl line (SPEC 5) that the mapping reads. Name and
// comment are not read: free text stays out of FHIR records.
type recordLine struct {
	Row             int    `json:"row"`
	PersonID        string `json:"person_id"`
	PersonIDType    string `json:"person_id_type"`
	VaccinationDate string `json:"vaccination_date"`
	SysvakCode      string `json:"sysvak_code"`
	Dose            int    `json:"dose"`
	Batch           string `json:"batch"`
	VaccinatorHPR   string `json:"vaccinator_hpr"`
	UnitID          string `json:"unit_id"`
	Municipality    string `json:"municipality"`
	GivenElsewhere  *bool  `json:"given_elsewhere"`
	Action          string `json:"action"`
}

// ConvertRecords writes the resource of every line of a records.jsonl stream, in order, through
// w (for a set written before --fhir was given: a resend keeps recorded at the first processing).
// Errors name the line number, never a value.
func ConvertRecords(r io.Reader, w *Writer) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var l recordLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("fhir: records line %d: not a record", n)
		}
		d, err := time.Parse(time.DateOnly, l.VaccinationDate)
		if err != nil {
			return fmt.Errorf("fhir: records line %d: vaccination_date is not YYYY-MM-DD", n)
		}
		rec := validate.Record{
			Row: l.Row, PersonID: l.PersonID, PersonIDType: validate.IDType(l.PersonIDType),
			VaccinationDate: validate.Date{Year: d.Year(), Month: d.Month(), Day: d.Day()},
			SysvakCode:      l.SysvakCode, Dose: l.Dose, Batch: l.Batch, VaccinatorHPR: l.VaccinatorHPR,
			UnitID: l.UnitID, Municipality: l.Municipality, GivenElsewhere: l.GivenElsewhere,
			Action: validate.Action(l.Action),
		}
		if err := w.Write(&rec); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("fhir: read records: %w", err)
	}
	return nil
}
