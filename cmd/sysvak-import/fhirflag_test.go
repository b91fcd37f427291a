package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestImportFHIRFlag: import --fhir writes immunizations.ndjson beside records.jsonl, one line per
// record; without the flag there is none.
func TestImportFHIRFlag(t *testing.T) {
	for _, fhir := range []bool{true, false} {
		dir := t.TempDir()
		out := filepath.Join(dir, "out")
		args := []string{"import", "--state", filepath.Join(dir, "state"), "--out", out, "--as-of", "2026-11-23", "--log-level", "warn"}
		if fhir {
			args = append(args, "--fhir")
		}
		if r := runCLI(t, nil, append(args, fixtures+"clean.xlsx", fixtures+"duplicates.xlsx")...); r.code != exitOK {
			t.Fatalf("--fhir=%v: exit %d: %s", fhir, r.code, r.stderr)
		}
		sets, _ := filepath.Glob(filepath.Join(out, "*", "records.jsonl"))
		if len(sets) != 2 {
			t.Fatalf("%d output sets, want 2", len(sets))
		}
		for _, rec := range sets {
			nd, err := os.ReadFile(filepath.Join(filepath.Dir(rec), "immunizations.ndjson"))
			if !fhir {
				if err == nil {
					t.Errorf("immunizations.ndjson written without --fhir")
				}
				continue
			}
			recs, _ := os.ReadFile(rec)
			if err != nil || bytes.Count(nd, []byte("\n")) != bytes.Count(recs, []byte("\n")) || len(nd) == 0 ||
				!bytes.Contains(nd, []byte(`"resourceType":"Immunization"`)) {
				t.Errorf("%s: %d resources for %d records (%v)", filepath.Base(filepath.Dir(rec)),
					bytes.Count(nd, []byte("\n")), bytes.Count(recs, []byte("\n")), err)
			}
		}
	}
}
