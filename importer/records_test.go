package importer

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/validate"
)

func TestAppendRecordIsValidJSON(t *testing.T) {
	yes := true
	r := validate.Record{Row: 12, PersonID: "15108695088", PersonIDType: validate.IDTypeFnr,
		VaccinationDate: validate.Date{Year: 2025, Month: time.March, Day: 4}, SysvakCode: "BNT03",
		Name: "Testperson \"En\"", Dose: 2, Batch: "FK1234", VaccinatorHPR: "1234567", UnitID: "974760673",
		Municipality: "0301", GivenElsewhere: &yes, Action: validate.ActionRegister, Comment: "ok"}
	line := appendRecord(nil, "0123456789abcdef", &r)
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	want := map[string]any{"file_id": "0123456789abcdef", "row": 12.0, "person_id": "15108695088", "person_id_type": "fnr",
		"vaccination_date": "2025-03-04", "sysvak_code": "BNT03", "name": `Testperson "En"`, "dose": 2.0, "batch": "FK1234",
		"vaccinator_hpr": "1234567", "unit_id": "974760673", "municipality": "0301", "given_elsewhere": true, "comment": "ok", "action": "register"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if len(m) != len(want) {
		t.Errorf("record has %d keys, want %d: %s", len(m), len(want), line)
	}
}

func BenchmarkAppendRecord(b *testing.B) {
	r := validate.Record{Row: 12, PersonID: "15108695088", PersonIDType: validate.IDTypeFnr,
		VaccinationDate: validate.Date{Year: 2025, Month: time.March, Day: 4}, SysvakCode: "BNT03", Batch: "FK1234", Action: validate.ActionRegister}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendRecord(buf[:0], "0123456789abcdef", &r)
	}
}
