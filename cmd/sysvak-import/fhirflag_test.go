package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportFHIRFlag: import --fhir (or SYSVAK_FHIR=true) writes immunizations.ndjson beside
// records.jsonl, one line per record; without it there is none.
func TestImportFHIRFlag(t *testing.T) {
	for _, mode := range []string{"flag", "env", "off"} {
		fhir := mode != "off"
		dir := t.TempDir()
		out := filepath.Join(dir, "out")
		args := []string{"import", "--state", filepath.Join(dir, "state"), "--out", out, "--as-of", "2026-11-23", "--log-level", "warn"}
		var env map[string]string
		switch mode {
		case "flag":
			args = append(args, "--fhir")
		case "env":
			env = map[string]string{"SYSVAK_FHIR": "true"}
		}
		if r := runCLI(t, env, append(args, fixtures+"clean.xlsx", fixtures+"duplicates.xlsx")...); r.code != exitOK {
			t.Fatalf("--fhir=%v: exit %d: %s", fhir, r.code, r.stderr)
		}
		sets, _ := filepath.Glob(filepath.Join(out, "*", "records.jsonl"))
		if len(sets) != 2 {
			t.Fatalf("%d output sets, want 2", len(sets))
		}
		if fhir {
			checkFHIRSets(t, out)
			continue
		}
		if nd, _ := filepath.Glob(filepath.Join(out, "*", "immunizations.ndjson")); len(nd) != 0 {
			t.Errorf("immunizations.ndjson written without --fhir")
		}
	}
}

// checkFHIRSets: every output set under out has immunizations.ndjson with one resource per
// records.jsonl line.
func checkFHIRSets(t *testing.T, out string) {
	t.Helper()
	sets, _ := filepath.Glob(filepath.Join(out, "*", "records.jsonl"))
	total := 0
	for _, rec := range sets {
		recs, _ := os.ReadFile(rec)
		nd, err := os.ReadFile(filepath.Join(filepath.Dir(rec), "immunizations.ndjson"))
		if err != nil || bytes.Count(nd, []byte("\n")) != bytes.Count(recs, []byte("\n")) {
			t.Errorf("%s: %d resources for %d records (%v)", filepath.Base(filepath.Dir(rec)),
				bytes.Count(nd, []byte("\n")), bytes.Count(recs, []byte("\n")), err)
		}
		total += bytes.Count(nd, []byte("\n"))
	}
	if len(sets) == 0 || total == 0 {
		t.Errorf("no FHIR resources in %d output sets", len(sets))
	}
}

// TestFHIRFlagOnEveryWriter: SPEC 12 names import, poll, unlock and serve; validate writes no
// output set and has no --fhir.
func TestFHIRFlagOnEveryWriter(t *testing.T) {
	for _, name := range []string{"import", "poll", "unlock", "serve", "validate"} {
		r := runCLI(t, nil, name, "-h")
		has := strings.Contains(r.stdout, "--fhir")
		if r.code != exitOK || has != (name != "validate") {
			t.Errorf("%s -h: exit %d, lists --fhir: %v", name, r.code, has)
		}
	}
}
