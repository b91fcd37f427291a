package importer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/importer/fhir"
)

// fixtureDir holds the committed example workbooks.
const fixtureDir = "../fixtures/files"

// resources reads OUT/<id>/immunizations.ndjson; ok is false when the file does not exist.
func (fx *fixture) resources(fileID string) (res []fhir.Immunization, raw []byte, ok bool) {
	fx.t.Helper()
	p := filepath.Join(fx.im.OutDir, fileID, FHIRFile)
	raw, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return nil, nil, false
	}
	if err != nil {
		fx.t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		fx.t.Errorf("%s is %v, want 0600 (it holds ID numbers)", FHIRFile, st.Mode().Perm())
	}
	for _, line := range bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var im fhir.Immunization
		if err := json.Unmarshal(line, &im); err != nil {
			fx.t.Fatalf("bad resource line: %v", err)
		}
		res = append(res, im)
	}
	return res, raw, true
}

// TestFHIROutput: with Options.FHIR every set holds immunizations.ndjson, one resource per
// records.jsonl line in the same order; without it, none.
func TestFHIROutput(t *testing.T) {
	clock := time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC)
	fx := newFixture(t)
	fx.im.Opts.FHIR = true
	fx.im.Opts.Now = func() time.Time { return clock }

	rep := fx.importFile(filepath.Join(fixtureDir, "clean.xlsx"))
	recs := fx.records(rep.FileID)
	res, _, ok := fx.resources(rep.FileID)
	if !ok || len(recs) == 0 || len(res) != len(recs) {
		t.Fatalf("clean.xlsx: %d resources (file there: %v) for %d records", len(res), ok, len(recs))
	}
	for i, r := range recs {
		im := res[i]
		wantID := rep.FileID + "-" + strconv.Itoa(int(r["row"].(float64)))
		if im.Identifier[0].Value != wantID || im.Patient.Identifier.Value != r["person_id"] ||
			im.OccurrenceDateTime != r["vaccination_date"] || im.VaccineCode.Coding[0].Code != r["sysvak_code"] {
			t.Errorf("resource %d does not match record %d (identifier %s, want %s)", i, i, im.Identifier[0].Value, wantID)
		}
		if im.Recorded != "2026-11-23T10:30:00Z" {
			t.Errorf("recorded %q, want the processing time", im.Recorded)
		}
	}

	// The deletion row of duplicates.xlsx is a resource too.
	rep = fx.importFile(filepath.Join(fixtureDir, "duplicates.xlsx"))
	res, _, _ = fx.resources(rep.FileID)
	if n := len(fx.records(rep.FileID)); len(res) != n || n == 0 || res[n-1].Status != fhir.StatusEnteredInError {
		t.Errorf("duplicates.xlsx: %d resources for %d records; last status %q", len(res), n, res[len(res)-1].Status)
	}

	// A file that registers nothing has an empty file, in the set like records.jsonl.
	for _, name := range []string{"not-a-workbook.xlsx", "no-rows.xlsx"} {
		rep := fx.importFile(filepath.Join(fixtureDir, name))
		if res, raw, ok := fx.resources(rep.FileID); !ok || len(raw) != 0 || len(res) != 0 {
			t.Errorf("%s (%s): file there %v, %d bytes", name, rep.Status, ok, len(raw))
		}
	}
	fx.im.Opts.Strict = true
	rep = fx.importFile(filepath.Join(fixtureDir, "row-errors.xlsx"))
	if res, raw, ok := fx.resources(rep.FileID); !ok || len(raw) != 0 || rep.Stats.NotRegistered == 0 {
		t.Errorf("--strict with rejected rows: file there %v, %d resources, %d bytes", ok, len(res), len(raw))
	}

	// Without FHIR there is no such file.
	fx2 := newFixture(t)
	rep = fx2.importFile(filepath.Join(fixtureDir, "clean.xlsx"))
	if _, _, ok := fx2.resources(rep.FileID); ok {
		t.Errorf("%s written without Options.FHIR", FHIRFile)
	}
}
