package importer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fhi/sysvak-import/importer/template/xlsxtest"
	"github.com/fhi/sysvak-import/validate"
)

// Issue 12: a CSV opened (here: converted) by LibreOffice turns 0301 into the number 301 and the
// ID 07020554821 into 7020554821. Both are restored with a warning, and the row is registered.
func TestLibreOfficeCSVLeadingZerosRestored(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "vaksiner.csv")
	// ASCII header names (synonyms): LibreOffice reads a CSV in the system charset.
	body := "Fnr,Dato,Vaksine,Dose,Batch,HPR,Helseenhet,Kommunenummer\n" +
		"07020554821,01.03.2025,BNT03,1,FK1234,9144889,974760673,0301\n"
	if err := os.WriteFile(csv, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	xl := xlsxtest.LibreOfficeConvert(t, csv, "xlsx")["vaksiner.xlsx"]
	if len(xl) == 0 {
		t.Fatal("LibreOffice wrote no xlsx")
	}
	path := filepath.Join(dir, "vaksiner.xlsx")
	if err := os.WriteFile(path, xl, 0o600); err != nil {
		t.Fatal(err)
	}
	fx := newFixture(t)
	rep := fx.importFile(path)
	if rep.Stats.Registered != 1 || rep.Stats.Rejected != 0 {
		t.Fatalf("stats %+v, findings %+v", rep.Stats, rep.Findings)
	}
	got := map[validate.Code]bool{}
	for _, f := range rep.Findings {
		got[f.Code] = true
		if f.Severity != validate.SeverityWarning {
			t.Errorf("finding %+v is not a warning", f)
		}
	}
	for _, c := range []validate.Code{validate.IDLeadingZeroRestored, validate.MunicipalityLeadingZeroRestored} {
		if !got[c] {
			t.Errorf("no %s warning: %+v", c, rep.Findings)
		}
	}
	recs := fx.records(rep.FileID)
	if len(recs) != 1 || recs[0]["municipality"] != "0301" || recs[0]["person_id"] != "07020554821" ||
		recs[0]["vaccinator_hpr"] != "9144889" || recs[0]["unit_id"] != "974760673" {
		t.Errorf("record %v: leading zeros not restored or numbers changed", recs)
	}
}
