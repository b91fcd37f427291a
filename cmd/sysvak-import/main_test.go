package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const fixtures = "../../fixtures/files/"

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, envVars map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{
		stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		getenv: func(k string) string { return envVars[k] },
		now:    func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) },
	}
	code := runMain(context.Background(), e, args)
	return result{code, out.String(), errb.String()}
}

func TestExitCodesForFiles(t *testing.T) {
	tests := []struct {
		file string
		want int
		code string // a finding code the report must name
	}{
		{"clean.xlsx", exitOK, ""},
		{"openpyxl-clean.xlsx", exitOK, ""},
		{"row-errors.xlsx", exitRowsRejects, "id.checksum"},
		{"not-a-workbook.xlsx", exitFileFailed, "file.unsupported_format"},
		{"truncated.xlsx", exitFileFailed, "file.corrupt"},
		{"no-header.xlsx", exitFileFailed, "file.header_not_found"},
		{"missing-column.xlsx", exitFileFailed, "file.column_missing"},
		{"no-rows.xlsx", exitFileFailed, "file.no_rows"},
		{"does-not-exist.xlsx", exitFileFailed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := runCLI(t, nil, "validate", "--as-of", "2026-11-23", "--format", "json", fixtures+tt.file)
			if r.code != tt.want {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.want, r.stdout, r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Fatalf("stack trace on stderr: %s", r.stderr)
			}
			if tt.code != "" && !strings.Contains(r.stdout, `"code": "`+tt.code+`"`) {
				t.Fatalf("report lacks %s: %s", tt.code, r.stdout)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	badCfg := filepath.Join(dir, "bad.toml")
	os.WriteFile(badCfg, []byte("password = \"x\"\n"), 0o600)
	unknownCfg := filepath.Join(dir, "unknown.toml")
	os.WriteFile(unknownCfg, []byte("no-such-key = 1\n"), 0o600)
	badCol := filepath.Join(dir, "col.toml")
	os.WriteFile(badCol, []byte("[columns]\n\"Pasientnr\" = \"no_such_key\"\n"), 0o600)
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"validate"},
		{"validate", "--lang", "de", fixtures + "clean.xlsx"},
		{"validate", "--format", "xml", fixtures + "clean.xlsx"},
		{"validate", "--as-of", "23.11.2026", fixtures + "clean.xlsx"},
		{"validate", "--no-such-flag", fixtures + "clean.xlsx"},
		{"validate", "--config", badCfg, fixtures + "clean.xlsx"},
		{"validate", "--config", unknownCfg, fixtures + "clean.xlsx"},
		{"validate", "--config", badCol, fixtures + "clean.xlsx"},
		{"validate", "--config", filepath.Join(dir, "missing.toml"), fixtures + "clean.xlsx"},
		{"codes", "extra-arg"},
	} {
		if r := runCLI(t, nil, args...); r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %s)", args, r.code, exitUsage, r.stderr)
		}
	}
}

func TestHelpHasExamples(t *testing.T) {
	for _, c := range commands() {
		r := runCLI(t, nil, c.name, "-h")
		if r.code != exitOK || !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "sysvak-import "+c.name) {
			t.Errorf("%s -h: exit %d, output %q", c.name, r.code, r.stdout)
		}
	}
	if r := runCLI(t, nil, "--help"); r.code != exitOK || !strings.Contains(r.stdout, "Commands:") {
		t.Errorf("--help: %d %q", r.code, r.stdout)
	}
}

// Flags win over the environment, which wins over the config file (SPEC 4).
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte("lang = \"en\"\nas-of = \"2026-11-23\"\nstrict = true\n"), 0o600)
	file := fixtures + "clean.xlsx"
	english := "Vaccination file report"
	norwegian := "Rapport for vaksinasjonsfil"
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"default nb", nil, []string{"validate", "--as-of", "2026-11-23", file}, norwegian},
		{"config en", nil, []string{"validate", "--config", cfg, file}, english},
		{"env config path", map[string]string{"SYSVAK_CONFIG": cfg}, []string{"validate", file}, english},
		{"env beats config", map[string]string{"SYSVAK_LANG": "nb"}, []string{"validate", "--config", cfg, file}, norwegian},
		{"flag beats env", map[string]string{"SYSVAK_LANG": "nb"}, []string{"validate", "--lang", "en", "--as-of", "2026-11-23", file}, english},
		{"flags after files", nil, []string{"validate", file, "--lang", "en", "--as-of", "2026-11-23"}, english},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.env, tt.args...)
			if r.code != exitOK || !strings.Contains(r.stdout, tt.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}
}

