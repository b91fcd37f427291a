package fhir

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/validate"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var recorded = time.Date(2026, 11, 23, 9, 15, 42, 123e6, time.FixedZone("CET", 3600))

func ptr[T any](v T) *T { return &v }

// mappingCases are the records of testdata/mapping.ndjson, one per line: every branch of SPEC
// 12's table. Person IDs are public test vectors (reference/id_vectors.csv).
var mappingCases = []struct {
	name string
	rec  validate.Record
}{
	{"every column, fnr, organisation number", validate.Record{Row: 2, PersonID: "15108695088", PersonIDType: validate.IDTypeFnr,
		VaccinationDate: validate.Date{Year: 2025, Month: 5, Day: 17}, SysvakCode: "BCG01", Name: "Testperson En", Dose: 2,
		Batch: "AB-12/3", VaccinatorHPR: "9144889", UnitID: "974760673", Municipality: "0301",
		GivenElsewhere: ptr(false), Action: validate.ActionRegister, Comment: "fri tekst <b>&"}},
	{"required columns only, D-nummer, code without ATC", validate.Record{Row: 3, PersonID: "41061352331", PersonIDType: validate.IDTypeDnr,
		VaccinationDate: validate.Date{Year: 2024, Month: 1, Day: 9}, SysvakCode: "BNT03", Action: validate.ActionRegister}},
	{"DUF, given elsewhere, HER-id", validate.Record{Row: 4, PersonID: "200112345609", PersonIDType: validate.IDTypeDUF,
		VaccinationDate: validate.Date{Year: 2021, Month: 12, Day: 31}, SysvakCode: "DT51", Dose: 1,
		UnitID: "8765432", GivenElsewhere: ptr(true), Action: validate.ActionRegister}},
	{"deletion row", validate.Record{Row: 7, PersonID: "15108695088", PersonIDType: validate.IDTypeFnr,
		VaccinationDate: validate.Date{Year: 2025, Month: 5, Day: 17}, SysvakCode: "BCG01", VaccinatorHPR: "9144889",
		Action: validate.ActionDelete}},
	{"code not in the list", validate.Record{Row: 1048576, PersonID: "15108695088", PersonIDType: validate.IDTypeFnr,
		VaccinationDate: validate.Date{Year: 2025, Month: 5, Day: 18}, SysvakCode: "ZZZ99", Action: validate.ActionRegister}},
}

const testFileID = "0123456789abcdef"

func writeCases(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, Mapper{FileID: testFileID, Recorded: recorded})
	for _, c := range mappingCases {
		if err := w.Write(&c.rec); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.Count() != len(mappingCases) {
		t.Fatalf("Count = %d, want %d", w.Count(), len(mappingCases))
	}
	return buf.Bytes()
}

// TestGolden pins the exact bytes of the NDJSON for every branch of the mapping.
func TestGolden(t *testing.T) {
	got := writeCases(t)
	golden := filepath.Join("testdata", "mapping.ndjson")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("NDJSON differs from %s (go test -update rewrites it after review)\n got: %s\nwant: %s", golden, got, want)
	}
}