func TestImportThenResendAndPrivacy(t *testing.T) {
	dir := t.TempDir()
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out")
	args := []string{"import", "--state", state, "--out", out, "--as-of", "2026-11-23", "--log-level", "debug", "--log-format", "json"}
	r := runCLI(t, nil, append(args, fixtures+"clean.xlsx", fixtures+"duplicates.xlsx", fixtures+"row-errors.xlsx")...)
	if r.code != exitRowsRejects {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	countRecords := func() int {
		n := 0
		files, _ := filepath.Glob(filepath.Join(out, "*", "records.jsonl"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			n += bytes.Count(b, []byte("\n"))
		}
		return n
	}
	first := countRecords()
	if first == 0 {
		t.Fatal("nothing registered")
	}
	r2 := runCLI(t, nil, append(args, fixtures+"clean.xlsx")...)
	if r2.code != exitOK {
		t.Fatalf("resend exit %d: %s", r2.code, r2.stderr)
	}
	if got := countRecords(); got != first {
		t.Fatalf("resend changed records: %d -> %d", first, got)
	}
	// The resent file's report lists the new arrival.
	var rep struct {
		Resent []json.RawMessage `json:"resent"`
	}
	matches, _ := filepath.Glob(filepath.Join(out, "*", "report.json"))
	found := false
	for _, m := range matches {
		b, _ := os.ReadFile(m)
		json.Unmarshal(b, &rep)
		if len(rep.Resent) == 1 {
			found = true
		}
	}
	if !found {
		t.Fatal("no report lists the resend")
	}
	// Privacy: logs (debug level) carry no ID number or name from the fixtures.
	logs := r.stderr + r2.stderr
	for _, secret := range fixtureSecrets(t) {
		if strings.Contains(logs, secret) {
			t.Errorf("log output contains %q", secret)
		}
	}
	// Files and folders are private.
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		return nil
	})
}

// fixtureSecrets lists the ID numbers and names found in the fixture records (the records carry
// them in full; logs must never).
func fixtureSecrets(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	r := runCLI(t, nil, "import", "--state", filepath.Join(dir, "s"), "--out", filepath.Join(dir, "o"), "--as-of", "2026-11-23",
		fixtures+"clean.xlsx", fixtures+"duplicates.xlsx", fixtures+"row-errors.xlsx")
	if r.code > exitRowsRejects {
		t.Fatalf("secret collection run failed: %d", r.code)
	}
	var out []string
	files, _ := filepath.Glob(filepath.Join(dir, "o", "*", "records.jsonl"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			var m map[string]any
			if json.Unmarshal(line, &m) != nil {
				continue
			}
			if id, ok := m["person_id"].(string); ok {
				out = append(out, id)
			}
			if n, ok := m["name"].(string); ok && n != "" {
				out = append(out, n)
			}
		}
	}
	if len(out) < 5 {
		t.Fatalf("too few secrets collected: %d", len(out))
	}
	return out
}

func TestCodesCommand(t *testing.T) {
	r := runCLI(t, nil, "codes")
	if r.code != exitOK || !strings.Contains(r.stdout, "BNT03") || !strings.Contains(r.stdout, "AII02") {
		t.Fatalf("codes: %d %q", r.code, r.stdout)
	}
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "codes.csv")
	os.WriteFile(csvPath, []byte("code,name,atc,valid_from,valid_to\nTST01,Testvaksine,J07XX01,2020-01-01,\n"), 0o600)
	r = runCLI(t, nil, "codes", "--codes", csvPath, "--format", "json")
	var got struct {
		Codes []struct{ Code, ValidFrom string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got.Codes) != 1 || got.Codes[0].Code != "TST01" {
		t.Fatalf("codes --codes: %v %q", err, r.stdout)
	}
}