// TestMappingTable checks each row of SPEC 12's table on the decoded resources, independently of
// the golden bytes.
func TestMappingTable(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(string(writeCases(t)), "\n"), "\n")
	if len(lines) != len(mappingCases) {
		t.Fatalf("%d lines, want %d (one resource per record)", len(lines), len(mappingCases))
	}
	type want struct {
		status, patientSys, date, display, atc, lot, location string
		primary                                               bool
		dose                                                  int
		performers                                            []string // system|value|function
	}
	wants := []want{
		{StatusCompleted, SystemFnr, "2025-05-17", "Tuberkulose, levende svekket (BCG-vaksine)", "J07AN01", "AB-12/3", "0301", true, 2,
			[]string{SystemHPR + "|9144889|AP", SystemOrgNr + "|974760673|OP"}},
		{StatusCompleted, SystemDnr, "2024-01-09", "Covid-19-vaksine", "", "", "", true, 0, nil},
		{StatusCompleted, SystemDUF, "2021-12-31", "Tetanus og difteri, toksoid (diTeBooster)", "J07AM51", "", "", false, 1,
			[]string{SystemHERID + "|8765432|OP"}},
		{StatusEnteredInError, SystemFnr, "2025-05-17", "Tuberkulose, levende svekket (BCG-vaksine)", "J07AN01", "", "", true, 0,
			[]string{SystemHPR + "|9144889|AP"}},
		{StatusCompleted, SystemFnr, "2025-05-18", "", "", "", "", true, 0, nil},
	}
	for i, line := range lines {
		c, w := mappingCases[i], wants[i]
		t.Run(c.name, func(t *testing.T) {
			var im Immunization
			if err := json.Unmarshal([]byte(line), &im); err != nil {
				t.Fatal(err)
			}
			check := func(what string, got, want any) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			check("resourceType", im.ResourceType, "Immunization")
			check("identifier", len(im.Identifier), 1)
			check("identifier[0]", im.Identifier[0], Identifier{SystemRow, testFileID + "-" + itoa(c.rec.Row)})
			check("status", im.Status, w.status)
			check("patient", *im.Patient.Identifier, Identifier{w.patientSys, c.rec.PersonID})
			check("occurrenceDateTime", im.OccurrenceDateTime, w.date)
			check("recorded", im.Recorded, "2026-11-23T08:15:42Z")
			check("primarySource", *im.PrimarySource, w.primary)
			check("lotNumber", im.LotNumber, w.lot)
			check("coding[0]", im.VaccineCode.Coding[0], Coding{SystemSysvakCode, c.rec.SysvakCode, w.display})
			if w.atc == "" {
				check("codings", len(im.VaccineCode.Coding), 1)
			} else {
				check("codings", len(im.VaccineCode.Coding), 2)
				check("coding[1]", im.VaccineCode.Coding[1], Coding{System: SystemATC, Code: w.atc})
			}
			if w.location == "" {
				check("location", im.Location, (*Reference)(nil))
			} else {
				check("location.display", im.Location.Display, w.location)
			}
			if w.dose == 0 {
				check("protocolApplied", len(im.ProtocolApplied), 0)
			} else {
				check("doseNumberPositiveInt", im.ProtocolApplied[0].DoseNumberPositiveInt, w.dose)
			}
			var perf []string
			for _, p := range im.Performer {
				perf = append(perf, p.Actor.Identifier.System+"|"+p.Actor.Identifier.Value+"|"+p.Function.Coding[0].Code)
				check("function system", p.Function.Coding[0].System, SystemPerformerFn)
			}
			check("performers", strings.Join(perf, " "), strings.Join(w.performers, " "))
			for _, free := range []string{c.rec.Name, c.rec.Comment} {
				if free != "" && strings.Contains(line, free) {
					t.Errorf("free text %q reached the resource", free)
				}
			}
			if strings.Contains(line, `"note"`) {
				t.Error("note written")
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestCodesFromList: the display and the ATC coding come from the code list in use (--codes).
func TestCodesFromList(t *testing.T) {
	codes, err := validate.ParseCodesCSV(strings.NewReader("code,name,atc,valid_from,valid_to\nMMR01,Meslinger/kusma/røde hunder,J07BD52,,\nXYZ01,Uten ATC,,,\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := Mapper{FileID: testFileID, Codes: codes}
	for _, tc := range []struct {
		code string
		want []Coding
	}{
		{"MMR01", []Coding{{SystemSysvakCode, "MMR01", "Meslinger/kusma/røde hunder"}, {System: SystemATC, Code: "J07BD52"}}},
		{"XYZ01", []Coding{{SystemSysvakCode, "XYZ01", "Uten ATC"}}},
		{"BCG01", []Coding{{System: SystemSysvakCode, Code: "BCG01"}}}, // not in this list
	} {
		im, err := m.Map(&validate.Record{Row: 2, PersonID: "15108695088", PersonIDType: validate.IDTypeFnr,
			VaccinationDate: validate.Date{Year: 2025, Month: 5, Day: 17}, SysvakCode: tc.code, Action: validate.ActionRegister})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := json.Marshal(im.VaccineCode.Coding); string(got) != mustJSON(tc.want) {
			t.Errorf("%s: coding %s, want %s", tc.code, got, mustJSON(tc.want))
		}
		if im.Recorded != "" {
			t.Errorf("recorded %q with a zero Recorded time", im.Recorded)
		}
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestUnknownIDType: a record no checked row can give is an error naming the row, not the ID.
func TestUnknownIDType(t *testing.T) {
	m := Mapper{FileID: testFileID}
	_, err := m.Map(&validate.Record{Row: 9, PersonID: "81234567829", PersonIDType: "fhnr"})
	if err == nil || strings.Contains(err.Error(), "81234567829") || !strings.Contains(err.Error(), "row 9") {
		t.Fatalf("err = %v; want an error naming row 9 and not the ID", err)
	}
}

// TestConvertRecords: converting a records.jsonl gives the same lines as writing the records.
func TestConvertRecords(t *testing.T) {
	var recs bytes.Buffer
	for _, c := range mappingCases {
		l := recordLine{Row: c.rec.Row, PersonID: c.rec.PersonID, PersonIDType: string(c.rec.PersonIDType),
			VaccinationDate: isoDate(c.rec.VaccinationDate), SysvakCode: c.rec.SysvakCode, Dose: c.rec.Dose,
			Batch: c.rec.Batch, VaccinatorHPR: c.rec.VaccinatorHPR, UnitID: c.rec.UnitID,
			Municipality: c.rec.Municipality, GivenElsewhere: c.rec.GivenElsewhere, Action: string(c.rec.Action)}
		b, _ := json.Marshal(l)
		recs.Write(append(b, '\n'))
	}
	var got bytes.Buffer
	w := NewWriter(&got, Mapper{FileID: testFileID, Recorded: recorded})
	if err := ConvertRecords(&recs, w); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := writeCases(t); !bytes.Equal(got.Bytes(), want) {
		t.Errorf("converted:\n%s\nwritten:\n%s", got.Bytes(), want)
	}
	for _, bad := range []string{"{not json\n", `{"row":2,"person_id":"15108695088","vaccination_date":"17.05.2025"}` + "\n"} {
		err := ConvertRecords(strings.NewReader(bad), NewWriter(&bytes.Buffer{}, Mapper{}))
		if err == nil || !strings.Contains(err.Error(), "line 1") || strings.Contains(err.Error(), "15108695088") {
			t.Errorf("%q: err = %v; want a line-1 error without the ID", bad, err)
		}
	}
}

// TestAppendJSONMatchesEncodingJSON: the hand-written encoder writes what encoding/json writes
// for the structs, for every mapped case and for the shapes the mapping never makes.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	var ims []Immunization
	m := Mapper{FileID: testFileID, Recorded: recorded, Codes: validate.DefaultCodes()}
	for _, c := range mappingCases {
		im, err := m.Map(&c.rec)
		if err != nil {
			t.Fatal(err)
		}
		ims = append(ims, im)
	}
	odd := "<&> \"q\"\\ \t\u2028 æøå \xff"
	ims = append(ims, Immunization{},
		Immunization{ResourceType: odd, Identifier: []Identifier{{}, {Value: odd}, {System: odd}}, Status: odd,
			VaccineCode: CodeableConcept{Coding: []Coding{{}, {Display: odd}, {Code: odd, Display: odd}}},
			Patient:     Reference{Display: odd}, Location: &Reference{Identifier: &Identifier{Value: odd}, Display: odd},
			PrimarySource: ptr(false), Performer: []Performer{{}, {Function: &CodeableConcept{}}},
			ProtocolApplied: []ProtocolApplied{{}, {DoseNumberPositiveInt: -3}}})
	for i, im := range ims {
		want, err := json.Marshal(&im)
		if err != nil {
			t.Fatal(err)
		}
		if got := im.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
